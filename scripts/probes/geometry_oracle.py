"""How much of a style's capture gap is geometry (development probe, never a training signal): the package on
the held-out faces at its defaults, at alpha 0, and at alpha 0 on photos warped with the painter's own
exaggeration (the geometry the style should produce), plus that warp alone. Usage: geometry_oracle.py PKG [N]"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import capture as C  # noqa: E402
from core.engine import stylize  # noqa: E402
from core.images import save_image  # noqa: E402
from core.package import load_style  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402
from studio.painters import exaggerate  # noqa: E402

import os  # noqa: E402
if os.environ.get("NODAMP"):  # the engine's per-face geometry damping (head turns, closed eyes) off
    import core.aligned  # prepare_aligned looks the damping up there
    core.aligned.geometry_damping = lambda points: 1.0
pkg = load_style(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
faces = C.load_faces(C.holdout_names()[:n])
photos = np.stack([C.show(f.crop) for f in faces])
truth = C.painter_outputs("animation", faces, C.PAINTER_SEED, C.ROOT / "cache" / "capture")
metric = LPIPS()
warped = [exaggerate(f.crop, f.points, 1.0) for f in faces]
rows = {
    "default": C.style_outputs(pkg, faces),
    "alpha 0": C.style_outputs(pkg, faces, alpha=0.0),
    "painter geometry only": np.stack([C.show(w) for w in warped]),
    "painter geometry + style alpha 0": np.stack([C.show(stylize(w, pkg, alpha=0.0, max_side=None).image)
                                                  for w in warped]),
}
for k, v in rows.items():
    print(f"{k:34s} {C.summary(C.capture_scores(metric, photos, v, truth))}", flush=True)
save_image("runs/probes/geometry_oracle.png", C.grid([[photos[i]] + [v[i] for v in rows.values()] + [truth[i]]
                                                      for i in range(6)], ["photo", *rows, "painter"]))
