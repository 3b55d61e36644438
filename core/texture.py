"""Texture transfer from the style's own artworks: a non-parametric part of a style (image analogies with a
positional guide, Hertzmann et al. 2001; Fiser et al. 2017 for faces).

Photos and artworks share the aligned face frame, so each 8x8 patch of the output takes the fine detail (strokes,
paper, washes: the artwork minus its low-pass) of the artwork patch whose low-passed colours match its own best,
searched only near the same place of the frame. The low-pass of the generator's image is kept, so colours and
shapes stay the person's. Every op is a slice, pool, reduction, gather or reshape: it exports to ONNX with the
generator (docs/training.md, "Texture transfer"). The bank is built from the artworks, never trained by gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.texture_bank import (DEFAULTS, DETAIL_SCALE, GUIDE_SCALE, PATCH, STRIDE, TEXTURE_INPUTS,
                                gaussian_weights)

# PATCH x PATCH output patches at STRIDE px: each pixel has 2x2 votes; the guide is compared at 1/GUIDE_SCALE
SIGMA = DEFAULTS["sigma"]  # px: the Gaussian that splits an image into its low-pass (kept) and its detail (moved)
RADIUS = DEFAULTS["radius"]  # search radius in guide pixels (GUIDE_SCALE px each at the style's resolution)
OFFSET_COST = 0.002  # added to a patch's mean squared guide distance per squared guide pixel of offset


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """(K,) normalized 1-D Gaussian, K = 2 * ceil(3 sigma) + 1: the bank's own weights."""
    return torch.from_numpy(gaussian_weights(sigma))


def low_pass(x: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """Separable Gaussian blur with replicated borders: (B,C,H,W) -> (B,C,H,W)."""
    g = gaussian_kernel(sigma).to(x)
    k, c = g.numel(), int(x.shape[1])  # a static channel count: the exported kernels are constants
    x = F.pad(x, (k // 2,) * 4, mode="replicate")
    x = F.conv2d(x, g.view(1, 1, 1, k).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).repeat(c, 1, 1, 1), groups=c)


def guide(x: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """What patches are matched on: the low-pass at half resolution, (B,3,S,S) in [0,1] -> (B,3,S/2,S/2)."""
    return F.avg_pool2d(low_pass(x, sigma), GUIDE_SCALE)


def build_bank(artworks: torch.Tensor, radius: int = RADIUS, sigma: float = SIGMA) -> tuple[torch.Tensor, torch.Tensor]:
    """Artworks (N,3,S,S) in [-1,1], aligned like the generator's input -> (guides (N,3,S/2+2r,S/2+2r),
    details (N,3,S+4r,S+4r)), both padded by the search radius (replicated) so every offset stays inside."""
    a = (artworks.float() + 1) / 2
    guides = F.pad(guide(a, sigma), (radius,) * 4, mode="replicate")
    details = F.pad(a - low_pass(a, sigma), (GUIDE_SCALE * radius,) * 4, mode="replicate")
    return guides, details


def patch_window() -> torch.Tensor:
    """(PATCH, PATCH) Hann weights of a patch's vote (never zero, so border pixels are always covered)."""
    w = torch.hann_window(PATCH + 2, periodic=False)[1:-1]
    return torch.outer(w, w)


def overlap_add(patches: torch.Tensor) -> torch.Tensor:
    """(B,C,L,L,PATCH,PATCH) patches at stride PATCH/2 -> (B,C,S,S), S = STRIDE * (L + 1): the sum of the votes.
    Each patch is four STRIDE-sized quadrants; quadrant (qy, qx) of patch (i, j) is block (i + qy, j + qx)."""
    b, c, n = patches.shape[0], patches.shape[1], patches.shape[2]
    blocks = 0
    for qy in (0, 1):
        for qx in (0, 1):
            q = patches[..., qy * STRIDE:(qy + 1) * STRIDE, qx * STRIDE:(qx + 1) * STRIDE]  # (B,C,L,L,4,4)
            q = q.permute(0, 1, 4, 5, 2, 3).reshape(b, c * STRIDE * STRIDE, n, n)
            blocks = blocks + F.pad(q, (qx, 1 - qx, qy, 1 - qy))  # (B,C*16,L+1,L+1)
    blocks = blocks.reshape(b, c, STRIDE, STRIDE, n + 1, n + 1).permute(0, 1, 4, 2, 5, 3)
    return blocks.reshape(b, c, (n + 1) * STRIDE, (n + 1) * STRIDE)


def texture_transfer(x: torch.Tensor, guides: torch.Tensor, details: torch.Tensor, radius: int = RADIUS,
                     sigma: float = SIGMA, offset_cost: float = OFFSET_COST) -> torch.Tensor:
    """Image (B,3,S,S) in [-1,1] -> (B,3,S,S) in [-1,1]: its low-pass plus, per 8x8 patch (stride 4), the detail of
    the bank's best-matching artwork patch within `radius` guide px of the same place, votes Hann-averaged.
    `guides`, `details` from `build_bank` at the same S, radius and sigma."""
    size = x.shape[-1]
    n, half = guides.shape[0], size // GUIDE_SCALE
    u = (x + 1) / 2
    low = low_pass(u, sigma)
    g = F.avg_pool2d(low, GUIDE_SCALE)  # (B,3,h,h)
    span = PATCH // GUIDE_SCALE  # guide patch side
    best = best_index = None
    for k, (dy, dx) in enumerate((dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)):
        a = guides[:, :, radius + dy:radius + dy + half, radius + dx:radius + dx + half]  # (N,3,h,h)
        d = ((a.unsqueeze(0) - g.unsqueeze(1)) ** 2).sum(2)  # (B,N,h,h)
        d = F.avg_pool2d(d, span, stride=STRIDE // GUIDE_SCALE) + offset_cost * (dy * dy + dx * dx)
        value, index = d.min(1)  # (B,L,L)
        index = index + k * n
        if best is None:
            best, best_index = value, index
        else:
            closer = value < best
            best, best_index = torch.where(closer, value, best), torch.where(closer, index, best_index)
    return ((low + gather_details(best_index, details, radius)) * 2 - 1).clamp(-1, 1)


def gather_details(choice: torch.Tensor, details: torch.Tensor, radius: int) -> torch.Tensor:
    """choice (B,L,L) = offset index * N + artwork -> (B,3,S,S) the chosen detail patches, Hann-averaged."""
    b, grid = choice.shape[0], choice.shape[-1]
    n, side = details.shape[0], details.shape[-1]
    side_offsets = 2 * radius + 1
    offset, artwork = torch.div(choice, n, rounding_mode="floor"), torch.remainder(choice, n)
    dy = torch.div(offset, side_offsets, rounding_mode="floor") - radius
    dx = torch.remainder(offset, side_offsets) - radius
    cells = torch.arange(grid, device=choice.device) * STRIDE
    top = cells.view(1, grid, 1) + GUIDE_SCALE * (dy + radius)  # (B,L,L) padded-bank px
    left = cells.view(1, 1, grid) + GUIDE_SCALE * (dx + radius)
    steps = torch.arange(PATCH, device=choice.device)
    rows = top[..., None, None] + steps.view(PATCH, 1)  # (B,L,L,P,1)
    cols = left[..., None, None] + steps.view(1, PATCH)  # (B,L,L,1,P)
    flat = (artwork[..., None, None] * 3 * side * side + rows * side + cols)  # (B,L,L,P,P), channel 0
    planes = details.reshape(-1)
    patches = torch.stack([planes[(flat + ch * side * side).reshape(-1)].reshape(flat.shape) for ch in range(3)], 1)
    w = patch_window().to(details)
    votes = overlap_add(patches * w)
    weight = overlap_add(w.expand(1, 1, grid, grid, PATCH, PATCH))
    return votes / weight


class TextureGraph(nn.Module):
    """The exported texture graph: image (B,3,S,S) in [-1,1], the bank as stored by `core.texture_bank.build_bank`
    (guides uint8, details int8) -> (B,3,S,S) in [-1,1]. The bank is an input, so one graph serves any bank."""

    def __init__(self, radius: int = RADIUS, sigma: float = SIGMA):
        super().__init__()
        self.radius, self.sigma = int(radius), float(sigma)

    def forward(self, image: torch.Tensor, guides: torch.Tensor, details: torch.Tensor) -> torch.Tensor:
        return texture_transfer(image, guides.float() / 255, details.float() / DETAIL_SCALE, self.radius, self.sigma)


def export_texture(path, size: int, count: int, radius: int = RADIUS, sigma: float = SIGMA):
    """Trace `TextureGraph` for S = size and a bank of `count` artworks to an ONNX file (dynamic batch)."""
    import warnings

    half, side = size // GUIDE_SCALE + 2 * radius, size + 2 * GUIDE_SCALE * radius
    args = (torch.zeros(1, 3, size, size), torch.zeros(count, 3, half, half, dtype=torch.uint8),
            torch.zeros(count, 3, side, side, dtype=torch.int8))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(TextureGraph(radius, sigma).eval(), args, str(path), dynamo=False, opset_version=17,
                          input_names=list(TEXTURE_INPUTS), output_names=["textured"],
                          dynamic_axes={"image": {0: "batch"}, "textured": {0: "batch"}})
    return path
