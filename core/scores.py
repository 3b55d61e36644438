"""Per-output scores a user sees beside a stylized photo: how faithful each face is to its intended geometry, and
how much of the person's structure it kept. Both are cheap (one Face Mesh pass and a few box filters per face), so
they run for still photos, never per video frame.

- Geometry fidelity: `landmark_nme`, the mean distance between landmarks re-detected on the stylized face and the
  landmarks the warp meant to put there, in % of the intended inter-ocular distance (0 = exactly the intended
  shape; MediaPipe's own jitter on a real face is about 1-2 %).
- Likeness: `structure_similarity`, the mean local correlation (SSIM's structure term) of the luma of the
  stylized face and of the photo warped to the same geometry, at 1/4 resolution inside the face. It is 1 when the
  light-dark layout of the face (eyes, brows, nose, mouth, face outline, shading) is kept and falls towards 0 as
  the style replaces it. It is a proxy: it does not recognize identity the way a face recognizer would, and a
  style that flattens shading lowers it although the person stays recognizable."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from core import topology

WINDOW = 7  # box window (px at 1/4 resolution) of the local correlation
FACTOR = 4  # luma is compared at 1/FACTOR resolution: the face's layout, not the style's texture
EPS = 1e-4  # (intensity in [0, 1])^2: flat windows count as fully similar instead of dividing by ~0


@dataclass(frozen=True)
class FaceScore:
    """Scores of one stylized face; `nme` is None when no face was re-detected on the output."""

    nme: float | None  # geometry fidelity: % of the inter-ocular distance (lower is better)
    likeness: float  # structure similarity in [-1, 1] (higher keeps more of the face's layout)

    def to_dict(self) -> dict:
        return asdict(self)


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the eye centres of canonical landmarks (73, 2)."""
    g = topology.GROUP_SLICES
    return float(np.linalg.norm(points[g["left_eye"]].mean(0) - points[g["right_eye"]].mean(0)))


def landmark_nme(found: np.ndarray, intended: np.ndarray) -> float:
    """Mean point distance of canonical landmarks `found` (73, 2) to `intended` (73, 2), in % of the intended
    inter-ocular distance."""
    found, intended = np.asarray(found, np.float64), np.asarray(intended, np.float64)
    if found.shape != (topology.NUM_CANONICAL, 2) or intended.shape != found.shape:
        raise ValueError(f"landmarks must be ({topology.NUM_CANONICAL}, 2) canonical points, got {found.shape} "
                         f"and {intended.shape}")
    iod = inter_ocular(intended)
    if not iod > 1e-6:
        raise ValueError("the intended landmarks have coincident eyes: no scale to normalize by")
    return float(np.linalg.norm(found - intended, axis=1).mean() / iod * 100.0)


def _luma(image: np.ndarray) -> np.ndarray:
    small = cv2.resize(image, (max(1, image.shape[1] // FACTOR), max(1, image.shape[0] // FACTOR)),
                       interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]) / 255.0


def structure_similarity(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean local luma correlation of two (H, W, 3) uint8 images at 1/FACTOR resolution, weighted by `mask`
    (H, W) in [0, 1] (None: everywhere): SSIM's structure term, (cov + eps) / (sd_a sd_b + eps)."""
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"images must have the same (H, W, 3) shape, got {a.shape} and {b.shape}")
    x, y = _luma(a), _luma(b)
    box = lambda v: cv2.blur(v, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT)
    mx, my = box(x), box(y)
    vx = np.maximum(box(x * x) - mx * mx, 0)
    vy = np.maximum(box(y * y) - my * my, 0)
    cov = box(x * y) - mx * my
    s = (cov + EPS) / (np.sqrt(vx * vy) + EPS)
    w = np.ones_like(s) if mask is None else cv2.resize(mask.astype(np.float32), s.shape[::-1],
                                                        interpolation=cv2.INTER_AREA)
    return float((s * w).sum() / max(w.sum(), 1e-9))


def score_face(stylized: np.ndarray, photo_in_geometry: np.ndarray, intended: np.ndarray, mask: np.ndarray,
               detector) -> FaceScore:
    """Scores of one stylized aligned crop (S, S, 3): landmarks re-detected by `detector.mesh_at` in a box around
    the `intended` canonical points (73, 2 px) against them, and the structure kept from `photo_in_geometry`
    (the photo crop warped as the style warped it) inside the face `mask` (S, S)."""
    x0, y0 = intended.min(0)
    x1, y1 = intended.max(0)
    pad = 0.15 * max(x1 - x0, y1 - y0)
    face = detector.mesh_at(stylized, (x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    nme = None if face is None else landmark_nme(face.canonical, intended)
    return FaceScore(None if nme is None else round(nme, 2),
                     round(structure_similarity(stylized, photo_in_geometry, mask), 3))


def summary(scores: list[FaceScore]) -> str:
    """One line for the facts line and the CLI, e.g. "geometry error 2.1 % of the eye distance, likeness 0.83"."""
    if not scores:
        return ""
    parts = []
    for i, s in enumerate(scores):
        geo = "face not found again on the output" if s.nme is None else f"geometry error {s.nme:.1f} % of eye distance"
        parts.append((f"face {i + 1}: " if len(scores) > 1 else "") + f"{geo}, likeness {s.likeness:.2f}")
    return "; ".join(parts)
