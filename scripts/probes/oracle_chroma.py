"""CAPACITY CHECK ONLY (issue 13, development): `oracle_head.py` with the palette's soft k-means run in an opponent
colour space (luma, Cb, Cr) whose chroma axes are scaled by a learned weight, so that hue changes separate regions
more than shading does (the painters cluster in chroma-weighted Lab). Fitted *paired* to the painter; never a recipe.
VARIANT: base or chroma; W: the chroma weight's start.

    python scripts/probes/oracle_chroma.py animation styles/animation 40 chroma 2.0
"""
import sys

import torch

sys.path.insert(0, ".")
import core.generator as G  # noqa: E402
from scripts.probes.common import fit_head_paired, head_capture, oracle_setup  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402

style, pkg, steps, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
start = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
head, P, T, tr, te = oracle_setup(style, pkg)
YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])

if variant == "chroma":
    head.log_chroma = torch.nn.Parameter(torch.tensor(start).log())
    original, luma_weights = G.soft_palette, G.LUMA

    def chroma_palette(x, k, temperature, **kw):
        w = head.log_chroma.exp()
        m = YCC * torch.stack([torch.ones(()), w, w]).view(3, 1)
        y = torch.einsum("ij,bjhw->bihw", m, x)
        G.LUMA = (1.0, 0.0, 0.0)  # the k-means starts at levels of the first axis, luma
        try:
            flat, c = original(y, k, temperature, **kw)
        finally:
            G.LUMA = luma_weights
        return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), flat), c

    G.soft_palette = chroma_palette
lp = LPIPS()
print(style, variant, "start: train %.3f test %.3f" % (head_capture(head, lp, P[tr], T[tr]),
                                                       head_capture(head, lp, P[te], T[te])), flush=True)
report = (lambda: " chroma weight %.2f" % float(head.log_chroma.exp())) if variant == "chroma" else (lambda: "")
fit_head_paired(head, lp, P, T, tr, te, steps, f"{style} {variant}", report)
