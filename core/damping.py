"""Per-face damping of the geometry strength: head turns and closed or downcast eyes keep their own geometry,
where a warp to the style's frontal, open-eyed template would move the face off its head or tear the lids.
All functions read MediaPipe mesh landmarks (478,2) in any pixel frame; only canonical points are read."""

from __future__ import annotations

import numpy as np


OUTER_CORNERS = ((33,), (263,))  # the eyes as their outer corners (mesh indices: subject's right, left)
EYE_CENTRES = ((33, 133), (362, 263))  # the eyes as the midpoints of their two corners


def yaw(points: np.ndarray, eyes: tuple = OUTER_CORNERS, along_eyes: bool = False) -> float:
    """Signed head-turn proxy from mesh landmarks (478,2): the nose tip's offset from the midpoint of the two eyes
    (each the mean of the `eyes` points), in eye distances (about 0 frontal, +-0.4 for a strong turn with the
    outer corners): its x offset, or with `along_eyes` its offset along the eye axis (unchanged by head roll)."""
    right, left = points[list(eyes[0])].mean(0), points[list(eyes[1])].mean(0)
    axis, offset = left - right, points[4] - (right + left) / 2
    distance = max(float(np.hypot(*axis)), 1e-6)
    return float(offset @ axis / distance ** 2 if along_eyes else offset[0] / distance)


def turn_damping(points: np.ndarray, start: float = 0.1, stop: float = 0.4) -> float:
    """Geometry-strength factor: 1 for frontal faces, fading to 0 for strong head turns, where a warp to the
    frontal style template would move the face off its own head."""
    return float(np.clip(1 - (abs(yaw(points)) - start) / (stop - start), 0.0, 1.0))


EYE_LIDS = ((159, 145, 33, 133), (386, 374, 362, 263))  # upper lid, lower lid, corner, corner per eye


def eye_aperture(points: np.ndarray) -> float:
    """Mean lid gap over eye width of both eyes from mesh landmarks (478,2): about 0.32 for open eyes in
    frontal photos (median of 289 fsxl faces; 5th percentile 0.22), under 0.12 when closed or looking down."""
    return float(np.mean([np.hypot(*(points[u] - points[d])) / max(np.hypot(*(points[a] - points[b])), 1e-6)
                          for u, d, a, b in EYE_LIDS]))


def eye_damping(points: np.ndarray, start: float = 0.10, stop: float = 0.20) -> float:
    """Geometry-strength factor: 1 for open eyes, fading to 0 for closed or downcast ones, where the warp to
    the template's open eyes would stretch the lid line into two dark holes."""
    return float(np.clip((eye_aperture(points) - start) / (stop - start), 0.0, 1.0))


def geometry_damping(points: np.ndarray) -> float:
    """The factor a face's alpha is multiplied by (mesh landmarks (478,2)): turn_damping times eye_damping."""
    return turn_damping(points) * eye_damping(points)
