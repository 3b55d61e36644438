"""DESIGN ANALYSIS ONLY: the animation painter's cels (no lines) with one stage swapped, scored against the painter at
seed 1 on probe faces: which part of the cels matters. VARIANTS: painter, rgb, k8, no_chroma, bilateral_only, guided,
no_smooth, or yccW (k-means in BT.601 luma/chroma with chroma scaled by W). Never a recipe.

    python scripts/probes/cels.py animation 24 painter rgb ycc1.5
"""
import sys
import cv2, numpy as np, torch
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import capture as C, studio.painters as P
from scripts.probes.common import capture_scorer, scored_faces, write_rows
from studio.metrics import LPIPS
torch.set_num_threads(1)

def cels(image, rng, smooth="painter", space="lab", k=9, chroma=1.1):
    s = P._scale(image)
    if smooth == "painter":
        sm = P._bilateral(image, 3, s)
        sm = cv2.edgePreservingFilter(sm, flags=cv2.RECURS_FILTER, sigma_s=30 * s, sigma_r=0.25)
    elif smooth == "bilateral":
        sm = P._bilateral(image, 3, s)
    elif smooth == "guided":
        x = image.astype(np.float32) / 255
        sm = np.clip(cv2.ximgproc.guidedFilter(x, x, int(24 * s), 0.01) * 255, 0, 255).astype(np.uint8)
    else:
        sm = image
    u = P._unit(sm)
    M = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
    if space.startswith("ycc"):
        w = float(space[3:])
        Mw = M * np.array([1.0, w, w], np.float32)[:, None]
        feat = (u @ Mw.T) * 100.0
        centres, labels = P._flat_regions(feat, k, 2.5 * s, rng)
        return np.clip((centres[labels] / 100.0) @ np.linalg.inv(Mw).T, 0, 1)
    feat = cv2.cvtColor(u, cv2.COLOR_RGB2Lab) if space == "lab" else u * 100.0
    centres, labels = P._flat_regions(feat, k, 2.5 * s, rng)
    if space == "lab":
        centres[:, 1:] *= chroma
        col = np.clip(cv2.cvtColor(centres[labels].astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1)
    else:
        col = np.clip(centres[labels] / 100.0, 0, 1)
    return col

faces, photos, truth, _ = scored_faces(sys.argv[1], int(sys.argv[2]))
inputs = [P.exaggerate(f.crop, f.points, 1.0) for f in faces]
score = capture_scorer(LPIPS(), photos, truth)
outs = []
NAMED = {"painter": {}, "rgb": {"space": "rgb"}, "k8": {"k": 8}, "no_chroma": {"chroma": 1.0},
         "bilateral_only": {"smooth": "bilateral"}, "guided": {"smooth": "guided"}, "no_smooth": {"smooth": "none"}}
for name, kw in [(a, NAMED.get(a, {"space": a})) for a in sys.argv[3:]]:
    o = np.stack([C.show((cels(i, np.random.default_rng(2), **kw) * 255).round().astype(np.uint8)) for i in inputs])
    print("cels", name, "%.3f" % score(o), flush=True)
    outs.append(o[:4])
write_rows("runs/probes/cels_animation.jpg", [photos[:4]] + outs + [truth[:4]])
