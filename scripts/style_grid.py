"""Before/after grids of installed styles on a set of photos, for looking at quality by eye.

    python scripts/style_grid.py --styles animation oil --photos examples/ --out docs/styles_grid.png
    python scripts/style_grid.py --photos $PORTRAIT_SHARED/data/selfie2anime/photos --count 8 --out /tmp/grid.png
    python scripts/style_grid.py --photos a.jpg b.jpg ... --per-style docs/faces --cols 4

Each row is one photo: the original, then each style (face mode, default alpha). With --per-style, one file per
style instead (DIR/<style>.jpg): photo and stylized side by side, --cols pairs per row. Research-only photo sets
(selfie2anime) are for looking, not for committing: write those grids outside the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.alignment import face_crop  # noqa: E402
from core.engine import stylize  # noqa: E402
from core.images import load_image, save_image  # noqa: E402
from core.landmarks import detect_faces  # noqa: E402
from core.package import list_local_styles, load_style  # noqa: E402
from core.preview import label  # noqa: E402
from studio.commands import image_files  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", nargs="*", help="style names or folders (default: every installed style)")
    ap.add_argument("--photos", nargs="+", default=[str(ROOT / "examples")])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--cell", type=int, default=224)
    ap.add_argument("--alpha", type=float, help="geometry strength (default: each style's)")
    ap.add_argument("--keep-shape", type=float, nargs="+", default=[None],
                    help="keep own face shape, 0..1 (default: each style's); several values: a column each")
    out = ap.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="one grid: a row per photo, a column per style")
    out.add_argument("--per-style", help="folder for one grid per style (<style>.jpg)")
    ap.add_argument("--cols", type=int, default=4, help="photos per row with --per-style")
    args = ap.parse_args()
    styles = [load_style(s) for s in args.styles] if args.styles else list_local_styles()
    rows = []
    for f in image_files(args.photos):
        image = load_image(f)
        faces = detect_faces(image)
        if not faces:
            continue
        cells = [label(face_crop(image, faces[0].box, args.cell, 2.2, 0.1, inside=False), "photo")]
        for style in styles:
            for keep in args.keep_shape:
                out = stylize(image, style, alpha=args.alpha, keep_shape=keep, faces=faces).image
                name = style.config.display_name if keep is None else f"keep shape {keep:g}" if len(
                    styles) == 1 else f"{style.config.display_name}, keep {keep:g}"
                cells.append(label(face_crop(out, faces[0].box, args.cell, 2.2, 0.1, inside=False), name))
        rows.append(cells)
        if len(rows) == args.count:
            break
    if not rows:
        raise SystemExit("no face found in any of the photos")
    if args.out:
        save_image(args.out, np.concatenate([np.concatenate(r, 1) for r in rows], 0))
        print(f"wrote {args.out}: {len(rows)} photos x {len(styles)} styles")
        return 0
    for k, style in enumerate(styles):
        path = Path(args.per_style) / f"{style.config.name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        n = len(args.keep_shape)
        save_image(path, tile([np.concatenate([r[0], *r[1 + k * n:1 + (k + 1) * n]], 1) for r in rows], args.cols))
        print(f"wrote {path}: {len(rows)} photos")
    return 0


def tile(cells: list[np.ndarray], cols: int) -> np.ndarray:
    """Equal-sized cells in rows of `cols`, the last row padded with black."""
    blank = np.zeros_like(cells[0])
    cells = cells + [blank] * (-len(cells) % cols)
    return np.concatenate([np.concatenate(cells[i:i + cols], 1) for i in range(0, len(cells), cols)], 0)


if __name__ == "__main__":
    sys.exit(main())
