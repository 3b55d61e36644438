"""Procedural non-photorealistic painters: license-clean photos become artworks with a known origin.

Each painter is a pure function `painter(image (H, W, 3) uint8 RGB, rng) -> (H, W, 3) uint8`,
deterministic for a given `rng` state. `exaggerate` is the landmark-driven cartoon geometry (a TPS
warp with core.tps); `paint` combines both as the bundled styles' training artworks are made.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from core.errors import ImageLoadError, LandmarkError
from core.templates import border_fractions
from core.topology import GROUP_SLICES, NUM_CANONICAL, NUM_MESH_POINTS, to_canonical

Painter = Callable[[np.ndarray, np.random.Generator], np.ndarray]

MIN_SIDE = 32  # smallest image side the painters accept; their parameters are tuned at 512 px


# --------------------------------------------------------------------------- helpers


def _check_image(image: np.ndarray, name: str = "image") -> None:
    """Raise ImageLoadError (a ValueError) unless `image` is (H, W, 3) uint8 with sides >= MIN_SIDE."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageLoadError(
            f"{name} must be an (H, W, 3) uint8 RGB array, got {got}: load it with core.images.load_image")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ImageLoadError(
            f"{name} is {image.shape[1]}x{image.shape[0]} px: painters need at least {MIN_SIDE} px a side")


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")


def _to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _scale(image: np.ndarray) -> float:
    """Length unit: 1.0 for a 512 px image, so parameters tuned at 512 px follow the image size."""
    return min(image.shape[:2]) / 512.0


def _noise(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 4,
           persistence: float = 0.5) -> np.ndarray:
    """Fractal value noise (H, W) float32, zero mean and unit std; `cell` is the coarsest feature size in px."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for _ in range(octaves):
        gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
        out += amp * cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h),
                                interpolation=cv2.INTER_CUBIC)
        amp *= persistence
        cell = max(1.0, cell / 2.0)
    return (out - out.mean()) / (out.std() + 1e-6)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (H, W) of float RGB (H, W, 3)."""
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _dog(gray: np.ndarray, sigma: float, k: float = 1.6, tau: float = 0.98) -> np.ndarray:
    """Difference of Gaussians G_sigma - tau G_{k sigma} of a float (H, W) image."""
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    return g1 - tau * g2


def _xdog(gray: np.ndarray, sigma: float, k: float = 1.6, tau: float = 0.98, eps: float = -0.005,
          phi: float = 200.0) -> np.ndarray:
    """XDoG line mask (H, W) in [0, 1], 1 = ink (Winnemoeller et al. 2012)."""
    d = _dog(gray, sigma, k, tau)
    white = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    return (1.0 - white).astype(np.float32)


def _line_lightness(image: np.ndarray) -> np.ndarray:
    """Lab lightness (H, W) in [0, 1] of uint8 RGB, contrast-equalized (CLAHE) so that line detection
    finds the features of soft or low-contrast photos too."""
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 0]
    return cv2.createCLAHE(clipLimit=1.5, tileGridSize=(4, 4)).apply(lightness).astype(np.float32) / 255.0


def _drop_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Zero the connected components of a binary-ish mask (H, W) smaller than `min_area` pixels."""
    binary = (mask > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return mask * keep[labels].astype(np.float32) if n > 1 else mask * 0


def _kmeans(samples: np.ndarray, k: int, rng: np.random.Generator, iters: int = 12) -> np.ndarray:
    """k-means++ centres (k, D) of samples (N, D) float32, deterministic for rng."""
    centres = [samples[rng.integers(len(samples))]]
    dist = ((samples - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = dist / dist.sum() if dist.sum() > 0 else None
        centres.append(samples[rng.choice(len(samples), p=p)])
        dist = np.minimum(dist, ((samples - centres[-1]) ** 2).sum(1))
    centres = np.array(centres, np.float32)
    for _ in range(iters):
        labels = _assign(samples, centres)
        for j in range(k):
            members = samples[labels == j]
            if len(members):
                centres[j] = members.mean(0)
    return centres


def _assign(samples: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = (samples ** 2).sum(1, keepdims=True) - 2.0 * samples @ centres.T + (centres ** 2).sum(1)
    return d.argmin(1)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _paper(rng: np.random.Generator, shape: tuple[int, int], tint: tuple[float, float, float],
           grain: float, s: float) -> np.ndarray:
    """Paper (H, W, 3) float: a tint with fibre-like fractal noise of strength `grain`."""
    fibres = _noise(rng, shape, 6 * s, octaves=3, persistence=0.6)
    blotch = _noise(rng, shape, 120 * s, octaves=2)
    value = 1.0 + grain * fibres + 0.4 * grain * blotch
    return np.clip(np.array(tint, np.float32) * value[..., None], 0.0, 1.0)


def _flat_regions(lab: np.ndarray, k: int, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cluster Lab pixels (H, W, 3) into k colours (k-means, chroma weighted above lightness) and smooth
    the region shapes at scale `sigma` px: (centres (k, 3), labels (H, W))."""
    h, w = lab.shape[:2]
    flat = lab.reshape(-1, 3)
    sample = flat[rng.choice(len(flat), size=min(len(flat), 6000), replace=False)]
    weights = np.array([1.0, 1.5, 1.5], np.float32)  # hue changes matter more than shading
    centres = _kmeans(sample * weights, k, rng) / weights
    labels = _assign(flat * weights, centres * weights).reshape(h, w)
    # Opening drops strips thinner than ~2 sigma (soft photo edges become a ring of in-between colour);
    # blurred votes of the neighbours then fill them.
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(2 * sigma) | 1,) * 2)
    votes = np.stack([cv2.GaussianBlur(cv2.morphologyEx((labels == j).astype(np.float32), cv2.MORPH_OPEN, disk),
                                       (0, 0), sigma) for j in range(k)])
    return centres, votes.argmax(0)


def _boundaries(colours: np.ndarray, threshold: float) -> np.ndarray:
    """(H, W) float mask, 1 where a pixel's colour (H, W, C) differs from its right or lower neighbour
    by more than `threshold` (L1)."""
    out = np.zeros(colours.shape[:2], np.float32)
    out[:, :-1] = np.abs(np.diff(colours, axis=1)).sum(-1) > threshold
    out[:-1, :] = np.maximum(out[:-1, :], np.abs(np.diff(colours, axis=0)).sum(-1) > threshold)
    return out


def _oriented_noise(rng: np.random.Generator, direction: np.ndarray, length: float, bins: int = 8) -> np.ndarray:
    """Noise (H, W) streaked along a direction field given as (cos 2t, sin 2t) (H, W, 2): fine noise
    motion-blurred at `bins` angles, each pixel taking the two nearest angles' results."""
    h, w = direction.shape[:2]
    base = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.7)
    t = (np.arctan2(direction[..., 1], direction[..., 0]) / 2.0) % np.pi
    pos = t / np.pi * bins
    lo = np.floor(pos).astype(np.int64) % bins
    frac = pos - np.floor(pos)
    size = int(length) | 1
    out = np.zeros((h, w), np.float32)
    for b in range(bins):
        a = b * np.pi / bins
        kernel = np.zeros((size, size), np.float32)
        c = size // 2
        cv2.line(kernel, (int(round(c - np.cos(a) * c)), int(round(c - np.sin(a) * c))),
                 (int(round(c + np.cos(a) * c)), int(round(c + np.sin(a) * c))), 1.0, 1, cv2.LINE_AA)
        filtered = cv2.filter2D(base, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)
        weight = np.where(lo == b, 1.0 - frac, 0.0) + np.where((lo + 1) % bins == b, frac, 0.0)
        out += weight.astype(np.float32) * filtered
    return out / (out.std() + 1e-6)


# --------------------------------------------------------------------------- painters


def _bilateral(image: np.ndarray, passes: int, s: float) -> np.ndarray:
    """Repeated edge-preserving bilateral smoothing, scaled to the image size by `s` (see `_scale`)."""
    for _ in range(passes):
        image = cv2.bilateralFilter(image, int(9 * s) | 1, 35, 6 * s)
    return image


def toon(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Animation cels: strong edge-preserving smoothing, a few flat colours clustered in Lab with
    smooth region shapes, dark outlines along colour boundaries and XDoG feature lines."""
    _check_image(image)
    _check_rng(rng)
    s = _scale(image)
    smooth = _bilateral(image, 3, s)
    lightness = _line_lightness(smooth)
    smooth = cv2.edgePreservingFilter(smooth, flags=cv2.RECURS_FILTER, sigma_s=30 * s, sigma_r=0.25)
    lab = cv2.cvtColor(_unit(smooth), cv2.COLOR_RGB2Lab)
    centres, labels = _flat_regions(lab, 9, 2.5 * s, rng)
    centres[:, 1:] *= 1.1  # livelier chroma; lightness is kept so skin tones stay true
    colours = centres[labels].astype(np.float32)
    cel = np.clip(cv2.cvtColor(colours, cv2.COLOR_Lab2RGB), 0.0, 1.0)
    # Outlines where neighbouring flat colours differ strongly, plus feature lines inside regions.
    boundary = cv2.GaussianBlur(_boundaries(colours, 40.0), (0, 0), 0.7 * s)
    features = _xdog(lightness, 2.0 * s, tau=0.99, eps=-0.005, phi=100.0)
    features = cv2.GaussianBlur(_drop_specks(features, int(60 * s * s) + 1), (0, 0), 0.5 * s)
    lines = np.maximum(boundary, features)
    ink = cel * 0.18
    return _to_u8(cel * (1.0 - lines[..., None]) + ink * lines[..., None])


def watercolor(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Watercolour: flat-ish transparent washes with wobbly edges, pigment darkening at wash
    boundaries, turbulence and granulation pooling in the paper grain (Bousseau et al. 2006 density
    model), unpainted highlights, a faint pencil underdrawing and embossed cold-press paper."""
    _check_image(image)
    _check_rng(rng)
    s = _scale(image)
    h, w = image.shape[:2]
    base = _bilateral(image, 2, s)
    pencil_src = _line_lightness(base)
    smooth = cv2.edgePreservingFilter(base, flags=cv2.RECURS_FILTER, sigma_s=50 * s, sigma_r=0.35)
    lab = cv2.cvtColor(_unit(smooth), cv2.COLOR_RGB2Lab)
    centres, labels = _flat_regions(lab, 10, 3.0 * s, rng)
    washes = centres[labels].astype(np.float32)
    lab = 0.45 * washes + 0.55 * lab
    lab[..., 1:] *= 1.25
    rgb = np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)
    # Pigment collects where one wash meets a clearly different one, not between close tones.
    boundary = _boundaries(washes, 25.0)
    edge = np.clip(cv2.GaussianBlur(boundary, (0, 0), 2.5 * s) * 6.0 * s, 0.0, 1.0)
    # Wobble: the washes do not follow the photo's edges exactly.
    amp = 2.0 * s
    dx, dy = _noise(rng, (h, w), 24 * s, 2), _noise(rng, (h, w), 24 * s, 2)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warp = (xs + amp * dx, ys + amp * dy)
    rgb = cv2.remap(rgb, *warp, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    edge = cv2.remap(edge, *warp, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # Transparent pigment over white paper: less pigment overall, none in the highlights.
    pigment = 1.0 - rgb
    value = _luma(rgb)
    pigment *= 0.75 * (1.0 - _smoothstep((value - 0.72) / 0.18))[..., None]
    rgb = 1.0 - pigment
    grain = _noise(rng, (h, w), 4.0 * s, 2, 0.5)
    paper_height = cv2.GaussianBlur(grain, (0, 0), 1.0 * s)
    turbulence = _noise(rng, (h, w), 70 * s, 3)
    density = 1.0 + 0.45 * edge + 0.10 * turbulence + 0.08 * np.maximum(-paper_height, 0.0)
    rgb = rgb - (rgb - rgb * rgb) * (density[..., None] - 1.0)
    pencil = _xdog(pencil_src, 1.5 * s, tau=0.985, eps=-0.008, phi=80.0)
    pencil = _drop_specks(pencil, int(60 * s * s) + 1)
    rgb = rgb * (1.0 - 0.4 * pencil[..., None])
    # Cold-press paper: tint, grain lit from the top left.
    px = cv2.Sobel(paper_height, cv2.CV_32F, 1, 0, ksize=3)
    py = cv2.Sobel(paper_height, cv2.CV_32F, 0, 1, ksize=3)
    relief = 1.0 - 0.005 * (px + py) / s
    paper = np.array([0.99, 0.975, 0.94], np.float32) * relief[..., None]
    return _to_u8(np.clip(rgb, 0.0, 1.0) * paper)


def oil(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Oil paint: layered brush strokes, coarse everywhere and finer only where detail demands
    (Hertzmann 1998), oriented along the structure tensor; bristle streaks follow each stroke and
    the strokes' height map is lit from the top left for impasto relief."""
    _check_image(image)
    _check_rng(rng)
    s = _scale(image)
    h, w = image.shape[:2]
    ref = _unit(cv2.bilateralFilter(image, int(9 * s) | 1, 30, 5 * s))
    hsv = cv2.cvtColor(ref, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.15, 0.0, 1.0)
    ref = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    gray = _luma(cv2.GaussianBlur(ref, (0, 0), 2.0 * s))
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), 8 * s)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), 8 * s)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), 8 * s)
    # Doubled-angle tensor vector; where the photo has no clear orientation a smooth diagonal
    # default takes over, so flat areas get calm parallel strokes instead of chaos.
    default = np.pi / 4 + 0.5 * _noise(rng, (h, w), 150 * s, 2)
    vx = jxx - jyy + 0.002 * np.cos(2 * default)
    vy = 2 * jxy + 0.002 * np.sin(2 * default)
    angle = 0.5 * np.arctan2(vy, vx) + np.pi / 2  # along edges, across the gradient
    canvas = cv2.GaussianBlur(ref, (0, 0), 10 * s)  # underpainting shows through gaps between strokes
    height = np.zeros((h, w), np.float32)
    direction = np.zeros((h, w, 2), np.float32)  # (cos 2t, sin 2t) of the top stroke
    for radius, threshold in ((10.0, -1.0), (5.0, 0.07), (2.5, 0.09)):
        r = max(1.0, radius * s)
        blurred = cv2.GaussianBlur(ref, (0, 0), r * 0.6)
        error = cv2.blur(np.abs(canvas - blurred).mean(-1), (int(r) * 2 + 1,) * 2)
        step = max(1, int(r))
        ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
        ys = np.clip(ys + rng.integers(-step // 2, step // 2 + 1, ys.shape), 0, h - 1).ravel()
        xs = np.clip(xs + rng.integers(-step // 2, step // 2 + 1, xs.shape), 0, w - 1).ravel()
        keep = error[ys, xs] > threshold
        order = rng.permutation(int(keep.sum()))
        ys, xs = ys[keep][order], xs[keep][order]
        n = len(ys)
        theta = angle[ys, xs] + rng.normal(0.0, 0.2, n)
        half = r * rng.uniform(1.0, 2.5, n)
        colours = np.clip(blurred[ys, xs] * rng.normal(1.0, 0.03, (n, 1)), 0.0, 1.0)
        ridge = rng.uniform(0.3, 1.0, n)
        shift = 4
        ends = np.stack([xs - np.cos(theta) * half, ys - np.sin(theta) * half,
                         xs + np.cos(theta) * half, ys + np.sin(theta) * half], 1)
        ends = np.rint(ends * (1 << shift)).astype(np.int64).tolist()
        dirs = np.stack([np.cos(2 * theta), np.sin(2 * theta)], 1).tolist()
        thick = max(1, int(round(1.6 * r)))
        for (a, b, c, d), col, rd, dr in zip(ends, colours.tolist(), ridge.tolist(), dirs):
            cv2.line(canvas, (a, b), (c, d), col, thick, cv2.LINE_AA, shift)
            cv2.line(height, (a, b), (c, d), rd, thick, cv2.LINE_8, shift)
            cv2.line(direction, (a, b), (c, d), dr, thick, cv2.LINE_8, shift)
    streaks = _oriented_noise(rng, direction, 13.0 * s)
    relief = cv2.GaussianBlur(height, (0, 0), 1.0 * s) + 0.22 * streaks
    hx = cv2.Sobel(relief, cv2.CV_32F, 1, 0, ksize=3)
    hy = cv2.Sobel(relief, cv2.CV_32F, 0, 1, ksize=3)
    light = -(hx + hy) / np.sqrt(2.0)
    shade = np.clip(1.0 + 0.10 * light, 0.8, 1.2)
    spec = np.clip(light - 0.8, 0.0, 1.0) * 0.12
    return _to_u8(canvas * shade[..., None] + spec[..., None])


def ink(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink and wash: bold XDoG brush lines in warm black over a grey wash of three tones (levels
    from the image's own lightness percentiles) with pooled edges, on off-white paper."""
    _check_image(image)
    _check_rng(rng)
    s = _scale(image)
    h, w = image.shape[:2]
    smooth = _bilateral(image, 3, s)
    lightness = _line_lightness(smooth)
    flat = cv2.edgePreservingFilter(smooth, flags=cv2.RECURS_FILTER, sigma_s=50 * s, sigma_r=0.3)
    value = cv2.cvtColor(_unit(flat), cv2.COLOR_RGB2Lab)[..., 0] / 100.0
    lo, hi = np.percentile(value, (3, 97))
    value = np.clip((value - lo) / max(hi - lo, 1e-3), 0.0, 1.0)
    # Three washes over bare paper: density 0.2 / 0.42 / 0.72 below these value thresholds.
    density = np.zeros((h, w), np.float32)
    edges = np.zeros((h, w), np.float32)
    for threshold, amount in ((0.7, 0.2), (0.45, 0.22), (0.2, 0.3)):
        layer = cv2.GaussianBlur((value < threshold).astype(np.float32), (0, 0), 2.0 * s)
        layer = _smoothstep((layer - 0.5) * 4.0 + 0.5)
        density += amount * layer
        edges = np.maximum(edges, 1.0 - np.abs(2.0 * layer - 1.0))
    density *= 1.0 + 0.04 * _noise(rng, (h, w), 60 * s, 3) + 0.04 * _noise(rng, (h, w), 2 * s, 1)
    density = np.clip(density + 0.12 * edges * (density > 0.05), 0.0, 1.0)
    lines = _xdog(lightness, 1.7 * s, tau=0.99, eps=-0.006, phi=100.0)
    lines = _drop_specks(lines, int(50 * s * s) + 1)
    dry = 1.0 - 0.3 * np.clip(_noise(rng, (h, w), 3 * s, 2), 0.0, 1.0)
    lines = cv2.GaussianBlur(lines, (0, 0), 0.6 * s) * dry
    density = 1.0 - (1.0 - density) * (1.0 - lines)
    paper = _paper(rng, (h, w), (0.97, 0.94, 0.88), 0.015, s)
    ink_colour = np.array([0.09, 0.08, 0.08], np.float32)
    return _to_u8(paper * (1.0 - density[..., None]) + ink_colour * density[..., None])


# --------------------------------------------------------------------------- geometry


def exaggerate_points(canonical: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Cartoon targets for canonical landmarks (73, 2) px: eyes scaled up about their centres
    (brows lifted to make room), nose and mouth shrunk, jaw and chin pulled toward the nose."""
    src = np.asarray(canonical, np.float64)
    if src.shape != (NUM_CANONICAL, 2) or not np.isfinite(src).all():
        raise LandmarkError(f"canonical landmarks must be a finite ({NUM_CANONICAL}, 2) array, got {src.shape}")
    dst = src.copy()
    g = GROUP_SLICES
    eyes = src[np.r_[g["right_eye"], g["left_eye"]]]
    across = eyes[len(eyes) // 2:].mean(0) - eyes[: len(eyes) // 2].mean(0)
    across /= np.linalg.norm(across) + 1e-9
    down = np.array([-across[1], across[0]])  # image y grows downwards
    eye_scale = 1.0 + 0.4 * strength
    for side in ("right", "left"):
        eye = np.r_[g[f"{side}_eye"], g[f"{side}_iris"]]
        centre = src[g[f"{side}_eye"]].mean(0)
        dst[eye] = centre + (src[eye] - centre) * eye_scale
        eye_height = np.ptp((src[g[f"{side}_eye"]] - centre) @ down)
        dst[g[f"{side}_brow"]] -= down * eye_height * 0.6 * (eye_scale - 1.0)
    nose_tip = src[g["nose"]].mean(0)
    for group, scale in (("nose", 1.0 - 0.15 * strength), ("lips_outer", 1.0 - 0.15 * strength)):
        centre = src[g[group]].mean(0)
        idx = np.r_[g[group], g["lips_inner"]] if group == "lips_outer" else g[group]
        dst[idx] = centre + (src[idx] - centre) * scale
    mouth = np.r_[g["lips_outer"], g["lips_inner"]]
    dst[mouth] += (nose_tip - src[g["lips_outer"]].mean(0)) * 0.10 * strength
    oval = g["face_oval"]
    chin = src[oval][np.argmax((src[oval] - nose_tip) @ down)]
    depth = max(float((chin - nose_tip) @ down), 1e-6)
    below = np.clip(((src[oval] - nose_tip) @ down) / depth, 0.0, 1.0)
    dst[oval] = src[oval] + (nose_tip - src[oval]) * (0.18 * strength * below)[:, None]
    return dst


def _border_anchors(height: int, width: int, per_side: int = 24) -> np.ndarray:
    """Fixed points (4 * per_side, 2) px along the image border, so the warp leaves the background put."""
    return border_fractions(per_side) * np.array([width, height], np.float64)


def exaggerate(image: np.ndarray, face_points: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Cartoon geometry: TPS-warp `image` (H, W, 3) uint8 so the face's landmarks (478, 2) or (73, 2) px
    move to `exaggerate_points`, with the image border fixed. strength 0 returns a copy."""
    _check_image(image)
    points = np.asarray(face_points, np.float64)
    if points.shape == (NUM_MESH_POINTS, 2):
        points = to_canonical(points)
    if points.shape != (NUM_CANONICAL, 2) or not np.isfinite(points).all():
        raise LandmarkError(
            f"face_points must be finite ({NUM_MESH_POINTS}, 2) mesh or ({NUM_CANONICAL}, 2) canonical "
            f"landmarks in pixels, got {points.shape}")
    if not np.isfinite(strength) or not 0.0 <= strength <= 3.0:
        raise ValueError(f"strength must be in [0, 3], got {strength!r}")
    if strength == 0:
        return image.copy()
    import torch
    import torch.nn.functional as F

    from core.tps import identity_grid, pixel_to_norm, solve_tps, tps_grid

    h, w = image.shape[:2]
    anchors = _border_anchors(h, w)
    src = np.concatenate([points, anchors])
    dst = np.concatenate([exaggerate_points(points, strength), anchors])
    src_t = pixel_to_norm(torch.from_numpy(src), h, w)[None]
    dst_t = pixel_to_norm(torch.from_numpy(dst), h, w)[None]
    # The backward map (output -> input) is smooth: evaluate it on a coarse grid and upsample.
    # Upsampling the displacement, not the coordinates, keeps the clamped image edges exact.
    gh, gw = max(16, h // 4), max(16, w // 4)
    params = solve_tps(dst_t, src_t, reg=1e-4)
    shift = (tps_grid(params, gh, gw) - identity_grid(gh, gw, dtype=torch.float64)).permute(0, 3, 1, 2)
    shift = F.interpolate(shift, size=(h, w), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    grid = identity_grid(h, w, dtype=torch.float64) + shift
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].to(torch.float64)
    warped = F.grid_sample(tensor, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return np.clip(np.rint(warped[0].permute(1, 2, 0).numpy()), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- registry


PAINTERS: dict[str, Painter] = {"animation": toon, "watercolor": watercolor, "oil": oil, "ink": ink}
"""Style name -> painter."""

EXAGGERATION: dict[str, float] = {"animation": 1.0, "watercolor": 0.0, "oil": 0.0, "ink": 0.0}
"""Style name -> `exaggerate` strength `paint` applies when landmarks are given."""


def paint(style: str, image: np.ndarray, face: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Paint `image` (H, W, 3) uint8 in `style`; with `face` landmarks ((478, 2) or (73, 2) px, or a
    core.landmarks.Face) the style's cartoon exaggeration is applied first. Deterministic per seed."""
    if style not in PAINTERS:
        raise ValueError(f"unknown painter style {style!r}: choose one of {', '.join(PAINTERS)}")
    _check_image(image)
    rng = np.random.default_rng(seed)
    if face is not None and EXAGGERATION[style] > 0:
        points = getattr(face, "points", face)
        image = exaggerate(image, points, EXAGGERATION[style])
    return PAINTERS[style](image, rng)
