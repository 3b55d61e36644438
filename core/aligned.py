"""The aligned-face inference API: what every caller of a style does to a face already in the aligned crop
(core.alignment puts it there and back), in one place instead of re-derived per caller.

Coordinates: "unit" is [-1, 1] across the crop (style templates, the generator's TPS), "pixels" is continuous
crop pixels (0 = left edge, S = right edge; landmarks of `align_face`). `to_pixels`/`to_unit` equal
core.tps.norm_to_pixel/pixel_to_norm on a square crop, but core.tps imports torch and the engine's default
(ONNX) path must not, so they live here. They are plain arithmetic and work on numpy arrays and torch tensors.
`prepare_aligned` is the engine's per-face geometry (damping, keep_shape, the output's points); scripts that run
the generator on aligned faces themselves call it so they match the engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import topology
from core.damping import geometry_damping
from core.templates import PHOTO_TEMPLATE, border_points


def _array(points):
    """Arrays and tensors as they are, sequences as numpy arrays."""
    return points if hasattr(points, "shape") else np.asarray(points)


def to_pixels(points_unit, size: int):
    """Unit coordinates (..., 2) in [-1, 1] to continuous crop pixels (..., 2) of an (S,S) crop."""
    return (_array(points_unit) + 1) * size / 2


def to_unit(points_px, size: int):
    """Continuous crop pixels (..., 2) of an (S,S) crop to unit coordinates (..., 2); inverse of `to_pixels`."""
    return _array(points_px) / size * 2 - 1


def canonical_mesh(points: np.ndarray, size: int, dtype=None) -> np.ndarray:
    """Canonical points (..., 73, 2 px) placed in a mesh (..., 478, 2) at CANONICAL_INDICES, the other points at
    the crop centre: the landmark input of a runner or ONNX graph, which reads only the canonical points."""
    points = np.asarray(points)
    dtype = dtype or np.result_type(points.dtype, np.float32)
    mesh = np.full(points.shape[:-2] + (topology.NUM_MESH_POINTS, 2), size / 2, dtype)
    mesh[..., topology.CANONICAL_INDICES, :] = points
    return mesh


def template_mesh(template, size: int) -> np.ndarray:
    """A style template (73,2 unit) as float32 mesh landmarks (478,2 px) of an (S,S) crop (`canonical_mesh`)."""
    return canonical_mesh(to_pixels(np.asarray(template), size), size, np.float32)


def warp_sources(points: np.ndarray, keep_shape: float, size: int) -> np.ndarray:
    """The landmarks (478,2 crop px) the style's warp starts from: the face's own (keep_shape 0: it moves them
    onto the template, every face takes the template's shape) or, towards keep_shape 1, the average photo face's,
    so the warp becomes the style's average change (template minus average face) applied to each face's own shape.
    Faces are aligned (eyes and mouth pinned), so the average face's points lie close to each face's own."""
    if keep_shape == 0:
        return points
    mean = to_pixels(np.asarray(PHOTO_TEMPLATE), size)
    sources = np.array(points, np.result_type(np.asarray(points).dtype, np.float32))
    canonical = sources[topology.CANONICAL_INDICES]
    sources[topology.CANONICAL_INDICES] = canonical + keep_shape * (mean - canonical)
    return sources


def warp_anchors(model: dict, size: int) -> np.ndarray:
    """The generator's fixed border points (K,2 crop px) for a package's model config (none for older ones)."""
    per_side = int(model.get("anchors", 0) or 0)
    if not per_side:
        return np.zeros((0, 2))
    return to_pixels(border_points(per_side), size)


@dataclass(frozen=True)
class AlignedWarp:
    """One aligned face's warp as the engine runs it."""

    alpha: float  # geometry strength after damping (float32-exact: the value the runner receives)
    sources: np.ndarray  # (478,2 px) landmarks the warp starts from (`warp_sources`)
    geometry: np.ndarray  # (73,2 px) where the output's canonical points lie (the pasted head's outline)


def prepare_aligned(points: np.ndarray, alpha: float, keep_shape: float, template, size: int) -> AlignedWarp:
    """The warp for one aligned face, mesh landmarks `points` (478,2 px): alpha damped by `geometry_damping`,
    sources moved by keep_shape, and the output geometry own + alpha (template - sources) on the canonical points
    (`template` (73,2) unit, the style's). Alpha 0 keeps the face's points; alpha 1, keep_shape 0 gives the template."""
    damped = float(np.float32(alpha * geometry_damping(points)))
    sources = warp_sources(points, keep_shape, size)
    target = to_pixels(np.asarray(template), size)
    geometry = topology.to_canonical(points) + damped * (target - topology.to_canonical(sources))
    return AlignedWarp(damped, sources, geometry)
