"""DEV ONLY: which simple, unpaired-learnable image changes move the capture score, per painter?
Scores hand-set transforms of the photo on 24 photos-half faces (never the held-out list) against the painter
(seed 1, as capture.py): guided smoothing, a colour transfer to the artworks' pooled Lab distribution
(unpaired: only the artworks are read), and both. Usage: diag.py STYLE [N]"""
import sys, glob
from pathlib import Path
import cv2, numpy as np
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import capture as C
from core.images import load_image
from studio.metrics import LPIPS, lpips_scores

style = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 24
hold = set(C.holdout_names())
names = [l.strip() for l in open("runs/art/split/photos.txt") if l.strip() and not l.startswith("#")]
names = [x for x in names if x not in hold][::7][: n + 8]
faces = C.load_faces(names)[:n]
photos = np.stack([C.show(f.crop) for f in faces])
cache = Path("cache/diag")
truth = C.painter_outputs(style, faces, 1, cache)
other = C.painter_outputs(style, faces, 2, cache)
arts = [load_image(p) for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))[:50]]
arts = np.stack([cv2.resize(a, (256, 256), interpolation=cv2.INTER_AREA) for a in arts])
lp = LPIPS()
base = lpips_scores(lp, photos, truth)
def cap(x): return float((1 - lpips_scores(lp, x, truth) / base).mean())

def lab(x): return cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
def rgb(l): return (np.clip(cv2.cvtColor(l.astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1) * 255).round().astype(np.uint8)
art_lab = np.concatenate([lab(a).reshape(-1, 3) for a in arts])
def hist_match(x):  # per-channel quantile map of the image's Lab to the artworks' pooled Lab
    l = lab(x); out = np.empty_like(l)
    qs = np.linspace(0, 1, 257)
    for c in range(3):
        src = np.quantile(l[..., c], qs); dst = np.quantile(art_lab[:, c], qs)
        out[..., c] = np.interp(l[..., c], src + np.arange(257) * 1e-6, dst)
    return rgb(out)
def reinhard(x):
    l = lab(x); m, s = l.reshape(-1, 3).mean(0), l.reshape(-1, 3).std(0) + 1e-6
    am, as_ = art_lab.mean(0), art_lab.std(0)
    return rgb((l - m) / s * as_ + am)
def guided(x, r, eps):
    f = x.astype(np.float32) / 255
    return (np.clip(cv2.ximgproc.guidedFilter(f, f, r, eps), 0, 1) * 255).round().astype(np.uint8)
def epf(x, s, r): return cv2.edgePreservingFilter(x, flags=cv2.RECURS_FILTER, sigma_s=s, sigma_r=r)
def meanshift(x, sp, sr): return cv2.pyrMeanShiftFiltering(x, sp, sr)
def kmeans(x, k):
    l = lab(x).reshape(-1, 3); crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, lab_, c = cv2.kmeans(l.astype(np.float32), k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    return rgb(c[lab_.ravel()].reshape(x.shape))
ap = lambda f: np.stack([f(x) for x in photos])
rows = {"ceiling": other, "histmatch": ap(hist_match), "reinhard": ap(reinhard)}
for r, e in ((2, 0.01), (4, 0.02), (8, 0.04), (8, 0.1)):
    rows[f"guided r{r} e{e}"] = ap(lambda x: guided(x, r, e))
for s, r in ((15, 0.2), (30, 0.3), (60, 0.4)):
    rows[f"epf {s} {r}"] = ap(lambda x: epf(x, s, r))
rows["ms 8 20"] = ap(lambda x: meanshift(x, 8, 20))
rows["ms 8 20 + k8"] = ap(lambda x: kmeans(meanshift(x, 8, 20), 8))
rows["epf30 + hist"] = ap(lambda x: hist_match(epf(x, 30, 0.3)))
rows["ms + hist"] = ap(lambda x: hist_match(meanshift(x, 8, 20)))
rows["ms+k8 + hist"] = ap(lambda x: hist_match(kmeans(meanshift(x, 8, 20), 8)))
print(style, "faces", len(faces))
for k, v in rows.items():
    print(f"{style:10s} {k:20s} {cap(v):.3f}", flush=True)
