"""Training data: artworks of one style and a pool of photos, each face detected, aligned (the engine's FFHQ
frame) and reported per file; landmark-consistent augmentation and pixel-space TPS pairs for the trainer.

Arrays: images (N, S, S, 3) uint8 and canonical landmarks (N, 73, 2) in aligned pixels. Torch helpers work on
images (B, 3, S, S) in [-1, 1] and canonical points (B, 73, 2) normalized to [-1, 1] (`core.tps` convention).

Why one module of this length: the style set, the photo pool and the augmentations share the record types, the
detection cache and the landmark conventions; each section below stands alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from core import topology
from core.alignment import align_face
from core.errors import DatasetError, ImageLoadError, LandmarkError
from core.aligned import to_pixels, to_unit
from core.images import images_to_unit, load_image, unit_to_images
from core.preview import mean_template
from core.templates import PHOTO_TEMPLATE
from core.topology import edit_landmarks
from core.tps import solve_tps, transform_points, warp_image

STATUSES = ("ok", "override", "fitted", "excluded", "outlier")
MISSING = ("exclude", "template", "error")
ALIGN_MARGIN = 1.0  # the margin core.engine aligns faces with at inference
CACHE_VERSION = 1
OUTLIER_Z = 3.5  # Iglewicz-Hoaglin cut-off for the modified z-score
METADATA_FILE = "metadata.json"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
HF_DATASET_PREFIX = "hf://datasets/"

# An aligned photo pool (scripts/make_photo_pool.py): crops already in the FFHQ frame, with their landmarks, so
# training loads them without detecting faces again. The bundled one, studio/photos, is the default photo pool.
POOL_FORMAT = "portrait-studio-photo-pool"
POOL_VERSION = 1
POOL_MANIFEST = "pool.json"  # {format, version, size, margin, count, landmarks, attribution, ...}
POOL_LANDMARKS = "landmarks.npz"  # names (N,) str, points (N, 478, 2) float32 in crop pixels
POOL_ATTRIBUTION = "attribution.json"  # [{file, source_image, author, photo_url, license, ...}] in crop order
BUNDLED_POOL = Path(__file__).resolve().parent / "photos"
POOL_REBUILD = ("rebuild it with `python scripts/make_photo_pool.py --out DIR` (needs ../shared/data/fsxl), "
                "restore it with `git checkout -- studio/photos`, or pass another pool with --photos")

Detector = Callable[..., list]


# --------------------------------------------------------------------------- records and sets


@dataclass
class ImageRecord:
    """What happened to one input file. status: ok | override | fitted | excluded | outlier.

    source: where the landmarks came from ("detected", "override", "template"; "" when excluded);
    index: the row in the set's arrays (None when excluded); z: robust outlier score of the shape.
    """

    file: str
    status: str
    message: str = ""
    source: str = ""
    index: int | None = None
    z: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class FaceSet:
    """Aligned faces: images (N, S, S, 3) uint8, points (N, 73, 2) canonical landmarks in aligned pixels,
    one provenance dict (or None) per row, and a record for every input file (used or not)."""

    images: np.ndarray
    points: np.ndarray
    size: int
    records: list[ImageRecord]
    provenance: list[dict | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.images)

    @property
    def files(self) -> list[str]:
        """The file of each row of `images`."""
        rows = sorted((r.index, r.file) for r in self.records if r.index is not None)
        return [f for _, f in rows]

    @property
    def template(self) -> np.ndarray:
        """The set's mean canonical geometry (73, 2), normalized."""
        return mean_template(self.points, self.size)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.records))

    def summary(self) -> str:
        """One line: rows used and how many files per status."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items()))
        return f"{len(self)} faces used from {len(self.records)} files ({counts})"

    def report(self) -> str:
        """Every file that is not plainly ok, one per line, with its status and message."""
        lines = [self.summary()]
        lines += [f"  {r.status:9s} {r.file}: {r.message}" for r in self.records if r.status != "ok" or r.message]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"source": self.source, "size": self.size, "count": len(self), "counts": self.counts(),
                "records": [r.to_dict() for r in self.records], "warnings": list(self.warnings)}

    def edited(self, edit: dict | None) -> "FaceSet":
        """The same faces with `core.topology.edit_landmarks` applied to their points (and so to the template)."""
        return replace(self, points=edit_landmarks(self.points, edit, self.size)) if edit else self

    def subset(self, rows: Sequence[int]) -> "FaceSet":
        """The given rows, renumbered; records of the other rows are dropped."""
        rows = [int(i) for i in rows]
        new = {old: k for k, old in enumerate(rows)}
        records = [replace(r, index=new[r.index]) for r in self.records if r.index in new]
        prov = [self.provenance[i] for i in rows] if self.provenance else []
        return replace(self, images=self.images[rows], points=self.points[rows], records=records, provenance=prov)


class StyleSet(FaceSet):
    """The artworks of one style (see `build_style_set`)."""


class PhotoPool(FaceSet):
    """Aligned photos (see `build_photo_pool`); `source` is the folder or dataset id."""


def outlier_scores(points: np.ndarray, size: int) -> np.ndarray:
    """Modified z-score (N,) of each shape's RMS distance to the per-point median shape.

    0.6745 (d - median d) / MAD; the MAD is floored at 0.5% of the crop so near-identical sets flag nothing.
    """
    p = np.asarray(points, dtype=np.float64) / size
    d = np.sqrt(((p - np.median(p, axis=0)) ** 2).sum(-1).mean(-1))
    mad = max(float(np.median(np.abs(d - np.median(d)))), 0.005)
    return 0.6745 * (d - np.median(d)) / mad


# --------------------------------------------------------------------------- overrides


def load_overrides(path: str | Path | None) -> dict[str, dict]:
    """Read a landmark override file written by the landmark editor.

    Format (JSON object keyed by file name, or path relative to the artwork folder):
      {"a.png": {"points": [[x, y], ... 478 pairs]},            # full MediaPipe mesh, original pixels
       "b.png": {"keypoints": {"33": [x, y], "263": [x, y], ...}}}  # >= 3 canonical mesh indices
    Other keys in an entry are ignored.
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"landmark override file {path} does not exist: check the path") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"landmark override file {path} is not valid JSON ({exc}); re-save it from the "
                           "landmark editor") from None
    if not isinstance(data, dict):
        raise DatasetError(f"landmark override file {path} must hold a JSON object {{file name: entry}}")
    for name, entry in data.items():
        _override_points(entry, f"{path}: entry {name!r}")  # validate early, message names the entry
    return data


def _override_points(entry: object, where: str) -> tuple[str, np.ndarray]:
    """("points", (478, 2)) or ("keypoints", (K, 3) rows of mesh index, x, y), validated."""
    if isinstance(entry, dict) and "points" in entry:
        try:
            pts = np.asarray(entry["points"], dtype=np.float64)
        except (TypeError, ValueError):
            pts = np.zeros(0)
        if pts.shape != (topology.NUM_MESH_POINTS, 2) or not np.isfinite(pts).all():
            raise DatasetError(f"{where}: 'points' must be {topology.NUM_MESH_POINTS} finite [x, y] pairs, "
                               f"got shape {pts.shape}")
        return "points", pts
    if isinstance(entry, dict) and isinstance(entry.get("keypoints"), dict):
        rows = []
        for key, xy in entry["keypoints"].items():
            try:
                idx = int(key)
                x, y = (float(v) for v in xy)
            except (TypeError, ValueError):
                raise DatasetError(f"{where}: keypoint {key!r}: {xy!r} must be mesh index -> [x, y]") from None
            if idx not in topology.CANONICAL_INDICES or not np.isfinite([x, y]).all():
                raise DatasetError(f"{where}: keypoint {key!r} must be one of the canonical mesh indices "
                                   f"(see core.topology.LANDMARK_KEYPOINTS) with finite coordinates")
            rows.append((idx, x, y))
        if len(rows) < 3:
            raise DatasetError(f"{where}: needs at least 3 keypoints (eye corners and mouth corners work best), "
                               f"got {len(rows)}")
        return "keypoints", np.array(rows, dtype=np.float64)
    raise DatasetError(f"{where}: expected {{'points': [[x, y] x 478]}} or {{'keypoints': {{mesh index: [x, y]}}}}")


def fit_keypoints(keypoints: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Canonical points (73, 2) through the given keypoints (K, 3 = mesh index, x, y), the rest following
    `reference` (73, 2, any frame) under the TPS that maps the reference keypoints onto them (affine for K = 3)."""
    pos = [topology.CANONICAL_INDICES.index(int(i)) for i in keypoints[:, 0]]
    src = torch.as_tensor(np.asarray(reference, dtype=np.float64)[pos])[None]
    dst = torch.as_tensor(keypoints[:, 1:])[None]
    fitted = transform_points(solve_tps(src, dst), torch.as_tensor(np.asarray(reference, np.float64))[None])
    return fitted[0].numpy()


def template_in_image(template: np.ndarray, height: int, width: int) -> np.ndarray:
    """Canonical points (73, 2) in image pixels: the template's face (outline box) scaled to fill the
    image's centred square; used for artworks without landmarks (`missing="template"`)."""
    t = np.asarray(template, dtype=np.float64)
    oval = t[topology.GROUP_SLICES["face_oval"]]
    lo, hi = oval.min(axis=0), oval.max(axis=0)
    side = min(height, width)
    scale = side / float((hi - lo).max())
    return (t - (lo + hi) / 2) * scale + np.array([width / 2.0, height / 2.0])


# --------------------------------------------------------------------------- files, cache, detection


def _list_files(sources: str | Path | Iterable[str | Path], skip: Sequence[Path] = ()) -> tuple[list[Path], Path | None]:
    """(files, root folder or None): every non-hidden file under a folder (sorted), or the given list."""
    if isinstance(sources, (str, Path)):
        root = Path(sources)
        if not root.exists():
            raise DatasetError(f"{root} does not exist: pass a folder of images (or a list of image files)")
        if root.is_file():
            return [root], None
        skip_set = {p.resolve() for p in skip} | {(root / METADATA_FILE).resolve()}
        files = sorted(p for p in root.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(root).parts)
                       and p.resolve() not in skip_set)
        return files, root
    return [Path(p) for p in sources], None


def _name(path: Path, root: Path | None) -> str:
    return path.relative_to(root).as_posix() if root is not None else str(path)


def _load_metadata(root: Path | None) -> dict[str, dict]:
    """{image_name: row} from root/metadata.json (a list of {image_name, author, photo_url, license, ...})."""
    if root is None or not (root / METADATA_FILE).is_file():
        return {}
    try:
        rows = json.loads((root / METADATA_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{root / METADATA_FILE} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(rows, list):
        raise DatasetError(f"{root / METADATA_FILE} must be a list of {{image_name, author, license, ...}} records")
    return {str(r["image_name"]): r for r in rows if isinstance(r, dict) and "image_name" in r}


def _cache_file(cache_dir: Path, path: Path, size: int, margin: float) -> Path:
    stat = path.stat()
    key = json.dumps([str(path.resolve()), stat.st_mtime_ns, stat.st_size, size, margin, CACHE_VERSION])
    return cache_dir / "faces" / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"


def _detect_align(path: Path, size: int, margin: float, detector: Detector | None,
                  cache_dir: Path | None) -> tuple[np.ndarray | None, np.ndarray | None, int, tuple[int, int]]:
    """(aligned image, aligned 478 mesh points, faces found, (H, W)); image and points None without a face.

    Raises ImageLoadError for unreadable files. Results are cached per file, mtime, size and settings.
    """
    cache = _cache_file(cache_dir, path, size, margin) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                n, hw = int(z["faces"]), (int(z["hw"][0]), int(z["hw"][1]))
                return (z["image"], z["points"], n, hw) if n else (None, None, 0, hw)
        except (OSError, KeyError, ValueError):
            pass  # a corrupt cache entry is recomputed
    rgb = load_image(path)
    if detector is None:
        from core.landmarks import default_detector
        detector = default_detector()
    faces = detector(rgb, max_faces=4)
    image = points = None
    if faces:
        aligned = align_face(rgb, faces[0], size=size, margin=margin)
        image, points = aligned.image, aligned.points.astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
        empty = np.zeros((0,), np.float32)
        np.savez(tmp, image=image if faces else empty, points=points if faces else empty,
                 faces=np.int64(len(faces)), hw=np.array(rgb.shape[:2], np.int64))
        os.replace(tmp, cache)
    return image, points, len(faces), rgb.shape[:2]


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 64 or size % 8:
        raise DatasetError(f"size must be a multiple of 8 and at least 64 pixels, got {size!r}")


# --------------------------------------------------------------------------- style set

# Statuses an artwork holds only between build_style_set's passes: keypoint overrides waiting for the set's mean
# shape, and files without a detected face waiting for the `missing` rule. None survives into a StyleSet.
PENDING = ("keypoints", "missing")
ARTWORK_STATUSES = STATUSES + PENDING


@dataclass
class ArtworkEntry:
    """One artwork file while `build_style_set` works on it; `status` is always one of ARTWORK_STATUSES.

    image/points: the aligned face and its canonical landmarks once it has one; rgb/keypoints: the decoded file
    and the override keypoints of a "keypoints" entry; hw: the file's (height, width).
    """

    name: str
    path: Path
    meta: dict | None = None
    status: str = "missing"
    message: str = ""
    source: str = ""
    hw: tuple[int, int] | None = None
    image: np.ndarray | None = None
    points: np.ndarray | None = None
    rgb: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    z: float | None = None

    def __setattr__(self, key: str, value: object) -> None:
        if key == "status" and value not in ARTWORK_STATUSES:
            raise ValueError(f"artwork status {value!r} is not one of {ARTWORK_STATUSES}")
        super().__setattr__(key, value)

    def place(self, image: np.ndarray, points: np.ndarray, status: str, source: str, message: str = "") -> None:
        """The aligned face and its canonical landmarks, with where they came from."""
        self.image, self.points, self.status, self.source, self.message = image, points, status, source, message
        self.rgb = self.keypoints = None

    def exclude(self, message: str) -> None:
        self.status, self.message, self.rgb, self.keypoints = "excluded", message, None, None

    def record(self, index: int | None) -> ImageRecord:
        return ImageRecord(self.name, self.status, self.message, self.source, index, self.z)


def _read_artwork(entry: ArtworkEntry, override: tuple[str, np.ndarray] | None, size: int, margin: float,
                  detector: Detector | None, cache: Path | None) -> None:
    """Pass 1 for one file: apply its override (full points now, keypoints later) or detect and align its face."""
    try:
        if override is not None:
            kind, data = override
            rgb = load_image(entry.path)
            entry.hw = rgb.shape[:2]
            if kind == "points":
                aligned = align_face(rgb, data, size=size, margin=margin)
                entry.place(aligned.image, topology.to_canonical(aligned.points), "override", "override",
                            "landmarks from the override file")
            else:
                entry.rgb, entry.keypoints, entry.status = rgb, data, "keypoints"  # fitted in pass 2 (mean shape)
            return
        image, mesh, n, entry.hw = _detect_align(entry.path, size, margin, detector, cache)
        if image is None:
            entry.status = "missing"
        else:
            entry.place(image, topology.to_canonical(mesh), "ok", "detected",
                        f"{n} faces found, used the largest" if n > 1 else "")
    except ImageLoadError as exc:
        entry.exclude(f"not a readable image: {exc}")
    except LandmarkError as exc:
        entry.exclude(f"cannot align: {exc}")


def _fit_pending(entries: list[ArtworkEntry], missing: str, size: int, margin: float) -> None:
    """Pass 2: fit keypoint overrides and landmark-less artworks to the mean shape of the others."""
    known = [e.points for e in entries if e.points is not None]
    mean_px = np.mean(known, axis=0) if known else to_pixels(PHOTO_TEMPLATE, size)
    for e in entries:
        if e.status == "keypoints":
            try:
                pts = fit_keypoints(e.keypoints, mean_px)
                aligned = align_face(e.rgb, pts, size=size, margin=margin)
                e.place(aligned.image, aligned.points, "override", "override",
                        f"{len(pts)} landmarks fitted to the override keypoints")
            except LandmarkError as exc:
                e.exclude(f"override keypoints cannot be used: {exc}")
        elif e.status == "missing" and missing == "template":
            pts = template_in_image(mean_px, *e.hw)
            aligned = align_face(load_image(e.path), pts, size=size, margin=margin)
            basis = "the set's mean shape" if known else "the photo template (no artwork had landmarks)"
            e.place(aligned.image, aligned.points, "fitted", "template",
                    f"no face found: fitted {basis}, face assumed to fill the centred square")
        elif e.status == "missing":
            e.exclude("no face found: set its landmarks in the landmark editor, or train with missing='template'")


def _flag_outliers(used: list[ArtworkEntry], size: int) -> None:
    """Pass 3: score the measured shapes (fitted ones are the mean by construction); far ones become outliers."""
    measured = [e for e in used if e.source != "template"]
    if len(measured) < 4:
        return
    for e, z in zip(measured, outlier_scores(np.stack([e.points for e in measured]), size)):
        e.z = round(float(z), 2)
        if z > OUTLIER_Z:
            e.status = "outlier"
            e.message = (f"landmarks ({e.source}) far from the set's mean shape (robust z = {z:.1f} > "
                         f"{OUTLIER_Z}); check them in the landmark editor")


def build_style_set(sources: str | Path | Sequence[str | Path], size: int, overrides: str | Path | None = None,
                    missing: str = "exclude", detector: Detector | None = None, *,
                    exclude_outliers: bool = False, margin: float = ALIGN_MARGIN,
                    cache_dir: str | Path | None = None) -> StyleSet:
    """Detect, align and check the artworks of one style; every file gets a record, nothing is dropped silently.

    missing: what to do with an artwork without a face and without an override: "exclude" it, fit the set's
    mean "template" to it (the face is assumed to fill the centred square), or raise ("error").
    Outliers (shape far from the set's median, `OUTLIER_Z`) are flagged and kept unless `exclude_outliers`.
    """
    _check_size(size)
    if missing not in MISSING:
        raise DatasetError(f"missing must be one of {MISSING}, got {missing!r}")
    files, root = _list_files(sources, [Path(overrides)] if overrides is not None else [])
    where = str(sources) if isinstance(sources, (str, Path)) else f"the {len(files)} given files"
    if not files:
        raise DatasetError(f"{where} is empty: put the artworks of one style in it (JPEG or PNG, 10-100 images)")
    table, meta = load_overrides(overrides), _load_metadata(root)
    cache = Path(cache_dir) if cache_dir is not None else None

    entries, used_keys = [ArtworkEntry(_name(p, root), p, meta.get(p.name)) for p in files], set()
    for e in entries:
        key = e.name if e.name in table else e.path.name if e.path.name in table else None
        if key is not None:
            used_keys.add(key)
        override = _override_points(table[key], f"override {key!r}") if key is not None else None
        _read_artwork(e, override, size, margin, detector, cache)
    readable = [e for e in entries if e.status != "excluded"]
    if not readable:
        raise DatasetError(f"none of the {len(files)} files in {where} is a readable image (JPEG, PNG, WebP, BMP, "
                           "GIF or TIFF): add the artworks of the style")
    lacking = [e.name for e in entries if e.status == "missing"]
    if missing == "error" and lacking:
        names = ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else "")
        raise DatasetError(f"no face found in {len(lacking)} artwork(s): {names}. Set their landmarks in the "
                           "landmark editor (an overrides file), or use missing='template' or 'exclude'")

    _fit_pending(entries, missing, size, margin)
    used = [e for e in entries if e.image is not None]
    if not used:
        raise DatasetError(f"no face found in any of the {len(readable)} artworks in {where}: set landmarks by hand "
                           "in the landmark editor (an overrides file), or train with --missing template to fit "
                           "the mean face to each artwork")
    if len(used) < 2:
        raise DatasetError(f"only {len(used)} usable artwork in {where} ({used[0].name}); a style needs at least "
                           "2 (10-100 recommended): add more artworks or fix the excluded ones")
    _flag_outliers(used, size)
    if exclude_outliers:
        for e in used:
            if e.status == "outlier":
                e.status, e.message = "excluded", e.message + "; excluded as an outlier"
        used = [e for e in used if e.status != "excluded"]
        if len(used) < 2:
            raise DatasetError(f"fewer than 2 artworks left in {where} after excluding outliers; keep them")

    rows = {id(e): k for k, e in enumerate(used)}
    warnings = [f"override {k!r} matches no file in {where}" for k in table if k not in used_keys]
    return StyleSet(images=np.stack([e.image for e in used]),
                    points=np.stack([e.points for e in used]).astype(np.float32), size=size,
                    records=[e.record(rows.get(id(e))) for e in entries], provenance=[e.meta for e in used],
                    warnings=warnings, source=where)


# --------------------------------------------------------------------------- photo pool


def default_photo_source() -> Path:
    """The photo pool used when none is given: $PORTRAIT_PHOTOS (a folder, or a dataset id) when set, else the
    bundled license-clean pool (studio/photos)."""
    env = os.environ.get("PORTRAIT_PHOTOS", "").strip()
    return Path(env) if env else BUNDLED_POOL


def source_label(source: str | Path) -> str:
    """A photo source as recorded in provenance: a folder inside the project relative to it (studio/photos),
    anything else as given."""
    path = Path(source)
    try:
        return path.resolve().relative_to(BUNDLED_POOL.parents[1]).as_posix() if path.exists() else str(source)
    except ValueError:
        return str(source)


def is_aligned_pool(folder: str | Path) -> bool:
    """True for a folder written by scripts/make_photo_pool.py (it has a pool.json manifest)."""
    return (Path(folder) / POOL_MANIFEST).is_file()


def _pool_error(where: Path, problem: str) -> DatasetError:
    return DatasetError(f"{where} {problem}: the photo pool in {where.parent} is broken; {POOL_REBUILD}")


def load_aligned_pool(folder: str | Path, size: int, limit: int | None = None, margin: float = ALIGN_MARGIN,
                      source: str | None = None) -> PhotoPool:
    """Load an aligned pool (pool.json + landmarks.npz + images + attribution.json) without detecting faces.

    The stored landmarks are validated (names match the manifest's count and the files, points (N, 478, 2),
    finite, inside the crop); crops are resized to `size` (the FFHQ frame scales with the crop), or re-aligned
    from the stored landmarks when `margin` differs from the pool's.
    """
    import cv2

    _check_size(size)
    root = Path(folder)
    manifest_file = root / POOL_MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _pool_error(manifest_file, f"is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != POOL_FORMAT:
        raise _pool_error(manifest_file, f"is not a {POOL_FORMAT} manifest")
    if manifest.get("version") != POOL_VERSION:
        raise _pool_error(manifest_file, f"has version {manifest.get('version')!r}; this Portrait Studio reads "
                                         f"version {POOL_VERSION}")
    count, crop, pool_margin = manifest.get("count"), manifest.get("size"), manifest.get("margin")
    if not (isinstance(count, int) and count > 0 and isinstance(crop, int) and crop >= 16
            and isinstance(pool_margin, (int, float)) and pool_margin > 0):
        raise _pool_error(manifest_file, "needs a positive integer count and size and a positive margin")
    marks = root / str(manifest.get("landmarks") or POOL_LANDMARKS)
    if not marks.is_file():
        raise _pool_error(marks, "is missing")
    try:
        with np.load(marks, allow_pickle=False) as z:
            names, points = z["names"], z["points"]
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise _pool_error(marks, f"is not a readable npz with names and points ({type(exc).__name__}: {exc})"
                          ) from None
    if names.ndim != 1 or points.shape != (len(names), topology.NUM_MESH_POINTS, 2):
        raise _pool_error(marks, f"has names {names.shape} and points {points.shape}; expected (N,) and "
                                 f"(N, {topology.NUM_MESH_POINTS}, 2)")
    if len(names) != count:
        raise _pool_error(marks, f"holds {len(names)} faces but {POOL_MANIFEST} declares {count}")
    points = points.astype(np.float32)
    if not np.isfinite(points).all():
        raise _pool_error(marks, "has non-finite landmarks")
    if points.min() < -0.25 * crop or points.max() > 1.25 * crop:
        raise _pool_error(marks, f"has landmarks far outside the {crop}-pixel crops (not aligned crops)")
    attribution = root / str(manifest.get("attribution") or POOL_ATTRIBUTION)
    meta: dict[str, dict] = {}
    if attribution.is_file():
        try:
            rows = json.loads(attribution.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _pool_error(attribution, f"is not valid JSON ({exc})") from None
        meta = {str(r["file"]): r for r in rows if isinstance(r, dict) and "file" in r} if isinstance(rows, list) \
            else {}
    images, kept, prov, records = [], [], [], []
    for i, name in enumerate(str(n) for n in names):
        if limit is not None and len(images) >= limit:
            break
        path = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise _pool_error(marks, f"names a file outside the pool ({name!r})")
        try:
            rgb = load_image(path)
        except ImageLoadError as exc:
            raise _pool_error(path, f"is not a readable crop ({exc})") from None
        if rgb.shape[:2] != (crop, crop):
            raise _pool_error(path, f"is {rgb.shape[1]}x{rgb.shape[0]}, not the pool's {crop}x{crop}")
        mesh = points[i]
        if float(pool_margin) != float(margin):
            aligned = align_face(rgb, mesh, size=size, margin=margin)
            rgb, mesh = aligned.image, aligned.points.astype(np.float32)
        elif size != crop:
            rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if size < crop else cv2.INTER_CUBIC)
            mesh = mesh * np.float32(size / crop)  # continuous coordinates scale with the crop
        records.append(ImageRecord(name, "ok", "", "stored", len(images)))
        images.append(rgb)
        kept.append(topology.to_canonical(mesh))
        prov.append(meta.get(name))
    return PhotoPool(images=np.stack(images), points=np.stack(kept).astype(np.float32), size=size,
                     records=records, provenance=prov, source=source or str(folder))


def resolve_source(source: str | Path) -> Path:
    """A local folder, or a Hugging Face dataset repo id (owner/name or hf://datasets/owner/name) downloaded with
    `snapshot_download`."""
    path = Path(source)
    if path.exists():
        return path
    if str(source).startswith(HF_DATASET_PREFIX):
        source = str(source)[len(HF_DATASET_PREFIX):].strip("/")
    if not _REPO_ID.match(str(source)):
        raise DatasetError(f"{source} does not exist: pass a folder of photos or a Hugging Face dataset id "
                           "(owner/name)")
    from huggingface_hub import snapshot_download

    try:
        # HF_ENDPOINT as it is now (huggingface_hub reads it once, at import): a mirror or a test server
        return Path(snapshot_download(repo_id=str(source), repo_type="dataset",
                                      endpoint=os.environ.get("HF_ENDPOINT") or None))
    except Exception as exc:  # hub errors come in many types; the message carries the cause
        raise DatasetError(f"{source} is not a local folder and could not be downloaded as a Hugging Face "
                           f"dataset ({type(exc).__name__}: {exc}); check the id and your connection") from None


def build_photo_pool(source: str | Path, size: int, cache_dir: str | Path | None = "cache/", limit: int | None = None,
                     detector: Detector | None = None, margin: float = ALIGN_MARGIN) -> PhotoPool:
    """Detect and align the photos of a folder (or HF dataset), at most `limit` usable ones in file order.

    An aligned pool (a folder with pool.json, e.g. the bundled studio/photos) is loaded with its stored
    landmarks instead (`load_aligned_pool`): no detection, no cache.

    Each file's result is cached in cache_dir (npz, no pickle). A metadata.json beside the images
    ([{image_name, author, photo_url, license}, ...]) is kept as each row's provenance.
    """
    _check_size(size)
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be at least 1, got {limit}")
    root = resolve_source(source)
    if root.is_dir() and is_aligned_pool(root):
        return load_aligned_pool(root, size, limit, margin, source=str(source))
    files, folder = _list_files(root)
    if not files:
        raise DatasetError(f"{source} is empty: add photos of faces (JPEG or PNG)")
    meta = _load_metadata(folder)
    cache = Path(cache_dir) if cache_dir is not None else None
    images, points, prov, records = [], [], [], []
    for path in files:
        if limit is not None and len(images) >= limit:
            break
        name = _name(path, folder)
        try:
            image, mesh, n, _ = _detect_align(path, size, margin, detector, cache)
        except ImageLoadError as exc:
            records.append(ImageRecord(name, "excluded", f"not a readable image: {exc}"))
            continue
        except LandmarkError as exc:
            records.append(ImageRecord(name, "excluded", f"cannot align: {exc}"))
            continue
        if image is None:
            records.append(ImageRecord(name, "excluded", "no face found"))
            continue
        note = f"{n} faces found, used the largest" if n > 1 else ""
        records.append(ImageRecord(name, "ok", note, "detected", len(images)))
        images.append(image)
        points.append(topology.to_canonical(mesh))
        prov.append(meta.get(path.name))
    if not images:
        raise DatasetError(f"no face found in any of the {len(records)} files of {source}: use photos where one "
                           "face is clearly visible")
    return PhotoPool(images=np.stack(images), points=np.stack(points).astype(np.float32), size=size,
                     records=records, provenance=prov, source=str(source))


def license_summary(provenance: Sequence[dict | None]) -> dict[str, int]:
    """{license: count} over provenance rows ("unknown" where a row has none)."""
    return dict(Counter((p or {}).get("license") or "unknown" for p in provenance))


# --------------------------------------------------------------------------- torch: tensors and augmentation


def to_tensor(images: np.ndarray, points: np.ndarray, size: int, device: torch.device | str = "cpu"
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, S, S, 3), aligned px (N, 73, 2) -> float (N, 3, S, S) in [-1, 1], normalized (N, 73, 2)."""
    img = images_to_unit(torch.as_tensor(np.ascontiguousarray(images), device=device))
    pts = to_unit(torch.as_tensor(np.asarray(points, np.float32), device=device), size)
    return img, pts


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) in [-1, 1] -> (B, S, S, 3) uint8."""
    return unit_to_images(images)


def hflip(images: torch.Tensor, points: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror the samples where mask (B,) is true; landmarks swap sides (`topology.FLIP`) so they stay consistent."""
    flip = torch.tensor(topology.FLIP, device=points.device)
    m = mask.view(-1, 1, 1, 1)
    images = torch.where(m, images.flip(-1), images)
    mirrored = points[:, flip] * points.new_tensor([-1.0, 1.0])
    return images, torch.where(mask.view(-1, 1, 1), mirrored, points)


def color_jitter(images: torch.Tensor, generator: torch.Generator, brightness: float = 0.1, contrast: float = 0.1,
                 saturation: float = 0.1) -> torch.Tensor:
    """Per-sample brightness shift, contrast and saturation scale (uniform in +-amount) of (B, 3, H, W) in [-1, 1]."""
    b = images.shape[0]

    def u(amount: float) -> torch.Tensor:
        r = torch.rand(b, 1, 1, 1, generator=generator, device=generator.device) * 2 - 1
        return (r * amount).to(images)

    x = images + 2 * u(brightness)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + u(contrast)) + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * (1 + u(saturation)) + grey
    return x.clamp(-1, 1)


def control_grid(n: int = 4, device: torch.device | str = "cpu") -> torch.Tensor:
    """n x n control points (n*n, 2) spanning [-1, 1]."""
    t = torch.linspace(-1.0, 1.0, n, device=device)
    return torch.stack(torch.meshgrid(t, t, indexing="xy"), dim=-1).reshape(-1, 2)


def random_warp(batch: int, generator: torch.Generator, strength: float = 0.04, grid: int = 4,
                device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst) control points (B, grid*grid, 2) of a random smooth warp: a lattice moved by N(0, strength)."""
    src = control_grid(grid).expand(batch, -1, -1)
    dst = src + strength * torch.randn(src.shape, generator=generator, device=generator.device)
    return src.to(device), dst.to(device)


def apply_warp(images: torch.Tensor, points: torch.Tensor, src: torch.Tensor, dst: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp images (B, 3, H, W) and their landmarks (B, N, 2) by the TPS taking control points src to dst.

    The image is warped exactly through the control points; landmarks move under the forward TPS of the same
    correspondences, which agrees with the image warp to second order in the displacement.
    """
    warped = warp_image(images, src.to(images), dst.to(images))
    moved = transform_points(solve_tps(src.to(points), dst.to(points)), points)
    return warped, moved.to(points.dtype)


def random_tps(images: torch.Tensor, points: torch.Tensor, generator: torch.Generator, strength: float = 0.04,
               grid: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """TPS jitter: `apply_warp` with a `random_warp` of the given strength (normalized units)."""
    return apply_warp(images, points, *random_warp(images.shape[0], generator, strength, grid, images.device))


def warp_to(images: torch.Tensor, points: torch.Tensor, target: torch.Tensor, reg: float = 1e-3) -> torch.Tensor:
    """Pixel-space TPS pair: move each image's landmarks (B, 73, 2) to `target` (B or 1, 73, 2), e.g. an artwork
    to a photo's geometry or a photo to the style template. Same map as the generator's feature warp at `reg`."""
    target = target.expand(points.shape[0], -1, -1).to(points)
    return warp_image(images, points, target, reg=reg)


def sample_rows(count: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """`batch` row indices drawn uniformly with replacement from range(count) (CPU long tensor)."""
    return torch.randint(0, count, (batch,), generator=generator)


def seeded_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU torch.Generator seeded from (seed, *keys), e.g. (seed, step, rank): batches do not depend on history."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) & 0xFFFFFFFF for k in keys]]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
