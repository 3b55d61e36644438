"""CAPACITY CHECK ONLY (issue 13, development): `oracle_head.py` with one more generic op, region votes: the palette's
soft per-pixel choice among its K colours (B,K,H,W) is blurred (Gaussian, SIGMA px at 256) and sharpened again
(softmax of its log times a learned gain), so each pixel takes the colour most of its neighbourhood chose: cels
with smooth shapes and no specks, whose outlines then follow the region boundaries (a mode filter of the label map,
as cartoon renderers and White-box's superpixel representation do). A learned mix starts at sigmoid(0) = 0.5. Does
it raise what the head can reach when fitted *paired* to its painter? Never a recipe. VARIANT: base or votes.
One thread.

    python scripts/probes/oracle_votes.py animation styles/animation 40 base   # and ... votes, side by side
"""
import sys
import numpy as np
import torch
sys.path.insert(0, ".")
import core.generator as G
from studio.metrics import LPIPS
from scripts.probes.common import fit_head_paired, head_capture, oracle_setup

style, pkg, steps, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sigma = float(sys.argv[5]) if len(sys.argv) > 5 else 2.5
torch.set_num_threads(1)
head, P, T, tr, te = oracle_setup(style, pkg)

if variant == "votes":
    head.vote_logit = torch.nn.Parameter(torch.tensor(0.0))
    head.vote_log_gain = torch.nn.Parameter(torch.tensor(float(np.log(4.0))))

    def palette_votes(x, c, temperature):
        b, _, h, w = x.shape
        diff = x.reshape(b, 1, 3, h * w) - c.unsqueeze(-1)
        weights = G.channel_softmax(-(diff * diff).sum(2) / temperature).reshape(b, -1, h, w)  # (B,k,H,W)
        votes = G.gaussian_blur(weights, sigma * h / 256.0)
        sharp = G.channel_softmax(torch.log(votes + 1e-4) * head.vote_log_gain.exp())
        weights = weights + torch.sigmoid(head.vote_logit) * (sharp - weights)
        return (c.transpose(1, 2) @ weights.reshape(b, -1, h * w)).reshape(x.shape)

    G.palette_colours = palette_votes
lp = LPIPS()
print(style, variant, "start: train %.3f test %.3f" % (head_capture(head, lp, P[tr], T[tr]),
                                                       head_capture(head, lp, P[te], T[te])), flush=True)


def report():
    if variant == "votes":
        return " vote mix %.2f gain %.2f" % (float(torch.sigmoid(head.vote_logit)), float(head.vote_log_gain.exp()))
    return ""


fit_head_paired(head, lp, P, T, tr, te, steps, f"{style} {variant}", report)
