"""core.tracking: the One Euro filter against its reference equations, and FaceTracker against per-frame
detection on synthetic clips made here from examples/ photos (a photo moved a few px per frame)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.alignment import alignment_matrix, invert_affine, transform_points
from core.landmarks import FaceDetector
from core.tracking import (BETA, FaceTracker, OneEuroFilter, OneEuroState, fraction_in_frame, match_boxes,
                           one_euro_step)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DETECTOR = FaceDetector()  # one set of MediaPipe graphs for the whole module
FPS = 30.0


def _alpha(fc: float, te: float) -> float:
    """The paper's smoothing factor, written out again here: 1 / (1 + tau / Te), tau = 1 / (2 pi fc)."""
    return 1.0 / (1.0 + (1.0 / (2.0 * math.pi * fc)) / te)


class TestOneEuro:
    def test_first_sample_passes_through(self):
        x = np.array([[3.5, -2.0], [10.0, 0.25]])
        f = OneEuroFilter()
        assert np.array_equal(f(x, 12.0), x)
        assert np.array_equal(f.state.dx, np.zeros_like(x)) and f.state.t == 12.0

    def test_constant_input_stays_constant(self):
        f = OneEuroFilter(min_cutoff=0.5, beta=2.0)
        c = np.full((478, 2), 123.25)
        for i in range(50):
            out = f(c, i / FPS)
        np.testing.assert_allclose(out, c, rtol=0, atol=1e-10)
        np.testing.assert_allclose(f.state.dx, 0.0, atol=1e-9)

    def test_steps_match_hand_computed_values(self):
        # min_cutoff=1, beta=0.5, d_cutoff=2; samples (t, x) = (0, 0), (0.1, 1), (0.3, 3)
        # step 2: Te=0.1, a_d = 1/(1 + 1/(4 pi)/0.1) = 0.556863, dx = 10, dx_hat = 5.568627,
        #         fc = 1 + 0.5 * 5.568627 = 3.784314, a = 0.703945, x_hat = a * 1 = 0.703945
        # step 3: Te=0.2, a_d = 0.715365, dx = (3 - 0.703945) / 0.2 = 11.480273,
        #         dx_hat = a_d * dx + (1 - a_d) * 5.568627 = 9.797613, fc = 5.898807, a = 0.881132,
        #         x_hat = a * 3 + (1 - a) * 0.703945 = 2.727071
        f = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=2.0)
        assert f(np.array(0.0), 0.0) == 0.0
        assert f(np.array(1.0), 0.1) == pytest.approx(0.703945, abs=1e-6)
        assert f.state.dx == pytest.approx(5.568627, abs=1e-6)
        assert f(np.array(3.0), 0.3) == pytest.approx(2.727071, abs=1e-6)
        assert f.state.dx == pytest.approx(9.797613, abs=1e-6)

    def test_beta_zero_is_a_first_order_low_pass(self):
        rng = np.random.default_rng(1)
        t = np.cumsum(rng.uniform(0.01, 0.08, 40))  # irregular frame times
        x = rng.normal(0, 5, (40, 3))
        f = OneEuroFilter(min_cutoff=2.0, beta=0.0, d_cutoff=7.0)
        y = x[0]
        for i in range(40):
            if i:
                a = _alpha(2.0, t[i] - t[i - 1])
                y = a * x[i] + (1 - a) * y
            np.testing.assert_allclose(f(x[i], t[i]), y, rtol=1e-12)

    def test_larger_beta_follows_a_ramp_with_less_lag(self):
        t = np.arange(90) / FPS
        ramp = 100.0 * t  # 100 px/s, 3 s
        lags = []
        for beta in (0.0, 0.01, BETA, 1.0):
            f = OneEuroFilter(min_cutoff=1.0, beta=beta)
            out = [float(f(np.array(v), s)) for v, s in zip(ramp, t)]
            lags.append(ramp[-1] - out[-1])
        assert all(a > b > 0 for a, b in zip(lags, lags[1:])), lags
        # the default's reason: the lag behind a ramp stays under 1 / (2 pi beta) px at any speed
        assert lags[2] < 1 / (2 * math.pi * BETA)

    def test_elementwise_over_landmark_arrays(self):
        rng = np.random.default_rng(2)
        xs = rng.normal(200, 20, (5, 478, 2))
        f = OneEuroFilter()
        whole = [f(x, i / FPS) for i, x in enumerate(xs)]
        g = OneEuroFilter()
        one = [g(x[17, 1], i / FPS) for i, x in enumerate(xs)]
        np.testing.assert_allclose([w[17, 1] for w in whole], one, rtol=1e-12)

    def test_timestamp_not_advancing(self):
        f = OneEuroFilter()
        f(np.array(0.0), 1.0)
        same = float(f(np.array(10.0), 1.0))  # repeated: Te = 1 ms, the output moves < 5% of the jump
        assert 0.0 < same < 0.5
        back = float(f(np.array(10.0), 0.5))  # earlier: also 1 ms, and 0.5 s becomes the reference
        assert same < back < 2.0 and f.state.t == 0.5
        y, state = one_euro_step(f.state, np.array(10.0), 0.5 + 1 / FPS)  # then a normal step
        assert y > back + 1.0 and state.t == pytest.approx(0.5 + 1 / FPS)
        with pytest.raises(ValueError, match="timestamp"):
            f(np.array(1.0), float("nan"))

    def test_reset_and_new_shape_restart(self):
        f = OneEuroFilter()
        f(np.zeros(3), 0.0)
        f(np.ones(3), 0.1)
        f.reset()
        assert np.array_equal(f(np.full(3, 7.0), 0.2), np.full(3, 7.0))
        y, state = one_euro_step(OneEuroState(np.zeros(3), np.zeros(3), 0.0), np.ones(2), 0.1)
        assert np.array_equal(y, np.ones(2)) and state.dx.shape == (2,)

    @pytest.mark.parametrize("kwargs", [{"min_cutoff": 0}, {"beta": -1}, {"d_cutoff": -2}])
    def test_bad_parameters(self, kwargs):
        with pytest.raises(ValueError, match="min_cutoff"):
            OneEuroFilter(**kwargs)


class TestHelpers:
    def test_match_boxes_greedy_one_to_one(self):
        prev = [(0, 0, 10, 10), (20, 0, 30, 10)]
        cur = [(21, 0, 31, 10), (100, 100, 110, 110), (1, 0, 11, 10), (2, 0, 12, 10)]
        assert match_boxes(prev, cur) == [1, None, 0, None]
        assert match_boxes([], cur) == [None] * 4 and match_boxes(prev, []) == []

    def test_fraction_in_frame(self):
        assert fraction_in_frame((-10, 0, 10, 10), 100, 100) == pytest.approx(0.5)
        assert fraction_in_frame((0, 0, 10, 10), 100, 100) == 1.0
        assert fraction_in_frame((200, 0, 210, 10), 100, 100) == 0.0


# --- tracking on synthetic clips ------------------------------------------------------------------------------

PHOTO = cv2.cvtColor(cv2.imread(str(EXAMPLES / "portrait_4.jpg")), cv2.COLOR_BGR2RGB)


def clip_frame(i: int, dx: float = 3.0, dy: float = 1.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Frame i (480, 640, 3) of a clip: the photo at 0.62x, growing 0.2% and moving (dx, dy) px per frame,
    with optional Gaussian pixel noise."""
    s = 0.62 * (1 + 0.002 * i)
    m = np.array([[s, 0, 80 + dx * i], [0, s, 20 + dy * i]], np.float32)
    f = cv2.warpAffine(PHOTO, m, (640, 480), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if noise:
        f = np.clip(f + np.random.default_rng(seed + i).normal(0, noise, f.shape), 0, 255).astype(np.uint8)
    return f


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1).mean())


def run(tracker: FaceTracker, frames: list[np.ndarray]) -> list[list]:
    return [tracker(f, i / FPS) for i, f in enumerate(frames)]


@pytest.fixture(scope="module")
def moving():
    """A 20-frame moving clip and per-frame full detection on it."""
    frames = [clip_frame(i) for i in range(20)]
    detected = [DETECTOR(f) for f in frames]
    assert all(len(d) == 1 for d in detected)
    return frames, detected


class TestFaceTracker:
    def test_tracking_equals_per_frame_detection(self, moving):
        frames, detected = moving
        tracker = FaceTracker(redetect_every=1000, smoothing=False, detector=DETECTOR)
        tracked = run(tracker, frames)
        assert (tracker.frames, tracker.detections, tracker.tracked, tracker.losses) == (20, 1, 19, 0)
        dists = [mean_distance(t[0].points, d[0].points) for t, d in zip(tracked, detected)]
        assert np.mean(dists) < 1.5 and max(dists) < 2.5, dists
        assert tracker.ids == [0] and all(t[0].score == detected[0][0].score for t in tracked)

    def test_smoothed_tracking_stays_close_to_detection(self, moving):
        frames, detected = moving  # moving ~95 px/s: the filter lags a little
        tracked = run(FaceTracker(redetect_every=1000, detector=DETECTOR), frames)
        dists = [mean_distance(t[0].points, d[0].points) for t, d in zip(tracked, detected)]
        assert np.mean(dists) < 3.0 and max(dists) < 4.0, dists
        face = tracked[-1][0]
        assert face.box == pytest.approx((*face.points.min(axis=0), *face.points.max(axis=0)))

    def test_redetects_every_n_frames(self, moving):
        tracker = FaceTracker(redetect_every=5, detector=DETECTOR)
        out = run(tracker, moving[0][:12])
        assert (tracker.detections, tracker.tracked, tracker.losses) == (3, 9, 0)  # frames 0, 5, 10
        assert all(len(f) == 1 for f in out) and tracker.ids == [0]  # the face keeps its id and filter

    def test_redetects_on_loss(self, moving):
        frames = list(moving[0][:10])
        frames[5] = np.full_like(frames[5], 128)  # the face vanishes for one frame
        tracker = FaceTracker(redetect_every=1000, detector=DETECTOR)
        out = run(tracker, frames)
        assert [len(f) for f in out] == [1] * 5 + [0] + [1] * 4
        # frame 0 detects; 1-4 track; 5 loses it and detects nothing; 6 detects it again; 7-9 track
        assert (tracker.detections, tracker.tracked, tracker.losses) == (3, 7, 1)
        assert tracker.ids == [1]  # a new face after the gap: a fresh filter, whose first sample is raw
        assert mean_distance(out[6][0].points, moving[1][6][0].points) < 1e-4

    def test_no_face_frames(self):
        tracker = FaceTracker(detector=DETECTOR)
        blank = np.full((480, 640, 3), 90, np.uint8)
        assert [tracker(blank, i / FPS) for i in range(3)] == [[], [], []]
        assert (tracker.detections, tracker.tracked, tracker.ids) == (3, 0, [])

    def test_reset(self, moving):
        tracker = FaceTracker(detector=DETECTOR)
        run(tracker, moving[0][:3])
        tracker.reset()
        assert (tracker.frames, tracker.detections, tracker.tracked) == (0, 0, 0)
        out = tracker(moving[0][3], 10.0)  # detected afresh: passes through unsmoothed
        assert tracker.detections == 1 and mean_distance(out[0].points, moving[1][3][0].points) < 1e-4

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="redetect_every"):
            FaceTracker(redetect_every=0)
        with pytest.raises(ValueError, match="beta"):
            FaceTracker(beta=-1)

    def test_smoothing_lowers_jitter_of_landmarks_and_crop(self):
        # a still face under fresh pixel noise each frame: any motion of the landmarks is jitter
        frames = [clip_frame(0, noise=6.0, seed=i) for i in range(20)]
        corners = np.array([[0, 0], [256, 0], [256, 256], [0, 256]], np.float64)
        jitter, crop_jitter = {}, {}
        for smoothing in (False, True):
            faces = run(FaceTracker(redetect_every=1000, smoothing=smoothing, detector=DETECTOR), frames)
            points = np.array([f[0].points for f in faces])
            jitter[smoothing] = mean_distance(points[1:], points[:-1])
            # the aligned crop's corners, mapped back to the frame: how much the warp and mask would move
            quads = [transform_points(corners, invert_affine(alignment_matrix(p))) for p in points]
            crop_jitter[smoothing] = mean_distance(np.array(quads[1:]), np.array(quads[:-1]))
        assert jitter[True] < 0.5 * jitter[False], jitter
        assert crop_jitter[True] < 0.5 * crop_jitter[False], crop_jitter

