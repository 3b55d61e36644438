"""Face landmarks: MediaPipe face detection finds the faces, Face Mesh (478 points) refines each one.

Detection runs on a copy of at most 640 px (and on tiles of large images), then Face Mesh runs
on a square crop of each face taken from the original image, so small faces and many faces keep
full-resolution landmarks. Fallbacks for faces the detector misses (close-ups, anime) are listed
in `FaceDetector`. Coordinates are continuous pixel coordinates of the original image: (0, 0) is
the top-left corner, pixel centres at +0.5.
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from core.errors import LandmarkError, NoFaceError
from core.images import ImageSource, load_image
from core.topology import GROUP_SLICES, NUM_CANONICAL, NUM_MESH_POINTS, to_canonical

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging, before it loads
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DETECT_MAX_SIDE = 640  # detection copy: long side at most this (the detectors resize to 128-192 px anyway) ...
DETECT_MIN_SIDE = 256  # ... and short side at least this (tiny images are upscaled)
CROP_SCALE = 2.5  # mesh crop side = CROP_SCALE * longest side of the detection box
CROP_MIN, CROP_MAX = 256, 512  # mesh crops are resized into this range of pixels
CROP_MESH_SCORE = 0.3  # Face Mesh's own detector threshold inside a crop the detector already vetted
DEDUP_IOU = 0.5
ZOOM_OUT = 0.3  # last resort: a grey border of this fraction of the long side on each side
PAD_GREY = (128, 128, 128)
TILE_MIN = 640  # large images are also scanned in tiles down to this side (original pixels) ...
TILE_PIXELS = 512  # ... each resized to this many pixels for the detector


@dataclass(frozen=True, eq=False)
class Face:
    """One face: `points` (478, 2) float32 (x, y) pixels in the original image, `box` (x0, y0, x1, y1)
    bounding the points, `score` the detector's confidence (see `FaceDetector` for the fallback)."""

    points: np.ndarray
    box: tuple[float, float, float, float]
    score: float

    def __post_init__(self) -> None:
        points = np.array(self.points, dtype=np.float32)
        if points.shape != (NUM_MESH_POINTS, 2) or not np.isfinite(points).all():
            raise LandmarkError(
                f"face landmarks must be a finite ({NUM_MESH_POINTS}, 2) array, got shape {points.shape}")
        points.setflags(write=False)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "score", float(self.score))

    @property
    def canonical(self) -> np.ndarray:
        """The canonical subset (73, 2) that drives the TPS warps."""
        return to_canonical(self.points)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: {"points": [[x, y], ...], "box": [x0, y0, x1, y1], "score": s}."""
        return {"points": self.points.round(3).tolist(), "box": list(self.box), "score": self.score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Face":
        """Inverse of `to_dict`; the box is recomputed from the points when absent."""
        try:
            points = np.asarray(data["points"], dtype=np.float32)
            box = data.get("box") or _points_box(points)
            if len(box) != 4:
                raise ValueError(f"box needs 4 numbers, got {len(box)}")
            return cls(points, tuple(box), float(data.get("score", 1.0)))
        except LandmarkError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise LandmarkError(
                f"malformed face record ({exc}): expected {{'points': [[x, y] x {NUM_MESH_POINTS}], "
                "'box': [x0, y0, x1, y1], 'score': s}") from None


class FaceDetector:
    """Owns the MediaPipe graphs (created lazily, one lock: graphs are not thread-safe).

    Stages, each run only when the previous ones found nothing: (1) face detector (full- and
    short-range models, plus tiles on large images) then Face Mesh on a crop per face; (2) Face
    Mesh on the whole image (`mesh_fallback`); (3) stages 1-2 again on the image zoomed out in a
    grey border (`zoom_out`), which finds close-ups and most anime faces that fill the frame.

    Score: the face detector's confidence (best of its two models; it never reports below 0.5).
    Faces found by Face Mesh alone get `min_score`, the threshold Face Mesh's own detector
    accepted them at: a lower bound, as mp.solutions hides that score.
    """

    def __init__(self, mesh_fallback: bool = True, zoom_out: bool = True) -> None:
        self.mesh_fallback = mesh_fallback
        self.zoom_out = zoom_out
        self._graphs: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, image: ImageSource, max_faces: int = 8, min_score: float = 0.5) -> list[Face]:
        """All faces in `image` (at most `max_faces`), largest box first; [] when there is none."""
        return self.find(image, max_faces, min_score)[0]

    def find(self, image: ImageSource, max_faces: int = 8, min_score: float = 0.5) -> tuple[list[Face], int]:
        """(the faces, at most `max_faces`, largest box first; how many were found in all), so a caller can say
        that faces beyond the limit were left out. Detector boxes past the mesh budget count as found."""
        if max_faces < 1 or not 0.0 <= min_score <= 1.0:
            raise ValueError(f"need max_faces >= 1 and min_score in [0, 1], got {max_faces}, {min_score}")
        rgb = load_image(image)
        small = _detection_copy(rgb)
        with self._lock:
            faces, unmeshed = self._find(rgb, small, 0, max_faces, min_score)
            if not faces and self.zoom_out:
                pad = int(round(ZOOM_OUT * max(small.shape[:2])))
                padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=PAD_GREY)
                faces, unmeshed = self._find(rgb, padded, pad, max_faces, min_score)
        faces = _dedup(faces)
        return faces[:max_faces], len(faces) + unmeshed

    def mesh_at(self, rgb: np.ndarray, box: Sequence[float], score: float = 1.0) -> Face | None:
        """Face Mesh alone on a crop around `box` (x0, y0, x1, y1) of (H, W, 3) uint8 `rgb`, skipping the face
        detector passes (the tracking step, ~2.5x cheaper than `find` at 640x480); None when the mesh misses."""
        with self._lock:
            return self._mesh_crop(rgb, np.asarray(box, dtype=np.float64), score)

    def close(self) -> None:
        """Release the MediaPipe graphs (they are recreated on the next call)."""
        with self._lock:
            for graph in self._graphs.values():
                graph.close()
            self._graphs.clear()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _find(self, rgb: np.ndarray, small: np.ndarray, pad: int, max_faces: int,
              min_score: float) -> tuple[list[Face], int]:
        """Stages 1-2 on `small`, a resized copy of `rgb` inside a border of `pad` pixels: the faces and the number
        of detector boxes left unmeshed (beyond 2 * max_faces)."""
        scale = (small.shape[1] - 2 * pad) / rgb.shape[1]
        boxes = self._detect(rgb, small, pad, scale, min_score)
        faces = [f for box, score in boxes[: 2 * max_faces]
                 if (f := self._mesh_crop(rgb, box, score)) is not None]
        if not faces and self.mesh_fallback:
            result = self._graph("mesh", min_score, max_faces).process(small)
            size = (small.shape[1], small.shape[0])
            found = [(_mesh_points(lms) * size - pad) / scale for lms in result.multi_face_landmarks or []]
            faces = [Face(p, _points_box(p), min_score) for p in found]
        return faces, max(0, len(boxes) - 2 * max_faces) if faces else 0

    def _graph(self, kind: str, score: float = 0.5, faces: int = 1) -> Any:
        """kind: "full" / "short" (range of the face detector) or "mesh"; cached per settings.

        The detector ignores min_detection_confidence in mediapipe 0.10.21 (it reports scores
        >= 0.5 whatever the setting), so its scores are filtered by the caller instead.
        """
        key = (kind, faces, round(score, 4)) if kind == "mesh" else (kind,)
        if key not in self._graphs:
            import mediapipe as mp

            if kind != "mesh":
                self._graphs[key] = mp.solutions.face_detection.FaceDetection(
                    model_selection=int(kind == "full"))
            else:
                self._graphs[key] = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True, refine_landmarks=True, max_num_faces=faces,
                    min_detection_confidence=score)
        return self._graphs[key]

    def _detect(self, rgb: np.ndarray, small: np.ndarray, pad: int, scale: float,
                min_score: float) -> list[tuple[np.ndarray, float]]:
        """Detector boxes (x0, y0, x1, y1) in original pixels with scores, best first, duplicates removed.

        The detector sees a 192 px input, so faces under ~6% of the image side are missed: large
        images are also scanned in overlapping tiles (sides halving down to TILE_MIN px).
        """
        levels = [(small, [(0, 0, max(small.shape[:2]))], scale, pad)]
        if not pad:
            levels += _tile_levels(rgb)
        found = []
        for level, tiles, level_scale, level_pad in levels:
            models = ("full", "short") if level is small else ("full",)
            for (tx, ty, side), model in itertools.product(tiles, models):
                result = self._graph(model).process(np.ascontiguousarray(level[ty:ty + side, tx:tx + side]))
                th, tw = min(side, level.shape[0] - ty), min(side, level.shape[1] - tx)
                for det in result.detections or []:
                    if det.score[0] < min_score:
                        continue
                    b = det.location_data.relative_bounding_box
                    box = np.array([tx + b.xmin * tw, ty + b.ymin * th,
                                    tx + (b.xmin + b.width) * tw, ty + (b.ymin + b.height) * th])
                    found.append(((box - level_pad) / level_scale, float(det.score[0])))
        kept: list[tuple[np.ndarray, float]] = []
        for box, score in sorted(found, key=lambda d: -d[1]):
            if not any(_same_face(box, k) for k, _ in kept):
                kept.append((box, score))
        return kept

    def _mesh_crop(self, rgb: np.ndarray, box: np.ndarray, score: float) -> Face | None:
        """Face Mesh on a square crop around one detector box; None when the mesh misses it."""
        x0, y0, x1, y1 = box
        side = int(np.ceil(max(x1 - x0, y1 - y0) * CROP_SCALE))
        if side < 2:
            return None
        left, top = int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2))
        crop = _crop_padded(rgb, left, top, side)
        px = int(np.clip(side, CROP_MIN, CROP_MAX))
        if px != side:
            crop = cv2.resize(crop, (px, px), interpolation=cv2.INTER_AREA if px < side else cv2.INTER_CUBIC)
        result = self._graph("mesh", CROP_MESH_SCORE).process(crop)
        if not result.multi_face_landmarks:
            return None
        points = _mesh_points(result.multi_face_landmarks[0]) * side + (left, top)
        cx, cy = points.mean(axis=0)
        if not (x0 <= cx <= x1 and y0 <= cy <= y1):  # the mesh locked onto a neighbouring face
            return None
        return Face(points, _points_box(points), score)


_default: FaceDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> FaceDetector:
    """The process-wide shared `FaceDetector`."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FaceDetector()
        return _default


def detect_faces(image: ImageSource, max_faces: int = 8, min_score: float = 0.5) -> list[Face]:
    """All faces in `image`, largest first, with the shared detector; [] when there is none."""
    return default_detector()(image, max_faces=max_faces, min_score=min_score)


def find_faces(image: ImageSource, max_faces: int = 8, min_score: float = 0.5) -> tuple[list[Face], int]:
    """(`detect_faces`, how many faces were found in all) with the shared detector: more than max_faces were
    there when the count exceeds len(faces)."""
    return default_detector().find(image, max_faces=max_faces, min_score=min_score)


def largest_face(image: ImageSource, name: str | None = None, min_score: float = 0.5) -> Face:
    """The largest face in `image`; NoFaceError naming `name` (default: the path) when there is none."""
    faces = detect_faces(image, max_faces=8, min_score=min_score)
    if not faces:
        if name is None:
            name = f"'{image}'" if isinstance(image, (str, os.PathLike)) else "the image"
        raise NoFaceError(
            f"no face found in {name}: use a clearer, well-lit, roughly frontal photo where the face "
            "is not cut off or covered, or set the landmarks by hand")
    return faces[0]


GROUP_COLOURS: dict[str, tuple[int, int, int]] = {
    "face_oval": (255, 220, 0),
    "right_brow": (255, 120, 0), "left_brow": (255, 120, 0),
    "right_eye": (0, 200, 255), "left_eye": (0, 200, 255),
    "right_iris": (255, 255, 255), "left_iris": (255, 255, 255),
    "nose": (0, 255, 90),
    "lips_outer": (255, 40, 90), "lips_inner": (200, 0, 255),
}
BOX_COLOUR = (0, 255, 0)
MESH_COLOUR = (170, 170, 170)


def draw_landmarks(image: ImageSource, faces_or_points: Face | np.ndarray | Iterable,
                   canonical_only: bool = True, radius: float | None = None,
                   draw_box: bool = True) -> np.ndarray:
    """A copy of `image` with landmarks drawn, coloured by `GROUP_COLOURS`, and each Face's box.

    `faces_or_points`: a Face, (478, 2) or (73, 2) points, a list or (N, P, 2) stack of those. With
    `canonical_only=False` all 478 mesh points are drawn (grey) under the canonical ones.
    """
    out = load_image(image).copy()
    scale = max(out.shape[:2]) / 256.0
    r = radius if radius is not None else max(1.0, 1.6 * scale)
    line = max(1, int(round(scale)))
    single = isinstance(faces_or_points, Face) or (
        isinstance(faces_or_points, np.ndarray) and faces_or_points.ndim == 2)
    items = [faces_or_points] if single else list(faces_or_points)
    for item in items:
        points = np.asarray(item.points if isinstance(item, Face) else item, dtype=np.float64)
        if points.shape == (NUM_MESH_POINTS, 2):
            if not canonical_only:
                for p in points:
                    _dot(out, p, max(0.8, 0.5 * r), MESH_COLOUR)
            points = to_canonical(points)
        elif points.shape != (NUM_CANONICAL, 2):
            raise LandmarkError(
                f"cannot draw landmarks of shape {points.shape}: expected ({NUM_MESH_POINTS}, 2) "
                f"or ({NUM_CANONICAL}, 2)")
        if isinstance(item, Face) and draw_box:
            x0, y0, x1, y1 = item.box
            cv2.rectangle(out, _fixed((x0, y0)), _fixed((x1, y1)), BOX_COLOUR, line, cv2.LINE_AA, _SHIFT)
        for group, idx in GROUP_SLICES.items():
            for p in points[idx]:
                _dot(out, p, r, GROUP_COLOURS[group])
    return out


_SHIFT = 4  # sub-pixel bits for cv2 drawing


def _fixed(p: Sequence[float]) -> tuple[int, int]:
    """Continuous (x, y) -> cv2 fixed-point pixel-centre coordinates."""
    return (int(round((p[0] - 0.5) * (1 << _SHIFT))), int(round((p[1] - 0.5) * (1 << _SHIFT))))


def _dot(out: np.ndarray, p: np.ndarray, r: float, colour: tuple[int, int, int]) -> None:
    cv2.circle(out, _fixed(p), int(round(r * (1 << _SHIFT))), colour, -1, cv2.LINE_AA, _SHIFT)


def _detection_copy(rgb: np.ndarray) -> np.ndarray:
    """Resize so the long side is <= DETECT_MAX_SIDE, upscaling tiny images to DETECT_MIN_SIDE."""
    h, w = rgb.shape[:2]
    s = 1.0
    if max(h, w) > DETECT_MAX_SIDE:
        s = DETECT_MAX_SIDE / max(h, w)
    elif min(h, w) < DETECT_MIN_SIDE:
        s = min(DETECT_MIN_SIDE / min(h, w), DETECT_MAX_SIDE / max(h, w))
    if abs(s - 1.0) < 1e-6:
        return np.ascontiguousarray(rgb)
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _tile_levels(rgb: np.ndarray) -> list[tuple[np.ndarray, list[tuple[int, int, int]], float, int]]:
    """(resized image, [(x, y, side)] square tiles, scale from original, 0) per pyramid level below
    the whole image: tile sides halve down to TILE_MIN original pixels."""
    h, w = rgb.shape[:2]
    levels = []
    tile = max(h, w) / 2
    while tile >= TILE_MIN:
        scale = TILE_PIXELS / tile
        level = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
        tiles = [(x, y, TILE_PIXELS) for y in _starts(level.shape[0]) for x in _starts(level.shape[1])]
        levels.append((level, tiles, scale, 0))
        tile /= 2
    return levels


def _starts(length: int) -> list[int]:
    """Tile origins covering [0, length) with TILE_PIXELS tiles overlapping by a quarter."""
    if length <= TILE_PIXELS:
        return [0]
    n = int(np.ceil((length - TILE_PIXELS) / (0.75 * TILE_PIXELS))) + 1
    return [int(round(v)) for v in np.linspace(0, length - TILE_PIXELS, n)]


def _same_face(a: Sequence[float], b: Sequence[float]) -> bool:
    """IoU > DEDUP_IOU, or one box mostly inside the other (a tile cut the face, or a spurious
    small face was found inside a real one)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return box_iou(a, b) > DEDUP_IOU or (smaller > 0 and iw * ih / smaller > 0.8)


def _crop_padded(rgb: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The square [left, left+side) x [top, top+side) of `rgb`, zero-padded outside the image."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    out = np.zeros((side, side, 3), np.uint8)
    if x1 > x0 and y1 > y0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = rgb[y0:y1, x0:x1]
    return out


def _mesh_points(landmarks: Any) -> np.ndarray:
    """MediaPipe normalised landmarks -> (478, 2) float64 in [0, 1] image units."""
    return np.array([(p.x, p.y) for p in landmarks.landmark], dtype=np.float64)


def _points_box(points: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = np.asarray(points).min(axis=0)
    x1, y1 = np.asarray(points).max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _dedup(faces: list[Face]) -> list[Face]:
    """Largest first; drop a face that `_same_face` pairs with a higher-scoring or larger one."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: (-f.score, -f.area)):
        if not any(_same_face(face.box, k.box) for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: -f.area)
