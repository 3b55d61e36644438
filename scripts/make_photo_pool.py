"""Build the bundled, license-clean photo pool (studio/photos/): aligned 256 px face crops of fsxl photos with the
landmarks the alignment produced, per-crop attribution and a card. It is the trainer's default photo pool.

    python scripts/make_photo_pool.py --photos ../shared/data/fsxl --out studio/photos --count 400

Photos are taken in a seeded order from the photos half of scripts/make_artworks.py's split first (the other half
is where the bundled styles' artworks came from), then from the artworks half, skipping: licenses outside
CLEAN_LICENSES, the capture score's held-out faces (studio/eval_holdout.txt), the photos of docs/faces and
examples/, the sources of bundled styles' artworks, photos without one clearly largest detected face, faces turned too
far or too small (the crop would be upscaled), and near duplicates of a chosen crop.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from core import __version__  # noqa: E402
from core.alignment import align_face, alignment_matrix  # noqa: E402
from core.errors import DatasetError, ImageLoadError, LandmarkError  # noqa: E402
from core.images import load_image  # noqa: E402
from core.landmarks import find_faces  # noqa: E402
from capture import DOCS_FACES  # noqa: E402  (the fsxl faces of docs/faces)
from make_artworks import (CLEAN_LICENSES, candidates, held_out, load_photos, near_duplicate,  # noqa: E402
                           split_halves, thumbnail)
from studio.data import (ALIGN_MARGIN, POOL_ATTRIBUTION, POOL_FORMAT, POOL_LANDMARKS, POOL_MANIFEST,  # noqa: E402
                         POOL_VERSION)

SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
SIZE, QUALITY = 256, 90
ROW_KEYS = ("author", "photo_url", "photo_title", "license", "license_url")


# --------------------------------------------------------------------------- what must stay out


def example_sources(meta: dict[str, dict]) -> set[str]:
    """fsxl names of the photos in examples/: the Flickr photo ids in examples/ATTRIBUTION.md matched to photo_url."""
    text = (ROOT / "examples" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"flickr\.com/photos/[^/\s]+/(\d+)", text))
    return {name for name, row in meta.items() if str(row.get("photo_url", "")).rstrip("/").split("/")[-1] in ids}


def artwork_sources() -> set[str]:
    """fsxl names the bundled styles' artworks were painted from (their style.json provenance). A style's
    attribution.json lists its training photos (the photos half), which the pool may share, so it is not read."""
    used: set[str] = set()
    for cfg_file in sorted((ROOT / "styles").glob("*/style.json")):
        files = json.loads(cfg_file.read_text()).get("provenance", {}).get("artworks", {}).get("files", "")
        used |= {Path(f.strip()).stem + ".jpg" for f in files.split(",") if f.strip()}
    return used


def excluded(meta: dict[str, dict]) -> dict[str, str]:
    """{fsxl name: why it may not be in the pool}."""
    why = {n: "bundled style artwork" for n in artwork_sources()}
    why.update({n: "examples/" for n in example_sources(meta)})
    why.update({n: "docs/faces" for n in DOCS_FACES})
    why.update({n: "eval_holdout.txt" for n in held_out()})
    return why


# --------------------------------------------------------------------------- one photo


def pool_crop(image: np.ndarray, size: int, margin: float, max_upscale: float, max_yaw: float):
    """(aligned crop or None, reason): the one face of the photo, aligned by core.alignment's recipe."""
    faces = sorted(find_faces(image, max_faces=4)[0], key=lambda f: f.area, reverse=True)
    if not faces:
        return None, "no face"
    if len(faces) > 1 and faces[1].area > faces[0].area / 2:
        return None, "several faces of similar size"
    points = faces[0].points.astype(np.float64)
    right, left = points[[33, 133]].mean(0), points[[362, 263]].mean(0)
    axis = left - right
    distance = float(np.linalg.norm(axis))
    if distance < 1.0 or abs((points[4] - (right + left) / 2) @ axis) / distance ** 2 > max_yaw:
        return None, "turned away"
    if np.sqrt(abs(np.linalg.det(alignment_matrix(points, size, margin)[:, :2]))) > max_upscale:
        return None, "face too small"
    return align_face(image, points, size=size, margin=margin), ""


# --------------------------------------------------------------------------- the pool


def card(rows: list[dict], args: argparse.Namespace, skipped: Counter, size_bytes: int) -> str:
    """The README.md of the pool (also the Hub dataset card): source, recipe, licenses, how it was made."""
    licenses = Counter(r["license"] for r in rows)
    lines = [
        "---",
        "license: other",
        "license_name: public-domain-and-cc0",
        "pretty_name: Portrait Studio photo pool",
        "tags:", "- portrait-studio", "- faces", "- aligned-faces",
        "size_categories:", "- n<1K",
        "---", "",
        "# Portrait Studio photo pool",
        "",
        f"{len(rows)} aligned face crops ({args.size}x{args.size} JPEG, quality {QUALITY}) of real photos: the "
        "default photo pool of `python -m studio train` (`studio.data.default_photo_source()`).",
        "",
        "## Source",
        "Flickr-Suits-XL (fsxl) photos whose license allows redistribution; one row per crop in "
        f"`{POOL_ATTRIBUTION}` (crop file, source file, author, photo_url, license). Licenses:",
        "",
        *[f"- {name}: {n}" for name, n in sorted(licenses.items())],
        "",
        "Left out: the capture score's held-out faces (`studio/eval_holdout.txt`), the photos of `docs/faces` and "
        "`examples/`, the photos the bundled styles' artworks were painted from, photos without one clearly "
        "largest detected face (a second face at least half its size), faces turned away (yaw) or so small the "
        "crop would be upscaled more than "
        f"{args.max_upscale}x, and near duplicates. Skipped while building: "
        + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())) + ".",
        "",
        "## Recipe",
        "Faces detected with the project's MediaPipe detector (`core.landmarks.find_faces`), aligned with "
        f"`core.alignment.align_face` (the FFHQ similarity, margin {args.margin}, Lanczos, reflected border). "
        f"`{POOL_LANDMARKS}` holds `names` (N,) and `points` (N, 478, 2) float32: the MediaPipe mesh in the crop's "
        f"pixel coordinates (continuous, (0, 0) = top-left corner). `{POOL_MANIFEST}` marks the folder as an "
        "aligned pool, so the trainer uses the stored landmarks instead of detecting faces again.",
        "",
        "## Made with",
        "```",
        f"python scripts/make_photo_pool.py --photos ../shared/data/fsxl --out studio/photos --count {args.count} "
        f"--seed {args.seed}",
        "```",
        f"Portrait Studio {__version__}; total size {size_bytes / 1e6:.1f} MB.",
        "",
    ]
    return "\n".join(lines)


def make_pool(photos: Path, out: Path, count: int, seed: int, size: int = SIZE, margin: float = ALIGN_MARGIN,
              max_upscale: float = 2.0, max_yaw: float = 0.45) -> list[dict]:
    """Write `count` aligned crops, landmarks.npz, attribution.json, pool.json and README.md into `out`."""
    if out.is_dir() and any(out.iterdir()):
        raise DatasetError(f"{out} is not empty: delete it first, so that every crop there is in its manifest")
    paths, meta = load_photos(photos)
    names = [n for n in paths if n in meta]
    art_half, photo_half = split_halves(sorted(names))
    banned = excluded(meta)
    order = [(n, "photos") for n in candidates(paths, meta, seed, CLEAN_LICENSES, include=set(photo_half))]
    order += [(n, "artworks") for n in candidates(paths, meta, seed, CLEAN_LICENSES, include=set(art_half))]
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows, points, chosen, skipped = [], [], [], Counter()
    t0 = time.perf_counter()
    for name, half in order:
        if len(rows) >= count:
            break
        if name in banned:
            skipped[banned[name]] += 1
            continue
        try:
            crop, reason = pool_crop(load_image(paths[name]), size, margin, max_upscale, max_yaw)
        except (ImageLoadError, LandmarkError) as exc:
            crop, reason = None, f"unreadable ({type(exc).__name__})"
        if crop is None:
            skipped[reason] += 1
            continue
        thumb, author = thumbnail(crop.image), str(meta[name].get("author", ""))
        if near_duplicate(thumb, author, chosen):
            skipped["near duplicate"] += 1
            continue
        chosen.append((thumb, author))
        file = f"images/{Path(name).stem}.jpg"
        Image.fromarray(crop.image).save(out / file, quality=QUALITY)
        rows.append({"file": file, "image_name": name, "source_image": name, "split_half": half,
                     **{k: meta[name].get(k, "") for k in ROW_KEYS}})
        points.append(crop.points.astype(np.float32))
        if len(rows) % 25 == 0:
            print(f"{len(rows)}/{count} crops ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if not rows:
        raise DatasetError(f"no usable face in {photos}: check the folder")
    np.savez_compressed(out / POOL_LANDMARKS, names=np.array([r["file"] for r in rows]), points=np.stack(points))
    (out / POOL_ATTRIBUTION).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    manifest = {"format": POOL_FORMAT, "version": POOL_VERSION, "size": size, "margin": margin,
                "alignment": "core.alignment.align_face (FFHQ)", "landmarks": POOL_LANDMARKS,
                "attribution": POOL_ATTRIBUTION, "count": len(rows), "seed": seed, "jpeg_quality": QUALITY,
                "skipped": dict(sorted(skipped.items()))}
    (out / POOL_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    args = argparse.Namespace(size=size, margin=margin, count=count, seed=seed, max_upscale=max_upscale)
    (out / "README.md").write_text(card(rows, args, skipped, total), encoding="utf-8")
    print(f"{len(rows)} crops in {out} ({total / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s); skipped: "
          + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())), file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=SHARED / "data" / "fsxl",
                    help="photo dataset root with metadata.json (default: $PORTRAIT_SHARED/data/fsxl)")
    ap.add_argument("--out", type=Path, default=ROOT / "studio" / "photos")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=SIZE)
    ap.add_argument("--max-upscale", type=float, default=2.0)
    ap.add_argument("--max-yaw", type=float, default=0.45)
    args = ap.parse_args(argv)
    try:
        make_pool(args.photos, args.out, args.count, args.seed, args.size, ALIGN_MARGIN, args.max_upscale,
                  args.max_yaw)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
