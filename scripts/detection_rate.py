"""Measure the fraction of images with at least one detected face, per folder; prints JSON.

Usage: .venv/bin/python scripts/detection_rate.py [FOLDER ...] [--limit N] [--min-score S]
Default folders: $PORTRAIT_SHARED/data/selfie2anime/photos and .../anime (PORTRAIT_SHARED
defaults to ../shared next to the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import ImageLoadError  # noqa: E402
from core.images import load_image  # noqa: E402
from core.landmarks import FaceDetector  # noqa: E402

SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


STAGES = {  # cumulative: each row adds one fallback stage of FaceDetector
    "detector": {"mesh_fallback": False, "zoom_out": False},
    "detector+mesh": {"mesh_fallback": True, "zoom_out": False},
    "detector+mesh+zoom_out": {"mesh_fallback": True, "zoom_out": True},
}


def measure(folder: Path, limit: int | None, min_score: float) -> dict:
    """Per folder and stage set: fraction of images with >= 1 face and milliseconds per image;
    faces per image with all stages (the default detector)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)[:limit]
    detectors = {name: FaceDetector(**options) for name, options in STAGES.items()}
    for detector in detectors.values():  # create the graphs before timing
        detector(np.zeros((64, 64, 3), np.uint8))
    hits, seconds = dict.fromkeys(STAGES, 0), dict.fromkeys(STAGES, 0.0)
    faces = unreadable = 0
    for path in files:
        try:
            image = load_image(path)
        except ImageLoadError:
            unreadable += 1
            continue
        for name, detector in detectors.items():
            start = time.perf_counter()
            found = detector(image, min_score=min_score)
            seconds[name] += time.perf_counter() - start
            hits[name] += bool(found)
        faces += len(found)  # from the last stage set, the default detector
    n = max(len(files) - unreadable, 1)
    return {"folder": str(folder), "images": len(files), "unreadable": unreadable,
            "rate": {name: round(h / n, 4) for name, h in hits.items()},
            "ms_per_image": {name: round(1000 * t / n, 1) for name, t in seconds.items()},
            "faces_per_image": round(faces / n, 3)}


def main(argv: list[str] | None = None) -> int:
    shared = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
    default = [shared / "data" / "selfie2anime" / "photos", shared / "data" / "selfie2anime" / "anime"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=default)
    parser.add_argument("--limit", type=int, default=None, help="images per folder (default: all)")
    parser.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        print(f"error: not a folder: {', '.join(missing)} (set PORTRAIT_SHARED or pass folders)",
              file=sys.stderr)
        return 1
    print(json.dumps([measure(f, args.limit, args.min_score) for f in args.folders], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
