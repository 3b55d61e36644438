"""Capture score: how much of a painter's look a style reproduces on held-out, license-clean faces.

    capture = 1 - LPIPS(style output, painter output) / LPIPS(photo, painter output)

0 means the style is no closer to the art than the photo is, 1 means it is the painter's output. The ceiling is
the painter itself run with another seed (its random strokes, paper and noise differ). Every image is the 512 px
aligned crop (FFHQ frame, margin 1.0, the frame the artworks were painted in) shown at 256 px; the style runs
through the engine on the whole photo at its own defaults and is cropped the same way; the painter gets the
landmark exaggeration its artworks got.

    python scripts/capture.py --write-holdout             # pick the held-out faces (studio/eval_holdout.txt)
    python scripts/capture.py animation=styles/animation oil=styles/oil --json out.json
    python scripts/capture.py --ceiling                   # the painters against themselves
    python scripts/capture.py animation=runs/x/pkg --grid /tmp/grid.jpg  # photo | style | painter rows

Needs $PORTRAIT_SHARED (default ../shared): the fsxl photos and the VGG16/LPIPS file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from core.alignment import alignment_matrix, crop_image  # noqa: E402
from core.images import load_image, save_image  # noqa: E402

SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
HOLDOUT_FILE = ROOT / "studio" / "eval_holdout.txt"
CROP, SHOW = 512, 256
PAINTER_SEED, CEILING_SEED = 1, 2  # the "truth" and the ceiling's other seed (artworks used seed 0 per name)
DOCS_FACES = ["30306121960.jpg", "32207861727.jpg", "32218814460.jpg", "32571055237.jpg", "38672576612.jpg",
              "38954718501.jpg", "39712264854.jpg", "30849909633.jpg", "37844779362.jpg", "29957600568.jpg",
              "34538028121.jpg"]  # the fsxl faces of docs/faces (docs/styles.md)


# --------------------------------------------------------------------------- held-out faces


def used_by_bundled() -> set[str]:
    """fsxl photo names any bundled style trained on (as an artwork's source or as a photo)."""
    used: set[str] = set()
    for folder in sorted((ROOT / "styles").iterdir()):
        cfg_file = folder / "style.json"
        if not cfg_file.is_file():
            continue
        cfg = json.loads(cfg_file.read_text())
        files = cfg.get("provenance", {}).get("artworks", {}).get("files", "")
        used |= {Path(f.strip()).stem + ".jpg" for f in files.split(",") if f.strip()}
        att = folder / "attribution.json"
        if att.is_file():
            used |= {row["image_name"] for row in json.loads(att.read_text())}
    return used


def write_holdout(count: int, seed: int) -> list[str]:
    """Choose `count` fsxl faces no bundled style used: the docs/faces photos, then seeded picks from the photos
    half (the artworks half stays for artworks) with one clear, roughly frontal face, no near duplicates."""
    from make_artworks import (CLEAN_LICENSES, candidates, face_crop, load_photos, near_duplicate, split_halves,
                               thumbnail)

    paths, meta = load_photos(SHARED / "data" / "fsxl")
    used = used_by_bundled()
    _, photos_half = split_halves(sorted(n for n in paths if n in meta))
    pool = [n for n in candidates(paths, meta, seed, CLEAN_LICENSES, include=set(photos_half)) if n not in used]
    chosen: list[str] = []
    thumbs: list[tuple[np.ndarray, str]] = []
    for name in [n for n in DOCS_FACES if n in paths and n not in used] + pool:
        if len(chosen) >= count:
            break
        crop = face_crop(load_image(paths[name]), CROP, 1.0, 2.5, 0.45 if name in DOCS_FACES else 0.3)
        if crop is None:
            continue
        thumb, author = thumbnail(crop.image), str(meta[name].get("author", ""))
        if near_duplicate(thumb, author, thumbs):
            continue
        thumbs.append((thumb, author))
        chosen.append(name)
    header = ("# Held-out fsxl faces for the capture score (scripts/capture.py --write-holdout): no bundled style\n"
              "# and no training recipe may use them, as artwork or as photo.\n")
    HOLDOUT_FILE.write_text(header + "".join(n + "\n" for n in chosen), encoding="utf-8")
    return chosen


def holdout_names() -> list[str]:
    lines = HOLDOUT_FILE.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


# --------------------------------------------------------------------------- faces, painters, styles


@dataclass
class EvalFace:
    name: str
    photo: np.ndarray  # the whole photo (H, W, 3) uint8
    matrix: np.ndarray  # (2, 3) photo -> 512 px crop
    crop: np.ndarray  # (512, 512, 3)
    points: np.ndarray  # (478, 2) in crop pixels


def show(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (SHOW, SHOW), interpolation=cv2.INTER_AREA)


def load_faces(names: list[str]) -> list[EvalFace]:
    from core.alignment import transform_points
    from core.landmarks import detect_faces

    faces = []
    for name in names:
        photo = load_image(SHARED / "data" / "fsxl" / "images" / name)
        found = detect_faces(photo, max_faces=4)
        if not found:
            print(f"skip {name}: no face", file=sys.stderr)
            continue
        m = alignment_matrix(found[0].points, CROP, 1.0)
        crop = crop_image(photo, m, CROP, cv2.INTER_LANCZOS4)
        faces.append(EvalFace(name, photo, m, crop, transform_points(found[0].points, m).astype(np.float32)))
    return faces


def painter_outputs(style: str, faces: list[EvalFace], seed: int, cache: Path) -> np.ndarray:
    """The painter's output (N, 256, 256, 3) for each face (with its exaggeration), cached as PNG."""
    from studio.painters import paint

    out = []
    for f in faces:
        file = cache / style / str(seed) / (Path(f.name).stem + ".png")
        if file.is_file():
            out.append(load_image(file))
            continue
        art = show(paint(style, f.crop, f.points, seed=seed))
        file.parent.mkdir(parents=True, exist_ok=True)
        save_image(file, art)
        out.append(art)
    return np.stack(out)


def style_outputs(package, faces: list[EvalFace], **options) -> np.ndarray:
    """The engine's output on each whole photo at the style's defaults, cropped like the photo (N, 256, 256, 3)."""
    from core.engine import stylize

    out = []
    for f in faces:
        result = stylize(f.photo, package, max_side=None, **options).image
        out.append(show(crop_image(result, f.matrix, CROP, cv2.INTER_LANCZOS4)))
    return np.stack(out)


def capture_scores(metric, photos: np.ndarray, outputs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-face capture 1 - LPIPS(out, truth) / LPIPS(photo, truth)."""
    from studio.metrics import lpips_scores

    return 1.0 - lpips_scores(metric, outputs, truth) / lpips_scores(metric, photos, truth)


def summary(scores: np.ndarray) -> dict:
    """Mean of the per-face ratios and the ratio of the means (the latter is less sensitive to one face)."""
    return {"mean": round(float(np.mean(scores)), 4), "sem": round(float(np.std(scores) / np.sqrt(len(scores))), 4),
            "n": int(len(scores))}


def grid(rows: list[list[np.ndarray]], labels: list[str], cell: int = 160) -> np.ndarray:
    from core.preview import label

    lines = []
    for i, r in enumerate(rows):
        cells = [cv2.resize(c, (cell, cell), interpolation=cv2.INTER_AREA) for c in r]
        lines.append(np.concatenate([label(c, t) if i == 0 else c for c, t in zip(cells, labels)], 1))
    return np.concatenate(lines, 0)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("styles", nargs="*", help="PAINTER=PACKAGE pairs (painter: animation, oil, ink, watercolor)")
    ap.add_argument("--ceiling", action="store_true", help="also score each painter against itself (other seed)")
    ap.add_argument("--write-holdout", action="store_true")
    ap.add_argument("--count", type=int, default=40, help="held-out faces to pick (--write-holdout)")
    ap.add_argument("--limit", type=int, help="score only the first N held-out faces (quick looks)")
    ap.add_argument("--cache", type=Path, default=ROOT / "cache" / "capture")
    ap.add_argument("--json", type=Path, help="write the scores here")
    ap.add_argument("--grid", type=Path, help="photo | style | painter rows for the first style (JPEG/PNG)")
    ap.add_argument("--grid-rows", type=int, default=8)
    args = ap.parse_args(argv)
    if args.write_holdout:
        names = write_holdout(args.count, 0)
        print(f"wrote {len(names)} names to {HOLDOUT_FILE}")
        return 0
    from core.package import load_style
    from studio.metrics import LPIPS

    pairs = [s.split("=", 1) for s in args.styles]
    if any(len(p) != 2 for p in pairs):
        ap.error("styles are PAINTER=PACKAGE pairs, e.g. animation=styles/animation")
    names = holdout_names()[: args.limit]
    t0 = time.perf_counter()
    faces = load_faces(names)
    photos = np.stack([show(f.crop) for f in faces])
    metric = LPIPS()
    results: dict = {"faces": len(faces), "holdout": str(HOLDOUT_FILE.relative_to(ROOT)), "scores": {}}
    painters = sorted({p for p, _ in pairs} | (set(("animation", "oil", "ink", "watercolor")) if args.ceiling
                                                else set()))
    truth = {p: painter_outputs(p, faces, PAINTER_SEED, args.cache) for p in painters}
    if args.ceiling:
        for p in painters:
            other = painter_outputs(p, faces, CEILING_SEED, args.cache)
            results["scores"][f"{p}:ceiling"] = summary(capture_scores(metric, photos, other, truth[p]))
            print(f"{p:10s} ceiling      {results['scores'][f'{p}:ceiling']}")
    first = None
    for painter, path in pairs:
        package = load_style(path)
        outs = style_outputs(package, faces)
        s = capture_scores(metric, photos, outs, truth[painter])
        results["scores"][f"{painter}:{path}"] = {**summary(s), "per_face": [round(float(v), 4) for v in s]}
        print(f"{painter:10s} {path:40s} {summary(s)}")
        first = first or (painter, outs)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.grid and first:
        painter, outs = first
        k = min(args.grid_rows, len(faces))
        save_image(args.grid, grid([[photos[i], outs[i], truth[painter][i]] for i in range(k)],
                                   ["photo", "style", "painter"]))
        print(f"wrote {args.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
