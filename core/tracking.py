"""Faces through time: landmarks tracked from the previous frame and smoothed with a One Euro filter.

`FaceTracker` runs the full face detector only on the first frame, every `redetect_every` frames and
when a tracked face is lost; in between, Face Mesh alone runs on a box around each face's previous
landmarks. Each face keeps its own `OneEuroFilter` (Casiez, Roussel, Vogel, CHI 2012) on its 478
points. The engine derives every face's aligned crop, TPS warp and paste-back mask from these
landmarks alone, so stable landmarks give a stable warp and mask from frame to frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.images import load_image
from core.landmarks import Face, FaceDetector, box_iou, default_detector

# Defaults for landmarks in pixels at 640x480 (a face ~150-250 px wide), frames at 15-30 fps:
# - MIN_CUTOFF 1 Hz: at 30 fps alpha = 0.17, so white jitter of a still face shrinks to ~0.3x;
# - BETA 0.1 per (px/s): a first-order filter lags v / (2 pi fc) behind a ramp of speed v, and with
#   fc = MIN_CUTOFF + BETA v that lag stays under 1 / (2 pi BETA) = 1.6 px at any head speed;
#   jitter's own filtered speed (~10 px/s for 1 px noise) lifts fc by only ~1 Hz;
# - D_CUTOFF 1 Hz, the paper's value for the speed estimate.
MIN_CUTOFF = 1.0
BETA = 0.1
D_CUTOFF = 1.0
MIN_DT = 1e-3  # seconds used for a timestamp that does not advance (repeated or earlier)
MATCH_IOU = 0.3  # boxes of the same face in consecutive frames (or at re-detection) overlap at least this
MIN_IN_FRAME = 0.5  # a tracked box with less of its area inside the frame counts as lost


@dataclass(frozen=True)
class OneEuroState:
    """The filter's memory: last output `x` and speed estimate `dx` (units/s), both of the signal's
    shape, float64, at time `t` seconds."""

    x: np.ndarray
    dx: np.ndarray
    t: float


def smoothing_alpha(cutoff: float | np.ndarray, te: float) -> float | np.ndarray:
    """Exponential smoothing factor of a first-order low-pass at `cutoff` Hz for a sample period `te` s:
    1 / (1 + tau / te) with tau = 1 / (2 pi cutoff). Elementwise for an array of cutoffs."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / te)


def one_euro_step(state: OneEuroState | None, x: np.ndarray, t: float, min_cutoff: float = MIN_CUTOFF,
                  beta: float = BETA, d_cutoff: float = D_CUTOFF,
                  min_dt: float = MIN_DT) -> tuple[np.ndarray, OneEuroState]:
    """One sample of the 1-euro filter, elementwise over any shape: (filtered x float64, new state).

    dx = (x - x_hat_prev) / Te low-passed at `d_cutoff`; x low-passed at min_cutoff + beta |dx_hat| (the
    paper's equations, derivative from the previous output as in the 2019 reference code). No state or a
    new shape: x passes through. A `t` not after the previous one counts as Te = `min_dt` (the sample barely
    moves the output) and becomes the new reference time, so a clock that jumps back recovers at once.
    """
    x = np.asarray(x, dtype=np.float64)
    if not math.isfinite(t):
        raise ValueError(f"the timestamp must be a finite number of seconds, got {t!r}")
    if state is None or state.x.shape != x.shape:
        return x.copy(), OneEuroState(x.copy(), np.zeros_like(x), float(t))
    te = t - state.t
    if not te > 0:
        te = min_dt
    a_d = smoothing_alpha(d_cutoff, te)
    dx_hat = a_d * ((x - state.x) / te) + (1.0 - a_d) * state.dx
    a = smoothing_alpha(min_cutoff + beta * np.abs(dx_hat), te)
    x_hat = a * x + (1.0 - a) * state.x
    return x_hat, OneEuroState(x_hat, dx_hat, float(t))


class OneEuroFilter:
    """Stateful wrapper of `one_euro_step`: `f(x, t)` returns x filtered (float64, x's shape); t in seconds.

    Defaults suit (478, 2) landmarks in pixels at 640x480 (see MIN_CUTOFF / BETA above): lower
    `min_cutoff` for less jitter when still, raise `beta` for less lag when moving.
    """

    def __init__(self, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0 (Hz) and beta >= 0, got min_cutoff={min_cutoff}, "
                             f"beta={beta}, d_cutoff={d_cutoff}: try the defaults {MIN_CUTOFF}, {BETA}, {D_CUTOFF}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.state: OneEuroState | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        out, self.state = one_euro_step(self.state, x, t, self.min_cutoff, self.beta, self.d_cutoff)
        return out

    def reset(self) -> None:
        """Forget the past: the next sample passes through."""
        self.state = None


def match_boxes(previous: Sequence[Sequence[float]], current: Sequence[Sequence[float]],
                min_iou: float = MATCH_IOU) -> list[int | None]:
    """For each current box, the index of the previous box it continues (greedy by IoU, one-to-one,
    IoU >= `min_iou`) or None for a new face. Boxes are (x0, y0, x1, y1)."""
    pairs = sorted(((box_iou(p, c), i, j) for i, p in enumerate(previous) for j, c in enumerate(current)),
                   reverse=True)
    out: list[int | None] = [None] * len(current)
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in used and out[j] is None:
            out[j] = i
            used.add(i)
    return out


def fraction_in_frame(box: Sequence[float], width: int, height: int) -> float:
    """Share of the (x0, y0, x1, y1) box's area inside a width x height frame (0 for an empty box)."""
    x0, y0, x1, y1 = box
    area = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    inside = max(0.0, min(x1, width) - max(x0, 0.0)) * max(0.0, min(y1, height) - max(y0, 0.0))
    return inside / area if area > 0 else 0.0


def smooth_face(face: Face, state: OneEuroState | None, t: float, min_cutoff: float, beta: float,
                d_cutoff: float) -> tuple[Face, OneEuroState]:
    """`face` with its 478 points One-Euro filtered (box recomputed from them, score kept) and the new state."""
    points, state = one_euro_step(state, face.points, t, min_cutoff, beta, d_cutoff)
    return Face(points, (*points.min(axis=0), *points.max(axis=0)), face.score), state


@dataclass
class _Track:
    """One face followed through frames: its last raw (unsmoothed) landmarks, which place the next
    frame's mesh crop, its filter state and a stable id."""

    raw: Face
    state: OneEuroState | None
    id: int


class FaceTracker:
    """`tracker(frame, t)` -> the faces of an (H, W, 3) uint8 RGB video frame at time `t` seconds.

    Full detection (`FaceDetector.find`) on the first frame, every `redetect_every` frames and on the
    frame where any tracked face is lost (mesh misses, box jumps or leaves the frame); otherwise Face
    Mesh only, on a box around each face's previous raw landmarks. Faces are matched across frames by
    box IoU so each keeps its own One Euro filter (`smoothing=False`: raw landmarks). The engine builds
    each face's crop, warp and paste-back mask from the landmarks, so smoothed landmarks steady them.
    Counters for reports: `frames`, `detections` (frames with full detection), `tracked` (frames served
    by the mesh alone), `losses` (frames where a lost face forced a detection). `ids`: the stable id of
    each face returned by the last call.
    """

    def __init__(self, max_faces: int = 8, redetect_every: int = 30, smoothing: bool = True,
                 min_cutoff: float = MIN_CUTOFF, beta: float = BETA, detector: FaceDetector | None = None, *,
                 d_cutoff: float = D_CUTOFF, min_score: float = 0.5) -> None:
        if max_faces < 1 or redetect_every < 1:
            raise ValueError(f"need max_faces >= 1 and redetect_every >= 1 (frames), got {max_faces}, "
                             f"{redetect_every}: redetect_every=1 detects on every frame")
        OneEuroFilter(min_cutoff, beta, d_cutoff)  # validates the filter parameters
        self.max_faces, self.redetect_every, self.smoothing = int(max_faces), int(redetect_every), bool(smoothing)
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.min_score = float(min_score)
        self.detector = detector
        self.reset()

    def reset(self) -> None:
        """Forget all faces, filters and counters (a new clip or camera): the next frame is detected in full."""
        self._tracks: list[_Track] = []
        self._age = 0  # frames since the last full detection
        self._next_id = 0
        self.frames = self.detections = self.tracked = self.losses = 0
        self.ids: list[int] = []

    def __call__(self, frame: np.ndarray, t: float) -> list[Face]:
        rgb = load_image(frame, max_pixels=None)
        detector = self.detector or default_detector()
        self.frames += 1
        raw = None
        if self._tracks and self._age < self.redetect_every:
            raw = self._follow(detector, rgb)
            if raw is None:
                self.losses += 1
            else:
                self.tracked += 1
                self._age += 1
        if raw is None:
            faces, _ = detector.find(rgb, max_faces=self.max_faces, min_score=self.min_score)
            self.detections += 1
            self._age = 1
            matches = match_boxes([tr.raw.box for tr in self._tracks], [f.box for f in faces])
            raw = [(f, None if m is None else self._tracks[m]) for f, m in zip(faces, matches)]
        self._tracks = [self._advance(face, track) for face, track in raw]
        self.ids = [tr.id for tr in self._tracks]
        if not self.smoothing:
            return [tr.raw for tr in self._tracks]
        out = []
        for tr in self._tracks:
            face, tr.state = smooth_face(tr.raw, tr.state, t, self.min_cutoff, self.beta, self.d_cutoff)
            out.append(face)
        return out

    def _follow(self, detector: FaceDetector, rgb: np.ndarray) -> list[tuple[Face, _Track]] | None:
        """Each track's face found by the mesh near its previous landmarks; None as soon as one is lost."""
        h, w = rgb.shape[:2]
        found = []
        for track in self._tracks:
            box = track.raw.box
            if fraction_in_frame(box, w, h) < MIN_IN_FRAME:
                return None
            face = detector.mesh_at(rgb, box, track.raw.score)
            if (face is None or box_iou(face.box, box) < MATCH_IOU
                    or fraction_in_frame(face.box, w, h) < MIN_IN_FRAME):
                return None
            found.append((face, track))
        return found

    def _advance(self, face: Face, track: _Track | None) -> _Track:
        """The track continued with this frame's raw face, or a new one (fresh id, fresh filter)."""
        if track is None:
            track = _Track(face, None, self._next_id)
            self._next_id += 1
        track.raw = face
        return track
