"""DEV ONLY: does a closed-form colour calibration after a trained style move capture? The per-channel YCbCr
quantile map from the style's outputs on pool photos to its artworks (unpaired: artworks and photos only) is
applied to the style's outputs on 24 other photos-half faces; capture before/after against the painter.
Usage: calib.py STYLE PACKAGE"""
import sys, glob
from pathlib import Path
import cv2, numpy as np
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import capture as C
from core.images import load_image
from core.package import load_style
from studio.metrics import LPIPS, lpips_scores

style, pkg = sys.argv[1], load_style(sys.argv[2])
hold = set(C.holdout_names())
names = [l.strip() for l in open("runs/art/split/photos.txt") if l.strip() and not l.startswith("#")]
names = [x for x in names if x not in hold]
test = C.load_faces(names[::7][:30])[:24]
fit = C.load_faces([n for n in names[3::7]][:40])
def outs(faces): return C.style_outputs(pkg, faces)
M = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
ycc = lambda x: x.astype(np.float32).reshape(-1, 3) / 255 @ M.T
qs = np.linspace(0, 1, 65)
arts = np.concatenate([ycc(cv2.resize(load_image(p), (256, 256), interpolation=cv2.INTER_AREA))
                       for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))[:100]])
src_out = np.concatenate([ycc(o) for o in outs(fit)])
src_q = np.stack([np.quantile(src_out[:, c], qs) for c in range(3)])
dst_q = np.stack([np.quantile(arts[:, c], qs) for c in range(3)])
def cmap(img, amount=1.0):
    y = ycc(img)
    z = np.stack([np.interp(y[:, c], src_q[c] + np.arange(65) * 1e-7, dst_q[c]) for c in range(3)], 1)
    z = y + amount * (z - y)
    return (np.clip(z @ np.linalg.inv(M).T, 0, 1) * 255).round().astype(np.uint8).reshape(img.shape)
photos = np.stack([C.show(f.crop) for f in test])
truth = C.painter_outputs(style, test, 1, Path("cache/diag"))
o = outs(test)
lp = LPIPS()
base = lpips_scores(lp, photos, truth)
cap = lambda x: float((1 - lpips_scores(lp, x, truth) / base).mean())
print(style, sys.argv[2], "style %.3f" % cap(o), flush=True)
for a in (0.5, 1.0):
    print(style, "calibrated", a, "%.3f" % cap(np.stack([cmap(x, a) for x in o])), flush=True)
print(style, "photo calibrated %.3f" % cap(np.stack([cmap(x) for x in photos])), flush=True)
