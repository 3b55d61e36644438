"""CAPACITY CHECK ONLY: the ink package head fitted *paired* to its painter with and without a per-image lightness
stretch (3rd/97th percentiles, learned mix) in front. Never a recipe.

    python scripts/probes/oracle_stretch.py ink styles/ink 40 stretch   # and base
"""
import sys
sys.path.insert(0, ".")
import torch
from studio.metrics import LPIPS
from scripts.probes.common import fit_head_paired, head_capture, oracle_setup
from core.generator import luma
torch.set_num_threads(1)
style, pkg, steps, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
head, P, T, tr, te = oracle_setup(style, pkg)
lp = LPIPS()
head.stretch_logit = torch.nn.Parameter(torch.tensor(0.0))
def stretch(x):
    u = (x + 1) / 2
    v = luma(u).flatten(1)
    lo = torch.quantile(v, 0.03, dim=1).view(-1, 1, 1, 1); hi = torch.quantile(v, 0.97, dim=1).view(-1, 1, 1, 1)
    s = ((u - lo) / (hi - lo).clamp_min(1e-3)).clamp(0, 1)
    return (u + torch.sigmoid(head.stretch_logit) * (s - u)) * 2 - 1
if mode == "stretch":
    fwd = head.forward
    head.forward = lambda image, maps: fwd(stretch(image), maps)
print(style, mode, "start test %.3f" % head_capture(head, lp, P[te], T[te]), flush=True)
fit_head_paired(head, lp, P, T, tr, te, steps, style + " " + mode, report=lambda: "mix %.3f" % torch.sigmoid(head.stretch_logit))
