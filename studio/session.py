"""One browser session's artwork set for the Studio tab (StudioSession: uploaded files and landmark overrides in
the scratch folder) and the face detector cached by image content that its landmark check uses. No gradio."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from core.errors import ImageLoadError
from core.images import load_image
from studio.workspace import IMAGE_SUFFIXES, load_upload, prune_old_files, upload_message, work_dir

MAX_ARTWORKS = 100
SESSION_MAX_AGE_S = 86400  # artwork sessions untouched for a day are pruned


@dataclass
class StudioSession:
    """One browser session's artwork set: files in `folder`/artworks, landmark overrides in overrides.json."""

    folder: str = ""

    @property
    def artworks(self) -> Path:
        return Path(self.folder) / "artworks"

    @property
    def overrides(self) -> Path:
        return Path(self.folder) / "overrides.json"

    def ensure(self) -> "StudioSession":
        if not self.folder or not Path(self.folder).is_dir():
            prune_old_files(work_dir(), SESSION_MAX_AGE_S, "studio-*")
            self.folder = tempfile.mkdtemp(prefix="studio-", dir=work_dir())
        self.artworks.mkdir(parents=True, exist_ok=True)
        return self

    def files(self) -> list[str]:
        if not self.folder or not self.artworks.is_dir():
            return []
        return sorted(p.name for p in self.artworks.iterdir() if p.is_file() and not p.name.startswith("."))

    def read_overrides(self) -> dict[str, dict]:
        if not self.folder or not self.overrides.is_file():
            return {}
        return json.loads(self.overrides.read_text(encoding="utf-8"))

    def write_overrides(self, table: dict[str, dict]) -> None:
        tmp = self.overrides.with_suffix(".tmp")
        tmp.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")  # keypoints keep click order
        os.replace(tmp, self.overrides)


def safe_name(name: str, taken: set[str]) -> str:
    """A file name of letters, digits, '-', '_' and '.', unique among `taken`."""
    stem, suffix = os.path.splitext(os.path.basename(name))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "artwork"
    suffix = suffix.lower() if suffix.lower() in IMAGE_SUFFIXES else ".png"
    candidate, k = f"{stem}{suffix}", 2
    while candidate in taken:
        candidate, k = f"{stem}_{k}{suffix}", k + 1
    return candidate


def add_artworks(session: StudioSession, paths: list[str]) -> tuple[StudioSession, list[str]]:
    """Copy uploaded images into the session's artwork folder (at most MAX_ARTWORKS in all); files that
    core.images.load_image refuses (not an image, empty, truncated, too large) are skipped. Returns the session
    and notes about files that were skipped, with the project's message."""
    session = StudioSession(session.folder if session else "").ensure()
    taken = set(session.files())
    notes = []
    for p in paths or []:
        path = Path(p)
        if len(taken) >= MAX_ARTWORKS:
            notes.append(f"only the first {MAX_ARTWORKS} artworks are used; {path.name} and later files were "
                         "skipped")
            break
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            notes.append(f"{path.name} is not an image (JPEG, PNG, WebP, BMP, TIFF or GIF); skipped")
            continue
        try:
            load_upload(path)
        except ImageLoadError as exc:
            notes.append(f"skipped {upload_message(exc, path)}")
            continue
        name = safe_name(path.name, taken)
        shutil.copyfile(path, session.artworks / name)
        taken.add(name)
    return session, notes


class CachingDetector:
    """detect_faces with results cached by image content, so the QA fallback and the set builder detect once."""

    def __init__(self, limit: int = 256) -> None:
        self._cache: dict[tuple, list] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def __call__(self, image, max_faces: int = 8, min_score: float = 0.5) -> list:
        import hashlib

        from core.landmarks import detect_faces

        rgb = load_image(image)
        key = (rgb.shape, hashlib.sha1(rgb.tobytes()).hexdigest(), max_faces, min_score)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        faces = detect_faces(rgb, max_faces=max_faces, min_score=min_score)
        with self._lock:
            if len(self._cache) >= self.limit:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = faces
        return faces
