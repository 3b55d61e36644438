"""Stylize any photo: detect every face, align it, run the style, paste it back with a feathered mask;
optionally stylize the background too (once at the style's resolution, brought back to full size by guided
upsampling). No torch import on the default ONNX path."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from core import topology
from core.alignment import align_face, compose_affine, crop_image, displace, feather_mask, paste_back
from core.images import ImageSource, fit_image, load_image
from core.landmarks import Face, find_faces
from core.options import check_alpha, check_keep_shape, check_max_faces, check_max_side, check_mode, check_strength
from core.package import STYLIZE_MODES, StylePackage, load_style
from core.runtime import Runner, get_runner
from core.templates import PHOTO_TEMPLATE, border_points
from core.tracking import FaceTracker

MODES = STYLIZE_MODES
RESAMPLE = cv2.INTER_LINEAR  # crops are resampled once each way; Lanczos costs 10x for no visible gain here


HEAD_SCALE = (1.3, 1.45)  # the face-oval hull grown about its centre (x, y): forehead, hairline, ears
FEATHER = 0.06  # Gaussian feather of the head mask, as a fraction of the crop size


@lru_cache(maxsize=8)
def crop_mask(size: int) -> np.ndarray:
    """Rounded-square mask that fades out before the crop border (the crop edge never shows)."""
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


@dataclass
class StylizeResult:
    image: np.ndarray  # (H, W, 3) uint8
    faces: list[Face] = field(default_factory=list)
    message: str = ""  # a note for the user: no face, faces beyond the limit
    timings: dict = field(default_factory=dict)  # milliseconds per stage
    faces_found: int | None = None  # faces detected in all (more than len(faces) when over max_faces)

    @property
    def summary(self) -> str:
        total = sum(self.timings.values())
        return f"{len(self.faces)} face(s), {total:.0f} ms" + (f"; {self.message}" if self.message else "")


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TPS radial basis r^2 log r^2 between point sets (K,2) and (N,2)."""
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    r2 = dx * dx + dy * dy
    return r2 * np.log(np.maximum(r2, 1e-300))  # 0 where r2 is 0


@lru_cache(maxsize=16)
def _tps_inverse(template: bytes, n: int, reg: float) -> np.ndarray:
    """Inverse of the TPS system of a style template ((N,2) normalized, as bytes): computed once per style."""
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
    (K,2, continuous px), displacement scaled by alpha: the numpy twin of core.tps.TemplateTPS.
    Products are einsum, not BLAS: OpenBLAS worker threads left spinning after each frame slowed the ONNX
    Runtime run that follows by several ms on 2 cores."""
    c = np.ascontiguousarray(template, np.float64) / size * 2 - 1
    p = np.asarray(points, np.float64) / size * 2 - 1
    n = len(c)
    weights = np.einsum("ij,jk->ik", _tps_inverse(c.tobytes(), n, float(reg)), np.concatenate([p, np.zeros((3, 2))]))
    q = np.asarray(query, np.float64).reshape(-1, 2) / size * 2 - 1
    mapped = np.einsum("kn,nd->kd", _kernel(q, c), weights[:n]) + weights[n]
    mapped += np.einsum("kj,jd->kd", q, weights[n + 1:])
    return (q + alpha * (mapped - q) + 1) * size / 2


TPS_NODES = 129  # tps_remap evaluates the TPS on at most this many nodes per side and interpolates (it is smooth)


def tps_remap(points: np.ndarray, template: np.ndarray, size: int, alpha: float, reg: float = 1e-3) -> np.ndarray:
    """Sampling map (S,S,2) in OpenCV pixel indices for cv2.remap of a crop: `tps_points` at every pixel centre
    (exact up to TPS_NODES px, bilinear between evenly spaced nodes above)."""
    nodes = min(size, TPS_NODES)
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
    on a grid spanning the crop +- SURROUND_EXTENT. Returns (field, M crop -> grid)."""
    g, lo = SURROUND_GRID, -SURROUND_EXTENT * size
    cell = (1 + 2 * SURROUND_EXTENT) * size / g
    frame = np.array([[1 / cell, 0, -lo / cell], [0, 1 / cell, -lo / cell]])
    centres = lo + (np.stack(np.meshgrid(np.arange(g), np.arange(g)), -1) + 0.5) * cell
    offsets = tps_points(canonical, template, size, alpha, centres).reshape(g, g, 2) - centres
    outside = np.full((g, g), 255, np.uint8)
    hull = cv2.convexHull(((head - lo) / cell).astype(np.float32))
    cv2.fillConvexPoly(outside, np.round(hull).astype(np.int32), 0)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5) * cell / size
    t = np.clip(1 - (dist - SURROUND_INNER) / SURROUND_FALL, 0, 1)
    weight = t * t * (3 - 2 * t)
    return (offsets * weight[..., None] / cell).astype(np.float32), frame


def yaw(points: np.ndarray) -> float:
    """Signed head-turn proxy from mesh landmarks (478,2): the nose tip's offset from the eye-corner midpoint,
    in eye distances (about 0 frontal, +-0.4 for a strong turn)."""
    right, left, nose = points[33], points[263], points[4]
    return float((nose[0] - (right[0] + left[0]) / 2) / max(np.hypot(*(left - right)), 1e-6))


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
    """The factor the engine multiplies a face's alpha by: head turns and closed eyes keep their own geometry."""
    return turn_damping(points) * eye_damping(points)


def warp_sources(points: np.ndarray, keep_shape: float, size: int) -> np.ndarray:
    """The landmarks (478,2 crop px) the style's warp starts from: the face's own (keep_shape 0: it moves them
    onto the template, every face takes the template's shape) or, towards keep_shape 1, the average photo face's,
    so the warp becomes the style's average change (template minus average face) applied to each face's own shape.
    Faces are aligned (eyes and mouth pinned), so the average face's points lie close to each face's own."""
    if keep_shape == 0:
        return points
    mean = (np.asarray(PHOTO_TEMPLATE) + 1) * size / 2
    sources = np.array(points, np.result_type(np.asarray(points).dtype, np.float32))
    canonical = sources[topology.CANONICAL_INDICES]
    sources[topology.CANONICAL_INDICES] = canonical + keep_shape * (mean - canonical)
    return sources


def warp_anchors(model: dict, size: int) -> np.ndarray:
    """The generator's fixed border points (K,2 crop px) for a package's model config (none for older ones)."""
    per_side = int(model.get("anchors", 0) or 0)
    if not per_side:
        return np.zeros((0, 2))
    return (border_points(per_side) + 1) * size / 2


def stylize_faces(image: np.ndarray, faces: list[Face], runner: Runner, alpha: float, strength: float,
                  background: np.ndarray | None = None, keep_shape: float = 0.0) -> np.ndarray:
    """Align each face, stylize, blend with the identically warped original by `strength`, paste back
    (adding back (1 - strength) of the photo detail the crop could not hold). Where the style changes the
    face's geometry, the hair and background around it follow the same warp, so no outline is left twice."""
    alpha, strength = check_alpha(alpha), check_strength(strength)
    keep_shape = check_keep_shape(keep_shape) or 0.0
    size = runner.resolution
    template = (np.asarray(runner.package.config.template) + 1) * size / 2
    out = image if background is None else background
    if not faces:
        return out.copy()
    aligned = [align_face(image, f, size=size, interpolation=RESAMPLE) for f in faces]
    alphas = np.array([alpha * geometry_damping(a.points) for a in aligned], np.float32)
    sources = [warp_sources(a.points, keep_shape, size) for a in aligned]
    stylized = runner(np.stack([a.image for a in aligned]), np.stack(sources), alphas)
    oval = topology.GROUP_SLICES["face_oval"]
    pins = warp_anchors(runner.package.config.model, size)
    warp_template = np.concatenate([template, pins])
    for a, src, s, alpha in zip(aligned, sources, stylized, alphas):
        canonical, start = topology.to_canonical(a.points), topology.to_canonical(src)
        start_pinned = np.concatenate([start, pins])  # the generator's warp pins the crop border the same way
        geometry = canonical + alpha * (template - start)  # where the output's face outline lies
        mask = head_mask(geometry[oval], size)
        if alpha > 0:
            head = np.concatenate([grown_head(canonical[oval]), grown_head(geometry[oval])])
            field, frame = surround_field(start_pinned, warp_template, size, float(alpha), head)
            out = displace(out, compose_affine(frame, a.matrix), field)
        if strength < 1:
            remap = tps_remap(start_pinned, warp_template, size, alpha)
            warped = cv2.remap(a.image, remap[..., 0], remap[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            s = np.clip(strength * s.astype(np.float32) + (1 - strength) * warped, 0, 255).astype(np.uint8)
        # below full strength the photo's own detail (finer than the crop holds) comes back in proportion
        reference = crop_image(out, a.matrix, size, RESAMPLE) if strength < 1 else None
        out = paste_back(out, s, a.matrix, mask=mask, interpolation=RESAMPLE, reference=reference,
                         detail=1.0 - strength)
    return out


def stylize_tiles(image: np.ndarray, runner: Runner, strength: float = 1.0, overlap: int = 32) -> np.ndarray:
    """Stylize a whole image at its own resolution in overlapping tiles (alpha 0: no geometry change)."""
    strength = check_strength(strength)
    size = runner.resolution
    h, w = image.shape[:2]
    ph, pw = max(h, size), max(w, size)
    padded = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT)
    step = size - overlap
    ys = sorted({min(y, ph - size) for y in range(0, ph, step)})
    xs = sorted({min(x, pw - size) for x in range(0, pw, step)})
    tiles = np.stack([padded[y:y + size, x:x + size] for y in ys for x in xs])
    template = (np.asarray(runner.package.config.template) + 1) * size / 2
    mesh = np.full((topology.NUM_MESH_POINTS, 2), size / 2, np.float32)
    mesh[topology.CANONICAL_INDICES] = template
    outs = np.concatenate([runner(tiles[i:i + 4], np.repeat(mesh[None], len(tiles[i:i + 4]), 0), 0.0)
                           for i in range(0, len(tiles), 4)])
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


DETECT_SHORT_SIDE = 256  # a working image with a shorter short side is too small for the detector ...
DETECT_FRAME_SHORT = 512  # ... so faces are detected on the source decoded up to this short side instead


def detection_frame(image: ImageSource, rgb: np.ndarray) -> np.ndarray | None:
    """A larger copy of `image` to detect faces in when the downscaled working image `rgb` is too small for
    the detector (a panorama shrunk to max_side can be 77 px high): the source decoded up to DETECT_FRAME_SHORT
    px on its short side. None when `rgb` is large enough or the source is no larger."""
    h, w = rgb.shape[:2]
    if min(h, w) >= DETECT_SHORT_SIDE:
        return None
    frame = load_image(image, max_side=round(max(h, w) * DETECT_FRAME_SHORT / min(h, w)))
    return frame if min(frame.shape[:2]) > min(h, w) else None


def scale_face(face: Face, sx: float, sy: float) -> Face:
    """`face` in an image resized by (sx, sy): continuous pixel coordinates scale about the top-left corner."""
    x0, y0, x1, y1 = face.box
    return Face(face.points * np.float32([sx, sy]), (x0 * sx, y0 * sy, x1 * sx, y1 * sy), face.score)


def detect_for(image: ImageSource, rgb: np.ndarray, max_faces: int) -> tuple[list[Face], int]:
    """(faces in the working image `rgb`, how many were found in all); on `detection_frame` when `rgb` is too
    small for the detector, the faces scaled back to `rgb`."""
    frame = detection_frame(image, rgb)
    if frame is None:
        return find_faces(rgb, max_faces=max_faces)
    faces, found = find_faces(frame, max_faces=max_faces)
    sx, sy = rgb.shape[1] / frame.shape[1], rgb.shape[0] / frame.shape[0]
    return [scale_face(f, sx, sy) for f in faces], found


def face_note(found: int, used: int, limit: int) -> str:
    """The note for faces left out by the limit, e.g. '12 faces found; stylized the 8 largest (limit 8)'."""
    if found <= used:
        return ""
    return f"{found} faces found; stylized the {used} largest (limit {limit})"


def stylize(image: ImageSource, style: StylePackage | str, *, alpha: float | None = None, strength: float = 1.0,
            mode: str | None = None, max_side: int | None = 2048, backend: str = "onnx", variant: str = "fp32",
            faces: list[Face] | None = None, max_faces: int = 8, keep_shape: float | None = None) -> StylizeResult:
    """Stylize every face in a photo (mode "face") or the whole picture with faces on top (mode "full").

    alpha: geometry strength, mode and keep_shape (0 every face takes the style's template shape, 1 keeps its
    own shape and takes the style's average change; default: the style's); strength: 0 original .. 1 fully stylized;
    max_side: downscale larger inputs first (None or 0 keeps the size); max_faces: the largest faces stylized
    (the message says when more were found). Options are checked by core.options (OptionError, a ValueError).
    No face in "face" mode returns the original with a message, never an exception.
    """
    mode, alpha, strength = check_mode(mode), check_alpha(alpha), check_strength(strength)
    keep_shape, max_side, max_faces = check_keep_shape(keep_shape), check_max_side(max_side), check_max_faces(max_faces)
    timings = {}
    t0 = time.perf_counter()
    package = style if isinstance(style, StylePackage) else load_style(style)
    mode = mode or package.config.mode_default
    runner = get_runner(package, backend=backend, variant=variant)
    if faces is None:
        rgb = load_image(image, max_side=max_side)  # decoded small: memory follows max_side, not the file
    else:  # faces are in the source's pixels: kept when it fits, else found again on the downscaled image
        full = load_image(image)
        rgb = fit_image(full, max_side)
        faces = list(faces) if rgb is full else None
    timings["load"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    found = None if faces is None else len(faces)
    if faces is None:
        faces, found = detect_for(image, rgb, max_faces)
    timings["detect"] = (time.perf_counter() - t0) * 1000
    alpha = package.config.alpha_default if alpha is None else alpha
    keep_shape = package.config.keep_shape if keep_shape is None else keep_shape
    t0 = time.perf_counter()
    background = stylize_background(rgb, runner, strength) if mode == "full" else None
    timings["background"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    out = stylize_faces(rgb, faces, runner, alpha, strength, background, keep_shape)
    timings["faces"] = (time.perf_counter() - t0) * 1000
    message = face_note(found, len(faces), max_faces)
    if not faces:
        message = ("no face found: the photo comes back unchanged; use a clearer, frontal, well-lit photo, "
                   "or choose 'whole image' to stylize everything") if mode == "face" else \
            "no face found: stylized the whole image without face alignment"
    return StylizeResult(image=out, faces=list(faces), message=message, timings=timings, faces_found=found)


class FrameStylizer:
    """`stylizer(frame, t)` -> StylizeResult for consecutive frames of one video or camera at time `t` seconds.

    Faces come from a `FaceTracker` (mesh-only tracking between detections, One Euro smoothing), so each
    face's crop, warp and paste-back mask move smoothly; options are checked once, as `stylize` checks them.
    A frame without a face comes back unchanged in "face" mode and restyled whole in "full" mode.
    """

    def __init__(self, style: StylePackage | str, *, alpha: float | None = None, strength: float = 1.0,
                 mode: str | None = None, keep_shape: float | None = None, max_faces: int = 8,
                 smoothing: bool = True, redetect_every: int = 30, backend: str = "onnx", variant: str = "fp32",
                 tracker: FaceTracker | None = None) -> None:
        self.package = style if isinstance(style, StylePackage) else load_style(style)
        config = self.package.config
        mode, alpha, strength = check_mode(mode), check_alpha(alpha), check_strength(strength)
        keep_shape, max_faces = check_keep_shape(keep_shape), check_max_faces(max_faces)
        self.mode = mode or config.mode_default
        self.alpha = config.alpha_default if alpha is None else alpha
        self.keep_shape = config.keep_shape if keep_shape is None else keep_shape
        self.strength = strength
        self.runner = get_runner(self.package, backend=backend, variant=variant)
        self.tracker = tracker or FaceTracker(max_faces=max_faces, redetect_every=redetect_every, smoothing=smoothing)

    def reset(self) -> None:
        """A new clip or camera: forget the tracked faces."""
        self.tracker.reset()

    def __call__(self, frame: np.ndarray, t: float) -> StylizeResult:
        rgb = load_image(frame, max_pixels=None)
        timings = {}
        t0 = time.perf_counter()
        faces = self.tracker(rgb, t)
        timings["track"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        background = stylize_background(rgb, self.runner, self.strength) if self.mode == "full" else None
        timings["background"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        out = stylize_faces(rgb, faces, self.runner, self.alpha, self.strength, background, self.keep_shape)
        timings["faces"] = (time.perf_counter() - t0) * 1000
        message = "" if faces else ("no face in this frame: shown unchanged" if self.mode == "face"
                                    else "no face in this frame: stylized without face alignment")
        return StylizeResult(image=out, faces=faces, message=message, timings=timings, faces_found=len(faces))
