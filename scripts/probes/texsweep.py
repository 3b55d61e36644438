"""DEV ONLY: capture of core.texture's transfer (the bank from N of the style's artworks, radius R) applied to the
photo crops and to the style package's outputs; the painter (seed 1) only scores, on photos-half faces that are
not held out (as diag.py / analogy.py). Usage: texsweep.py STYLE FACES N:R[:SIGMA] [N:R ...]"""
import sys, glob, time
from pathlib import Path
import cv2, numpy as np, torch
sys.path.insert(0, "."); sys.path.insert(0, "scripts")
import capture as C
from core.images import load_image, save_image
from core.texture import build_bank, texture_transfer
from studio.metrics import LPIPS, lpips_scores

torch.set_num_threads(2)
style, n = sys.argv[1], int(sys.argv[2])
cache = Path(f"runs/probes/texcache_{style}_{n}.npz")
if cache.is_file():
    z = np.load(cache); photos, truth, other, styled = z["photos"], z["truth"], z["other"], z["styled"]
else:
    from core.package import load_style
    from scripts.probes.common import scored_faces

    faces, photos, truth, other = scored_faces(style, n)
    styled = C.style_outputs(load_style(f"styles/{style}"), faces)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, photos=photos, truth=truth, other=other, styled=styled)
arts = [load_image(p) for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))]
arts = np.stack([cv2.resize(a, (256, 256), interpolation=cv2.INTER_AREA) for a in arts])
t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1
back = lambda x: ((x.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
lp = LPIPS()
base = lpips_scores(lp, photos, truth)
cap = lambda x: float((1 - lpips_scores(lp, x, truth) / base).mean())
print(f"{style} faces {len(photos)} ceiling {cap(other):.3f} package {cap(styled):.3f}", flush=True)
rows = {}
for spec in sys.argv[3:]:
    parts = spec.split(":")
    count, radius = int(parts[0]), int(parts[1]); sigma = float(parts[2]) if len(parts) > 2 else 3.0
    guides, details = build_bank(t(arts[:count]), radius, sigma)
    for src_name, src in (("photo", photos), ("style", styled)):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = np.concatenate([back(texture_transfer(t(src[i:i + 1]), guides, details, radius, sigma))
                                  for i in range(len(src))])
        ms = (time.perf_counter() - t0) * 1000 / len(src)
        rows[f"{src_name} {spec}"] = out
        print(f"{style:10s} {src_name:6s} N{count:3d} R{radius} s{sigma}: capture {cap(out):.3f}  {ms:.0f} ms/face",
              flush=True)
keys = list(rows)[:4]
save_image(f"runs/probes/texsweep_{style}.png",
           C.grid([[photos[i], styled[i]] + [rows[k][i] for k in keys] + [truth[i]] for i in range(min(6, len(photos)))],
                  ["photo", "package"] + keys + ["painter"], cell=192))
