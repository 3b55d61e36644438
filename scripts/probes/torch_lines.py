"""DESIGN ANALYSIS ONLY: lines drawn in torch at 256 px (bilateral passes, the head's guided source, none) at the
XDoG's standard threshold over the animation head, scored against the painter. Never a recipe.

    python scripts/probes/torch_lines.py
"""
import sys
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import numpy as np, torch, torch.nn.functional as F
import capture as C, studio.painters as P
from core.export import load_generator
from core.package import load_style
from core.generator import xdog, luma, gaussian_blur
from scripts.probes.common import capture_scorer, scored_faces, tensor_u8, unit_tensor
from studio.metrics import LPIPS
torch.set_num_threads(1)

def bilateral(x, radius, sigma_s, sigma_r):
    B, Cc, H, W = x.shape
    p = F.pad(x, (radius,) * 4, mode="reflect")
    num = torch.zeros_like(x); den = torch.zeros_like(x[:, :1])
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx > radius * radius: continue
            sh = p[..., radius + dy: radius + dy + H, radius + dx: radius + dx + W]
            d = (sh - x).abs().sum(1, keepdim=True)
            w = np.exp(-(dy * dy + dx * dx) / (2 * sigma_s ** 2)) * torch.exp(-d * d / (2 * sigma_r ** 2))
            num = num + w * sh; den = den + w
    return num / den

style, pkg, n = "animation", "styles/animation", 24
faces, photos, truth, _ = scored_faces(style, n)
inputs = [P.exaggerate(f.crop, f.points, 1.0) for f in faces]
X = unit_tensor(np.stack([C.show(i) for i in inputs]))
head = load_generator(load_style(pkg)).art
with torch.no_grad():
    base = (head(X, None) + 1) / 2
score = capture_scorer(LPIPS(), photos, truth)
u = (X + 1) / 2
from core.generator import guided_smooth
import math
for name, src in [("guided_pkg", guided_smooth(u, 2.0, torch.tensor(math.exp(-5.595)), factor=2)), ("guided_e-4", guided_smooth(u, 2.0, torch.tensor(1e-4), factor=2)), ("guided_e-3", guided_smooth(u, 2.0, torch.tensor(1e-3), factor=2)), ("bil2", bilateral(bilateral(u, 2, 3.0, 0.137), 2, 3.0, 0.137))]:
    with torch.no_grad():
        L = luma(src)
        for tau in (0.98, 0.99):
            dog = gaussian_blur(L, 1.0) - tau * gaussian_blur(L, 1.6)
            m = torch.relu(torch.tanh(100 * (-0.005 - dog)))
            out = base * (1 - m) + base * 0.18 * m
            print(name, tau, "%.3f" % score(tensor_u8(out * 2 - 1)), "ink %.3f" % float(m.mean()), flush=True)
