"""Soft head masks for pasting a stylized face back: the face-oval hull grown to the whole head and feathered,
so only the head is pasted (no square halo) and the crop edge never shows."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from core.alignment import feather_mask

HEAD_SCALE = (1.3, 1.45)  # the face-oval hull grown about its centre (x, y): forehead, hairline, ears
FEATHER = 0.06  # Gaussian feather of the head mask, as a fraction of the crop size


@lru_cache(maxsize=8)
def crop_mask(size: int) -> np.ndarray:
    """Rounded-square (S,S) float32 mask that fades out before the crop border (the crop edge never shows)."""
    mask = feather_mask(size, feather=0.08)
    mask.setflags(write=False)
    return mask


def grown_head(oval: np.ndarray) -> np.ndarray:
    """Face-oval points (K,2 px) grown by HEAD_SCALE about their centre and lifted towards the hairline."""
    centre = oval.mean(0)
    grown = (oval - centre) * HEAD_SCALE + centre
    grown[:, 1] -= 0.08 * (grown[:, 1].max() - grown[:, 1].min())
    return grown


def head_mask(oval: np.ndarray, size: int, scale: int = 4) -> np.ndarray:
    """Soft (S,S) float32 mask of the head: the hull of the face-oval points (K,2 px, output geometry) grown by
    HEAD_SCALE about its centre and feathered, times the crop mask. Pasting only the head avoids a square halo.
    Drawn and blurred at 1/scale resolution, then upsampled: the mask is smooth, and this is 20x cheaper."""
    grown = grown_head(oval)
    small = max(size // scale, 8)
    mask = np.zeros((small, small), np.float32)
    hull = cv2.convexHull((grown * (small / size)).astype(np.float32))
    cv2.fillConvexPoly(mask, np.round(hull * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    mask = cv2.GaussianBlur(mask, (0, 0), FEATHER * small)
    mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_LINEAR)
    return mask * crop_mask(size)


def paste_mask(oval: np.ndarray, size: int, whole_image: bool) -> np.ndarray:
    """The (S,S) mask a stylized face crop is pasted with: the head alone over the photo (face mode: no square
    halo), the whole feathered crop over a stylized background (whole-image mode: the hair and surroundings the crop
    rendered at its own resolution replace the background's reduced-resolution rendering near the face)."""
    head = head_mask(oval, size)
    return np.maximum(head, crop_mask(size)) if whole_image else head
