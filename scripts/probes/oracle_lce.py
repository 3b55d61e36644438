"""CAPACITY CHECK ONLY (issue 13, development): `oracle_head.py` with one more generic op, local contrast equalization
(box radius 8 px at 256, a learned mix, starting at sigmoid(-2) = 0.12) of the luma the XDoG lines are drawn on: do
lines in low-contrast regions (hair strands, wrinkles; the painters draw on CLAHE lightness) raise what the head can
reach when fitted *paired* to its painter? Never a recipe. VARIANT: base (the head as it is), lce, or paper (after
the head, light areas go to a learned paper colour above a learned luma threshold: the painters' bare-paper
highlights). One thread.

    python scripts/probes/oracle_lce.py animation styles/animation 40 base   # and ... lce, side by side
"""
import sys, types
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, ".")
import core.generator as G
from studio.metrics import LPIPS
from scripts.probes.common import fit_head_paired, head_capture, oracle_setup

style, pkg, steps, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
head, P, T, tr, te = oracle_setup(style, pkg)

def box(x, r):
    return F.avg_pool2d(F.pad(x, (r, r, r, r), mode="replicate"), 2 * r + 1, stride=1)

if variant == "lce":
    head.lce_logit = torch.nn.Parameter(torch.tensor(-2.0))
    LCE_RADIUS = 8.0  # px at 256
    real_luma = G.luma
    def forward(self, image, maps):
        # same as ArtHead.forward, with lit = luma(fine) locally contrast-equalized by a learned amount
        calls = {"n": 0}
        def luma_patched(x):
            out = real_luma(x)
            calls["n"] += 1
            if calls["n"] == self._lit_call:
                r = max(1, round(LCE_RADIUS * x.shape[-2] / 256))
                m = box(out, r); v = (box(out * out, r) - m * m).clamp_min(0)
                eq = ((out - m) / (v + 4e-4).sqrt() * 0.15 + 0.5).clamp(0, 1)
                out = out + torch.sigmoid(self.lce_logit) * (eq - out)
            return out
        G.luma = luma_patched
        try:
            return G.ArtHead.forward(self, image, maps)
        finally:
            G.luma = real_luma
    # which luma() call computes `lit`: count the calls of one forward
    cnt = {"n": 0}
    def counting(x):
        cnt["n"] += 1
        return real_luma(x)
    G.luma = counting
    with torch.no_grad():
        G.ArtHead.forward(head, P[:1], None)
    G.luma = real_luma
    head._lit_call = cnt["n"]  # lit is the last luma() call in forward
    head.forward = types.MethodType(forward, head)
if variant == "paper":
    head.paper_logit = torch.nn.Parameter(torch.tensor(-2.0))
    head.paper_threshold = torch.nn.Parameter(torch.tensor(0.8))
    head.paper_log_width = torch.nn.Parameter(torch.tensor(float(np.log(0.05))))
    head.paper_colour = torch.nn.Parameter(torch.ones(3))
    def forward(self, image, maps):
        out = (G.ArtHead.forward(self, image, maps) + 1) * 0.5
        light = torch.sigmoid((G.luma(out) - self.paper_threshold) / self.paper_log_width.exp())
        out = out + torch.sigmoid(self.paper_logit) * light * (self.paper_colour.view(1, 3, 1, 1) - out)
        return out.clamp(0, 1) * 2 - 1
    head.forward = types.MethodType(forward, head)
lp = LPIPS()

def cap(sl):
    return head_capture(head, lp, P[sl], T[sl])

print(style, variant, "start: train %.3f test %.3f" % (cap(tr), cap(te)), flush=True)

def report():
    if variant == "lce":
        return " lce mix %.2f" % float(torch.sigmoid(head.lce_logit))
    if variant == "paper":
        return " paper mix %.2f threshold %.2f width %.3f colour %s" % (
            float(torch.sigmoid(head.paper_logit)), float(head.paper_threshold), float(head.paper_log_width.exp()),
            np.round(head.paper_colour.detach().numpy(), 2).tolist())
    return ""


fit_head_paired(head, lp, P, T, tr, te, steps, f"{style} {variant}", report)
