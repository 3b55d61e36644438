"""Training losses for the few-shot style trainer, as small functions over (B, 3, H, W) images in [-1, 1] and
canonical landmarks (B, 73, 2) normalized to [-1, 1], plus the loss networks (patch discriminator, VGG16).

Adversarial: the non-saturating logistic loss with an R1 penalty on reals (StyleGAN2). It is the best studied
choice for small data sets: R1 keeps the discriminator from memorising a few dozen artworks without the
architectural constraints of spectral norm, and DiffAugment (`diff_augment`, applied to real and fake alike)
stops it from overfitting their exact pixels (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training").
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.generator import guided_smooth
from core.tps import warp_image
from studio.config import STYLE_REPRESENTATIONS
from studio.data import apply_warp

log = logging.getLogger(__name__)

VGG_FILE = "models/vgg16_lpips.safetensors"
VGG_TAPS = {"relu1_2": 3, "relu2_2": 8, "relu3_1": 11, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29}
# LPIPS scaling layer; identical to ImageNet mean/std rescaled to inputs in [-1, 1].
VGG_SHIFT = (-0.030, -0.088, -0.188)
VGG_SCALE = (0.458, 0.448, 0.450)

Image2Image = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- training utilities


def requires_grad(model: nn.Module, flag: bool) -> None:
    """Switch gradients of every parameter of `model` on or off (freeze D during the G step and back)."""
    for p in model.parameters():
        p.requires_grad_(flag)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers are copied."""
    for e, m in zip(ema.parameters(), model.parameters()):
        e.lerp_(m.detach().to(e.dtype), 1.0 - decay)
    for e, m in zip(ema.buffers(), model.buffers()):
        e.copy_(m)


# --------------------------------------------------------------------------- adversarial


class Discriminator(nn.Module):
    """PatchGAN: four stride-2 4x4 convs (channels c, 2c, 4c, 8c) and a 3x3 conv to one logit per patch.

    No normalization layers: R1 regularizes it, and per-sample logits keep R1 per-sample.
    """

    def __init__(self, channels: int = 32, layers: int = 4) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        cin = 3
        for i in range(layers):
            cout = channels * 2 ** i
            mods += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            cin = cout
        mods.append(nn.Conv2d(cin, 1, 3, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> patch logits (B, 1, H/2^layers, W/2^layers)."""
        return self.net(x)


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator side of the logistic GAN loss: softplus(-D(real)) + softplus(D(fake)), averaged."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side (non-saturating): softplus(-D(G(x))), averaged."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 = E |grad_x D(x)|^2 on reals, D(x) the per-sample mean of the patch logits (B, ...);
    `real_images` must require grad and produce `real_logits`. On the *sum* of patches the penalty grows with
    the patch count squared and held the discriminator at chance (docs/training.md)."""
    per_sample = real_logits.float().reshape(len(real_logits), -1).mean(1)
    (grad,) = torch.autograd.grad(per_sample.sum(), real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def diff_augment(x: torch.Tensor, generator: torch.Generator, policy: Sequence[str] = ("color", "translation",
                 "cutout")) -> torch.Tensor:
    """DiffAugment: random brightness/saturation/contrast, translation by up to 1/8 and a cutout of 1/2 the
    side, differentiable in x, drawn per sample from `generator` (apply independently to reals and fakes)."""
    b, _, h, w = x.shape

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, device=generator.device).to(x.device)

    if "color" in policy:
        x = x + (rand(b, 1, 1, 1) - 0.5) * 2.0  # brightness, [-1, 1] range: twice DiffAugment's +-0.5
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (rand(b, 1, 1, 1) * 2) + mean  # saturation
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * (rand(b, 1, 1, 1) + 0.5) + mean  # contrast
    if "translation" in policy:
        sh, sw = h // 8, w // 8
        ty = (rand(b) * (2 * sh + 1)).long() - sh
        tx = (rand(b) * (2 * sw + 1)).long() - sw
        rows = (torch.arange(h, device=x.device)[None] + ty[:, None]).clamp(-1, h)  # -1 and h hit the zero pad
        cols = (torch.arange(w, device=x.device)[None] + tx[:, None]).clamp(-1, w)
        padded = F.pad(x, (1, 1, 1, 1))
        idx_b = torch.arange(b, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[idx_b, rows[:, :, None] + 1, cols[:, None, :] + 1].permute(0, 3, 1, 2)
    if "cutout" in policy:
        ch, cw = h // 2, w // 2
        y0 = (rand(b) * (h + 1 - ch % 2)).long() - ch // 2
        x0 = (rand(b) * (w + 1 - cw % 2)).long() - cw // 2
        ys = torch.arange(h, device=x.device)[None, :, None] - y0[:, None, None]
        xs = torch.arange(w, device=x.device)[None, None, :] - x0[:, None, None]
        inside = (ys >= 0) & (ys < ch) & (xs >= 0) & (xs < cw)
        x = x * (~inside).unsqueeze(1).to(x.dtype)
    return x


# --------------------------------------------------------------------------- geometry-aware terms


def cycle_loss(reverse: Image2Image, stylized: torch.Tensor, photo: torch.Tensor, photo_points: torch.Tensor,
               template: torch.Tensor, reg: float = 1e-3, no_tps: bool = False) -> torch.Tensor:
    """Geometric-aware cycle consistency: G's output (template geometry) is warped in pixel space back to the
    photo's landmarks, the reverse generator F (texture only) maps it back, L1 to the photo.

    stylized = G(photo) (B, 3, H, W); template (73, 2) or (B, 73, 2); no_tps skips the warp (plain CycleGAN).
    """
    back = stylized
    if not no_tps:
        back = warp_image(stylized, template.expand_as(photo_points).to(stylized), photo_points.to(stylized), reg=reg)
    return (reverse(back) - photo).abs().mean()


def face_mask(points: torch.Tensor, size: int, feather: float = 0.06) -> torch.Tensor:
    """(1, 1, S, S) weights: 1 inside the convex hull of the face outline of `points` (73, 2) normalized,
    falling to 0 over `feather` * size pixels outside it."""
    import cv2
    import numpy as np

    from core import topology
    from core.aligned import to_pixels

    oval = to_pixels(points.detach().cpu().double().numpy()[topology.GROUP_SLICES["face_oval"]], size) - 0.5
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, np.round(cv2.convexHull(oval.astype(np.float32)) * 16).astype(np.int32), 1.0,
                       cv2.LINE_AA, 4)
    k = max(3, int(feather * size) * 2 + 1)
    mask = np.maximum(mask, cv2.GaussianBlur(cv2.dilate(mask, np.ones((k, k), np.uint8)), (k, k), 0))
    return torch.from_numpy(mask)[None, None].to(points.device)


def deformation_loss(generator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], photo: torch.Tensor,
                     points: torch.Tensor, stylized: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                     no_tps: bool = False, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Deformation invariance under a random warp T (control points src -> dst, see `studio.data.random_warp`).

    With the feature TPS, G normalises geometry to the template, so G(T(x), T(p)) ~ G(x, p) = stylized; this
    holds inside the face (landmarks pin it) but not where the TPS extrapolates, so pass the template's
    `face_mask`. Without it (no_tps), G must commute with T: G(T(x)) ~ T(G(x)). Weighted L1, averaged.
    """
    warped, moved = apply_warp(photo, points, src, dst)
    if no_tps:
        diff = generator(warped, points) - warp_image(stylized, src.to(stylized), dst.to(stylized))
    else:
        diff = generator(warped, moved) - stylized
    if mask is None:
        return diff.abs().mean()
    mask = mask.to(diff)
    return (diff.abs() * mask).mean() / mask.mean().clamp_min(1e-6)


def lowpass(x: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """Colour layout: average-pool (B, C, H, W) by `factor`."""
    return F.avg_pool2d(x, factor, factor)


def color_loss(fake: torch.Tensor, target: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """L1 between low-passed images: keeps the photo's light and skin colour under the style's texture."""
    return (lowpass(fake, factor) - lowpass(target, factor)).abs().mean()


def gram(feat: torch.Tensor) -> torch.Tensor:
    """Gram matrix (B, C, C) of features (B, C, H, W), normalized by C*H*W."""
    b, c, h, w = feat.shape
    f = feat.float().reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def texture_loss(feats: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared difference of Gram matrices to target Grams (C, C) per tap, summed over taps (scaled x1e3)."""
    return sum(((gram(feats[k]) - targets[k].to(feats[k].device)) ** 2).mean() for k in targets) * 1e3


# --------------------------------------------------------------------------- perceptual (VGG16)


class VGGFeatures(nn.Module):
    """Frozen VGG16 `features` truncated after the deepest requested ReLU tap; inputs in [-1, 1] are rescaled
    by (x - shift) / scale and resized so their longer side is at most `max_size` (cost grows with area)."""

    def __init__(self, state: dict[str, torch.Tensor], taps: Sequence[str], shift: Sequence[float] = VGG_SHIFT,
                 scale: Sequence[float] = VGG_SCALE, max_size: int | None = None) -> None:
        super().__init__()
        from torchvision.models import vgg16

        unknown = set(taps) - set(VGG_TAPS)
        if unknown:
            raise ValueError(f"unknown VGG taps {sorted(unknown)}; choose from {sorted(VGG_TAPS)}")
        self.taps = {VGG_TAPS[t]: t for t in taps}
        with torch.device("meta"):  # skip the random init of 138M parameters; the state replaces them
            features = vgg16().features[: max(self.taps) + 1]
        wanted = set(features.state_dict())
        features.load_state_dict({k[len("features."):]: v.float() for k, v in state.items()
                                  if k.startswith("features.") and k[len("features."):] in wanted}, assign=True)
        self.features = features.eval()
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        requires_grad(self, False)
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
        self.max_size = max_size

    def train(self, mode: bool = True) -> "VGGFeatures":
        return super().train(False)  # always in eval mode

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 3, H, W) in [-1, 1] -> {tap name: features}."""
        if self.max_size and max(x.shape[-2:]) > self.max_size:
            x = F.interpolate(x, scale_factor=self.max_size / max(x.shape[-2:]), mode="bilinear",
                              antialias=True, align_corners=False)
        x = (x - self.shift.to(x)) / self.scale.to(x)
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out[self.taps[i]] = x
        return out


def _parse_metadata(meta: dict[str, str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(shift, scale) from the shared file's metadata 'input' text; the LPIPS constants when absent."""
    text = meta.get("input", "")
    found = [re.search(rf"{k}=\[([^\]]+)\]", text) for k in ("shift", "scale")]
    if not all(found):
        return VGG_SHIFT, VGG_SCALE
    shift, scale = (tuple(float(v) for v in m.group(1).split(",")) for m in found)
    return shift, scale


def vgg_path() -> Path:
    """$PORTRAIT_SHARED/models/vgg16_lpips.safetensors (PORTRAIT_SHARED defaults to ../shared), else the same file
    built by `python -m studio weights` in the user cache (studio.weights.cache_path) when only that one exists."""
    shared = Path(os.environ.get("PORTRAIT_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))) / VGG_FILE
    if shared.is_file():
        return shared
    from studio.weights import cache_path

    cached = cache_path()
    return cached if cached.is_file() else shared


def load_vgg(taps: Sequence[str], path: str | Path | None = None, allow_download: bool = False,
             max_size: int | None = None) -> VGGFeatures | None:
    """VGG16 features from the shared LPIPS file, else torchvision's ImageNet weights (downloaded only when
    `allow_download`); None, with a logged note, when neither is available."""
    from safetensors import safe_open

    file = Path(path) if path is not None else vgg_path()
    if file.is_file():
        with safe_open(str(file), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
            shift, scale = _parse_metadata(f.metadata() or {})
        log.info("perceptual loss: VGG16 from %s", file)
        return VGGFeatures(state, taps, shift, scale, max_size)
    try:
        from torchvision.models import VGG16_Weights

        weights = VGG16_Weights.IMAGENET1K_V1
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        if not (cached.is_file() or allow_download):
            raise FileNotFoundError(f"{cached} is not downloaded")
        state = {f"features.{k[len('features.'):]}": v for k, v in
                 weights.get_state_dict(progress=False).items() if k.startswith("features.")}
    except Exception as exc:  # no file, no network: train without the perceptual term
        log.warning("perceptual loss skipped: %s is missing and torchvision's VGG16 weights are unavailable (%s)",
                    file, exc)
        return None
    log.info("perceptual loss: torchvision VGG16 ImageNet weights")
    return VGGFeatures(state, taps, VGG_SHIFT, VGG_SCALE, max_size)


def normalize_channels(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit-length feature vectors along channels (LPIPS)."""
    return feat / torch.sqrt(feat.float().pow(2).sum(1, keepdim=True) + eps).to(feat)


def perceptual_loss(feats: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                    taps: Sequence[str]) -> torch.Tensor:
    """LPIPS-style distance without learned heads: squared difference of channel-normalized features,
    summed over channels, averaged over positions and batch, summed over `taps`."""
    return sum((normalize_channels(feats[t]) - normalize_channels(targets[t])).float().pow(2).sum(1).mean()
               for t in taps)


# --------------------------------------------------------------------------- style statistics (no VGG)


def random_directions(count: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """`count` random unit vectors (dim, count) for sliced Wasserstein projections."""
    d = torch.randn(dim, count, generator=generator, device=generator.device).to(device)
    return d / d.norm(dim=0, keepdim=True)


def patches(x: torch.Tensor, size: int, count: int, generator: torch.Generator, mean_free: bool) -> torch.Tensor:
    """`count` random size x size patches (count, C*size^2) of a batch (B,C,H,W); mean-free patches have their
    own mean colour removed, so they describe texture (flatness, lines, strokes), not colour."""
    b, c, h, w = x.shape
    cols = F.unfold(x, size) if size > 1 else x.reshape(b, c, h * w)  # (B, C*k*k, L)
    cols = cols.permute(0, 2, 1).reshape(-1, cols.shape[1])
    idx = torch.randint(0, len(cols), (count,), generator=generator, device=generator.device).to(x.device)
    p = cols[idx]
    if mean_free and size > 1:
        p = (p.view(count, c, -1) - p.view(count, c, -1).mean(-1, keepdim=True)).view(count, -1)
    return p


def sorted_projections(x: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Samples x (N, D) projected on directions (D, K) and sorted: (K, N), differentiable in x. On a CPU the order
    comes from NumPy: torch's sort along samples took 5.7 ms for 2048 x 64 where NumPy takes 0.5-1 ms, and the quick
    preset sorts twice per VGG tap per step (docs/training.md, "Fourteenth round")."""
    p = directions.t() @ x.t()
    if p.device.type != "cpu" or p.dtype not in (torch.float32, torch.float64):
        return p.sort(-1).values
    if not p.requires_grad:
        return torch.from_numpy(np.sort(p.numpy(), axis=-1))
    return p.gather(1, torch.from_numpy(np.argsort(p.detach().numpy(), axis=-1)))


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein-2 distance between sample sets a, b (N, D) along directions (D, K)."""
    pa = sorted_projections(a, directions)
    with torch.set_grad_enabled(b.requires_grad):  # the artworks' side needs no graph
        pb = sorted_projections(b, directions)
    return (pa - pb).pow(2).mean()


def patch_loss(fake: torch.Tensor, real: torch.Tensor, generator: torch.Generator, size: int = 5,
               scales: Sequence[int] = (1, 2, 4), count: int = 2048, projections: int = 64) -> torch.Tensor:
    """Multi-scale texture statistics: sliced Wasserstein distance between the mean-free patches of G's outputs
    and of the artworks (both (B,3,H,W), same geometry), at full, 1/2 and 1/4 resolution. Unlike a
    discriminator it is stable from the first step, and it prefers flat regions and lines over photo detail."""
    total = fake.new_zeros(())
    for s in scales:
        f, r = (F.avg_pool2d(fake, s), F.avg_pool2d(real, s)) if s > 1 else (fake, real)
        d = random_directions(projections, 3 * size * size, generator, fake.device)
        total = total + sliced_wasserstein(patches(f, size, count, generator, True),
                                           patches(r, size, count, generator, True).detach(), d)
    return total * 100.0 / len(scales)


def palette_loss(fake: torch.Tensor, real: torch.Tensor, generator: torch.Generator, count: int = 4096,
                 projections: int = 32) -> torch.Tensor:
    """Colour statistics: sliced Wasserstein distance between the pixel colours of G's outputs and of the
    artworks (B,3,H,W), which learns the style's palette, paper and ink."""
    d = random_directions(projections, 3, generator, fake.device)
    return sliced_wasserstein(patches(fake, 1, count, generator, False),
                              patches(real, 1, count, generator, False).detach(), d) * 10.0


def layout_loss(fake: torch.Tensor, target: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """Identity without colour: L1 between the per-image standardized, low-passed luma of G's output and of the
    photo in the same geometry (B,3,H,W), so light and shadow stay where they were whatever the palette."""
    def norm(x: torch.Tensor) -> torch.Tensor:
        v = lowpass((x * x.new_tensor((0.299, 0.587, 0.114)).view(1, 3, 1, 1)).sum(1, keepdim=True), factor)
        return (v - v.mean((2, 3), keepdim=True)) / (v.std((2, 3), keepdim=True) + 1e-3)
    return (norm(fake) - norm(target)).abs().mean()


def feature_samples(feat: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` random feature vectors (count, C) of feature maps (B,C,H,W), gathered without a channels-last copy
    of the whole map (that copy and its backward cost more than the sort of the sliced Wasserstein loss)."""
    b, c, h, w = feat.shape
    idx = torch.randint(0, b * h * w, (count,), generator=generator, device=generator.device).to(feat.device)
    return feat.flatten(2)[idx // (h * w), :, idx % (h * w)]


def style_swd_loss(feats: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], generator: torch.Generator,
                   count: int = 4096, projections: int = 64) -> torch.Tensor:
    """Sliced Wasserstein distance between VGG feature distributions of G's outputs and of the artworks, per tap,
    normalized by the artworks' feature energy (Heitz et al. 2021, "A Sliced Wasserstein Loss for Neural Texture
    Synthesis"). Unlike Gram matrices it sees the whole distribution, so flat regions and lines lower it while
    blur raises it; `targets` may hold precomputed artwork samples (N, C) per tap."""
    total = 0.0
    for tap, target in targets.items():
        f = feats[tap]
        real = target if target.dim() == 2 else feature_samples(target, count, generator)
        ridx = torch.randint(0, len(real), (count,), generator=generator, device=generator.device).to(real.device)
        real = real[ridx].detach().float()
        d = random_directions(projections, f.shape[1], generator, f.device)
        total = total + sliced_wasserstein(feature_samples(f, count, generator).float(), real, d) / (
            real.pow(2).mean() + 1e-6)
    return total


STRUCTURE_SEGMENTS = dict(sigma=0.8, k=100.0, min_size=20)  # Felzenszwalb at 128 px: about 80 segments a portrait
STRUCTURE_TAP = "relu4_3"  # White-box compares the structure at VGG19 conv4_4; the deepest tap the quick preset has


def structure_representation(x: torch.Tensor) -> torch.Tensor:
    """White-box Cartoonization's structure representation: x (B,3,H,W) in [-1,1] -> each Felzenszwalb segment of
    each image (OpenCV's graph segmentation of the image itself) filled with its mean colour, no gradient."""
    import cv2
    import numpy as np

    x = x.detach().float()
    b, _, h, w = x.shape
    images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    segmenter = cv2.ximgproc.segmentation.createGraphSegmentation(**STRUCTURE_SEGMENTS)
    out = torch.empty_like(x)
    for i in range(b):
        labels = torch.from_numpy(segmenter.processImage(np.ascontiguousarray(images[i])).astype(np.int64))
        labels = labels.flatten().to(x.device)
        n = int(labels.max()) + 1
        sums = torch.zeros(3, n, device=x.device).index_add_(1, labels, x[i].flatten(1))
        means = sums / torch.bincount(labels, minlength=n).clamp_min(1)
        out[i] = means[:, labels].view(3, h, w)
    return out


def structure_loss(feats: dict[str, torch.Tensor], flat: dict[str, torch.Tensor], tap: str) -> torch.Tensor:
    """L1 between the VGG features at `tap` of G's outputs and of their structure representation, relative to the
    latter's mean magnitude: it asks for flat regions with clean boundaries (White-box's structure loss)."""
    target = flat[tap].detach().float()
    return (feats[tap].float() - target).abs().mean() / (target.abs().mean() + 1e-6)


def style_representation(x: torch.Tensor, kind: str) -> torch.Tensor:
    """x (B,3,H,W) in [-1,1] -> the view of it a style loss compares (White-box Cartoonization's representations):
    "rgb" the image; "surface" a self-guided filter (radius 5 px at 256, eps 0.2), so strokes and grain drop out
    and only the painted surface counts; "gray" its luma in 3 channels, so texture counts without the palette."""
    if kind == "rgb":
        return x
    if kind == "surface":
        return guided_smooth(x, 5.0 * x.shape[-1] / 256, torch.tensor(0.2, device=x.device), factor=1)
    if kind == "gray":
        return (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).expand_as(x)
    raise ValueError(f"unknown style representation {kind!r}; choose from {list(STYLE_REPRESENTATIONS)}")
