"""Fifteenth round (issue 13, development): a refiner trained on pairs made from the artworks alone.

Each artwork A is "destyled" by a generic pre-filter S (median, which removes thin lines and dabs, then an
edge-preserving smoothing) and drawn by the frozen package at alpha 0: X = package(S(A)). The refiner learns X -> A
(L1 + LPIPS on random 128 px windows), i.e. what the art has that the package's rendering of the same scene lacks.
At inference it runs on package(S(photo)). Unpaired for photos: no photo's painting is ever a target; the painter
only scores (seed 1, the probe faces of the photos half that are not held out).

    python scripts/probes/refiner_pairs.py animation styles/animation runs/art/animation100 1500 [key=value ...]
"""
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, ".")
from core.aligned import prepare_aligned, template_mesh  # noqa: E402
from core.images import load_image  # noqa: E402
from core.package import load_style  # noqa: E402
from core.runtime import get_runner  # noqa: E402
from scripts.probes.common import (capture_scorer, lpips_distance, probe_options, scored_faces,  # noqa: E402
                                    tensor_u8, unit_tensor, write_rows)
from studio.metrics import LPIPS  # noqa: E402

style, pkg_dir, art_dir, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
opt = dict(width=16, blocks=4, lr=1e-3, batch=8, crop=128, lpips=1.0, l1=1.0, threads=1, eval_every=250, tag="",
           seed=0, print_every=50, median=5, smooth=0, blur=0.0, texture=1, inp="package", pairs="head", lowcut=0)
opt = probe_options(opt, sys.argv[5:])
tag = f"{style}_{opt['tag'] or 'm%d' % opt['median']}"
out_dir = Path("runs/probes/pairs") / tag
out_dir.mkdir(parents=True, exist_ok=True)
to, to_u8 = unit_tensor, tensor_u8

package = load_style(pkg_dir)
runner = get_runner(package, texture=bool(opt["texture"]), threads=opt["threads"])
cfg = package.config
S = cfg.resolution


def destyle(images: np.ndarray) -> np.ndarray:
    """The generic pre-filter S on (N,S,S,3) uint8: median (thin lines, dabs, speckle go) then edge-preserving."""
    out = []
    for im in images:
        if opt["median"] > 1:
            im = cv2.medianBlur(im, opt["median"])
        if opt["smooth"] > 0:
            im = cv2.bilateralFilter(im, 0, opt["smooth"], 3)
        if opt["blur"] > 0:
            im = cv2.GaussianBlur(im, (0, 0), opt["blur"])
        out.append(im)
    return np.stack(out)


def package_on(images: np.ndarray, points=None) -> np.ndarray:
    """The frozen package on (N,S,S,3) uint8: at its own alpha / keep_shape for photos with mesh points, alpha 0
    (no geometry change) for artworks (points None)."""
    if opt["inp"] == "none":
        return images
    out = []
    for i in range(0, len(images), 16):
        chunk = images[i:i + 16]
        if points is None:
            src = np.repeat(template_mesh(cfg.template, S)[None].astype(np.float32), len(chunk), 0)
            alpha = np.zeros(len(chunk), np.float32)
        else:
            warps = [prepare_aligned(p, cfg.alpha_default, cfg.keep_shape or 0.0, cfg.template, S)
                     for p in points[i:i + 16]]
            src, alpha = np.stack([w.sources for w in warps]), np.array([w.alpha for w in warps], np.float32)
        out.append(runner(chunk, src, alpha))
    return np.concatenate(out)


arts = sorted(Path(art_dir).glob("*.png"))
A = np.stack([cv2.resize(load_image(p), (S, S), interpolation=cv2.INTER_AREA) for p in arts])
X = package_on(destyle(A)) if opt["pairs"] == "head" else destyle(A)  # "none": the destyled artwork itself
Xt, At = to(X), to(A)
print(f"{len(At)} pairs at {S}px", flush=True)


def conv(cin, cout, k=3, d=1):
    return nn.Conv2d(cin, cout, k, 1, padding=d * (k // 2), dilation=d, padding_mode="replicate")


class Refiner(nn.Module):
    """package output (B,3,H,W) in [-1,1] -> the same plus a learned residual."""

    def __init__(self, width: int, blocks: int):
        super().__init__()
        self.inp = conv(3, width)
        self.body = nn.ModuleList(nn.Sequential(conv(width, width, d=d), nn.LeakyReLU(0.2), conv(width, width))
                                  for d in [1, 2, 4, 1, 2, 4, 8, 1][:blocks])
        self.out = conv(width, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, y):
        x = F.leaky_relu(self.inp(y), 0.2)
        for b in self.body:
            x = x + b(x)
        r = self.out(x)
        if opt["lowcut"] > 1:  # the residual without its low frequencies: the head keeps tones and colours
            k = opt["lowcut"]
            r = r - F.interpolate(F.avg_pool2d(r, k), size=r.shape[-2:], mode="bilinear", align_corners=False)
        return (y + r).clamp(-1, 1)


R = Refiner(opt["width"], opt["blocks"])
print("refiner params", sum(p.numel() for p in R.parameters()), flush=True)
og = torch.optim.Adam(R.parameters(), lr=opt["lr"])
lp = LPIPS()
for p in lp.parameters():
    p.requires_grad_(False)

faces, photos, truth, _ = scored_faces(style, 24)
probe_pts = np.stack([f.points * (S / 512.0) for f in faces])
probe_y = package_on(destyle(photos), probe_pts)
probe_plain = package_on(photos, probe_pts)
capture = capture_scorer(lp, photos, truth)


def refine(y: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_u8(R(to(y)))


def write_grid(file: Path, rows: int) -> None:
    """photo | package | refined | painter, one probe face a row."""
    write_rows(file, [photos[:rows], probe_plain[:rows], refine(probe_y[:rows]), truth[:rows]])


base, base_s = capture(probe_plain), capture(probe_y)
print(f"{tag}: package capture {base:.3f}, package on the pre-filtered photo {base_s:.3f}", flush=True)
log = {"opt": opt, "package": base, "package_prefiltered": base_s, "evals": []}
g = torch.Generator().manual_seed(opt["seed"])
n, c = opt["batch"], opt["crop"]
t0 = time.time()
for step in range(1, steps + 1):
    idx = torch.randint(0, len(At), (n,), generator=g).tolist()
    ys = torch.randint(0, S - c + 1, (n,), generator=g).tolist()
    xs = torch.randint(0, S - c + 1, (n,), generator=g).tolist()
    x = torch.stack([Xt[i, :, a:a + c, b:b + c] for i, a, b in zip(idx, ys, xs)])
    y = torch.stack([At[i, :, a:a + c, b:b + c] for i, a, b in zip(idx, ys, xs)])
    out = R(x)
    l1 = F.l1_loss(out, y)
    loss = opt["l1"] * l1
    if opt["lpips"] > 0:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lpv = lpips_distance(lp, out, y).float().mean()
        loss = loss + opt["lpips"] * lpv
    og.zero_grad(set_to_none=True)
    loss.backward()
    og.step()
    if step % opt["print_every"] == 0:
        print(f"{tag} {step} l1 {l1.item():.4f} loss {loss.item():.4f} {(time.time() - t0) / step:.3f}s/step",
              flush=True)
    if step % opt["eval_every"] == 0 or step == steps:
        cap, cap_plain = capture(refine(probe_y)), capture(refine(probe_plain))
        log["evals"].append({"step": step, "capture": cap, "capture_plain": cap_plain, "s": time.time() - t0})
        print(f"{tag} {step}: capture {cap:.3f}, without the pre-filter {cap_plain:.3f} (package {base:.3f}) "
              f"{time.time() - t0:.0f}s", flush=True)
        torch.save(R.state_dict(), out_dir / "refiner.pt")
        write_grid(out_dir / f"grid_{step}.jpg", 4)
        (out_dir / "log.json").write_text(json.dumps(log, indent=1))
write_grid(out_dir / "grid.jpg", 6)
print(f"{tag}: grid {out_dir / 'grid.jpg'} (photo | package | refined | painter)")
