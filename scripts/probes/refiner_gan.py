"""Thirteenth round (issue 13, development): a GAN refiner after a *frozen* package, trained where steps are cheap.

The package's output on every photo of the pool is computed once and cached, so a training step runs only the small
refiner and a PatchGAN discriminator on random 128 px windows of the 256 px outputs (the pixel scale of inference),
not the head, the TPS warp or VGG. That buys the thousands of adversarial steps earlier rounds could not afford.
Unpaired: the refiner sees the package's outputs on pool photos; the discriminator sees the artworks. The painter
only scores (seed 1, probe faces of the photos half that are not held out).

    python scripts/probes/refiner_gan.py animation styles/animation runs/art/animation100 3000 [key=value ...]
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
from core.aligned import prepare_aligned  # noqa: E402
from core.generator import grain_texture, guided_smooth  # noqa: E402
from core.images import load_image  # noqa: E402
from core.package import load_style  # noqa: E402
from core.runtime import get_runner  # noqa: E402
from scripts.probes.common import (capture_scorer, probe_options, scored_faces, tensor_u8,  # noqa: E402
                                    unit_tensor, write_rows)
from studio.metrics import LPIPS  # noqa: E402

style, pkg_dir, art_dir, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
opt = dict(width=16, blocks=4, lr=2e-4, dlr=2e-4, batch=8, crop=128, content=10.0, pool=4, blur_fakes=0.0,
           threads=1, eval_every=500, tag="", dwidth=32, res=1.0, texture=1, seed=0, print_every=100, noise=1,
           surface=0.0, surface_eps=0.05)
opt = probe_options(opt, sys.argv[5:])
tag = f"{style}_{opt['tag'] or 'w%d' % opt['width']}"
out_dir = Path("runs/probes/refiner") / tag
out_dir.mkdir(parents=True, exist_ok=True)
to, to_u8 = unit_tensor, tensor_u8

# --------------------------------------------------------------------------- data: cached package outputs, artworks
package = load_style(pkg_dir)
runner = get_runner(package, texture=bool(opt["texture"]), threads=opt["threads"])
cfg = package.config
S = cfg.resolution


def package_outputs(images: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The frozen package on aligned faces (N,S,S,3) uint8 with mesh points (N,478,2) px -> (N,S,S,3) uint8."""
    out = []
    for i in range(0, len(images), 16):
        warps = [prepare_aligned(p, cfg.alpha_default, cfg.keep_shape or 0.0, cfg.template, S)
                 for p in points[i:i + 16]]
        out.append(runner(images[i:i + 16], np.stack([w.sources for w in warps]),
                          np.array([w.alpha for w in warps], np.float32)))
    return np.concatenate(out)


cache = out_dir.parent / f"cache_{style}_{Path(pkg_dir).name}_t{opt['texture']}.npz"
if cache.is_file():
    Y = np.load(cache)["y"]
else:
    pool = Path("studio/photos")
    lm = np.load(pool / "landmarks.npz")
    imgs = np.stack([cv2.resize(load_image(pool / n), (S, S), interpolation=cv2.INTER_AREA)
                     for n in lm["names"]])
    pts = lm["points"] * (S / 256.0)
    t0 = time.time()
    Y = package_outputs(imgs, pts)
    np.savez(cache, y=Y)
    print(f"cached {len(Y)} package outputs in {time.time() - t0:.0f}s", flush=True)
arts = sorted(Path(art_dir).glob("*.png"))
A = np.stack([cv2.resize(load_image(p), (S, S), interpolation=cv2.INTER_AREA) for p in arts])
Yt, At = to(Y), to(A)
print(f"{len(Yt)} package outputs, {len(At)} artworks at {S}px", flush=True)

# --------------------------------------------------------------------------- networks


def conv(cin, cout, k=3, d=1, s=1):
    return nn.Conv2d(cin, cout, k, s, padding=d * (k // 2), dilation=d, padding_mode="replicate")


class Refiner(nn.Module):
    """package output (B,3,H,W) in [-1,1] -> the same plus a learned residual; a fixed grain tile is its noise."""

    def __init__(self, width: int, blocks: int):
        super().__init__()
        self.register_buffer("grain", grain_texture(64, seed=7))
        self.inp = conv(5, width)
        self.body = nn.ModuleList(nn.Sequential(conv(width, width, d=d), nn.LeakyReLU(0.2), conv(width, width))
                                  for d in [1, 2, 4, 1, 2, 4][:blocks])
        self.out = conv(width, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, y, offset=(0, 0)):
        h, w = y.shape[-2:]
        reps = (1, 1, -(-(h + offset[0]) // 64) + 1, -(-(w + offset[1]) // 64) + 1)
        g = self.grain[None].repeat(reps)[..., offset[0]:offset[0] + h, offset[1]:offset[1] + w]
        g = g * opt["noise"]  # noise=0: no grain input (the refiner can only reshape what the package drew)
        x = F.leaky_relu(self.inp(torch.cat([y, g.expand(y.shape[0], -1, -1, -1)], 1)), 0.2)
        for b in self.body:
            x = x + b(x)
        return (y + opt["res"] * self.out(x)).clamp(-1, 1)


def sn(m):
    return nn.utils.spectral_norm(m)


class PatchD(nn.Module):
    def __init__(self, w: int):
        super().__init__()
        self.net = nn.Sequential(sn(nn.Conv2d(3, w, 4, 2, 1)), nn.LeakyReLU(0.2),
                                 sn(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2),
                                 sn(nn.Conv2d(2 * w, 2 * w, 3, 1, 1)), nn.LeakyReLU(0.2),
                                 sn(nn.Conv2d(2 * w, 1, 3, 1, 1)))

    def forward(self, x):
        return self.net(x)


R, D = Refiner(opt["width"], opt["blocks"]), PatchD(opt["dwidth"])
R = R.to(memory_format=torch.channels_last)
print("refiner params", sum(p.numel() for p in R.parameters()), "D params", sum(p.numel() for p in D.parameters()))
og = torch.optim.Adam(R.parameters(), lr=opt["lr"], betas=(0.5, 0.99))
od = torch.optim.Adam(D.parameters(), lr=opt["dlr"], betas=(0.5, 0.99))


def windows(x: torch.Tensor, n: int, c: int, g: torch.Generator):
    """n random c x c windows of x (N,3,S,S), flipped at random; also the window offsets for the grain."""
    idx = torch.randint(0, len(x), (n,), generator=g)
    ys = torch.randint(0, S - c + 1, (n,), generator=g)
    xs = torch.randint(0, S - c + 1, (n,), generator=g)
    out = torch.stack([x[i, :, a:a + c, b:b + c] for i, a, b in zip(idx.tolist(), ys.tolist(), xs.tolist())])
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    return out, (int(ys[0]) % 64, int(xs[0]) % 64)


def view(x):
    """What the discriminator judges: the image, or with surface=R White-box's surface representation (a self-guided
    filter of radius R px, so paper grain and strokes drop out and only the washes, cels and edges are left)."""
    if opt["surface"] <= 0:
        return x
    u = (x + 1) * 0.5
    return guided_smooth(u, opt["surface"], torch.tensor(opt["surface_eps"])) * 2 - 1


def low(x):
    return F.avg_pool2d(x, opt["pool"]) if opt["pool"] > 1 else x


# --------------------------------------------------------------------------- scoring on probe faces
faces, photos, truth, _ = scored_faces(style, 24)
probe_pts = np.stack([f.points * (S / 512.0) for f in faces])
probe_y = package_outputs(photos, probe_pts)
lp = LPIPS()


capture = capture_scorer(lp, photos, truth)


def refine_full(y: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_u8(R(to(y)))


def write_grid(file: Path, rows: int) -> None:
    """photo | package | refined | painter, one probe face a row."""
    write_rows(file, [photos[:rows], probe_y[:rows], refine_full(probe_y[:rows]), truth[:rows]])


base = capture(probe_y)
print(f"{tag}: package capture {base:.3f}", flush=True)
log = {"opt": opt, "package": base, "evals": []}

# --------------------------------------------------------------------------- training
g = torch.Generator().manual_seed(opt["seed"])
t0 = time.time()
n, c = opt["batch"], opt["crop"]
for step in range(1, steps + 1):
    y, off = windows(Yt, n, c, g)
    real, _ = windows(At, n, c, g)
    fake = R(y.contiguous(memory_format=torch.channels_last), off)
    # discriminator: hinge; optional blurred artworks as extra fakes (CartoonGAN: demand sharp lines)
    d_real, d_fake = D(view(real)), D(view(fake.detach()))
    ld = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    if opt["blur_fakes"] > 0:
        ld = ld + opt["blur_fakes"] * F.relu(1 + D(F.avg_pool2d(real, 3, 1, 1))).mean()
    od.zero_grad(set_to_none=True)
    ld.backward()
    od.step()
    # refiner: adversarial + low-frequency content (its output's colours and layout stay the package's)
    for p in D.parameters():
        p.requires_grad_(False)
    adv = -D(view(fake)).mean()
    content = F.l1_loss(low(fake), low(y))
    lg = adv + opt["content"] * content
    og.zero_grad(set_to_none=True)
    lg.backward()
    og.step()
    for p in D.parameters():
        p.requires_grad_(True)
    if step % opt["print_every"] == 0:
        print(f"{tag} {step} d {ld.item():.3f} adv {adv.item():.3f} content {content.item():.4f} "
              f"{(time.time() - t0) / step:.3f}s/step", flush=True)
    if step % opt["eval_every"] == 0 or step == steps:
        cap = capture(refine_full(probe_y))
        log["evals"].append({"step": step, "capture": cap, "s": time.time() - t0})
        print(f"{tag} {step}: capture {cap:.3f} (package {base:.3f}) {time.time() - t0:.0f}s", flush=True)
        torch.save(R.state_dict(), out_dir / "refiner.pt")
        write_grid(out_dir / f"grid_{step}.jpg", 4)
        (out_dir / "log.json").write_text(json.dumps(log, indent=1))
write_grid(out_dir / "grid.jpg", 6)
print(f"{tag}: grid {out_dir / 'grid.jpg'} (photo | package | refined | painter)")
