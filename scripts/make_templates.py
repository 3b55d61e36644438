"""Recompute core/templates.py: the mean canonical landmarks of license-clean photos (default: the first
300 usable photos of $PORTRAIT_SHARED/data/fsxl), in normalized aligned-frame coordinates.

    python scripts/make_templates.py [--photos DIR] [--count 300]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import topology  # noqa: E402
from core.alignment import align_face  # noqa: E402
from core.images import load_image  # noqa: E402
from core.landmarks import detect_faces  # noqa: E402
from core.preview import mean_template  # noqa: E402

SIZE = 256


def main() -> int:
    shared = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default=str(shared / "data" / "fsxl" / "images"))
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()
    points = []
    for f in sorted(Path(args.photos).glob("*.jpg")):
        faces = detect_faces(load_image(f), max_faces=2)
        if len(faces) != 1 or faces[0].box[2] - faces[0].box[0] < 80:
            continue  # one clear face of at least 80 px
        points.append(topology.to_canonical(align_face(load_image(f), faces[0], size=SIZE).points))
        if len(points) == args.count:
            break
    template = mean_template(np.stack(points), SIZE)
    body = ",\n    ".join(f"[{x:.5f}, {y:.5f}]" for x, y in template)
    (ROOT / "core" / "templates.py").write_text(
        '"""Landmark templates: canonical subset (73 points), normalized aligned-frame coordinates [-1, 1].\n\n'
        f"PHOTO_TEMPLATE is the mean of {len(points)} license-clean photos (Flickr-Suits-XL, public domain / CC0 /\n"
        'US government); regenerate with `python scripts/make_templates.py`.\n"""\n\n'
        f"PHOTO_TEMPLATE = [\n    {body},\n]\n")
    print(f"mean of {len(points)} faces written to core/templates.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
