"""Does the crop round trip's interpolation cost capture (issue 13)? The engine's crop and paste-back
(core.engine.RESAMPLE) at linear, cubic or Lanczos, capture on probe faces (photos half, not held out), one run.

    python scripts/probes/resample.py animation styles/animation 16 linear cubic lanczos
"""
import sys

import cv2

sys.path.insert(0, ".")
sys.path.insert(0, "scripts")
import capture as C  # noqa: E402
import core.engine as E  # noqa: E402
from core.package import load_style  # noqa: E402
from probes.common import scored_faces  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402

FLAGS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
style, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
faces, photos, truth, _ = scored_faces(style, n)
metric, package = LPIPS(), load_style(path)
for variant in sys.argv[4:]:
    E.RESAMPLE = FLAGS[variant]
    outs = C.style_outputs(package, faces)
    print(f"{style} {variant:8s} {C.summary(C.capture_scores(metric, photos, outs, truth))}", flush=True)
