"""Thin-plate splines in numpy for the engine and any other torch-free user: the twin of core.tps.TemplateTPS
(same kernel r^2 log r^2, same regularizer, agreeing within 1e-5), plus the warp field carried around a face.

core.tps is the batched, differentiable torch version the generator and trainer use; this one exists because
the default inference path imports no torch. Points here are continuous pixels of a square (S,S) crop."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from core.aligned import to_pixels, to_unit


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TPS radial basis r^2 log r^2 (K,N) between point sets (K,2) and (N,2)."""
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    r2 = dx * dx + dy * dy
    return r2 * np.log(np.maximum(r2, 1e-300))  # 0 where r2 is 0


@lru_cache(maxsize=16)
def _tps_inverse(template: bytes, n: int, reg: float) -> np.ndarray:
    """Inverse (N+3,N+3) of the TPS system of a style template ((N,2) normalized, as bytes): once per style."""
    c = np.frombuffer(template, np.float64).reshape(n, 2)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _kernel(c, c) + reg * np.eye(n)
    system[:n, n] = 1
    system[:n, n + 1:] = c
    system[n, :n] = 1
    system[n + 1:, :n] = c.T
    inverse = np.linalg.inv(system)
    inverse.setflags(write=False)
    return inverse


def tps_points(points: np.ndarray, template: np.ndarray, size: int, alpha: float, query: np.ndarray,
               reg: float = 1e-3) -> np.ndarray:
    """Where the warp that moves `points` (N,2 px) to `template` (N,2 px) samples each output position `query`
    (K,2, continuous px) -> (K,2 px), displacement scaled by alpha: the numpy twin of core.tps.TemplateTPS.
    Products are einsum, not BLAS: OpenBLAS worker threads left spinning after each frame slowed the ONNX
    Runtime run that follows by several ms on 2 cores."""
    c = to_unit(np.ascontiguousarray(template, np.float64), size)
    p = to_unit(np.asarray(points, np.float64), size)
    n = len(c)
    weights = np.einsum("ij,jk->ik", _tps_inverse(c.tobytes(), n, float(reg)), np.concatenate([p, np.zeros((3, 2))]))
    q = to_unit(np.asarray(query, np.float64).reshape(-1, 2), size)
    mapped = np.einsum("kn,nd->kd", _kernel(q, c), weights[:n]) + weights[n]
    mapped += np.einsum("kj,jd->kd", q, weights[n + 1:])
    return to_pixels(q + alpha * (mapped - q), size)


TPS_NODES = 129  # tps_remap evaluates the TPS on at most this many nodes per side and interpolates (it is smooth)


def tps_remap(points: np.ndarray, template: np.ndarray, size: int, alpha: float, reg: float = 1e-3,
              nodes: int = TPS_NODES) -> np.ndarray:
    """Sampling map (S,S,2) float32 in OpenCV pixel indices for cv2.remap of a crop: `tps_points` at every pixel
    centre (exact up to `nodes` px, bilinear between evenly spaced nodes above; the kernel costs nodes^2 x N)."""
    nodes = min(size, nodes)
    at = np.linspace(0, size - 1, nodes)  # pixel indices of the nodes; the last one on the last pixel
    ys, xs = np.meshgrid(at, at, indexing="ij")
    mapped = tps_points(points, template, size, alpha, np.stack([xs, ys], -1) + 0.5, reg) - 0.5
    grid = mapped.reshape(nodes, nodes, 2).astype(np.float32)
    if nodes == size:
        return grid
    k = (nodes - 1) / (size - 1)  # pixel index -> node index
    return cv2.warpAffine(grid, np.array([[k, 0, 0], [0, k, 0]]), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


SURROUND_GRID = 48  # cells per side of the displacement field around a face (it is smooth)
SURROUND_EXTENT = 0.5  # the field reaches this fraction of the crop size beyond each crop edge
SURROUND_INNER, SURROUND_FALL = 0.12, 0.35  # full warp this far outside the head hull, then a fall to 0 (crop sizes)


def surround_field(canonical: np.ndarray, template: np.ndarray, size: int, alpha: float,
                   head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face warp carried into the hair and background around it: offsets (G,G,2) of the TPS, full within
    SURROUND_INNER of the head polygon `head` (K,2 crop px) and fading smoothly to 0 before the field's edge,
    on a grid spanning the crop +- SURROUND_EXTENT. Returns (field, M (2,3) crop -> grid)."""
    g, lo = SURROUND_GRID, -SURROUND_EXTENT * size
    cell = (1 + 2 * SURROUND_EXTENT) * size / g
    frame = np.array([[1 / cell, 0, -lo / cell], [0, 1 / cell, -lo / cell]])
    centres = lo + (np.stack(np.meshgrid(np.arange(g), np.arange(g)), -1) + 0.5) * cell
    outside = np.full((g, g), 255, np.uint8)
    hull = cv2.convexHull(((head - lo) / cell).astype(np.float32))
    cv2.fillConvexPoly(outside, np.round(hull).astype(np.int32), 0)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5) * cell / size
    t = np.clip(1 - (dist - SURROUND_INNER) / SURROUND_FALL, 0, 1)
    weight = t * t * (3 - 2 * t)
    field = np.zeros((g, g, 2), np.float32)
    used = weight > 0  # the TPS only where the field is not faded out (a third of the grid for a centred face)
    if used.any():
        at = centres[used]
        field[used] = (tps_points(canonical, template, size, alpha, at) - at) * (weight[used, None] / cell)
    return field, frame
