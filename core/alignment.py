"""Canonical face frame (FFHQ recipe): a similarity transform from image pixels to an aligned square
crop, the crop itself, and paste-back of an edited crop with a feathered mask.

Every matrix M is (2, 3) float64 and maps continuous pixel coordinates of the original image
((0, 0) = top-left corner, pixel centres at +0.5) to continuous coordinates of the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import LandmarkError
from core.images import ImageSource, load_image
from core.topology import CANONICAL_INDICES, GROUP_SLICES, GROUPS, NUM_CANONICAL, NUM_MESH_POINTS

# Subject's right eye / mouth corner is on the image left: FFHQ's "eye_left" / "mouth_left".
_KEYS = {
    NUM_MESH_POINTS: (np.array(GROUPS["right_eye"]), np.array(GROUPS["left_eye"]), 61, 291),
    NUM_CANONICAL: (GROUP_SLICES["right_eye"], GROUP_SLICES["left_eye"],
                    CANONICAL_INDICES.index(61), CANONICAL_INDICES.index(291)),
}
BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "constant": cv2.BORDER_CONSTANT,
           "replicate": cv2.BORDER_REPLICATE}
INTERPOLATION = cv2.INTER_LANCZOS4  # best crop -> paste-back round trip (see docs/landmarks.md)


def alignment_matrix(points: np.ndarray, size: int = 256, margin: float = 1.0) -> np.ndarray:
    """(478, 2) mesh or (73, 2) canonical landmarks -> (2, 3) similarity M: original -> [0, size]^2 crop.

    FFHQ: x = eye_to_eye - rot90(eye_to_mouth), |x| = max(2 |eye_to_eye|, 1.8 |eye_to_mouth|) * margin,
    centre = eye_avg + 0.1 eye_to_mouth; the crop spans centre +- x +- rot90(x).
    """
    p = _check_points(points)
    eye_idx_l, eye_idx_r, mouth_l, mouth_r = _KEYS[len(p)]
    eye_l, eye_r = p[eye_idx_l].mean(axis=0), p[eye_idx_r].mean(axis=0)
    eye_avg = (eye_l + eye_r) / 2
    eye_to_eye = eye_r - eye_l
    eye_to_mouth = (p[mouth_l] + p[mouth_r]) / 2 - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    half = max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) * margin
    norm = np.hypot(*x)
    if not (norm > 1e-9 and half > 1e-9) or size <= 0 or margin <= 0:
        raise LandmarkError(
            f"cannot align: degenerate landmarks (eyes and mouth coincide) or size={size}, "
            f"margin={margin}: detect the face again or fix the landmarks")
    cos, sin = x / norm
    s = size / (2.0 * half)
    a = s * np.array([[cos, sin], [-sin, cos]])
    centre = eye_avg + 0.1 * eye_to_mouth
    return np.concatenate([a, (size / 2.0 - a @ centre)[:, None]], axis=1)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    m = np.asarray(m, dtype=np.float64)
    a_inv = _inverse_2x2(m[:, :2])
    return np.concatenate([a_inv, -(a_inv @ m[:, 2])[:, None]], axis=1)


def _inverse_2x2(a: np.ndarray) -> np.ndarray:
    """Closed-form inverse of a 2x2 matrix (LAPACK's took milliseconds on a busy machine; this is per frame)."""
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    if not abs(det) > 1e-300:
        raise np.linalg.LinAlgError("singular matrix")
    return np.array([[a[1, 1], -a[0, 1]], [-a[1, 0], a[0, 0]]]) / det


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The (2, 3) affine map x -> outer(inner(x))."""
    outer, inner = np.asarray(outer, dtype=np.float64), np.asarray(inner, dtype=np.float64)
    return np.concatenate([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], axis=1)


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine M to points (..., 2)."""
    m = np.asarray(m, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]


@dataclass
class AlignedFace:
    """An aligned crop: `image` (S, S, 3) uint8, `matrix` original -> crop, `points` in the crop frame."""

    image: np.ndarray
    matrix: np.ndarray
    points: np.ndarray
    size: int


def align_face(image: ImageSource, face_or_points, size: int = 256, margin: float = 1.0,
               border: str = "reflect", interpolation: int = INTERPOLATION) -> AlignedFace:
    """Warp `image` into the canonical frame of a Face or (478, 2) / (73, 2) points.

    `points` of the result are the given points (478 or 73) in crop coordinates. Strong
    downscales are pre-reduced with area averaging so the crop does not alias.
    """
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
    points = _check_points(getattr(face_or_points, "points", face_or_points))
    rgb = load_image(image)
    m = alignment_matrix(points, size, margin)
    return AlignedFace(crop_image(rgb, m, size, interpolation, border), m, transform_points(points, m), size)


def face_square(box, shape: tuple[int, ...], scale: float = 1.6, lift: float = 0.0,
                inside: bool = True) -> tuple[float, float, float]:
    """(left, top, side) in pixels of the square `scale` times a face box (x0, y0, x1, y1) about its centre, raised
    by `lift` of its side, in an image of `shape` (H, W, ...): shrunk to stay inside the image (the face kept
    centred) when `inside`, else as it is (the caller pads)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    half = max(x1 - x0, y1 - y0) * scale / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - lift * 2 * half
    if inside:
        h, w = shape[:2]
        half = max(8.0, min(half, cx, cy, w - cx, h - cy))
    return cx - half, cy - half, 2 * half


def face_crop(image: np.ndarray, box, side: int = 256, scale: float = 1.6, lift: float = 0.0,
              inside: bool = True) -> np.ndarray:
    """A square (side, side, 3) picture of a face: `face_square` of its box cut from `image` (H, W, 3) and resized;
    with inside=False the parts beyond the image are black. For thumbnails and grids, not the aligned frame."""
    left, top, span = face_square(box, image.shape, scale, lift, inside)
    x0, y0, n = int(round(left)), int(round(top)), max(1, int(round(span)))
    h, w = image.shape[:2]
    pad = max(0, -x0, -y0, x0 + n - w, y0 + n - h)
    source = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT) if pad else image
    cut = np.ascontiguousarray(source[y0 + pad:y0 + pad + n, x0 + pad:x0 + pad + n])
    return cv2.resize(cut, (side, side), interpolation=cv2.INTER_AREA if n >= side else cv2.INTER_LINEAR)


def feather_mask(size: int, feather: float = 0.1) -> np.ndarray:
    """(S, S) float32 mask: 1 inside a rounded square, smoothly reaching 0 at the crop border over
    `feather` * size pixels (0 gives a hard edge)."""
    if not 0.0 <= feather <= 0.5:
        raise ValueError(f"feather must lie in [0, 0.5], got {feather}")
    c = np.abs(np.linspace(-1.0, 1.0, size))  # edge pixels at exactly 1, so the mask is 0 there
    r = (c[None, :] ** 4 + c[:, None] ** 4) ** 0.25  # superellipse radius
    if feather == 0.0:
        return (r < 1.0).astype(np.float32)
    t = np.clip((1.0 - r) / (2.0 * feather), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def paste_back(original: np.ndarray, crop: np.ndarray, m: np.ndarray, mask: np.ndarray | None = None,
               interpolation: int = INTERPOLATION, reference: np.ndarray | None = None,
               detail: float = 1.0) -> np.ndarray:
    """Blend an aligned crop (S, S, 3) uint8 or float in [0, 1] back into `original` (H, W, 3) uint8.

    `m` maps original -> crop; `mask` (S, S) in [0, 1] defaults to `feather_mask(S)`. Pixels the
    mask does not reach are returned unchanged; crops partly outside the image are clipped.
    `reference`, the untouched crop of `original`, adds back `detail` x (original - reference pasted back):
    what the crop's resolution and 8 bits lost, so an untouched crop with detail 1 reproduces the original.
    """
    original = np.asarray(original)
    crop = np.asarray(crop)
    if original.ndim != 3 or original.shape[2] != 3 or original.dtype != np.uint8:
        raise ValueError(f"original must be (H, W, 3) uint8, got {original.shape} {original.dtype}")
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"crop must be (S, S, 3), got {crop.shape}")
    size = crop.shape[0]
    mask = feather_mask(size) if mask is None else np.asarray(mask, dtype=np.float32)
    if mask.shape != (size, size):
        raise ValueError(f"mask must be ({size}, {size}), got {mask.shape}")
    if crop.dtype != np.uint8 and not (np.isfinite(crop).all() and -0.01 <= crop.min() <= crop.max() <= 1.01):
        raise ValueError("a float crop must hold finite values in [0, 1]; divide 0-255 values by 255")
    crop = _as_255(crop)
    if reference is not None:
        reference = np.asarray(reference)
        if reference.shape != crop.shape:
            raise ValueError(f"reference must be the untouched crop, shape {crop.shape}, got {reference.shape}")
        reference = _as_255(reference)

    h, w = original.shape[:2]
    corners = transform_points([[0, 0], [size, 0], [0, size], [size, size]], invert_affine(m))
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, (w, h))
    out = original.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    m_roi = np.asarray(m, dtype=np.float64).copy()
    m_roi[:, 2] += m_roi[:, :2] @ (x0, y0)  # ROI pixel -> crop
    flags = cv2.WARP_INVERSE_MAP
    cv_m, roi = _to_cv(m_roi), (int(x1 - x0), int(y1 - y0))
    with_detail = reference is not None and detail
    if with_detail:  # warping is linear: one warp of (crop - detail * reference) instead of two
        crop = crop - np.float32(detail) * reference
    colour = cv2.warpAffine(crop, cv_m, roi, flags=interpolation | flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, cv_m, roi, flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0.0)
    alpha = np.clip(alpha, 0.0, 1.0)
    base = out[y0:y1, x0:x1].astype(np.float32)
    colour = colour + np.float32(detail) * base if with_detail else np.clip(colour, 0.0, 255.0)
    # alpha * colour + (1 - alpha) * base; where alpha is 0 this is exactly base
    blended = cv2.blendLinear(colour, base, alpha, 1.0 - alpha)
    out[y0:y1, x0:x1] = np.rint(np.clip(blended, 0.0, 255.0)).astype(np.uint8)
    return out


def displace(image: np.ndarray, m: np.ndarray, field: np.ndarray, coarse: int = 8) -> np.ndarray:
    """Resample `image` (H, W, 3) by a smooth displacement field: out(X) = image(X + D(X)).

    `field` (G, G, 2) holds sampling offsets in the coordinates of a frame that `m` (2, 3) maps the image into
    (e.g. an extended crop frame); they are carried back to image pixels and shortened near the image border so
    no pixel is sampled from outside. The offsets are resampled at 1/`coarse` resolution (they are smooth) and
    interpolated. Pixels where the field is zero or that the frame does not cover come back unchanged, bit for bit.
    """
    image = np.asarray(image)
    field = np.asarray(field, dtype=np.float32)
    if field.ndim != 3 or field.shape[2] != 2:
        raise ValueError(f"field must be (G, G, 2) offsets, got {field.shape}")
    h, w = image.shape[:2]
    out = image.copy()
    # coarse grid node (i, j) sits on image pixel (x, y) = (coarse * j, coarse * i); the last node covers the edge
    cw, ch = -(-(w - 1) // coarse) + 1, -(-(h - 1) // coarse) + 1
    node_to_field = compose_affine(m, np.array([[coarse, 0.0, 0.5], [0.0, coarse, 0.5]]))  # node -> frame coords
    node_to_field[:, 2] -= 0.5  # frame coords -> field index (cell centres)
    offsets = cv2.warpAffine(field, node_to_field, (cw, ch), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    inv = _inverse_2x2(np.asarray(m, dtype=np.float64)[:, :2]).astype(np.float32)
    offsets = offsets[..., 0, None] * inv[:, 0] + offsets[..., 1, None] * inv[:, 1]  # elementwise: no BLAS threads
    moving = np.nonzero(np.abs(offsets).max(axis=2) > 1e-4)
    if not len(moving[0]):
        return out
    # never sample beyond the image: a node's offset is at most half its distance to the border less one node
    # spacing, so interpolated offsets stay inside too and vanish on the border pixels
    xs, ys = np.arange(cw, dtype=np.float32) * coarse, np.arange(ch, dtype=np.float32) * coarse
    border = np.minimum(np.minimum(xs, w - 1 - xs)[None, :], np.minimum(ys, h - 1 - ys)[:, None]) - coarse
    length = np.sqrt((offsets ** 2).sum(axis=2))
    offsets *= np.clip(0.5 * border / np.maximum(length, 1e-6), 0.0, 1.0)[..., None]
    i0, i1 = max(moving[0].min() - 1, 0), min(moving[0].max() + 1, ch - 1)
    j0, j1 = max(moving[1].min() - 1, 0), min(moving[1].max() + 1, cw - 1)
    x0, x1, y0, y1 = j0 * coarse, min(j1 * coarse, w - 1) + 1, i0 * coarse, min(i1 * coarse, h - 1) + 1
    sub = offsets[i0:i1 + 1, j0:j1 + 1]
    sub[..., 0] += xs[None, j0:j1 + 1]  # absolute sampling positions: node positions interpolate exactly
    sub[..., 1] += ys[i0:i1 + 1, None]
    maps = _node_upsample(sub, coarse)[:y1 - y0, :x1 - x0]
    out[y0:y1, x0:x1] = cv2.remap(image, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return out


def _node_upsample(nodes: np.ndarray, k: int) -> np.ndarray:
    """Bilinear interpolation of values on nodes spaced k pixels apart (n, m, C) -> ((n-1)k+1, (m-1)k+1, C)."""
    n, m = nodes.shape[:2]
    return cv2.warpAffine(nodes, np.array([[1.0 / k, 0, 0], [0, 1.0 / k, 0]]), ((m - 1) * k + 1, (n - 1) * k + 1),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def crop_image(image: np.ndarray, m: np.ndarray, size: int, interpolation: int = INTERPOLATION,
               border: str = "reflect") -> np.ndarray:
    """The (size, size) crop of `image` that `m` (original -> crop) defines, pre-reduced when it shrinks > 2x."""
    src, m_src = _prereduce(np.asarray(image), np.asarray(m, dtype=np.float64), size)
    return cv2.warpAffine(src, _to_cv(m_src), (size, size), flags=interpolation, borderMode=BORDERS[border],
                          borderValue=(0, 0, 0))


def _as_255(crop: np.ndarray) -> np.ndarray:
    """A uint8 or [0, 1] float crop as float32 in 0..255."""
    return crop.astype(np.float32) * (1.0 if crop.dtype == np.uint8 else 255.0)


def _check_points(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.shape not in ((NUM_MESH_POINTS, 2), (NUM_CANONICAL, 2)) or not np.isfinite(p).all():
        raise LandmarkError(
            f"alignment needs finite ({NUM_MESH_POINTS}, 2) mesh or ({NUM_CANONICAL}, 2) canonical "
            f"landmarks, got shape {p.shape}: pass Face.points or Face.canonical")
    return p


def _to_cv(m: np.ndarray) -> np.ndarray:
    """Continuous-coordinate M -> OpenCV's pixel-centre (index) convention."""
    a, t = m[:, :2], m[:, 2]
    return np.concatenate([a, (t + a @ (0.5, 0.5) - 0.5)[:, None]], axis=1)


def _prereduce(rgb: np.ndarray, m: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """When M shrinks more than 2x, area-reduce the source region first; returns (source, M from it)."""
    scale = np.sqrt(abs(np.linalg.det(m[:, :2])))
    if scale >= 0.5:
        return rgb, m
    f = 2.0 * scale
    h, w = rgb.shape[:2]
    corners = transform_points([[0, 0], [size, 0], [0, size], [size, size]], invert_affine(m))
    pad = int(np.ceil(8.0 / f))
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + pad, (w, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rgb, m
    nw, nh = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
    small = cv2.resize(rgb[y0:y1, x0:x1], (nw, nh), interpolation=cv2.INTER_AREA)
    back = np.array([[(x1 - x0) / nw, 0.0, x0], [0.0, (y1 - y0) / nh, y0]])  # small -> original
    return small, np.concatenate([m[:, :2] @ back[:, :2], (m[:, :2] @ back[:, 2] + m[:, 2])[:, None]], axis=1)
