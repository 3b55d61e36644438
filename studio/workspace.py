"""The app process's environment and files, without gradio: the bundled example photos, the photo pool training
uses, the scratch folder (downloads, sessions, thumbnails, caches) and its pruning, and decoding uploads with the
project's messages (core.images.load_image, naming the file as the user knows it)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import ImageLoadError
from core.images import load_image, save_image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
FILE_MAX_AGE_S = 3600  # downloads written by the app are pruned after an hour


def examples() -> list[Path]:
    """The bundled example photos, astronaut first."""
    files = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(files, key=lambda p: p.stem != "astronaut")


BUNDLED_PHOTOS = ROOT / "studio" / "photos"  # = studio.data.BUNDLED_POOL (not imported: studio.data loads torch)
POOL_MANIFEST = "pool.json"  # = studio.data.POOL_MANIFEST


def photo_pool_dir() -> Path:
    """Photos the trainer pairs with the artworks: $PORTRAIT_PHOTOS, else the bundled license-clean pool
    (studio/photos), else (a checkout without it) the shared FSXL photos, else the bundled examples/."""
    if os.environ.get("PORTRAIT_PHOTOS"):
        return Path(os.environ["PORTRAIT_PHOTOS"])
    if (BUNDLED_PHOTOS / POOL_MANIFEST).is_file():
        return BUNDLED_PHOTOS
    shared = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared")) / "data" / "fsxl" / "images"
    return shared if shared.is_dir() else EXAMPLES_DIR


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def photo_pool_note(folder: Path | None = None) -> str:
    """The Studio tab's line on the photos training pairs with the artworks: where they come from and how many."""
    folder = photo_pool_dir() if folder is None else folder
    where = f"`{_shown(folder)}`"
    count = None
    try:
        count = json.loads((folder / POOL_MANIFEST).read_text(encoding="utf-8")).get("count")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        pass
    if os.environ.get("PORTRAIT_PHOTOS"):
        what = (f"{count} aligned faces from {where}" if isinstance(count, int)
                else f"the faces found in {where}") + " (`PORTRAIT_PHOTOS`)"
    elif folder == BUNDLED_PHOTOS and isinstance(count, int):
        what = f"{count} bundled license-clean faces ({where}; set `PORTRAIT_PHOTOS` to use another folder)"
    elif folder == EXAMPLES_DIR:
        what = (f"only the {len(examples())} example photos in {where}: too few for a good style; set "
                "`PORTRAIT_PHOTOS` to a folder of a few hundred photos")
    else:
        what = f"the faces found in {where} (set `PORTRAIT_PHOTOS` to use another folder)"
    return f"**Photos:** {what}. Training pairs them with your artworks."


_work_lock = threading.Lock()
_work: Path | None = None


def work_dir() -> Path:
    """This process's scratch folder (downloads, uploaded artworks, caches), in the system temp folder."""
    global _work
    with _work_lock:
        if _work is None or not _work.is_dir():
            _work = Path(tempfile.mkdtemp(prefix="portrait-studio-"))
        return _work


def prune_old_files(folder: Path, max_age_s: float = FILE_MAX_AGE_S, pattern: str = "*") -> None:
    """Delete files and folders matching `pattern` in `folder` that were last modified over max_age_s ago."""
    now = time.time()
    for f in folder.glob(pattern):
        try:
            if now - f.stat().st_mtime > max_age_s:
                shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink()
        except OSError:
            pass


def save_png(image: np.ndarray, stem: str = "stylized") -> str:
    """Write a PNG for download into the scratch folder (old ones pruned); returns its path."""
    folder = work_dir() / "downloads"
    folder.mkdir(exist_ok=True)
    prune_old_files(folder)
    path = folder / f"{stem}-{uuid.uuid4().hex[:8]}.png"
    save_image(path, image)
    return str(path)


def fit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the long side is at most max_side (area interpolation); smaller images are returned as is."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def upload_message(exc: Exception, src: Any) -> str:
    """The project's message about an uploaded file, naming it as the user knows it (its file name) rather than by
    the temporary folder the server keeps it in."""
    text = str(exc)
    if isinstance(src, (str, Path)) and str(src):
        text = text.replace(str(src), Path(src).name)
    return text


def load_upload(src: Any) -> np.ndarray:
    """core.images.load_image on an upload (a file path, bytes or an array); a failure keeps its class and the
    project's message, with the file named by its own name."""
    try:
        return load_image(src)
    except ImageLoadError as exc:
        raise type(exc)(upload_message(exc, src)) from None
