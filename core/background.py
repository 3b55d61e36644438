"""The whole picture stylized without face alignment (mode "full"): once at the style's resolution, brought
back to full size by guided upsampling with the photo as the guide; faces are pasted on top by the engine.
Images are (H,W,3) uint8 RGB; a runner is a core.runtime.Runner."""

from __future__ import annotations

import cv2
import numpy as np

from core.aligned import template_mesh
from core.options import check_strength
from core.runtime import Runner


def stylize_tiles(image: np.ndarray, runner: Runner, strength: float = 1.0, overlap: int = 32) -> np.ndarray:
    """Stylize a whole image (H,W,3) at its own resolution in overlapping tiles (alpha 0: no geometry change)."""
    strength = check_strength(strength)
    size = runner.resolution
    h, w = image.shape[:2]
    ph, pw = max(h, size), max(w, size)
    padded = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT)
    step = size - overlap
    ys = sorted({min(y, ph - size) for y in range(0, ph, step)})
    xs = sorted({min(x, pw - size) for x in range(0, pw, step)})
    tiles = np.stack([padded[y:y + size, x:x + size] for y in ys for x in xs])
    mesh = template_mesh(runner.package.config.template, size)
    # no texture stage: it matches by place in the face frame, so it belongs to the face crops
    outs = np.concatenate([runner(tiles[i:i + 4], np.repeat(mesh[None], len(tiles[i:i + 4]), 0), 0.0,
                                  texture=False) for i in range(0, len(tiles), 4)])
    ramp = np.minimum(np.arange(size) + 1, overlap) / overlap
    weight = np.minimum.outer(np.minimum(ramp, ramp[::-1]), np.minimum(ramp, ramp[::-1]))[..., None]
    acc = np.zeros((ph, pw, 3), np.float32)
    norm = np.zeros((ph, pw, 1), np.float32)
    for (y, x), tile in zip([(y, x) for y in ys for x in xs], outs):
        acc[y:y + size, x:x + size] += tile * weight
        norm[y:y + size, x:x + size] += weight
    result = (acc / np.maximum(norm, 1e-6))[:h, :w]
    if strength < 1:
        result = strength * result + (1 - strength) * image
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)


BACKGROUND_MIN_SHORT = 64  # the reduced picture keeps at least this short side (a long panorama gets a few tiles)
GUIDE_RADIUS = 2  # box radius (reduced px) of the local fit of the style's output against the photo's luminance
GUIDE_EPS = 1e-3  # its regularizer, in (intensity / 255)^2: flat or faint areas take no photo detail
UPSAMPLE = cv2.INTER_CUBIC  # reduced -> full size; bilinear showed the reduced pixels as blocks


def background_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(h', w') the whole picture is stylized at: the long side scaled to the style's resolution `size` (one
    generator call for most photos), never upscaled, the short side kept at BACKGROUND_MIN_SHORT or more."""
    scale = min(1.0, max(size / max(h, w), min(BACKGROUND_MIN_SHORT / min(h, w), 1.0)))
    return max(1, round(h * scale)), max(1, round(w * scale))


def luminance_gain(guide: np.ndarray, styled: np.ndarray, radius: int = GUIDE_RADIUS,
                   eps: float = GUIDE_EPS) -> np.ndarray:
    """Guided-filter slopes (h,w,3) float32 of each channel of `styled` (h,w,3) uint8 against the luminance of
    `guide` (h,w,3) uint8 in (2 radius + 1)^2 windows, box-averaged (He et al., guided filter): how much of a
    luminance step of the photo each output channel shows there."""
    window = (2 * radius + 1,) * 2
    box = lambda x: cv2.blur(x, window, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    y = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY).astype(np.float32)
    p = styled.astype(np.float32)
    mean_y, mean_p = box(y), box(p)
    var = box(y * y) - mean_y * mean_y
    cov = box(p * y[..., None]) - mean_p * mean_y[..., None]
    return box(cov / (var[..., None] + eps * 255.0 ** 2))


def guided_upsample(image: np.ndarray, guide: np.ndarray, styled: np.ndarray, strength: float = 1.0,
                    radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS) -> np.ndarray:
    """`styled` (h,w,3) uint8, the style's output for `guide` (h,w,3) uint8 (`image` reduced), brought to the size
    of `image` (H,W,3) uint8 -> (H,W,3) uint8, edge-aware: the upsampled output plus the photo's own luminance
    detail (its full-size luminance minus the reduced one's, upsampled the same way) times `luminance_gain`, upsampled
    (a fast guided filter's slopes, He & Sun 2015, applied to the detail only). Photo edges stay as sharp as in the
    photo; where the style does not follow the photo (flat paint, its own outlines) none is added. `strength` < 1
    blends with the photo. Per channel and in uint8 where possible: full-size float arrays are the cost here."""
    h, w = image.shape[:2]
    gain = luminance_gain(guide, styled, radius, eps) * np.float32(strength)
    small_y = cv2.resize(cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY), (w, h), interpolation=UPSAMPLE)
    detail = cv2.subtract(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), small_y, dtype=cv2.CV_32F)
    base = cv2.resize(styled, (w, h), interpolation=UPSAMPLE)
    if strength < 1:
        base = cv2.addWeighted(base, strength, image, 1.0 - strength, 0.0)
    planes = []
    for c, plane in enumerate(cv2.split(base)):
        g = cv2.resize(np.ascontiguousarray(gain[..., c]), (w, h), interpolation=cv2.INTER_LINEAR)
        planes.append(cv2.add(plane, cv2.multiply(g, detail, dst=g), dtype=cv2.CV_8U))
    return cv2.merge(planes).reshape(image.shape)


def stylize_background(image: np.ndarray, runner: Runner, strength: float = 1.0) -> np.ndarray:
    """The whole picture stylized without face alignment (mode "full"), (H, W, 3) uint8 -> same; faces go on top.

    Stylized once at `background_size` (one generator call for most photos, where `stylize_tiles` at the photo's
    own size made 6 to 35), then brought back to full size by `guided_upsample` with the photo as the guide."""
    strength = check_strength(strength)
    image = np.ascontiguousarray(image)
    if strength == 0:
        return image.copy()
    h, w = image.shape[:2]
    small = background_size(h, w, runner.resolution)
    if small == (h, w):
        return stylize_tiles(image, runner, strength)
    guide = cv2.resize(image, small[::-1], interpolation=cv2.INTER_AREA)
    return guided_upsample(image, guide, stylize_tiles(guide, runner), strength)
