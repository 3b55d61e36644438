"""Batched, differentiable thin-plate splines (TPS) in normalized coordinates.

Coordinates are (x, y) in [-1, 1], x right, y down, as `torch.nn.functional.grid_sample` with
`align_corners=False`: continuous pixel x (0 = left edge, W = right edge) maps to 2x/W - 1, so
the centre of column i is (2i + 1)/W - 1. A TPS is f(p) = [1, x, y] @ affine + U(|p - c|^2) @ w
with U(r2) = r2 log r2, solved so that f(src_i) = dst_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import LandmarkError

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)

__all__ = [
    "TPSParams",
    "TPSWarp",
    "TemplateTPS",
    "identity_grid",
    "norm_to_pixel",
    "pixel_to_norm",
    "solve_tps",
    "template_basis",
    "tps_grid",
    "tps_kernel",
    "transform_points",
    "warp_image",
]


# --------------------------------------------------------------------------- coordinates


def _affine_xy(points: ArrayOrTensor, scale: tuple[float, float], offset: tuple[float, float]) -> ArrayOrTensor:
    """points (..., 2) * scale + offset per axis, as floats of the input's kind (tensor or array)."""
    if isinstance(points, torch.Tensor):
        points = points if points.is_floating_point() else points.to(torch.get_default_dtype())
        scale_, offset_ = points.new_tensor(scale), points.new_tensor(offset)
    else:
        points = np.asarray(points)
        points = points if np.issubdtype(points.dtype, np.floating) else points.astype(np.float64)
        scale_, offset_ = np.array(scale, dtype=points.dtype), np.array(offset, dtype=points.dtype)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise LandmarkError(f"points must have shape (..., 2) holding (x, y), got {tuple(points.shape)}")
    return points * scale_ + offset_


def _check_size(height: int, width: int) -> None:
    if int(height) != height or int(width) != width or height < 1 or width < 1:
        raise ValueError(f"height and width must be positive integers, got {height!r} x {width!r}")


def pixel_to_norm(points: ArrayOrTensor, height: int, width: int) -> ArrayOrTensor:
    """Continuous pixel (x, y) (..., 2), 0 at the top-left edge, to normalized [-1, 1] coordinates."""
    _check_size(height, width)
    return _affine_xy(points, (2.0 / width, 2.0 / height), (-1.0, -1.0))


def norm_to_pixel(points: ArrayOrTensor, height: int, width: int) -> ArrayOrTensor:
    """Normalized [-1, 1] (x, y) (..., 2) to continuous pixel coordinates; inverse of `pixel_to_norm`."""
    _check_size(height, width)
    return _affine_xy(points, (width / 2.0, height / 2.0), (width / 2.0, height / 2.0))


def identity_grid(
    height: int, width: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Normalized pixel-centre coordinates (H, W, 2); `grid_sample` with it returns its input unchanged."""
    _check_size(height, width)
    xs = (2.0 * torch.arange(width, dtype=torch.float64) + 1.0) / width - 1.0
    ys = (2.0 * torch.arange(height, dtype=torch.float64) + 1.0) / height - 1.0
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    return grid.to(dtype=dtype or torch.get_default_dtype(), device=device)


# --------------------------------------------------------------------------- TPS core


def tps_kernel(r2: torch.Tensor) -> torch.Tensor:
    """TPS radial basis U = r2 * log(r2) of squared distance, 0 at r2 = 0 with finite gradients there."""
    positive = r2 > 0
    safe = torch.where(positive, r2, torch.ones_like(r2))
    return torch.where(positive, r2 * torch.log(safe), torch.zeros_like(r2))


@dataclass
class TPSParams:
    """A batch of TPS maps: centers (B, N, 2), kernel_weights (B, N, 2), affine (B, 3, 2) for rows [1, x, y]."""

    centers: torch.Tensor
    kernel_weights: torch.Tensor
    affine: torch.Tensor


def _features(points: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Rows [U(|p - c_j|^2) for all j, 1, x, y]: points (B or 1, M, 2), centers (B, N, 2) -> (B, M, N+3)."""
    # |p|^2 + |c|^2 - 2 p.c keeps memory at (B, M, N) for dense grids; clamp removes rounding below 0.
    r2 = (
        points.pow(2).sum(-1, keepdim=True)
        + centers.pow(2).sum(-1).unsqueeze(-2)
        - 2.0 * points @ centers.transpose(-1, -2)
    ).clamp_min(0.0)
    points = points.expand(*r2.shape[:-1], 2)
    return torch.cat([tps_kernel(r2), torch.ones_like(points[..., :1]), points], dim=-1)


def _system(centers: torch.Tensor, reg: float) -> torch.Tensor:
    """The standard TPS matrix [[K + reg I, P], [P^T, 0]]: centers (B, N, 2) -> (B, N+3, N+3)."""
    n = centers.shape[-2]
    top = _features(centers, centers)  # [K | P]
    if reg:
        top = top + reg * torch.eye(n, n + 3, dtype=top.dtype, device=top.device)
    bottom = torch.cat([top[..., n:].transpose(-1, -2), top.new_zeros(top.shape[:-2] + (3, 3))], dim=-1)
    return torch.cat([top, bottom], dim=-2)


def _check_points(points: torch.Tensor, name: str, batched: bool = True) -> None:
    """Raise LandmarkError unless points is a finite float tensor (B, N, 2) (or (N, 2) when not batched).

    Skipped while tracing (ONNX export): checks are Python-only and must not enter the graph.
    """
    if torch.jit.is_tracing():
        return
    ndim, shape = (3, "(B, N, 2)") if batched else (2, "(N, 2)")
    if not isinstance(points, torch.Tensor):
        raise LandmarkError(f"{name} must be a torch tensor of shape {shape}, got {type(points).__name__}")
    if points.ndim != ndim or points.shape[-1] != 2:
        raise LandmarkError(f"{name} must have shape {shape} holding (x, y), got {tuple(points.shape)}")
    if not points.is_floating_point():
        raise LandmarkError(f"{name} must be a floating-point tensor, got {points.dtype}")
    if not torch.isfinite(points).all():
        raise LandmarkError(f"{name} contains NaN or infinite coordinates; drop or re-detect those landmarks")


def _check_reg(reg: float) -> None:
    if not (math.isfinite(reg) and reg >= 0.0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")


def _singular(name: str) -> LandmarkError:
    return LandmarkError(
        f"{name} give a singular TPS system (duplicated points, or all on one line); "
        "remove duplicates or use reg > 0"
    )


def solve_tps(src: torch.Tensor, dst: torch.Tensor, reg: float = 0.0) -> TPSParams:
    """Fit the TPS f with f(src_i) = dst_i, src/dst (B, N, 2), N >= 3.

    Exact for reg == 0; reg > 0 adds reg * I to the kernel block, trading interpolation for smoothness.
    """
    _check_points(src, "src")
    _check_points(dst, "dst")
    _check_reg(reg)
    if src.shape != dst.shape:
        raise LandmarkError(f"src and dst must have the same shape, got {tuple(src.shape)} and {tuple(dst.shape)}")
    n = src.shape[1]
    if n < 3:
        raise LandmarkError(f"a TPS needs at least 3 control points, got {n}")
    dtype = torch.promote_types(src.dtype, dst.dtype)
    src, dst = src.to(dtype), dst.to(dtype=dtype, device=src.device)
    rhs = torch.cat([dst, dst.new_zeros(dst.shape[0], 3, 2)], dim=1)
    try:
        coeffs = torch.linalg.solve(_system(src, reg), rhs)
    except torch.linalg.LinAlgError as exc:
        raise _singular("the control points") from exc
    return TPSParams(centers=src, kernel_weights=coeffs[:, :n], affine=coeffs[:, n:])


def _evaluate(params: TPSParams, points: torch.Tensor) -> torch.Tensor:
    """f at points (B or 1, M, 2) -> (B, M, 2)."""
    coeffs = torch.cat([params.kernel_weights, params.affine], dim=1)
    return _features(points, params.centers) @ coeffs


def transform_points(params: TPSParams, points: torch.Tensor) -> torch.Tensor:
    """Apply the TPS maps to points (B, M, 2) (or (1, M, 2), shared by the batch) -> (B, M, 2)."""
    _check_points(points, "points")
    batch = params.centers.shape[0]
    if points.shape[0] not in (1, batch):
        raise LandmarkError(f"points batch {points.shape[0]} does not match the TPS batch {batch}")
    return _evaluate(params, points.to(dtype=params.centers.dtype, device=params.centers.device))


def tps_grid(params: TPSParams, height: int, width: int) -> torch.Tensor:
    """The TPS maps evaluated at every pixel centre of an H x W output -> (B, H, W, 2), a `grid_sample` grid."""
    centers = params.centers
    pixels = identity_grid(height, width, dtype=centers.dtype, device=centers.device).reshape(1, -1, 2)
    return _evaluate(params, pixels).reshape(centers.shape[0], height, width, 2)


def warp_image(
    image: torch.Tensor,
    src_points: torch.Tensor,
    dst_points: torch.Tensor,
    reg: float = 0.0,
    mode: str = "bilinear",
    padding_mode: str = "border",
    out_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Warp image or feature map (B, C, H, W) so content at src_points (B, N, 2) lands at dst_points.

    Solves the backward map dst -> src and samples with `grid_sample`; output (B, C, H', W'),
    out_size = (H', W') defaulting to (H, W).
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor of shape (B, C, H, W), got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"image must be floating point (convert uint8 with .float() / 255), got {image.dtype}")
    _check_points(src_points, "src_points")
    _check_points(dst_points, "dst_points")
    if src_points.shape[0] != image.shape[0]:
        raise LandmarkError(f"src_points batch {src_points.shape[0]} does not match image batch {image.shape[0]}")
    height, width = out_size if out_size is not None else image.shape[-2:]
    _check_size(height, width)
    params = solve_tps(dst_points, src_points, reg)
    grid = tps_grid(params, int(height), int(width)).to(image.dtype)
    return F.grid_sample(image, grid, mode=mode, padding_mode=padding_mode, align_corners=False)


def border_anchors(per_side: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Fixed points (4*per_side, 2) evenly spaced along the frame's edge, normalized. Appended to both point sets
    of a warp they pin the crop's border, so a style's shape change stays local: without them the TPS's affine
    part moves the whole crop (measured in docs/training.md, "Anchored geometry")."""
    from core.templates import border_points

    return torch.from_numpy(border_points(per_side)).to(dtype)


def template_basis(template: torch.Tensor, height: int, width: int, reg: float = 0.0) -> torch.Tensor:
    """Linear map (H*W, N) from source points P (B, N, 2) to the grid of solve_tps(template, P, reg).

    Computed once in float64 on the CPU and cast to the template's dtype and device; not differentiable.
    """
    _check_points(template, "template", batched=False)
    _check_size(height, width)
    _check_reg(reg)
    n = template.shape[0]
    if n < 3:
        raise LandmarkError(f"a TPS needs at least 3 control points, got {n}")
    centers = template.detach().to(device="cpu", dtype=torch.float64)
    try:
        inverse = torch.linalg.inv(_system(centers, reg))
    except torch.linalg.LinAlgError as exc:
        raise _singular("the template points") from exc
    pixels = identity_grid(height, width, dtype=torch.float64).reshape(-1, 2)
    # The right-hand side [P; 0] has zero last three rows, so only the first N columns matter.
    basis = _features(pixels, centers) @ inverse[:, :n]
    return basis.to(dtype=template.dtype, device=template.device)


# --------------------------------------------------------------------------- modules


class TemplateTPS(nn.Module):
    """Grid (B, H, W, 2) whose pixel at template_j samples points_j; a precomputed basis makes it
    matrix products and elementwise ops only, so it exports to ONNX.

    Buffers are derived from the constructor arguments and are not saved in the state dict.
    """

    def __init__(self, template: torch.Tensor, height: int, width: int, reg: float = 0.0,
                 anchors: torch.Tensor | None = None) -> None:
        super().__init__()
        _check_points(template, "template", batched=False)
        self.height, self.width = int(height), int(width)
        self.points = int(template.shape[0])
        self.anchored = anchors is not None and int(anchors.shape[0]) > 0  # a python bool: static under tracing
        anchors = template.new_zeros((0, 2)) if anchors is None else anchors.to(template)
        self.register_buffer("template", template.detach().clone(), persistent=False)
        self.register_buffer("anchors", anchors.detach().clone(), persistent=False)  # fixed points (K, 2)
        self.register_buffer("basis", template_basis(torch.cat([template.detach(), anchors]), height, width, reg),
                             persistent=False)
        identity = identity_grid(height, width, dtype=template.dtype, device=template.device).reshape(-1, 2)
        self.register_buffer("identity", identity, persistent=False)

    def forward(self, points: torch.Tensor, alpha: float | torch.Tensor = 1.0) -> torch.Tensor:
        """points (B, N, 2); alpha scales the displacement (0 identity, 1 full), float or (B,), (B, 1), ()."""
        _check_points(points, "points")
        if not torch.jit.is_tracing() and points.shape[1] != self.points:
            raise LandmarkError(f"points must have {self.points} landmarks, got {points.shape[1]}")
        points = points.to(self.basis.dtype)
        if self.anchored:
            points = torch.cat([points, self.anchors[None].expand(points.shape[0], -1, -1)], 1)
        displacement = self.basis @ points - self.identity
        if isinstance(alpha, torch.Tensor):
            alpha = alpha.reshape(-1, 1, 1)
        return (self.identity + alpha * displacement).reshape(-1, self.height, self.width, 2)


class TPSWarp(nn.Module):
    """Module form of `warp_image` with fixed reg, mode, padding and output size."""

    def __init__(
        self,
        reg: float = 0.0,
        mode: str = "bilinear",
        padding_mode: str = "border",
        out_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.reg, self.mode, self.padding_mode, self.out_size = reg, mode, padding_mode, out_size

    def forward(self, image: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        """image (B, C, H, W), src/dst (B, N, 2) -> warped image."""
        return warp_image(image, src, dst, self.reg, self.mode, self.padding_mode, self.out_size)
