"""Does the style deliver the painter's geometry (issue 13)? Capture on probe faces (photos half, not held out) at
several geometry strengths (stylize alpha), and the engine's own geometry score (landmarks re-detected on the
output against the intended ones, NME % of the eye distance) for each.

    python scripts/probes/alpha_sweep.py animation styles/animation 16 0 1 1.5 2
"""
import sys

import numpy as np

sys.path.insert(0, ".")
sys.path.insert(0, "scripts")
import capture as C  # noqa: E402
from core.engine import stylize  # noqa: E402
from core.package import load_style  # noqa: E402
from probes.common import scored_faces  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402

style, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
faces, photos, truth, _ = scored_faces(style, n)
metric, package = LPIPS(), load_style(path)
for alpha in map(float, sys.argv[4:]):
    outs = C.style_outputs(package, faces, alpha=alpha)
    nme = [s.nme for f in faces[:8] for s in stylize(f.photo, package, alpha=alpha, max_side=None,
                                                                scores=True).scores if s.nme is not None]
    print(f"{style} alpha {alpha:4.2f} {C.summary(C.capture_scores(metric, photos, outs, truth))} "
          f"geometry NME {np.mean(nme):.2f} %", flush=True)
