"""Paint license-clean photos into training artworks with a recorded origin (studio/painters.py).

    # a fixed held-out split: artworks from one half of the photos, the other half left for training photos
    python scripts/make_artworks.py --write-split runs/artworks --photos ../shared/data/fsxl
    # ~100 artworks of one style from the artworks half
    python scripts/make_artworks.py --style oil --photos ../shared/data/fsxl --out runs/artworks/oil \\
        --count 100 --seed 0 --include-list runs/artworks/split/artworks.txt
    # the docs' comparison grid: photo | animation | watercolor | oil | ink
    python scripts/make_artworks.py --grid docs/painters_grid.png --photos ../shared/data/fsxl

Photos are picked in a seeded order, keeping those with one reasonably large, roughly frontal face
(the crop is upscaled at most --max-upscale times) whose artwork still has a detectable face.
Each output folder gets a metadata.json: one row per artwork with the source photo's author,
URL and license, the painter, its seed and the software versions (see docs/painters.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import __version__  # noqa: E402
from core.alignment import AlignedFace, align_face, alignment_matrix  # noqa: E402
from core.damping import EYE_CENTRES, yaw  # noqa: E402
from core.errors import DatasetError, ImageLoadError, PortraitStudioError  # noqa: E402
from core.images import load_image, save_image  # noqa: E402
from core.landmarks import detect_faces  # noqa: E402
from studio.painters import EXAGGERATION, PAINTERS, paint  # noqa: E402

METADATA_FILE = "metadata.json"  # the trainer reads this name as per-file provenance and skips it as an image
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
CLEAN_LICENSES = ("Public Domain Mark", "Public Domain Dedication (CC0)", "United States Government Work")
SPLIT_SALT = "portrait-studio-split-v1"
DUPLICATE_ANY, DUPLICATE_AUTHOR = 0.9, 0.75  # thumbnail correlations that count as the same shot
SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))


# --------------------------------------------------------------------------- photos and selection


def load_photos(folder: Path) -> tuple[dict[str, Path], dict[str, dict]]:
    """({image name: path} of the images under `folder`, {image_name: metadata row}); the metadata.json
    is read from `folder` or its parent (for a folder of images inside a dataset root)."""
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder: pass the photo dataset root (with {METADATA_FILE})")
    paths = {p.name: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in SUFFIXES and p.is_file()}
    for candidate in (folder / METADATA_FILE, folder.parent / METADATA_FILE):
        if candidate.is_file():
            try:
                rows = json.loads(candidate.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DatasetError(f"{candidate} is not valid JSON ({exc}): fix or regenerate it") from None
            if not isinstance(rows, list):
                raise DatasetError(f"{candidate} must be a list of {{image_name, author, license, ...}} rows")
            return paths, {str(r["image_name"]): r for r in rows if isinstance(r, dict) and "image_name" in r}
    raise DatasetError(f"no {METADATA_FILE} in {folder} or its parent: artworks need each photo's author "
                       "and license ([{image_name, author, photo_url, license}, ...])")


def split_halves(names: list[str]) -> tuple[list[str], list[str]]:
    """(artworks half, photos half), each sorted: names ranked by a salted hash, so the split does not
    depend on listing order and a name's half only changes when the set of names does."""
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"{SPLIT_SALT}:{n}".encode()).hexdigest())
    half = (len(ranked) + 1) // 2
    return sorted(ranked[:half]), sorted(ranked[half:])


def read_list(path: str | None) -> set[str] | None:
    """Names in a list file (one per line, '#' comments allowed), or None without a path."""
    if path is None:
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def candidates(paths: dict[str, Path], meta: dict[str, dict], seed: int, licenses: tuple[str, ...],
               include: set[str] | None = None, exclude: set[str] | None = None) -> list[str]:
    """Photo names with a metadata row and an allowed license, filtered by the lists, in seeded order."""
    names = sorted(n for n in paths if n in meta and meta[n].get("license") in licenses
                   and (include is None or n in include) and not (exclude and n in exclude))
    return [names[i] for i in np.random.default_rng(seed).permutation(len(names))]


def face_crop(image: np.ndarray, size: int, margin: float, max_upscale: float,
              max_yaw: float) -> AlignedFace | None:
    """The aligned crop of the largest face, or None when there is none, it is turned too far (nose tip
    off the eye midpoint by more than `max_yaw` eye distances) or the crop would be upscaled more
    than `max_upscale` times."""
    faces = detect_faces(image, max_faces=4)
    if not faces:
        return None
    points = faces[0].points.astype(np.float64)
    right, left = points[list(EYE_CENTRES[0])].mean(0), points[list(EYE_CENTRES[1])].mean(0)
    if float(np.linalg.norm(left - right)) < 1.0 or abs(yaw(points, EYE_CENTRES, along_eyes=True)) > max_yaw:
        return None
    m = alignment_matrix(points, size, margin)
    if np.sqrt(abs(np.linalg.det(m[:, :2]))) > max_upscale:
        return None
    return align_face(image, points, size=size, margin=margin)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A 24x24 grey thumbnail (576,) of an aligned crop, zero mean and unit norm, for near-duplicate checks."""
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (24, 24), interpolation=cv2.INTER_AREA)
    t = grey.astype(np.float32).ravel()
    t -= t.mean()
    return t / (np.linalg.norm(t) + 1e-6)


def near_duplicate(thumb: np.ndarray, author: str, chosen: list[tuple[np.ndarray, str]]) -> bool:
    """True when the crop correlates above DUPLICATE_ANY with a chosen one, or above DUPLICATE_AUTHOR with
    one by the same author (photo bursts of one person; fsxl also holds the same photo under two names)."""
    return any(float(thumb @ t) > (DUPLICATE_AUTHOR if a == author else DUPLICATE_ANY) for t, a in chosen)


def artwork_seed(seed: int, name: str) -> int:
    """The painter seed for one photo: stable per (seed, name), independent of which others are picked."""
    return int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def software() -> dict[str, str]:
    import torch

    return {"portrait_studio": __version__, "painters": "studio/painters.py", "opencv": cv2.__version__,
            "numpy": np.__version__, "torch": torch.__version__.split("+")[0]}


def paint_photos(style: str, paths: dict[str, Path], meta: dict[str, dict], names: list[str], count: int,
                 seed: int, size: int, margin: float, max_upscale: float,
                 max_yaw: float) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Yield (photo name, artwork, facts) for the first `count` usable photos of `names`, skipping near
    duplicates of those already used."""
    made = 0
    chosen: list[tuple[np.ndarray, str]] = []
    for name in names:
        if made >= count:
            return
        try:
            image = load_image(paths[name])
        except ImageLoadError as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        crop = face_crop(image, size, margin, max_upscale, max_yaw)
        if crop is None:
            continue
        thumb, author = thumbnail(crop.image), str(meta[name].get("author", ""))
        if near_duplicate(thumb, author, chosen):
            continue
        painter_seed = artwork_seed(seed, name)
        art = paint(style, crop.image, crop.points, seed=painter_seed)
        if not detect_faces(art, max_faces=1):
            print(f"skip {name}: no face detected on its {style} artwork", file=sys.stderr)
            continue
        chosen.append((thumb, author))
        made += 1
        yield name, art, {"seed": painter_seed, "crop_matrix": np.round(crop.matrix, 6).tolist()}


def make_artworks(style: str, photos: Path, out: Path, count: int, seed: int, size: int = 512,
                  margin: float = 1.0, max_upscale: float = 2.0, max_yaw: float = 0.3,
                  licenses: tuple[str, ...] = CLEAN_LICENSES, include: set[str] | None = None,
                  exclude: set[str] | None = None) -> list[dict]:
    """Paint `count` photos into `out` as PNGs and write out/metadata.json; returns its rows."""
    if style not in PAINTERS:
        raise DatasetError(f"unknown style {style!r}: choose one of {', '.join(PAINTERS)}")
    if out.is_dir() and any(p.suffix.lower() in SUFFIXES for p in out.iterdir()):
        raise DatasetError(f"{out} already holds images: choose an empty folder (or delete it) so that every "
                           f"artwork there has a row in its {METADATA_FILE}")
    paths, meta = load_photos(photos)
    names = candidates(paths, meta, seed, licenses, include, exclude)
    out.mkdir(parents=True, exist_ok=True)
    versions = software()
    rows = []
    for name, art, facts in paint_photos(style, paths, meta, names, count, seed, size, margin, max_upscale,
                                         max_yaw):
        file = f"{Path(name).stem}.png"
        save_image(out / file, art)
        src = meta[name]
        rows.append({
            "image_name": file, "source_image": name,
            **{k: src.get(k, "") for k in ("author", "photo_url", "photo_title", "license", "license_url")},
            "painter": style, "exaggeration": EXAGGERATION[style], "seed": facts["seed"], "run_seed": seed,
            "size": size, "margin": margin, "crop_matrix": facts["crop_matrix"], "software": versions,
        })
        (out / METADATA_FILE).write_text(json.dumps(rows, indent=1), encoding="utf-8")  # kept whole if stopped
        print(f"{len(rows)}/{count} {file}", file=sys.stderr)
    (out / METADATA_FILE).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    if len(rows) < count:
        print(f"only {len(rows)} of {count} photos were usable", file=sys.stderr)
    return rows


def held_out() -> list[str]:
    """The capture score's held-out faces (studio/eval_holdout.txt): no split, style or recipe may use them."""
    file = ROOT / "studio" / "eval_holdout.txt"
    if not file.is_file():
        return []
    return [ln.strip() for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip() and ln[0] != "#"]


def write_split(photos: Path, out: Path) -> tuple[list[str], list[str]]:
    """Write out/split/{artworks,photos}.txt and out/photos/ (links to the photos half plus its metadata.json)."""
    paths, meta = load_photos(photos)
    held = set(held_out())
    art, pool = split_halves(sorted(n for n in paths if n in meta))
    art, pool = [n for n in art if n not in held], [n for n in pool if n not in held]  # the capture faces
    (out / "split").mkdir(parents=True, exist_ok=True)
    for file, names in (("artworks.txt", art), ("photos.txt", pool)):
        header = f"# {len(names)} of {len(paths)} photos in {photos}, split by scripts/make_artworks.py\n"
        (out / "split" / file).write_text(header + "".join(n + "\n" for n in names), encoding="utf-8")
    folder = out / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for name in pool:
        link = folder / name
        if not link.exists():
            link.symlink_to(paths[name].resolve())
    (folder / METADATA_FILE).write_text(json.dumps([meta[n] for n in pool], indent=1), encoding="utf-8")
    return art, pool


# --------------------------------------------------------------------------- grid


def label(text: str, width: int, height: int = 28) -> np.ndarray:
    """A white (height, width, 3) strip with centred dark text."""
    strip = np.full((height, width, 3), 255, np.uint8)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.putText(strip, text, ((width - tw) // 2, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                (40, 40, 40), 1, cv2.LINE_AA)
    return strip


def render_grid(photos: Path, rows: int, seed: int, cell: int = 192, size: int = 512,
                names: list[str] | None = None) -> np.ndarray:
    """Comparison grid (H, W, 3) uint8: one row per photo, columns photo | each painter, with a header."""
    paths, meta = load_photos(photos)
    order = names or candidates(paths, meta, seed, CLEAN_LICENSES)
    lines = [np.hstack([label(t, cell) for t in ["photo", *PAINTERS]])]
    for name in order:
        if len(lines) > rows:
            break
        crop = face_crop(load_image(paths[name]), size, 1.0, 2.0, 0.3)
        if crop is None:
            continue
        seed_i = artwork_seed(seed, name)
        tiles = [crop.image] + [paint(style, crop.image, crop.points, seed=seed_i) for style in PAINTERS]
        lines.append(np.hstack([cv2.resize(t, (cell, cell), interpolation=cv2.INTER_AREA) for t in tiles]))
    return np.vstack(lines)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=SHARED / "data" / "fsxl",
                    help="photo dataset root with metadata.json (default: $PORTRAIT_SHARED/data/fsxl)")
    ap.add_argument("--style", choices=sorted(PAINTERS))
    ap.add_argument("--out", type=Path, help="artwork folder (PNGs and metadata.json)")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--margin", type=float, default=1.0, help="alignment margin (1.0: the trainer's frame)")
    ap.add_argument("--max-upscale", type=float, default=2.0)
    ap.add_argument("--max-yaw", type=float, default=0.3)
    ap.add_argument("--include-list", help="only photos named in this file (one name a line)")
    ap.add_argument("--exclude-list", help="never photos named in this file")
    ap.add_argument("--all-licenses", action="store_true",
                    help=f"also use photos whose license is not one of: {', '.join(CLEAN_LICENSES)}")
    ap.add_argument("--write-split", type=Path, metavar="DIR",
                    help="write DIR/split/{artworks,photos}.txt and DIR/photos/ (the photos half) and exit")
    ap.add_argument("--grid", type=Path, metavar="PNG", help="render the comparison grid and exit")
    ap.add_argument("--grid-rows", type=int, default=6)
    ap.add_argument("--grid-cell", type=int, default=176, help="grid tile side in px")
    ap.add_argument("--grid-names", help="comma-separated photo names for the grid rows")
    args = ap.parse_args(argv)
    try:
        if args.write_split:
            art, pool = write_split(args.photos, args.write_split)
            print(f"{len(art)} artwork photos, {len(pool)} training photos -> {args.write_split}")
            return 0
        if args.grid:
            names = args.grid_names.split(",") if args.grid_names else None
            save_image(args.grid, render_grid(args.photos, args.grid_rows, args.seed, args.grid_cell, names=names))
            print(f"wrote {args.grid}")
            return 0
        if not args.style or not args.out:
            ap.error("--style and --out are required (or use --write-split / --grid)")
        licenses = tuple({r.get("license") for r in load_photos(args.photos)[1].values()}) \
            if args.all_licenses else CLEAN_LICENSES
        rows = make_artworks(args.style, args.photos, args.out, args.count, args.seed, args.size, args.margin,
                             args.max_upscale, args.max_yaw, licenses, read_list(args.include_list),
                             read_list(args.exclude_list))
        print(f"wrote {len(rows)} {args.style} artworks -> {args.out}")
        return 0
    except PortraitStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
