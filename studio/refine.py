"""`python -m studio refine`: give a style a refiner, a small residual CNN after its painting head, trained on
pairs made from the artworks alone (docs/training.md, fifteenth round).

Each artwork is "destyled" by a median filter (its outlines, dabs and speckle go, its regions stay) and painted by
the style's own head at alpha 0; the refiner learns to turn that painting back into the artwork (L1 + LPIPS on
random windows). On a photo it then adds what the head's rendering lacks against the art. No photo and no
painter is ever a target: the trainer stays unpaired and few-shot."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

MEDIAN = 5  # px at 256: wider than the painters' outlines and dabs, narrower than a face's parts
WIDTH, BLOCKS = 16, 4  # 19.4 k parameters (docs/training.md, fifteenth round)
STEPS, BATCH, CROP, LR = 600, 8, 128, 1e-3


def destyle(images: np.ndarray, median: int = MEDIAN) -> np.ndarray:
    """Artworks (N,S,S,3) uint8 with thin strokes removed: a `median` px median filter per image (1: unchanged)."""
    import cv2

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"artworks must be (N, S, S, 3) uint8, got {images.shape} {images.dtype}")
    if median <= 1:
        return images
    if median % 2 == 0:
        raise ValueError(f"the median filter's size must be odd, got {median}")
    return np.stack([cv2.medianBlur(im, median) for im in images])


def paint_at_rest(generator, images):
    """The generator's painting before its refiner (B,3,S,S) in [-1,1] of images (B,3,S,S) in [-1,1], at alpha 0:
    artworks already have the style's geometry, so they are painted where they are."""
    import torch

    points = generator.template[None].expand(images.shape[0], -1, -1)
    with torch.no_grad():
        return generator.paint(images, points, torch.zeros(images.shape[0]))


def pair_tensors(generator, artworks: np.ndarray, median: int = MEDIAN, chunk: int = 16):
    """(inputs, targets) (N,3,S,S) in [-1,1]: the head's painting of each destyled artwork, and the artwork."""
    import torch

    from core.images import images_to_unit

    targets = torch.from_numpy(images_to_unit(np.asarray(artworks)))
    plain = torch.from_numpy(images_to_unit(destyle(artworks, median)))
    inputs = torch.cat([paint_at_rest(generator, plain[i:i + chunk]) for i in range(0, len(plain), chunk)])
    return inputs, targets


def random_windows(inputs, targets, count: int, crop: int, g):
    """`count` random crop x crop windows (count,3,crop,crop) at the same place of inputs and targets, each
    flipped left-right at random: the refiner works at inference's pixel scale on a fraction of the pixels."""
    import torch

    n, _, h, w = inputs.shape
    crop = min(crop, h, w)
    idx = torch.randint(0, n, (count,), generator=g).tolist()
    ys = torch.randint(0, h - crop + 1, (count,), generator=g).tolist()
    xs = torch.randint(0, w - crop + 1, (count,), generator=g).tolist()
    flips = (torch.rand(count, generator=g) < 0.5).tolist()

    def take(t):
        out = [t[i, :, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)]
        return torch.stack([o.flip(-1) if f else o for o, f in zip(out, flips)])
    return take(inputs), take(targets)


def refine_loss(metric, output, target, lpips_weight: float = 1.0, bf16: bool = False):
    """L1 + lpips_weight * LPIPS (studio.metrics.lpips_loss, VGG under bf16 autocast when `bf16`) of the
    refiner's output against the artwork: (total, {"l1", "lpips"})."""
    import torch
    import torch.nn.functional as F

    from studio.metrics import lpips_loss

    l1 = F.l1_loss(output, target)
    if lpips_weight <= 0:
        return l1, {"l1": float(l1.detach())}
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        perceptual = lpips_loss(metric, output, target).float().mean()
    return l1 + lpips_weight * perceptual, {"l1": float(l1.detach()), "lpips": float(perceptual.detach())}


def train_refiner(generator, artworks: np.ndarray, steps: int = STEPS, batch: int = BATCH, crop: int = CROP,
                  lr: float = LR, median: int = MEDIAN, seed: int = 0, metric=None, lpips_weight: float = 1.0,
                  progress: Callable[[int, int, dict], None] | None = None) -> dict:
    """Fit `generator.refiner` (the rest frozen) on the artworks' pairs for `steps` Adam steps; returns a report
    ({"steps", "seconds", "losses": the last step's}). `progress(step, steps, losses)` after every step;
    lpips_weight 0 trains on L1 alone and needs no VGG file (the tests)."""
    import torch

    from studio.losses import requires_grad
    from studio.metrics import LPIPS
    from studio.train import fast_bf16

    if not generator.config.refiner:
        raise ValueError("the generator has no refiner: set GeneratorConfig.refiner to its width first")
    if len(artworks) < 2:
        raise ValueError(f"a refiner needs at least 2 artworks, got {len(artworks)}")
    if lpips_weight > 0:
        metric = metric or LPIPS()
        requires_grad(metric, False)
    generator.eval()
    requires_grad(generator, False)
    requires_grad(generator.refiner, True)
    inputs, targets = pair_tensors(generator, artworks, median)
    opt = torch.optim.Adam(generator.refiner.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    bf16 = fast_bf16(torch.device("cpu"))
    t0, parts = time.perf_counter(), {}
    for step in range(1, steps + 1):
        x, y = random_windows(inputs, targets, batch, crop, g)
        loss, parts = refine_loss(metric, generator.refiner(x), y, lpips_weight, bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress:
            progress(step, steps, parts)
    requires_grad(generator, False)
    return {"steps": steps, "seconds": round(time.perf_counter() - t0, 1), "losses": parts,
            "width": generator.config.refiner, "lowcut": generator.config.refiner_lowcut, "median": median,
            "artworks": int(len(artworks))}


def with_refiner(generator, width: int = WIDTH, blocks: int = BLOCKS, lowcut: int = 0):
    """A copy of `generator` with a fresh (identity) refiner of `width` x `blocks` (`lowcut`: detail only, see
    GeneratorConfig.refiner_lowcut) in place of any it had."""
    from core.config import GeneratorConfig
    from core.generator import Generator

    config = GeneratorConfig.from_dict({**generator.config.to_dict(), "refiner": int(width),
                                        "refiner_blocks": int(blocks), "refiner_lowcut": int(lowcut)})
    out = Generator(config)
    state = {k: v for k, v in generator.state_dict().items() if not k.startswith("refiner.")}
    missing, unexpected = out.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("refiner.") for k in missing):
        raise ValueError(f"cannot move the weights: missing {missing}, unexpected {unexpected}")
    return out.eval()


def refine_package(package, sources, steps: int = STEPS, width: int = WIDTH, blocks: int = BLOCKS, lowcut: int = 0,
                   overrides=None, cache_dir: str | Path | None = "cache", progress=None, decide: bool = False,
                   photos=None, **train_options):
    """Align the artworks in `sources` at the package's resolution, train a refiner on them and write it into the
    package (weights, graphs, style.json's model and "refiner" report, card). With `decide`, keep it only when it
    brings the style's outputs on DECIDE_PHOTOS pool photos closer to the artworks (`refiner_helps`); otherwise the
    package is put back byte for byte. Returns (package, report: "added", and the distances when deciding).
    `train_options` go to `train_refiner` (batch, crop, lr, lpips_weight, ...)."""
    from core.export import load_generator, replace_generator
    from core.package import load_style, write_package
    from studio.data import build_style_set
    from studio.texture import pool_outputs

    package = load_style(package) if not hasattr(package, "config") else package
    style = build_style_set(sources, package.config.resolution, overrides, "exclude", cache_dir=cache_dir)
    before = pool_outputs(package, photos) if decide else None
    original = {f.name: f.read_bytes() for f in package.path.iterdir() if f.is_file()}
    generator = with_refiner(load_generator(package), width, blocks, lowcut)
    report = train_refiner(generator, style.images, steps, progress=progress, **train_options)
    refined = replace_generator(package, generator, {"refiner": report},
                                refined_description(package.config.description, report))
    report["added"] = True
    if decide:
        helps, report["distance_without"], report["distance_with"] = refiner_helps(
            before, pool_outputs(refined, photos), style.images)
        report["added"] = bool(helps)
        if not helps:
            return write_package(package.path, original, overwrite=True), report
    return refined, report


def refiner_helps(before: np.ndarray, after: np.ndarray, artworks: np.ndarray, vgg=None) -> tuple[bool, float, float]:
    """Whether the style's outputs on photos (M,S,S,3) uint8 came closer to its artworks (N,S,S,3) with the refiner:
    the trainer's style distance (VGG sliced Wasserstein, studio.texture.texture_distance), no painter involved.
    The refiner saw these artworks as targets, never these photos. Returns (helps, distance without, with)."""
    from studio.losses import load_vgg
    from studio.texture import texture_distance

    vgg = vgg or load_vgg(("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
    if vgg is None:
        raise FileNotFoundError("the refiner decision needs the VGG16 weights: run `python -m studio weights`")
    without, with_it = texture_distance(before, artworks, vgg), texture_distance(after, artworks, vgg)
    return with_it < without, round(without, 4), round(with_it, 4)


REFINED = " Refined: "  # the sentence refine_package appends to a package's description (replaced on a rerun)


def refined_description(description: str, report: dict) -> str:
    """`description` with one sentence saying what the refiner is and how it was trained (an earlier one replaced)."""
    base = description.split(REFINED)[0].rstrip()
    return (f"{base}{REFINED}a {report['width']}-wide residual CNN after the head, trained for {report['steps']} "
            f"steps on {report['artworks']} pairs made from the artworks alone (each destyled, painted by the head "
            f"and mapped back to itself; studio.refine).").lstrip()


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add `refine` to the `python -m studio` command line."""
    from studio.texture import stage_parser

    p = stage_parser(subparsers, "refine", "give a style a refiner trained on its artworks",
                     "Train a small residual CNN after a style's painting head, on pairs made from its artworks "
                     "alone (each artwork, destyled and painted by the head, back to itself), and write it into the "
                     "package.",
                     "keep it only if it brings the style's outputs on pool photos closer to the artworks (the "
                     "trainer's default)")
    p.add_argument("--steps", type=int, default=STEPS, help=f"Adam steps (default {STEPS})")
    p.add_argument("--width", type=int, default=WIDTH, help=f"refiner width (default {WIDTH})")
    p.add_argument("--lowcut", type=int, default=0, help="px: the refiner changes detail only, not the tones of cells "
                   "this large (default 0: everything)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    every = max(1, args.steps // 20)

    def show(step, steps, parts):
        if step % every == 0 or step == steps:
            print(f"step {step}/{steps} " + " ".join(f"{k} {v:.4f}" for k, v in parts.items()), flush=True)
    package, report = refine_package(args.style, args.artworks, args.steps, args.width, lowcut=args.lowcut,
                                     progress=show,
                                     decide=args.auto, photos=args.photos)
    if "distance_with" in report:
        print(f"style distance to the artworks: {report['distance_without']} without the refiner, "
              f"{report['distance_with']} with it")
    if not report["added"]:
        print(f"{package.path}: unchanged (the refiner does not bring this style closer to its artworks)")
    else:
        print(f"{package.path}: refiner {report['width']} wide from {report['artworks']} artworks, "
              f"{report['steps']} steps in {report['seconds'] / 60:.1f} min")
    print(json.dumps(report))
    return 0
