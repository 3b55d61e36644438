"""DESIGN ANALYSIS ONLY: which part of the painter's look the painting head lacks. On probe faces (the painter's own
exaggerated geometry as input, so only appearance differs), capture against the painter at seed 1 of: the package's
head; the head with the painter's line mask inked over it; the painter's cels (seed 2) with the head's lines; the
painter's cels alone. Never a recipe: the painter only analyses and scores.

    python scripts/probes/decompose.py animation styles/animation 24
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


def toon_parts(image, rng):
    """The animation painter split into (cels (H,W,3) float, line mask (H,W)), as in studio.painters.toon."""
    s = P._scale(image)
    smooth = P._bilateral(image, 3, s)
    lightness = P._line_lightness(smooth)
    smooth = cv2.edgePreservingFilter(smooth, flags=cv2.RECURS_FILTER, sigma_s=30 * s, sigma_r=0.25)
    lab = cv2.cvtColor(P._unit(smooth), cv2.COLOR_RGB2Lab)
    centres, labels = P._flat_regions(lab, 9, 2.5 * s, rng)
    centres[:, 1:] *= 1.1
    colours = centres[labels].astype(np.float32)
    cel = np.clip(cv2.cvtColor(colours, cv2.COLOR_Lab2RGB), 0.0, 1.0)
    boundary = cv2.GaussianBlur(P._boundaries(colours, 40.0), (0, 0), 0.7 * s)
    features = P._xdog(lightness, 2.0 * s, tau=0.99, eps=-0.005, phi=100.0)
    features = cv2.GaussianBlur(P._drop_specks(features, int(60 * s * s) + 1), (0, 0), 0.5 * s)
    return cel, np.maximum(boundary, features), features


def ink_lines(image, rng):
    s = P._scale(image)
    smooth = P._bilateral(image, 3, s)
    lightness = P._line_lightness(smooth)
    lines = P._xdog(lightness, 1.7 * s, tau=0.99, eps=-0.006, phi=100.0)
    lines = P._drop_specks(lines, int(50 * s * s) + 1)
    return cv2.GaussianBlur(lines, (0, 0), 0.6 * s)


def main() -> None:
    style, pkg, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    faces, photos, truth, _ = scored_faces(style, n)
    inputs = []
    for f in faces:
        im = f.crop
        if P.EXAGGERATION[style] > 0:
            im = P.exaggerate(im, f.points, P.EXAGGERATION[style])
        inputs.append(im)
    head = load_generator(load_style(pkg)).art
    with torch.no_grad():
        head_out = tensor_u8(head(unit_tensor(np.stack([C.show(i) for i in inputs])), None)).astype(np.float32) / 255
    score = capture_scorer(LPIPS(), photos, truth)
    rows = {"head": head_out}
    if style == "animation":
        parts = [toon_parts(i, np.random.default_rng(2)) for i in inputs]
        cels = np.stack([C.show(p[0]) for p in parts])
        lines = np.stack([C.show(p[1]) for p in parts])[..., None]
        feats = np.stack([C.show(p[2]) for p in parts])[..., None]
        rows["head+painter_lines"] = head_out * (1 - lines) + head_out * 0.18 * lines
        rows["head+painter_feature_lines"] = head_out * (1 - feats) + head_out * 0.18 * feats
        rows["painter_cels"] = cels
        rows["painter_cels+feature_lines"] = cels * (1 - feats) + cels * 0.18 * feats
    else:
        lines = np.stack([C.show(ink_lines(i, None)) for i in inputs])[..., None]
        ink = np.array([0.09, 0.08, 0.08], np.float32)
        rows["head+painter_lines"] = head_out * (1 - lines) + ink * lines
    u8 = {k: np.clip(v * 255, 0, 255).round().astype(np.uint8) for k, v in rows.items()}
    for k, v in u8.items():
        print(f"{style} {k}: capture {score(v):.3f}", flush=True)
    write_rows(f"runs/probes/decompose_{style}.jpg", [photos[:4]] + [v[:4] for v in u8.values()] + [truth[:4]])


if __name__ == "__main__":
    main()
