"""Can the discriminator tell the style from photos? D_Y alone, per setting (docs/training.md).

Trains a fresh `studio.losses.Discriminator` to separate artworks from photos (no generator) and prints its mean
logistic loss over the last 100 of --steps steps (chance = 2 ln 2 = 1.39). A setting that stays near chance here
cannot give the generator a training signal.

  .venv/bin/python scripts/disc_check.py            # anime faces vs photos from ../shared/data/selfie2anime
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("GLOG_minloglevel", "2")

import torch  # noqa: E402

from core.images import images_to_unit  # noqa: E402
from studio import losses as L  # noqa: E402
from train_report import anime_sets  # noqa: E402

SETTINGS = {  # name: (R1 on "sum" or "mean" of the patch logits, or None; DiffAugment policy)
    "R1 sum, colour+translation+cutout": ("sum", ("color", "translation", "cutout")),
    "R1 sum, translation+cutout": ("sum", ("translation", "cutout")),
    "no R1, colour+translation+cutout": (None, ("color", "translation", "cutout")),
    "no R1, translation+cutout": (None, ("translation", "cutout")),
    "no R1, no DiffAugment": (None, ()),
    "R1 mean, translation+cutout (default)": ("mean", ("translation", "cutout")),
}


def run(art: torch.Tensor, photo: torch.Tensor, r1: str | None, policy: tuple, steps: int, batch: int) -> float:
    torch.manual_seed(0)
    d = L.Discriminator(32)
    opt = torch.optim.Adam(d.parameters(), 5e-4, betas=(0.5, 0.99))
    g = torch.Generator().manual_seed(0)
    history = []
    for step in range(steps):
        y = art[torch.randint(len(art), (batch,), generator=g)]
        x = photo[torch.randint(len(photo), (batch,), generator=g)]
        lazy = r1 is not None and step % 4 == 0
        real = L.diff_augment(y, g, policy).detach().requires_grad_(lazy)
        logits = d(torch.cat([real, L.diff_augment(x, g, policy)]))
        loss = L.d_logistic_loss(logits[:batch], logits[batch:])
        total = loss
        if lazy:  # gamma 1, every 4 steps, scaled by 4: the trainer's defaults
            if r1 == "sum":  # the old penalty: the gradient of the summed patch logits
                (grad,) = torch.autograd.grad(logits[:batch].sum(), real, create_graph=True)
                penalty = grad.pow(2).flatten(1).sum(1).mean()
            else:
                penalty = L.r1_penalty(logits[:batch], real)
            total = total + 0.5 * 4 * penalty
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(float(loss.detach()))
    return sum(history[-100:]) / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default=str(ROOT / "cache"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    style, pool = anime_sets(args.size, 72, 300, args.cache)
    art, photo = images_to_unit(torch.as_tensor(style.images)), images_to_unit(torch.as_tensor(pool.images))
    print(f"{len(art)} anime faces vs {len(photo)} photos, {args.size} px, batch {args.batch}, {args.steps} steps")
    print("| discriminator setting | mean D loss, last 100 steps (chance 1.39) |\n|---|---|")
    for name, (r1, policy) in SETTINGS.items():
        print(f"| {name} | {run(art, photo, r1, policy, args.steps, args.batch):.2f} |", flush=True)


if __name__ == "__main__":
    main()
