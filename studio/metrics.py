"""Quality metrics for the data-efficiency study: LPIPS (VGG16 + LPIPS v0.1 heads) against ground truth, and
KID (kernel inception distance, here on VGG16 features) between sets of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.images import images_to_unit
from studio.losses import load_vgg, normalize_channels, vgg_path

TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")  # the five LPIPS taps, in its order


class LPIPS(torch.nn.Module):
    """LPIPS v0.1 (VGG16): channel-normalised feature differences weighted by the learned linear heads."""

    def __init__(self, path: str | Path | None = None):
        super().__init__()
        from safetensors import safe_open

        file = Path(path) if path else vgg_path()
        if not file.is_file():
            raise FileNotFoundError(f"{file} is missing: LPIPS needs the VGG16 + LPIPS heads file")
        self.vgg = load_vgg(TAPS, file)
        with safe_open(str(file), framework="pt") as f:
            self.heads = [f.get_tensor(f"lin{i}.weight").float() for i in range(len(TAPS))]

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b (B, 3, H, W) in [-1, 1] -> (B,) distances."""
        fa, fb = self.vgg(a), self.vgg(b)
        total = 0
        for tap, head in zip(TAPS, self.heads):
            d = (normalize_channels(fa[tap]) - normalize_channels(fb[tap])) ** 2
            total = total + (d * head.to(d)).sum(1).mean((1, 2))
        return total


def lpips_loss(metric: LPIPS, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image LPIPS (B,) of a, b (B,3,H,W) in [-1,1] *with* gradients (the metric's forward has none): the
    refiner's paired loss on the artworks (studio.refine) and the probes' capacity checks."""
    fa, fb = metric.vgg(a), metric.vgg(b)
    return sum(((normalize_channels(fa[t]) - normalize_channels(fb[t])) ** 2 * h.to(a)).sum(1).mean((1, 2))
               for t, h in zip(TAPS, metric.heads))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1] (`core.images.images_to_unit`)."""
    return torch.from_numpy(images_to_unit(images))


def lpips_scores(metric: LPIPS, a: np.ndarray, b: np.ndarray, batch: int = 8) -> np.ndarray:
    """Per-image LPIPS between two aligned uint8 image sets (N, H, W, 3)."""
    return np.concatenate([metric(to_tensor(a[i:i + batch]), to_tensor(b[i:i + batch])).numpy()
                           for i in range(0, len(a), batch)])


@torch.no_grad()
def vgg_embeddings(images: np.ndarray, batch: int = 8, vgg=None) -> np.ndarray:
    """Global-average-pooled relu5_3 features (N, 512) of uint8 images: the feature space for KID."""
    vgg = vgg or load_vgg(("relu5_3",))
    if vgg is None:
        raise FileNotFoundError(f"{vgg_path()} is missing: KID needs VGG16 features")
    return np.concatenate([vgg(to_tensor(images[i:i + batch]))["relu5_3"].mean((2, 3)).numpy()
                           for i in range(0, len(images), batch)])


def kid(x: np.ndarray, y: np.ndarray, subsets: int = 50, subset_size: int | None = None, seed: int = 0):
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018), averaged over random subsets;
    returns (mean, std). x (N, D), y (M, D) feature sets."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    m = subset_size or min(len(x), len(y))
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))
