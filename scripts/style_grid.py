"""Before/after grids of installed styles on a set of photos, for looking at quality by eye.

    python scripts/style_grid.py --styles animation oil --photos examples/ --out docs/styles_grid.png
    python scripts/style_grid.py --photos $PORTRAIT_SHARED/data/selfie2anime/photos --count 8 --out /tmp/grid.png

Each row is one photo: the original, then each style (face mode, default alpha). Research-only photo sets
(selfie2anime) are for looking, not for committing: write those grids outside the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.engine import stylize  # noqa: E402
from core.images import load_image, save_image  # noqa: E402
from core.landmarks import detect_faces  # noqa: E402
from core.package import list_local_styles, load_style  # noqa: E402
from core.preview import label  # noqa: E402
from studio.commands import image_files  # noqa: E402


def head_crop(image: np.ndarray, box, cell: int) -> np.ndarray:
    """A square crop around a face box (2.2x its size), resized to `cell`."""
    x0, y0, x1, y1 = box
    side = int(max(x1 - x0, y1 - y0) * 2.2)
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2 - 0.1 * side)
    pad = cv2.copyMakeBorder(image, side, side, side, side, cv2.BORDER_CONSTANT)
    crop = pad[cy - side // 2 + side: cy + side // 2 + side, cx - side // 2 + side: cx + side // 2 + side]
    return cv2.resize(crop, (cell, cell), interpolation=cv2.INTER_AREA)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", nargs="*", help="style names or folders (default: every installed style)")
    ap.add_argument("--photos", nargs="+", default=[str(ROOT / "examples")])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--cell", type=int, default=224)
    ap.add_argument("--alpha", type=float)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    styles = [load_style(s) for s in args.styles] if args.styles else list_local_styles()
    rows = []
    for f in image_files(args.photos):
        image = load_image(f)
        faces = detect_faces(image)
        if not faces:
            continue
        cells = [label(head_crop(image, faces[0].box, args.cell), "photo")]
        for style in styles:
            out = stylize(image, style, alpha=args.alpha, faces=faces).image
            cells.append(label(head_crop(out, faces[0].box, args.cell), style.config.display_name))
        rows.append(np.concatenate(cells, 1))
        if len(rows) == args.count:
            break
    save_image(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out}: {len(rows)} photos x {len(styles)} styles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
