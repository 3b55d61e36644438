"""How much a style's output moves when the input photo gets a little noise (flicker risk of the per-image
palette on video). Usage: palette_noise.py STYLE_DIR  (4 aligned training-half photos, alpha 0)."""
import glob
import sys

import numpy as np
import torch

sys.path.insert(0, ".")
from core.alignment import align_face  # noqa: E402
from core.export import load_generator  # noqa: E402
from core.images import load_image  # noqa: E402
from core.landmarks import detect_faces  # noqa: E402
from core.package import load_style  # noqa: E402

gen = load_generator(load_style(sys.argv[1])).eval()
faces = []
for f in sorted(glob.glob("runs/art/photos/*.jpg"))[:4]:
    im = load_image(f)
    found = detect_faces(im)
    if found:
        faces.append(align_face(im, found[0].points, 256).image)
x = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).float() / 127.5 - 1
pts = gen.template[None].repeat(len(x), 1, 1)
g = torch.Generator().manual_seed(0)
with torch.no_grad():
    base = gen(x, pts, 0.0)
    for eps in (1e-3, 4e-3):
        d = (gen(x + eps * torch.randn(x.shape, generator=g), pts, 0.0) - base).abs().flatten()
        print(f"input noise {eps:g}: output change mean {d.mean():.5f}, 99.9th percentile "
              f"{torch.quantile(d[:1_000_000], 0.999):.4f} (output range [-1, 1])")
