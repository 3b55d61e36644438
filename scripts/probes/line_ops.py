"""DESIGN ANALYSIS ONLY: which stages of the painter's feature lines matter. The package's head on the painter's
exaggerated input, with line masks made by variants of the painter's line recipe inked over it, scored as capture
against the painter at seed 1 on probe faces. Never a recipe: the painter only analyses and scores.

    python scripts/probes/line_ops.py animation styles/animation 24
"""
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, ".")
sys.path.insert(0, "scripts")
import capture as C  # noqa: E402
import studio.painters as P  # noqa: E402
from core.export import load_generator  # noqa: E402
from core.package import load_style  # noqa: E402
from scripts.probes.common import capture_scorer, scored_faces, tensor_u8, unit_tensor, write_rows  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402


def plain(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32) / 255.0


def local_norm(image, sigma=16.0, gain=0.25):
    """Local contrast normalisation of lightness: (L - mean) / std over a Gaussian window, squashed to [0, 1]."""
    L = plain(image)
    m = cv2.GaussianBlur(L, (0, 0), sigma)
    sd = np.sqrt(np.maximum(cv2.GaussianBlur(L * L, (0, 0), sigma) - m * m, 0)) + 0.02
    return np.clip(0.5 + gain * (L - m) / sd, 0, 1).astype(np.float32)


def guided(image, r, eps):
    x = image.astype(np.float32) / 255
    return np.clip(cv2.ximgproc.guidedFilter(x, x, r, eps) * 255, 0, 255).astype(np.uint8) if hasattr(cv2, "ximgproc") \
        else cv2.GaussianBlur(image, (0, 0), r / 2)


def density_clean(mask, s, sigma=2.0, keep=0.25):
    """An ONNX-friendly stand-in for dropping specks: keep ink where the line density around it is high enough."""
    dens = cv2.GaussianBlur(mask, (0, 0), sigma * s)
    return mask * np.clip((dens - keep * 0.5) / (keep * 0.5), 0, 1)


def lines(image, smooth="bilateral", light="clahe", specks="drop", sigma=2.0, at256=False):
    if at256:
        image = C.show(image)
    s = P._scale(image)
    im = {"bilateral": lambda: P._bilateral(image, 3, s), "none": lambda: image,
          "bilateral1": lambda: P._bilateral(image, 1, s), "median": lambda: cv2.medianBlur(image, 5)}[smooth]()
    L = {"clahe": lambda: P._line_lightness(im), "plain": lambda: plain(im), "lcn": lambda: local_norm(im)}[light]()
    m = P._xdog(L, sigma * s, tau=0.99, eps=-0.005, phi=100.0)
    if specks == "drop":
        m = P._drop_specks(m, int(60 * s * s) + 1)
    elif specks.startswith("density"):
        m = density_clean(m, s, keep=float(specks[7:] or 0.25))
    return cv2.GaussianBlur(m, (0, 0), 0.5 * s)


VARIANTS = {
    "painter": {},
    "no_drop": {"specks": "none"},
    "plain": {"light": "plain"},
    "lcn": {"light": "lcn"},
    "no_smooth": {"smooth": "none"},
    "median": {"smooth": "median"},
    "plain_no_drop": {"light": "plain", "specks": "none"},
    "density": {"specks": "density"},
    "density0.4": {"specks": "density0.4"},
    "lcn_density": {"light": "lcn", "specks": "density"},
    "median_lcn_density": {"smooth": "median", "light": "lcn", "specks": "density"},
    "plain_density0.4": {"light": "plain", "specks": "density0.4"},
    "plain_density0.6": {"light": "plain", "specks": "density0.6"},
    "at256": {"at256": True},
    "at256_plain_density0.4": {"at256": True, "light": "plain", "specks": "density0.4"},
    "at256_plain_no_drop": {"at256": True, "light": "plain", "specks": "none"},
    "at256_plain_none_none": {"at256": True, "light": "plain", "specks": "none", "smooth": "none"},
}


def main() -> None:
    style, pkg, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sys.argv[4:] or list(VARIANTS)
    torch.set_num_threads(1)
    faces, photos, truth, _ = scored_faces(style, n)
    inputs = [P.exaggerate(f.crop, f.points, P.EXAGGERATION[style]) if P.EXAGGERATION[style] > 0 else f.crop
              for f in faces]
    head = load_generator(load_style(pkg)).art
    with torch.no_grad():
        base = tensor_u8(head(unit_tensor(np.stack([C.show(i) for i in inputs])), None)).astype(np.float32) / 255
    score = capture_scorer(LPIPS(), photos, truth)
    shown = []
    for v in names:
        m = np.stack([C.show(lines(i, **VARIANTS[v])) for i in inputs])[..., None]
        out = np.clip((base * (1 - m) + base * 0.18 * m) * 255, 0, 255).round().astype(np.uint8)
        print(f"{style} {v}: capture {score(out):.3f}", flush=True)
        shown.append(out[:4])
    write_rows(f"runs/probes/line_ops_{style}.jpg", [photos[:4]] + shown + [truth[:4]])


if __name__ == "__main__":
    main()
