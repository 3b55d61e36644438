"""The few-shot style trainer (arXiv 2211.15549): a photo -> style generator G with feature-space TPS to the
style's mean landmark template, a texture-only reverse generator F, two patch discriminators, and the
geometry-aware losses of `studio.losses`. Shaped like Accelerate's cv_example: `_train` builds everything, one
`accelerator.prepare` (in `Trainer`), then per step `Trainer.step` (with `accelerator.backward`), the EMA, and
`save_state` checkpoints through the run folder (`studio.run.RunDir`); runs on CPU, one GPU or under
`accelerate launch` unchanged. The EMA of G is exported as a style package with `core.export.save_style`, with
what `studio.provenance` records.

Why one module of this length: `Trainer.step` (every loss term of the G, F and D updates) is most of it and reads
best whole; the run folder and provenance live in their own modules.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.aligned import to_unit
from core.config import style_name as package_name
from core.errors import ConfigError, DatasetError, ResumeError, StylePackageError, TrainingCancelled
from core.generator import Generator, GeneratorConfig
from core.images import levels_to_unit
from core.package import StyleConfig, StylePackage
from studio import losses as L
from studio.config import PRESETS, TrainConfig
from studio.data import (PhotoPool, StyleSet, build_photo_pool, build_style_set, color_jitter, default_photo_source,
                         hflip, random_tps, random_warp, sample_rows, seeded_generator, to_tensor, to_uint8, warp_to)
from studio.progress import CallbackList, Progress, TqdmCallback, TrainCallback
from studio.provenance import ATTRIBUTION_FILE, hardware, provenance
from studio.run import (CHECKPOINT_FILES, CHECKPOINT_TMP, CHECKPOINTS, CONFIG_FILE, DATASET_FILE, LOSSES_FILE,
                        PLOT_FILE, PREVIEWS, STEP_RE, RunDir, plot_losses, preview_grid, read_losses)
from studio.run import checkpoint_missing as _checkpoint_missing  # noqa: F401  (tests import it from here)

# Re-exported: these lived here before the run folder and provenance had modules of their own.
__all__ = ["ATTRIBUTION_FILE", "CHECKPOINTS", "CHECKPOINT_FILES", "CHECKPOINT_TMP", "CONFIG_FILE", "ConfigError",
           "DATASET_FILE", "LOSSES_FILE", "PLOT_FILE", "PREVIEWS", "ResumeError", "RunDir", "STEP_RE", "StepCounter",
           "TrainConfig", "TrainResult", "Trainer", "config_from_args", "hardware", "plot_losses", "preview_grid",
           "provenance", "read_losses", "register_cli", "style_name", "train"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    package: StylePackage | None
    run_dir: Path
    steps: int
    wall_s: float
    losses: dict[str, float]
    preview: np.ndarray | None = None


class StepCounter:
    """The optimizer step and the training wall time so far, saved with every checkpoint; `start` begins this
    session's clock."""

    def __init__(self) -> None:
        self.step, self.wall_s = 0, 0.0
        self._start_step, self._start_wall, self._t0 = 0, 0.0, time.perf_counter()

    def state_dict(self) -> dict:
        return {"step": self.step, "wall_s": self.wall_s}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.wall_s = int(state["step"]), float(state["wall_s"])

    def start(self) -> None:
        self._start_step, self._start_wall, self._t0 = self.step, self.wall_s, time.perf_counter()

    def now(self) -> float:
        """The training wall time so far: earlier sessions' and this one's."""
        return self._start_wall + time.perf_counter() - self._t0

    def progress(self, total: int, losses: dict[str, float]) -> Progress:
        elapsed = time.perf_counter() - self._t0
        rate = (self.step - self._start_step) / max(elapsed, 1e-9)
        return Progress(self.step, total, losses, (total - self.step) / max(rate, 1e-9), self._start_wall + elapsed,
                        rate)


# --------------------------------------------------------------------------- helpers


def style_name(out: str | Path, name: str | None = None) -> str:
    """The package name: `name`, else the out folder's name, by the app's rule (`core.config.style_name`)."""
    return package_name(name if name else Path(out).name, fix="pass --name")


def _checkpoints(run_dir: Path) -> list[Path]:
    """The complete checkpoints of a run, oldest first (`RunDir.checkpoints`)."""
    return RunDir(run_dir).checkpoints()


def _check_resume(config: TrainConfig, run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (`RunDir.check_resume`)."""
    return RunDir(run_dir).check_resume(config, resume)


def random_crop(x: torch.Tensor, size: int, rng: torch.Generator) -> torch.Tensor:
    """One random (size, size) window per image of x (B,C,H,W) -> (B,C,size,size): the style loss's feature
    statistics on a fraction of the pixels, which is what makes its VGG pass cheap."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ys = torch.randint(0, h - size + 1, (len(x),), generator=rng).tolist()
    xs = torch.randint(0, w - size + 1, (len(x),), generator=rng).tolist()
    return torch.stack([x[i, :, y:y + size, x0:x0 + size] for i, (y, x0) in enumerate(zip(ys, xs))])


# --------------------------------------------------------------------------- the training step


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 convolutions are fast on `device`: a CUDA GPU with bf16, or a CPU whose oneDNN has bf16 kernels
    (AVX512-BF16 or AMX). Elsewhere torch runs bf16 convolutions on a slow reference path (docs/training.md)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def resolve_perceptual_dtype(value: str, device: torch.device) -> str:
    """The style loss's VGG dtype on `device`: "auto" is "bfloat16" where `fast_bf16`, else "float32"."""
    if value != "auto":
        return value
    return "bfloat16" if fast_bf16(device) else "float32"


class Trainer:
    """The models, data tensors and one optimizer step; `train` drives it."""

    def __init__(self, config: TrainConfig, accelerator: Any, style: StyleSet, photos: PhotoPool) -> None:
        self.config = config
        self.perceptual_bf16 = resolve_perceptual_dtype(config.perceptual_dtype, accelerator.device) == "bfloat16"
        self.acc = accelerator
        device = accelerator.device
        c = config
        gcfg = GeneratorConfig.from_dict(c.generator)
        if c.no_tps:
            gcfg.global_warp = gcfg.local_warp = False
        fcfg = GeneratorConfig.from_dict({**gcfg.to_dict(), "global_warp": False, "local_warp": False,
                                          "head": "rgb"})  # F only undoes the palette and texture
        self.template = torch.as_tensor(style.template, dtype=torch.float32)
        self.reg = gcfg.tps_reg
        self.face_mask = None if c.no_tps else L.face_mask(self.template, c.size).to(accelerator.device)
        G = Generator(gcfg, self.template)
        F = Generator(fcfg)
        DY, DX = L.Discriminator(c.disc_channels), L.Discriminator(c.disc_channels)
        self.ema = copy.deepcopy(G).eval()
        L.requires_grad(self.ema, False)
        if c.freeze_decoder:  # the decoder stays the base generator: no gradients, no optimizer state
            for n, p in G.named_parameters():
                p.requires_grad_(n.startswith("art."))
        head = [p for n, p in G.named_parameters() if n.startswith("art.")]
        maps = [p for n, p in G.named_parameters() if n.startswith("to_maps.")]
        maps = [p for p in maps if p.requires_grad]
        body = [p for n, p in G.named_parameters() if not n.startswith(("art.", "to_maps.")) and p.requires_grad
                ] + list(F.parameters())
        groups = [{"params": body}] + ([{"params": head, "lr": c.head_lr}] if head else []) + (
            [{"params": maps, "lr": c.lr if c.maps_lr is None else c.maps_lr}] if maps else [])
        opt_g = torch.optim.Adam(groups, lr=c.lr, betas=c.betas)
        opt_d = torch.optim.Adam(list(DY.parameters()) + list(DX.parameters()), lr=c.d_lr, betas=c.betas)
        self.G, self.F, self.DY, self.DX, self.opt_g, self.opt_d = accelerator.prepare(G, F, DY, DX, opt_g, opt_d)
        self.ema.to(device)
        self.counter = StepCounter()
        accelerator.register_for_checkpointing(self.ema, self.counter)

        w = c.weights
        taps = list(c.content_taps) + list(c.texture_taps) if w["content"] or w["texture"] else []
        taps += list(c.style_taps) if w["style"] else []
        taps += [L.STRUCTURE_TAP] if w["structure"] else []
        self.vgg = L.load_vgg(sorted(set(taps)), allow_download=c.vgg_download, max_size=c.perceptual_size) \
            if taps else None
        if self.vgg is not None:
            self.vgg.to(device)
        elif not any(v for k, v in w.items() if k not in ("style", "content", "texture")):
            raise ConfigError("every loss of this recipe needs VGG16 (weights style/content/texture), which is not "
                              "available: run `python -m studio weights` (builds it from the package index), or put "
                              f"{L.vgg_path()} in place (set PORTRAIT_SHARED), or allow vgg_download")
        self.art = torch.as_tensor(style.images).permute(0, 3, 1, 2).contiguous().to(device)
        self.art_pts = torch.as_tensor(style.points).to(device)
        self.photo = torch.as_tensor(photos.images).permute(0, 3, 1, 2).contiguous().to(device)
        self.photo_pts = torch.as_tensor(photos.points).to(device)
        self.gram_targets = self._gram_targets() if self.vgg is not None else None  # logged even at weight 0
        self.style_bank = self._style_bank() if self.vgg is not None and w["style"] else None

    @property
    def device(self) -> torch.device:
        return self.acc.device

    def _tensors(self, images: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return levels_to_unit(images), to_unit(points.float(), self.config.size)

    @torch.no_grad()
    def _gram_targets(self) -> dict[str, torch.Tensor]:
        """Mean Gram matrix of the artworks per texture tap."""
        sums: dict[str, torch.Tensor] = {}
        for i in range(0, len(self.art), 8):
            x, _ = self._tensors(self.art[i:i + 8], self.art_pts[i:i + 8])
            for k, f in self.vgg(x).items():
                if k in self.config.texture_taps:
                    sums[k] = sums.get(k, 0) + L.gram(f).sum(0)
        return {k: v / len(self.art) for k, v in sums.items()}

    @torch.no_grad()
    def _style_bank(self, per_image: int = 1024) -> dict[str, dict[str, torch.Tensor]]:
        """Random VGG feature vectors (N, C) of every artwork per style view and tap: the target distributions,
        computed once."""
        g = seeded_generator(self.config.seed, -1, 0, 0)
        banks = {}
        for kind in self.config.style_reps:
            bank: dict[str, list] = {t: [] for t in self.config.style_taps}
            for i in range(0, len(self.art), 8):
                x, _ = self._tensors(self.art[i:i + 8], self.art_pts[i:i + 8])
                feats = self.vgg(L.style_representation(x, kind))
                for t in bank:
                    bank[t].append(L.feature_samples(feats[t], per_image * len(x), g))
            banks[kind] = {t: torch.cat(v) for t, v in bank.items()}
        return banks

    def _batch(self, rng: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Photos x (B,3,S,S), landmarks p, artworks y, landmarks q: sampled and augmented from `rng` only."""
        c, b = self.config, self.config.batch
        pi, ai = sample_rows(len(self.photo), b, rng), sample_rows(len(self.art), b, rng)
        x, p = self._tensors(self.photo[pi.to(self.device)], self.photo_pts[pi.to(self.device)])
        y, q = self._tensors(self.art[ai.to(self.device)], self.art_pts[ai.to(self.device)])
        if c.flip:
            x, p = hflip(x, p, (torch.rand(b, generator=rng) < 0.5).to(self.device))
            y, q = hflip(y, q, (torch.rand(b, generator=rng) < 0.5).to(self.device))
        if c.photo_jitter:
            x = color_jitter(x, rng, c.photo_jitter, c.photo_jitter, c.photo_jitter)
        if c.tps_jitter:
            x, p = random_tps(x, p, rng, c.tps_jitter)
            y, q = random_tps(y, q, rng, c.tps_jitter)
        return x, p, y, q

    def step(self, step: int, micro: int) -> dict[str, float]:
        """One micro-batch: the G/F update, then the D update (optimizers step on the last micro-batch)."""
        c, w, acc = self.config, self.config.weights, self.acc
        rng = seeded_generator(c.seed, step, acc.process_index, micro)
        dev = self.device
        with torch.no_grad():
            x, p, y, q = self._batch(rng)
            t = self.template.to(dev)[None]
            need_c = step < c.warmup_steps or any(w[k] for k in ("color", "layout", "base", "content", "texture"))
            # the photo in the style's geometry
            content_target = x if c.no_tps or not need_c else warp_to(x, p, t, self.reg)
            need_f = step >= c.warmup_steps and bool(w["adv"] or w["cycle"])
            need_t = step >= c.warmup_steps and bool(w["cycle"] or w["patch"] or w["palette"])
            y_p = y if c.no_tps or not need_f else warp_to(y, q, p, self.reg)  # artwork in the photo's geometry
            y_t = y if c.no_tps or not need_t else warp_to(y, q, t, self.reg)  # artwork in the template geometry
            src, dst = random_warp(c.batch, rng, c.deform_strength, device=dev) if w["deform"] else (None, None)
        if step < c.warmup_steps:
            return self._warmup(x, p, content_target)
        out: dict[str, torch.Tensor] = {}
        DY, DX = acc.unwrap_model(self.DY), acc.unwrap_model(self.DX)  # G step: D frozen, no DDP sync
        L.requires_grad(DY, False)
        L.requires_grad(DX, False)
        with acc.autocast():
            if c.freeze_decoder:  # the base warp without a graph; only the head's few parameters learn
                G = acc.unwrap_model(self.G)
                with torch.no_grad():
                    decoded, maps = G.decode(x, p)
                fake_y = G.art(decoded, maps)
            else:
                fake_y, decoded = self.G(x, p, with_decoder=True, detach=c.head_detach)
            fake_x = self.F(y_p, p) if w["adv"] or w["cycle"] else None
            if w["adv"]:
                out["g_adv"] = L.g_nonsaturating_loss(DY(L.diff_augment(fake_y, rng, c.diffaug)))
                out["f_adv"] = L.g_nonsaturating_loss(DX(L.diff_augment(fake_x, rng, c.diffaug)))
            if w["cycle"]:
                with torch.autocast(dev.type, enabled=False):  # pixel-space TPS in fp32
                    out["cycle_x"] = L.cycle_loss(lambda im: self.F(im, p), fake_y.float(), x, p, t, self.reg,
                                                  c.no_tps)
                out["cycle_y"] = (self.G(fake_x, p) - y_t).abs().mean()
            if w["deform"]:
                with torch.autocast(dev.type, enabled=False):
                    out["deform"] = L.deformation_loss(lambda im, pts: self.G(im, pts), x, p, fake_y.float(),
                                                       src, dst, c.no_tps, self.face_mask)
            if w["color"]:
                out["color"] = L.color_loss(fake_y, content_target)
            if w["patch"]:
                out["patch"] = L.patch_loss(fake_y, y_t, rng)
            if w["palette"]:
                out["palette"] = L.palette_loss(fake_y, y_t, rng)
            if w["layout"]:
                out["layout"] = L.layout_loss(fake_y, content_target)
            if w["base"]:  # the decoder stays a geometric warp of the photo; the head paints
                out["base"] = (decoded - content_target).abs().mean()
            if self.vgg is not None:
                seen = fake_y if c.style_crop is None else random_crop(fake_y, c.style_crop, rng)

                def vgg(kind: str) -> dict[str, torch.Tensor]:
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.perceptual_bf16):
                        return self.vgg(L.style_representation(seen, kind))

                feats = vgg("rgb") if w["content"] or w["texture"] or w["structure"] or "rgb" in c.style_reps \
                    else None
                if w["structure"]:  # the output against its own flat-colour segments (White-box's structure)
                    with torch.no_grad():
                        flat = self.vgg(L.structure_representation(seen))
                    out["structure"] = L.structure_loss(feats, flat, L.STRUCTURE_TAP)
                if w["content"] or w["texture"]:
                    with torch.no_grad():
                        target = self.vgg(content_target)
                    out["content"] = L.perceptual_loss(feats, target, c.content_taps)
                    out["texture"] = L.texture_loss(feats, self.gram_targets)
                if self.style_bank is not None:
                    views = {kind: L.style_swd_loss(feats if kind == "rgb" else vgg(kind), self.style_bank[kind], rng,
                                                    count=c.style_samples, projections=c.style_projections)
                             for kind in c.style_reps}
                    out["style"] = sum(c.style_reps[k] * v for k, v in views.items())
                    if len(views) > 1:  # logged per view; only "style" enters the total
                        out.update({f"style_{k}": v for k, v in views.items()})
            total = (sum(w["adv"] * out[k] for k in ("g_adv", "f_adv") if k in out)
                     + sum(w["cycle"] * out[k] for k in ("cycle_x", "cycle_y") if k in out)
                     + sum(w[k] * out[k] for k in ("deform", "color", "content", "texture", "patch", "palette", "layout",
                                              "style", "base", "structure") if k in out))
        acc.backward(total)
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        values = {k: float(v.detach()) for k, v in out.items()}
        values["g_total"] = float(total.detach())
        if not w["adv"]:  # no adversarial term: the discriminators are not trained
            return values

        L.requires_grad(DY, True)
        L.requires_grad(DX, True)
        r1 = w["adv"] and c.r1_gamma and step % c.r1_every == 0
        d_total = 0.0
        with acc.autocast():
            for name, D, real, fake in (("d_y", self.DY, y, fake_y), ("d_x", self.DX, x, fake_x)):
                real_aug = L.diff_augment(real, rng, c.diffaug).detach().requires_grad_(bool(r1))
                fake_aug = L.diff_augment(fake.detach(), rng, c.diffaug)
                logits = D(torch.cat([real_aug, fake_aug]))  # one forward per backward (DDP-friendly)
                real_logits, fake_logits = logits[: len(real)], logits[len(real):]
                out[name] = L.d_logistic_loss(real_logits, fake_logits)
                d_total = d_total + out[name]
                if r1:
                    out[f"r1_{name[-1]}"] = L.r1_penalty(real_logits, real_aug)
                    d_total = d_total + c.r1_gamma / 2 * c.r1_every * out[f"r1_{name[-1]}"]
        acc.backward(d_total)
        self.opt_d.step()
        self.opt_d.zero_grad(set_to_none=True)
        values.update({k: float(out[k].detach()) for k in out if k not in values})
        values["d_adv"] = values["d_y"] + values["d_x"]
        return values

    def _warmup(self, x: torch.Tensor, p: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """G learns to reproduce the photo in the template geometry (L1 + content) before the GAN starts, so
        the adversarial phase begins from a generator that keeps identity (AnimeGAN's initialization phase)."""
        with self.acc.autocast():
            fake = self.G(x, p, with_decoder=True)[1]  # the decoder: a painting head keeps its painting prior
            out = {"warmup_l1": (fake - target).abs().mean()}
            if self.vgg is not None and (self.config.weights["content"] or self.config.weights["texture"]):
                with torch.no_grad():
                    ref = self.vgg(target)
                out["content"] = L.perceptual_loss(self.vgg(fake), ref, self.config.content_taps)
            total = sum(out.values())
        self.acc.backward(total)
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        return {k: float(v.detach()) for k, v in out.items()}

    @torch.no_grad()
    def stylize(self, photos: PhotoPool) -> np.ndarray:
        """EMA generator outputs (N, S, S, 3) uint8 for aligned photos."""
        outs = []
        for i in range(0, len(photos), 8):
            x, p = to_tensor(photos.images[i:i + 8], photos.points[i:i + 8], photos.size, self.device)
            outs.append(to_uint8(self.ema(x, p)))
        return np.concatenate(outs)


# --------------------------------------------------------------------------- train


def train(config: TrainConfig, *, styles: str | Path | list, photos: str | Path | None = None, out: str | Path,
          run_dir: str | Path | None = None, resume: bool = False, callback: TrainCallback | None = None,
          cancel: threading.Event | None = None, name: str | None = None, overrides: str | Path | None = None,
          overwrite: bool = False, style_set: StyleSet | None = None, photo_pool: PhotoPool | None = None
          ) -> TrainResult:
    """Train a style from a folder of artworks and a photo pool, export it to `out`, return the result.

    Checkpoints go to run_dir/checkpoints every `checkpoint_every` steps (and at the end, or on cancel);
    resume=True continues the latest one exactly. `cancel` (set from any thread) stops at the next step
    boundary, saves a checkpoint and raises TrainingCancelled. Prebuilt `style_set` / `photo_pool` skip detection.
    photos=None uses `default_photo_source()`: $PORTRAIT_PHOTOS, else the bundled pool (studio/photos).
    """
    photos = photos if photos is not None and str(photos) != "" else default_photo_source()
    callback = callback or TrainCallback()
    try:
        result = _train(config, styles, photos, out, run_dir, resume, callback, cancel, name, overrides, overwrite,
                        style_set, photo_pool)
    except BaseException as exc:
        callback.on_error(exc)
        raise
    callback.on_end(result)
    return result


def _train(config: TrainConfig, styles: Any, photos: Any, out: str | Path, run_dir: str | Path | None,
           resume: bool, callback: TrainCallback, cancel: threading.Event | None, name: str | None,
           overrides: str | Path | None, overwrite: bool, style_set: StyleSet | None,
           photo_pool: PhotoPool | None) -> TrainResult:
    """The loop of Accelerate's cv_example: build everything, one prepare, then step, backward, EMA, save_state."""
    config.validate()
    out, name = Path(out), style_name(out, name)
    if out.exists() and not overwrite:
        raise StylePackageError(f"{out} already exists; choose another --out or remove it first")
    run = RunDir(run_dir if run_dir is not None else Path("runs") / name)
    start_ckpt = run.check_resume(config, resume)
    acc = _accelerator(config)
    run.main = acc.is_main_process
    run.start(config, fresh=start_ckpt is None)
    style, pool, held, train_pool = _load_data(config, acc, run, styles, photos, overrides, style_set, photo_pool)
    trainer = Trainer(config, acc, style, train_pool)  # the models, optimizers and the one accelerator.prepare
    counter = trainer.counter
    if start_ckpt is not None:
        acc.load_state(str(start_ckpt))
        run.resumed(counter.step)
    latest, preview = {}, None
    callback.on_start(config.steps)
    counter.start()
    try:
        while counter.step < config.steps:
            step = counter.step
            if _cancelled(acc, cancel):
                path = _checkpoint(run, acc, counter, config, callback)
                raise TrainingCancelled(
                    f"training cancelled at step {step}/{config.steps}; checkpoint {path}. Resume with "
                    f"`python -m studio train ... --resume --run-dir {run.path}` (train(..., resume=True))")
            latest = {}
            for micro in range(config.grad_accum):
                with acc.accumulate(trainer.G, trainer.F, trainer.DY, trainer.DX):
                    for k, v in trainer.step(step, micro).items():  # forward, losses, accelerator.backward
                        latest[k] = latest.get(k, 0.0) + v / config.grad_accum
            # EMA warm-up: the average follows G closely at first instead of lagging behind its random init.
            L.ema_update(trainer.ema, acc.unwrap_model(trainer.G), min(config.ema_decay, (1 + step) / (10 + step)))
            counter.step = step + 1
            if run.main:
                progress = counter.progress(config.steps, latest)
                run.log_losses(counter.step, progress.elapsed_s, latest)
                callback.on_step(progress)
            if run.main and len(held) and (counter.step % config.preview_every == 0 or counter.step == config.steps):
                preview = preview_grid(held.images, trainer.stylize(held))
                run.save_preview(counter.step, preview)
                callback.on_preview(counter.step, preview)
            if counter.step % config.checkpoint_every == 0 or counter.step == config.steps:
                _checkpoint(run, acc, counter, config, callback)
    except KeyboardInterrupt:
        path = _checkpoint(run, acc, counter, config, callback)
        raise TrainingCancelled(f"training interrupted at step {counter.step}/{config.steps}; checkpoint "
                                f"{path}. Resume with --resume --run-dir {run.path}") from None
    finally:
        run.close()  # losses.jsonl closed, losses.png drawn
    result = TrainResult(None, run.path, counter.step, counter.now(), run.final_losses(latest), preview)
    if run.main:
        result.package = _export(trainer, config, out, name, style, pool, held, result, overwrite, styles, photos)
    acc.wait_for_everyone()
    return result


def _accelerator(config: TrainConfig) -> Any:
    """An Accelerator for CPU, one GPU (mixed precision there only) or `accelerate launch`'s processes; seeded."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if config.threads:
        torch.set_num_threads(config.threads)
    cuda = torch.cuda.is_available()
    acc = Accelerator(mixed_precision=config.mixed_precision if cuda else "no", cpu=not cuda,
                      gradient_accumulation_steps=config.grad_accum)
    set_seed(config.seed)
    return acc


def _load_data(config: TrainConfig, acc: Any, run: RunDir, styles: Any, photos: Any, overrides: Any,
               style_set: StyleSet | None, photo_pool: PhotoPool | None
               ) -> tuple[StyleSet, PhotoPool, PhotoPool, PhotoPool]:
    """(artworks, the whole photo pool, the photos held out for previews, the others), recorded in the run's
    dataset.json."""
    with acc.main_process_first():  # the main process fills the detection cache, the others read it
        style = style_set or build_style_set(styles, config.size, overrides, config.missing,
                                             exclude_outliers=config.exclude_outliers, cache_dir=config.cache_dir)
        style = style.edited(config.landmark_edit)
        pool = photo_pool or build_photo_pool(photos, config.size, config.cache_dir, config.photo_limit)
    if len(pool) < config.holdout + 1:
        raise DatasetError(f"the photo pool has {len(pool)} usable photos; need more than the "
                           f"{config.holdout} held out for previews: add photos or lower holdout")
    held = np.linspace(0, len(pool) - 1, config.holdout).round().astype(int) if config.holdout else np.array([], int)
    held_pool = pool.subset(held)
    train_pool = pool.subset([i for i in range(len(pool)) if i not in set(held.tolist())])
    run.write_dataset({"artworks": style.to_dict(), "photos": pool.to_dict(), "landmark_edit": config.landmark_edit,
                       "held_out": held_pool.files})
    if run.main:
        log.info("artworks: %s", style.report())
        log.info("photos: %s", pool.summary())
    return style, pool, held_pool, train_pool


def _cancelled(acc: Any, cancel: threading.Event | None) -> bool:
    """Whether to stop now: `cancel` is set in any process (every process stops at the same step)."""
    stop = cancel is not None and cancel.is_set()
    if acc.num_processes > 1:
        stop = bool(acc.reduce(torch.tensor(float(stop), device=acc.device), reduction="sum") > 0)
    return stop


def _checkpoint(run: RunDir, acc: Any, counter: StepCounter, config: TrainConfig, callback: TrainCallback) -> Path:
    """Save the state at the counter's step (with the wall time so far) atomically into the run folder; when
    that step is saved already (or was resumed from), the latest checkpoint."""
    if run.saved_step == counter.step:
        return run.latest()
    counter.wall_s = counter.now()
    path = run.save_checkpoint(acc, counter.step, config.keep_checkpoints)
    if run.main:
        callback.on_checkpoint(counter.step, path)
    return path


def _export(trainer: Trainer, config: TrainConfig, out: Path, name: str, style: StyleSet, pool: PhotoPool,
            held: PhotoPool, result: TrainResult, overwrite: bool, styles: Any, photos: Any) -> StylePackage:
    """Write the EMA generator as a style package, with a preview, the training summary, provenance and the
    photo attribution; sets `result.preview` when training drew none (resumed at the last step, no held-out
    photos)."""
    from core.export import save_style

    if result.preview is None:
        shown = held if len(held) else pool.subset([0])
        result.preview = preview_grid(shown.images, trainer.stylize(shown))
    made = provenance(config, style, pool, held, styles, photos, result.steps, result.wall_s, result.losses)
    style_cfg = StyleConfig(name=name, resolution=config.export_size or config.size, description=(
        f"A portrait style learned from {len(style)} artworks with Portrait Studio's few-shot trainer"
        + (" (ablation: no TPS alignment)." if config.no_tps else ".")),
        tags=["no-tps-ablation"] if config.no_tps else [], training=made["training"],
        provenance={"artworks": made["artworks"], "photos": made["photos"]}, mode_default=config.package_mode,
        keep_shape=float(config.package_keep_shape))
    generator = Generator(trainer.ema.config, trainer.ema.template.detach().cpu())
    generator.load_state_dict(trainer.ema.state_dict())
    attribution = made["attribution"]
    extra = {ATTRIBUTION_FILE: (json.dumps(attribution, indent=1) + "\n").encode()} if attribution else None
    package = save_style(out, generator, style_cfg, result.preview, overwrite=overwrite, extra_files=extra)
    package = _add_refiner(package, config, style, styles, photos)
    return _add_texture(package, config, style, styles, photos)


def _add_refiner(package: StylePackage, config: TrainConfig, style: StyleSet, styles: Any, photos: Any
                 ) -> StylePackage:
    """The package's refiner per `config.refine_steps` (studio.refine), trained at the package's resolution on the
    artworks alone and kept only where it brings outputs closer to them; without the LPIPS weights or with too few
    artworks the package stays as trained."""
    from studio.refine import refine_package

    if not config.refine_steps:
        return package
    source = styles if styles is not None else style.files
    every = max(1, config.refine_steps // 10)

    def show(step: int, steps: int, parts: dict) -> None:
        if step % every == 0 or step == steps:
            log.info("refiner step %d/%d: %s", step, steps, {k: round(v, 4) for k, v in parts.items()})
    try:
        package, report = refine_package(package, source, config.refine_steps, cache_dir=config.cache_dir,
                                         progress=show, decide=True, photos=photos)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("no refiner for %s: %s", package.path, exc)
        return package
    log.info("refiner: %s", report)
    return package


def _add_texture(package: StylePackage, config: TrainConfig, style: StyleSet, styles: Any, photos: Any
                 ) -> StylePackage:
    """The package's texture stage per `config.artwork_texture` (studio.texture), from the artworks aligned at the
    package's resolution; "auto" keeps it only where it brings outputs closer to unseen artworks."""
    from studio.texture import texture_from_artworks

    if config.artwork_texture == "off":
        return package
    source = styles if styles is not None else style.files
    try:
        package, report = texture_from_artworks(package, source, decide=config.artwork_texture == "auto",
                                                photos=photos, cache_dir=config.cache_dir)
    except (FileNotFoundError, ValueError) as exc:  # no VGG file, too few artworks: the package stays as trained
        log.warning("no texture for %s: %s", package.path, exc)
        return package
    log.info("texture: %s", report)
    return package


# --------------------------------------------------------------------------- CLI


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add `train` to the `python -m studio` command line."""
    p = subparsers.add_parser("train", help="train a style from a folder of artworks and a photo pool",
                              description="Train a real-time portrait style from 10-100 artworks and a pool of "
                              "photos; writes a style package to --out and checkpoints to --run-dir.")
    p.add_argument("--styles", required=True, help="folder of artworks of one style")
    p.add_argument("--photos", help="folder of photos (or an aligned pool), or a Hugging Face dataset id "
                   "(owner/name or hf://datasets/owner/name); default: $PORTRAIT_PHOTOS, else the bundled "
                   "license-clean pool studio/photos (400 aligned faces, no detection needed)")
    p.add_argument("--out", required=True, help="package folder to write, e.g. styles/my_style")
    p.add_argument("--name", help="style name (default: the --out folder's name)")
    p.add_argument("--preset", choices=PRESETS,
                   help="base settings (default: the TrainConfig defaults); quick: the painting head, a CPU "
                        "quarter-hour (docs/training.md); gan: the earlier GAN recipe; full: GAN at 256 px (GPU)")
    p.add_argument("--config", help="training config JSON (any TrainConfig keys), applied over the preset")
    p.add_argument("--steps", type=int)
    p.add_argument("--size", type=int, help="training and package resolution in pixels (multiple of 8)")
    p.add_argument("--batch", type=int)
    p.add_argument("--no-tps", action="store_true", help="ablation: no landmark/TPS alignment anywhere")
    p.add_argument("--texture", choices=("auto", "on", "off"), help="the package's texture stage, the artworks' "
                   "strokes and paper on each output (core.texture); the quick preset's 'auto' keeps it where it "
                   "brings outputs closer to artworks it did not see")
    p.add_argument("--refine-steps", type=int, help="after training, fit a refiner for this many steps on pairs the "
                   "artworks give (studio.refine; 0: none)")
    p.add_argument("--run-dir", help="checkpoints, losses and plots (default: runs/NAME)")
    p.add_argument("--resume", action="store_true", help="continue the latest checkpoint in --run-dir")
    p.add_argument("--overrides", help="landmark override JSON written by the landmark editor")
    p.add_argument("--missing", choices=("exclude", "template", "error"),
                   help="artworks without a detected face: exclude them, fit the mean face, or stop")
    p.add_argument("--artwork-license", help="license or terms of the artworks, recorded in the package")
    p.add_argument("--overwrite", action="store_true", help="replace an existing package at --out")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=_run_cli)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Preset, then --config file (or, on --resume, the run's saved config), then explicit flags."""
    base = TrainConfig.preset(args.preset) if args.preset else TrainConfig()
    if args.config:
        base = TrainConfig.load(args.config, base)
    elif args.resume and not args.preset:
        saved = Path(args.run_dir or Path("runs") / style_name(args.out, args.name)) / CONFIG_FILE
        if saved.is_file():
            base = TrainConfig.load(saved)
    flags = {"steps": args.steps, "size": args.size, "batch": args.batch, "missing": args.missing,
             "artwork_license": args.artwork_license, "threads": args.threads, "artwork_texture": args.texture,
             "refine_steps": getattr(args, "refine_steps", None)}
    data = {k: v for k, v in flags.items() if v is not None}
    if args.no_tps:
        data["no_tps"] = True
    return TrainConfig.from_dict(data, base)


def _run_cli(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per saved file otherwise
    config = config_from_args(args)
    result = train(config, styles=args.styles, photos=args.photos, out=args.out, run_dir=args.run_dir,
                   resume=args.resume, callback=CallbackList(TqdmCallback()), name=args.name,
                   overrides=args.overrides, overwrite=args.overwrite)
    if result.package is not None:  # the main process exports; others (accelerate launch) have nothing to say
        print(f"style written to {result.package.path} ({result.steps} steps, {result.wall_s / 60:.1f} min); "
              f"run files in {result.run_dir}")
    return 0
