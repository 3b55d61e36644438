"""Alignment previews: one picture that shows whether the landmark TPS aligns a photo and an artwork,
and the mean landmark geometry of a set of artworks (the style template)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core import topology
from core.alignment import align_face
from core.errors import LandmarkError
from core.images import ImageSource, load_image
from core.landmarks import Face, draw_landmarks, largest_face

GRID_STEP = 16  # pixels between the faint grid lines, at preview size


@dataclass
class AlignmentPreview:
    image: np.ndarray  # (H, W, 3) uint8 grid of labelled panels
    photo_points: np.ndarray  # (73, 2) canonical landmarks of the photo, aligned pixels
    artwork_points: np.ndarray  # (73, 2) canonical landmarks of the artwork, aligned pixels
    photo_face: Face
    artwork_face: Face
    size: int

    def to_dict(self) -> dict:
        return {"size": self.size, "canonical_indices": list(topology.CANONICAL_INDICES),
                "photo": {"face": self.photo_face.to_dict(), "aligned_canonical": self.photo_points.round(3).tolist()},
                "artwork": {"face": self.artwork_face.to_dict(),
                            "aligned_canonical": self.artwork_points.round(3).tolist()}}


def mean_template(points: np.ndarray, size: int) -> np.ndarray:
    """Mean geometry (73, 2) float32 in normalized [-1, 1] coordinates of aligned canonical landmarks (N, 73, 2) px:
    the style template."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (topology.NUM_CANONICAL, 2) or len(points) == 0:
        raise LandmarkError(f"expected canonical points (N>0, {topology.NUM_CANONICAL}, 2), got {points.shape}")
    return (points.mean(0) * (2.0 / size) - 1.0).astype(np.float32)


def draw_grid(image: np.ndarray, step: int = GRID_STEP, strength: float = 0.35) -> np.ndarray:
    """A faint white grid over an image, so a warp's deformation is visible."""
    out = image.astype(np.float32)
    lines = np.zeros(image.shape[:2], bool)
    lines[::step, :] = True
    lines[:, ::step] = True
    out[lines] = out[lines] * (1 - strength) + 255 * strength
    return out.astype(np.uint8)


def tps_warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray, reg: float = 1e-3) -> np.ndarray:
    """Move the content of `image` (S,S,3) at pixel points `src` (N,2) to `dst` (N,2) with core.tps."""
    import torch

    from core.tps import pixel_to_norm, warp_image

    s = image.shape[0]
    x = torch.from_numpy(image).permute(2, 0, 1)[None].double() / 255.0
    src_n = torch.from_numpy(pixel_to_norm(np.asarray(src, np.float64), s, s))[None]
    dst_n = torch.from_numpy(pixel_to_norm(np.asarray(dst, np.float64), s, s))[None]
    out = warp_image(x, src_n, dst_n, reg=reg, padding_mode="border")
    return (out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def checkerboard(a: np.ndarray, b: np.ndarray, tiles: int = 8) -> np.ndarray:
    """Alternate squares of two aligned images: edges line up when the alignment is right."""
    s = a.shape[0]
    yy, xx = np.mgrid[0:s, 0:s] * tiles // s
    return np.where(((yy + xx) % 2 == 0)[..., None], a, b)


def label(panel: np.ndarray, text: str) -> np.ndarray:
    """Panel with a caption strip on top."""
    strip = np.full((26, panel.shape[1], 3), 32, np.uint8)
    cv2.putText(strip, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.48, (235, 235, 235), 1, cv2.LINE_AA)
    return np.concatenate([strip, panel], 0)


def landmark_pairs(size: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Both landmark sets on a dark panel, joined by lines: photo (cyan) and artwork (magenta)."""
    panel = np.full((size, size, 3), 18, np.uint8)
    for p, q in zip(a, b):
        cv2.line(panel, tuple(np.int32(p)), tuple(np.int32(q)), (110, 110, 110), 1, cv2.LINE_AA)
    for pts, colour in ((a, (0, 220, 255)), (b, (255, 60, 200))):
        for p in pts:
            cv2.circle(panel, tuple(np.int32(p)), 3, colour, -1, cv2.LINE_AA)
    return panel


def alignment_preview(photo: ImageSource, artwork: ImageSource, size: int = 320,
                      photo_name: str = "the photo", artwork_name: str = "the artwork",
                      artwork_edit: dict | None = None) -> AlignmentPreview:
    """Two rows of panels: photo and artwork with landmarks, both landmark sets; the photo warped to the
    artwork's geometry, the artwork warped to the photo's, and a checkerboard of the aligned pair.
    `artwork_edit` (`topology.edit_landmarks`) corrects the artwork's landmarks as training will."""
    photo_rgb, art_rgb = load_image(photo), load_image(artwork)
    pf, af = largest_face(photo_rgb, photo_name), largest_face(art_rgb, artwork_name)
    pa, aa = align_face(photo_rgb, pf, size=size), align_face(art_rgb, af, size=size)
    pp, ap = topology.to_canonical(pa.points), topology.to_canonical(aa.points)
    ap = topology.edit_landmarks(ap[None], artwork_edit, size)[0].astype(ap.dtype)
    photo_to_art = tps_warp(draw_grid(pa.image), pp, ap)
    art_to_photo = tps_warp(draw_grid(aa.image), ap, pp)
    top = [label(draw_landmarks(pa.image, pp, draw_box=False), "photo + landmarks"),
           label(draw_landmarks(aa.image, ap, draw_box=False), "artwork + landmarks"),
           label(landmark_pairs(size, pp, ap), "photo (cyan) vs artwork (magenta)")]
    bottom = [label(photo_to_art, "photo -> artwork geometry"),
              label(art_to_photo, "artwork -> photo geometry"),
              label(checkerboard(pa.image, tps_warp(aa.image, ap, pp)), "photo | aligned artwork")]
    gap = np.full((size + 26, 4, 3), 255, np.uint8)

    def row(panels):
        return np.concatenate([x for p in panels for x in (p, gap)][:-1], 1)

    grid = np.concatenate([row(top), np.full((4, row(top).shape[1], 3), 255, np.uint8), row(bottom)], 0)
    return AlignmentPreview(grid, pp, ap, pf, af, size)


def template_preview(points: np.ndarray, size: int = 320, reference: np.ndarray | None = None) -> np.ndarray:
    """Every set's aligned landmarks (faint) and their mean (bold) on one panel; `reference` (73,2 px) in cyan."""
    panel = np.full((size, size, 3), 18, np.uint8)
    for pts in np.asarray(points):
        for p in pts:
            cv2.circle(panel, tuple(np.int32(p)), 1, (90, 90, 90), -1)
    mean = np.asarray(points).mean(0)
    if reference is not None:
        for p in reference:
            cv2.circle(panel, tuple(np.int32(p)), 3, (0, 220, 255), -1, cv2.LINE_AA)
    for p in mean:
        cv2.circle(panel, tuple(np.int32(p)), 3, (255, 60, 200), -1, cv2.LINE_AA)
    return panel
