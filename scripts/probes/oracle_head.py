"""CAPACITY CHECK ONLY (issue 13, development): how close can a trained package's painting head get to its painter
when its ~45 parameters are fitted *paired* (LPIPS to the painter at seed 1)? Never a recipe: the trainer sees
artworks and photos only. Head alone on 256 px aligned probe faces (photos half, not held out), no geometry.

    python scripts/probes/oracle_head.py ink styles/ink 80
"""
import sys

import numpy as np
import torch

sys.path.insert(0, ".")
from studio.metrics import LPIPS
from scripts.probes.common import fit_head_paired, head_capture, oracle_setup  # noqa: E402

style, pkg, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
head, P, T, tr, te = oracle_setup(style, pkg)
start = {k: v.clone() for k, v in head.state_dict().items()}
lp = LPIPS()


def cap(sl):
    return head_capture(head, lp, P[sl], T[sl])


print(style, "package head: train %.3f test %.3f" % (cap(tr), cap(te)), flush=True)
fit_head_paired(head, lp, P, T, tr, te, steps, style)
print(style, "fitted head: train %.3f test %.3f" % (cap(tr), cap(te)))
for k, v in head.state_dict().items():
    if k != "texture" and not torch.equal(v, start[k]):
        print("  ", k, np.round(start[k].numpy(), 3).tolist(), "->", np.round(v.numpy(), 3).tolist())
torch.save(head.state_dict(), f"runs/probes/oracle_head_{style}.pt")
