"""DEV ONLY: guided patch synthesis from the artworks (image analogies with a positional guide), scored by capture.

Each output patch is copied from the artwork patch whose low-passed colours match the query's low-passed colours
best, searched only near the same place of the aligned frame (photos and artworks share it). Only the artworks are
read; the painter (seed 1) only scores, on 24 photos-half faces that are not held out (as diag.py).
Usage: analogy.py STYLE [N_FACES] [SIGMA] [RADIUS] [LAMBDA]"""
import sys, glob, time
from pathlib import Path
import cv2, numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import capture as C
from scripts.probes.common import scored_faces
from core.images import load_image, save_image
from core.package import load_style
from studio.metrics import LPIPS, lpips_scores

torch.set_num_threads(2)
style = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 24
SIGMA = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
R = int(sys.argv[4]) if len(sys.argv) > 4 else 6          # search radius in 128 px units
LAM = float(sys.argv[5]) if len(sys.argv) > 5 else 0.002  # offset penalty per (128 px)^2
BANK = int(sys.argv[6]) if len(sys.argv) > 6 else 100     # artworks in the bank
MODES = (sys.argv[7] if len(sys.argv) > 7 else "photo:full,photo:detail,style:full,style:detail").split(",")
faces, photos, truth, other = scored_faces(style, n)
pkg = load_style(f"styles/{style}")
styled = C.style_outputs(pkg, faces)
arts = [load_image(p) for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))[:BANK]]
arts = np.stack([cv2.resize(a, (256, 256), interpolation=cv2.INTER_AREA) for a in arts])
t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
A = t(arts)


def blur(x, s):
    k = int(3 * s) * 2 + 1
    g = torch.exp(-((torch.arange(k) - k // 2) ** 2) / (2 * s * s)); g = (g / g.sum()).float()
    x = F.pad(x, (k // 2,) * 4, mode="replicate")
    x = F.conv2d(x, g.view(1, 1, 1, k).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(x, g.view(1, 1, k, 1).repeat(3, 1, 1, 1), groups=3)


GA = F.avg_pool2d(blur(A, SIGMA), 2)                       # (N,3,128,128) artwork guides
GA = F.pad(GA, (R,) * 4, mode="replicate")
AP = F.pad(A, (2 * R,) * 4, mode="replicate")               # full-res artworks, padded like the guides x2
DA = AP - F.pad(blur(A, SIGMA), (2 * R,) * 4, mode="replicate")  # their detail layer
win = torch.outer(torch.hann_window(10, periodic=False)[1:9], torch.hann_window(10, periodic=False)[1:9]) + 1e-3


def synth(x, mode):
    """x (3,256,256) in [0,1] -> (3,256,256): overlap-averaged 8x8 artwork patches (stride 4) chosen by the guide."""
    g = F.avg_pool2d(blur(x[None], SIGMA), 2)               # (1,3,128,128)
    best = torch.full((63, 63), 1e9); bn = torch.zeros(63, 63, dtype=torch.long)
    boff = torch.zeros(2, 63, 63, dtype=torch.long)
    for dy in range(-R, R + 1):
        for dx in range(-R, R + 1):
            a = GA[:, :, R + dy:R + dy + 128, R + dx:R + dx + 128]
            d = F.avg_pool2d(((a - g) ** 2).sum(1, keepdim=True), 4, stride=2)[:, 0] + LAM * (dy * dy + dx * dx)
            dm, dn = d.min(0)
            better = dm < best
            best = torch.where(better, dm, best); bn = torch.where(better, dn, bn)
            boff[0][better] = dy; boff[1][better] = dx
    ii, jj = torch.meshgrid(torch.arange(63), torch.arange(63), indexing="ij")
    u = torch.arange(8)
    ys = (4 * ii + 2 * boff[0] + 2 * R)[..., None, None] + u[:, None]   # (63,63,8,1)
    xs = (4 * jj + 2 * boff[1] + 2 * R)[..., None, None] + u[None, :]   # (63,63,1,8)
    src = AP if mode == "full" else DA
    p = src.permute(0, 2, 3, 1)[bn[..., None, None], ys, xs]            # (63,63,8,8,3)
    p = p.permute(4, 2, 3, 0, 1).reshape(3 * 64, 63 * 63)
    if mode == "detail":
        p = p + F.unfold(blur(x[None], SIGMA), 8, stride=4)[0]
    if mode == "add":
        p = p + F.unfold(x[None], 8, stride=4)[0]
    w = win.reshape(1, 64, 1).repeat(3, 1, 1).reshape(192, 1)
    out = F.fold((p * w)[None], (256, 256), 8, stride=4)[0]
    wsum = F.fold(w.expand(192, 63 * 63)[None], (256, 256), 8, stride=4)[0][:1]
    res = torch.where(wsum > 1e-2, out / wsum.clamp_min(1e-6), x)
    return res.clamp(0, 1)


lp = LPIPS()
base = lpips_scores(lp, photos, truth)
def cap(x): return float((1 - lpips_scores(lp, x, truth) / base).mean())
rows = {"ceiling": other, "style package": styled}
out_rows = {}
for src_name, mode in (m.split(":") for m in MODES):
        src = photos if src_name == "photo" else styled
        t0 = time.perf_counter()
        o = np.stack([(synth(t(x[None])[0], mode).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                      for x in src])
        key = f"analogy {src_name} {mode}"
        rows[key] = o; out_rows[key] = o
        print(f"{key}: {(time.perf_counter() - t0) / len(src):.2f} s/face", flush=True)
print(style, "faces", len(faces), "sigma", SIGMA, "R", R, "lam", LAM)
for k, v in rows.items():
    print(f"{style:10s} {k:24s} {cap(v):.3f}", flush=True)
keys = ["style package"] + list(out_rows)
Path("runs/probes").mkdir(parents=True, exist_ok=True)
g = C.grid([[photos[i]] + [rows[k][i] for k in keys] + [truth[i]] for i in range(6)],
           ["photo"] + keys + ["painter"], cell=192)
save_image(f"runs/probes/analogy_{style}_{SIGMA}_{R}_{BANK}.png", g)
