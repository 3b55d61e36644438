"""DESIGN ANALYSIS ONLY: the painter at seed 2 with one of its ops swapped for a simpler one, scored as capture against
the painter at seed 1 on probe faces. Which op the painter's look rests on says which generic op a head would need;
never a recipe (the trainer sees artworks and photos only).

    python scripts/probes/knockout.py ink 24
"""
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, "scripts")
sys.path.insert(0, "scripts/probes")
import capture as C  # noqa: E402
from common import scored_faces  # noqa: E402

import studio.painters as P  # noqa: E402

ORIGINAL = {k: getattr(P, k) for k in ("_line_lightness", "_bilateral", "_flat_regions", "_xdog", "_drop_specks")}
NP_PERCENTILE = np.percentile


def plain_lightness(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32) / 255.0


def no_regions_smoothing(lab, k, sigma, rng):
    return ORIGINAL["_flat_regions"](lab, k, 0.5, rng)


VARIANTS = {
    "full": {},
    "plain_luma_lines": {"_line_lightness": plain_lightness},
    "no_bilateral": {"_bilateral": lambda image, passes, s: image},
    "no_lines": {"_xdog": lambda gray, *a, **k: np.zeros_like(gray)},
    "keep_specks": {"_drop_specks": lambda mask, min_area: mask},
    "raw_regions": {"_flat_regions": no_regions_smoothing},
    "no_stretch": {"percentile": True},
    "no_rf": {"rf": True},
}


def run(style: str, variant: str, faces) -> np.ndarray:
    patch = VARIANTS[variant]
    for k, v in ORIGINAL.items():
        setattr(P, k, patch.get(k, v))
    if patch.get("percentile"):
        P.np.percentile = lambda a, q: np.array([0.0, 1.0]) if q == (3, 97) else NP_PERCENTILE(a, q)
    saved_rf = cv2.edgePreservingFilter
    if patch.get("rf"):
        cv2.edgePreservingFilter = lambda img, **k: img
    try:
        return np.stack([C.show(P.paint(style, f.crop, f.points, seed=2)) for f in faces])
    finally:
        np.percentile = NP_PERCENTILE
        cv2.edgePreservingFilter = saved_rf
        for k, v in ORIGINAL.items():
            setattr(P, k, v)


def main() -> None:
    style, n = sys.argv[1], int(sys.argv[2])
    names = sys.argv[3:] or list(VARIANTS)
    torch.set_num_threads(1)
    faces, photos, truth, _ = scored_faces(style, n)
    from common import capture_scorer

    from studio.metrics import LPIPS

    score = capture_scorer(LPIPS(), photos, truth)
    for v in names:
        out = run(style, v, faces)
        cv2.imwrite(f"runs/probes/knockout_{style}_{v}.jpg", cv2.cvtColor(np.concatenate(list(out[:4]), 1),
                                                                         cv2.COLOR_RGB2BGR))
        print(f"{style} {v}: capture {score(out):.3f}", flush=True)


if __name__ == "__main__":
    main()
