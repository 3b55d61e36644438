"""core/reuse.py: carrying a face's stylized crop along its landmarks between generator calls."""

import numpy as np
import pytest

from core.reuse import KeyFrames, border_pins, carry, crop_change, thumb


def grid_points(size: int, n: int = 6) -> np.ndarray:
    t = np.linspace(size * 0.25, size * 0.75, n)
    return np.stack(np.meshgrid(t, t), -1).reshape(-1, 2).astype(np.float64)


def test_border_pins_lie_on_the_border():
    pins = border_pins(64, 4)
    assert pins.shape == (16, 2)
    assert np.all((pins[:, 0] == 0) | (pins[:, 0] == 64) | (pins[:, 1] == 0) | (pins[:, 1] == 64))


def test_carry_with_unmoved_points_is_the_identity():
    import cv2

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur((rng.random((64, 64, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    pts = grid_points(64)
    assert np.abs(carry(image, pts, pts).astype(int) - image).max() <= 2  # the map is interpolated between nodes


def test_carry_moves_content_with_the_points():
    image = np.zeros((64, 64, 3), np.uint8)
    image[30:34, 30:34] = 255  # a square at (32, 32)
    pts = grid_points(64)
    moved = pts + np.array([4.0, 0.0])  # everything inside shifts right by 4 px
    out = carry(image, pts, moved)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert xs.mean() == pytest.approx(35.5, abs=0.6) and ys.mean() == pytest.approx(31.5, abs=0.6)


class Counter:
    def __init__(self, size=32):
        self.calls, self.size = [], size

    def __call__(self, index):
        self.calls.append(list(index))
        return [np.full((self.size, self.size, 3), 10 * len(self.calls), np.uint8) for _ in index]


def test_keyframes_generate_carry_and_refresh():
    keys, gen = KeyFrames(max_age=2, change=4.0), Counter()
    crop = np.full((32, 32, 3), 100, np.uint8)
    pts = grid_points(32)
    first = keys([7], [crop], [pts], [pts], gen)
    assert gen.calls == [[0]] and first[0][0, 0, 0] == 10
    keys([7], [crop], [pts], [pts], gen)
    keys([7], [crop], [pts], [pts], gen)
    assert gen.calls == [[0]] and keys.carried == 2  # carried twice: max_age reached
    keys([7], [crop], [pts], [pts], gen)
    assert gen.calls == [[0], [0]]
    other = np.full((32, 32, 3), 140, np.uint8)  # lighting changed: a new call at once
    keys([7], [other], [pts], [pts], gen)
    assert gen.calls[-1] == [0] and keys.generated == 3


def test_keyframes_new_and_lost_faces():
    keys, gen = KeyFrames(max_age=5), Counter()
    crop, pts = np.full((32, 32, 3), 100, np.uint8), grid_points(32)
    keys([1, 2], [crop, crop], [pts, pts], [pts, pts], gen)
    keys([2, 3], [crop, crop], [pts, pts], [pts, pts], gen)  # 2 is carried, 3 is new
    assert gen.calls == [[0, 1], [1]]
    keys([1], [crop], [pts], [pts], gen)  # 1 was forgotten when it left
    assert gen.calls[-1] == [0]


def test_no_reuse_means_every_frame():
    keys, gen = KeyFrames(max_age=0), Counter()
    crop, pts = np.full((32, 32, 3), 100, np.uint8), grid_points(32)
    for _ in range(3):
        keys([0], [crop], [pts], [pts], gen)
    assert len(gen.calls) == 3


def test_crop_change_is_in_levels():
    a = thumb(np.full((64, 64, 3), 100, np.uint8))
    b = thumb(np.full((64, 64, 3), 103, np.uint8))
    assert crop_change(a, b) == pytest.approx(3.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_age"):
        KeyFrames(max_age=-1)


def test_frame_stylizer_reuse_stays_close(tiny_style, astronaut):
    from core.engine import FrameStylizer
    from studio.live import moving_face_frames

    frames = moving_face_frames(astronaut, (320, 240), 8, shift=3.0)
    plain = FrameStylizer(tiny_style, mode="face")
    reused = FrameStylizer(tiny_style, mode="face", reuse=2, reuse_change=1e9)  # carry whenever young enough
    diffs = []
    for i, f in enumerate(frames):
        a, b = plain(f, i / 30).image, reused(f, i / 30).image
        diffs.append(np.abs(a.astype(int) - b).mean())
    keys = reused.keyframes
    assert keys.carried >= 4 and keys.generated + keys.carried == len(frames)
    assert max(diffs) < 3.0  # levels over the whole frame; the face moves a few px per frame
