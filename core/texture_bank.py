"""A style's texture bank without torch: the artworks' atlas (texture.jpg in a package), the guides and details the
texture graph searches (`core.texture`), and the settings in style.json's "texture" object. The runtime builds the
bank once per package from the atlas, so a package carries a few MB of JPEG instead of the float bank."""

from __future__ import annotations

import math

import cv2
import numpy as np

TEXTURE_ATLAS = "texture.jpg"
TEXTURE_GRAPH = "texture.onnx"
TEXTURE_INPUTS = ("image", "guides", "details")
TEXTURE_MAX = 128  # artworks a bank may hold (memory and time grow with it)
ATLAS_QUALITY = 95
DETAIL_SCALE = 254.0  # details are stored as int8 round(detail * 254): +-0.5 in [0, 1] units, steps of one level
PATCH, STRIDE, GUIDE_SCALE = 8, 4, 2  # the graph's constants (core.texture), repeated here without torch
DEFAULTS = {"count": 0, "radius": 1, "sigma": 2.0}  # count 0: no texture (every package before it)
LIMITS = {"count": (1, TEXTURE_MAX), "radius": (0, 4), "sigma": (0.5, 8.0)}


def texture_problem(spec, resolution: int) -> str | None:
    """Why style.json's "texture" object cannot be used, or None ({} means no texture)."""
    if not isinstance(spec, dict):
        return "'texture' must be a JSON object"
    if not spec:
        return None
    unknown = sorted(set(spec) - set(DEFAULTS))
    if unknown:
        return f"'texture' has unknown keys {unknown}; expected {sorted(DEFAULTS)}"
    for key, (lo, hi) in LIMITS.items():
        value = spec.get(key, DEFAULTS[key])
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not lo <= value <= hi or (key != "sigma" and value != int(value)):
            kind = "number" if key == "sigma" else "whole number"
            return f"'texture.{key}' is {value!r}; it must be a {kind} in [{lo}, {hi}]"
    if resolution % STRIDE:
        return f"a texture needs a resolution that is a multiple of {STRIDE}"
    return None


def settings(spec: dict) -> tuple[int, int, float]:
    """(count, radius, sigma) of a valid "texture" object."""
    s = {**DEFAULTS, **spec}
    return int(s["count"]), int(s["radius"]), float(s["sigma"])


def gaussian_weights(sigma: float) -> np.ndarray:
    """(K,) float32 normalized 1-D Gaussian, K = 2 * ceil(3 sigma) + 1 (the graph uses the same weights)."""
    r = int(math.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-x * x / (2 * sigma * sigma))
    return (g / g.sum()).astype(np.float32)


def low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, C) float32 -> separable Gaussian blur with replicated borders (as the graph's `low_pass`)."""
    g = gaussian_weights(sigma)
    return cv2.sepFilter2D(image, -1, g, g, borderType=cv2.BORDER_REPLICATE)


def make_atlas(crops: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 aligned artworks -> one (rows*S, cols*S, 3) image, row-major, black where unused."""
    n, s = crops.shape[0], crops.shape[1]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * s, cols * s, 3), np.uint8)
    for k, c in enumerate(crops):
        out[(k // cols) * s:(k // cols + 1) * s, (k % cols) * s:(k % cols + 1) * s] = c
    return out


def split_atlas(atlas: np.ndarray, count: int, size: int) -> np.ndarray:
    """The inverse of `make_atlas`: (count, size, size, 3) uint8; an atlas too small for them is refused."""
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    if atlas.ndim != 3 or atlas.shape[:2] != (rows * size, cols * size):
        raise ValueError(f"a texture atlas of {count} artworks at {size} px must be {cols * size}x{rows * size}, got "
                         f"{atlas.shape[1]}x{atlas.shape[0]}")
    return np.stack([atlas[(k // cols) * size:(k // cols + 1) * size, (k % cols) * size:(k % cols + 1) * size]
                     for k in range(count)])


def build_bank(crops: np.ndarray, radius: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, S, S, 3) uint8 aligned artworks -> (guides (N,3,S/2+2r,S/2+2r) uint8, details (N,3,S+4r,S+4r) int8):
    the half-resolution low-pass they are matched on and their fine detail, padded (replicated) by the radius."""
    guides, details = [], []
    for c in crops:
        a = c.astype(np.float32) / 255
        low = low_pass(a, sigma)
        h = cv2.resize(low, (a.shape[1] // GUIDE_SCALE, a.shape[0] // GUIDE_SCALE), interpolation=cv2.INTER_AREA)
        guides.append(np.pad(h, ((radius, radius), (radius, radius), (0, 0)), mode="edge"))
        p = GUIDE_SCALE * radius
        details.append(np.pad(a - low, ((p, p), (p, p), (0, 0)), mode="edge"))
    g = np.clip(np.round(np.stack(guides) * 255), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2)
    d = np.clip(np.round(np.stack(details) * DETAIL_SCALE), -127, 127).astype(np.int8).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(g), np.ascontiguousarray(d)
