"""Tests for core/background.py: the whole picture stylized once, reduced, then guided-upsampled (mode "full")."""

from pathlib import Path

import numpy as np
import pytest

from core.background import background_size, stylize_background, stylize_tiles
from core.runtime import get_runner

ROOT = Path(__file__).resolve().parents[1]


class TestStylizeTiles:
    def test_odd_sizes(self, tiny_style):
        image = np.random.default_rng(0).integers(0, 255, (150, 97, 3), dtype=np.uint8)
        assert stylize_tiles(image, get_runner(tiny_style)).shape == image.shape

    def test_tile_interior_equals_single_pass(self, tiny_style):
        runner = get_runner(tiny_style)
        r = runner.resolution
        image = np.random.default_rng(1).integers(0, 255, (r, 2 * r, 3), dtype=np.uint8)
        out = stylize_tiles(image, runner, overlap=16)
        from core.aligned import template_mesh

        first = runner(image[None, :, :r], template_mesh(runner.package.config.template, r)[None], 0.0)[0]
        assert np.abs(out[:, : r - 16].astype(int) - first[:, : r - 16]).max() <= 1


def transition_width(row: np.ndarray, lo: float = 32, hi: float = 223) -> int:
    """Pixels of a 1-D profile across one step edge that lie strictly between the two levels."""
    row = np.asarray(row, float)
    return int(((row > lo) & (row < hi)).sum())


class TestWholeImageBackground:
    """`stylize_background` (mode "full"): the picture stylized once, reduced, then guided-upsampled to full size."""

    @pytest.fixture(scope="class")
    def inverting(self, tiny_style):
        """A runner whose 'style' is the photo's negative (an exact, known answer) that counts the crops it is given."""
        from core.runtime import Runner

        class Inverting(Runner):
            backend = "fake"
            crops = 0

            def run(self, image, landmarks, alpha):
                type(self).crops += len(image)
                return -image

        return Inverting(tiny_style)

    @pytest.mark.parametrize("shape", [(301, 517), (1, 1), (2, 3), (64, 2000), (120, 2000), (517, 301)])
    def test_shape_and_dtype(self, tiny_style, shape):
        image = np.random.default_rng(0).integers(0, 255, shape + (3,), dtype=np.uint8)
        out = stylize_background(image, get_runner(tiny_style))
        assert out.shape == image.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - image).mean() > 5  # stylized, not passed through

    def test_one_generator_call_for_a_photo(self, inverting):
        assert background_size(1497, 1024, 256) == (256, 175) and background_size(200, 100, 256) == (200, 100)
        assert background_size(64, 2000, 256) == (64, 2000) and background_size(100, 2000, 256) == (64, 1280)
        inverting.resolution, before = 256, inverting.crops
        try:
            out = stylize_background(np.zeros((1497, 1024, 3), np.uint8), inverting)
        finally:
            inverting.resolution = inverting.package.config.resolution
        assert inverting.crops - before == 1  # stylize_tiles at this size made 35
        assert (out == 255).all()

    def test_strength(self, tiny_style):
        image = np.random.default_rng(2).integers(0, 255, (240, 330, 3), dtype=np.uint8)
        runner = get_runner(tiny_style)
        np.testing.assert_array_equal(stylize_background(image, runner, 0.0), image)
        full = np.abs(stylize_background(image, runner, 1.0).astype(int) - image).mean()
        half = np.abs(stylize_background(image, runner, 0.5).astype(int) - image).mean()
        assert full > 10 and 0.35 * full < half < 0.65 * full

    def test_a_step_edge_stays_sharp(self, inverting):
        """A vertical black/white edge in a photo reduced 7.5x: the output's edge is as sharp as the photo's (a few
        px), where upsampling the reduced output alone spreads it over many."""
        import cv2

        photo = np.zeros((480, 720, 3), np.uint8)
        photo[:, 361:] = 255  # not on the reduced grid
        out = stylize_background(photo, inverting)
        assert out.shape == photo.shape
        rows = out[40:440:40, 330:392, 0]
        assert max(transition_width(r) for r in rows) <= 3
        assert np.abs(out[:, :340].astype(int) - 255).max() <= 8 and out[:, 380:].max() <= 8  # the negative
        h, w = background_size(480, 720, inverting.resolution)
        small = 255 - cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
        blurred = cv2.resize(small, (720, 480), interpolation=cv2.INTER_CUBIC)[240, 330:392, 0]
        assert transition_width(blurred) >= 6  # the test tells the two apart

    def test_full_mode_end_to_end_with_a_bundled_style(self):
        from core.images import load_image
        from core.package import load_style

        style = load_style(ROOT / "styles" / "ink")
        photo = load_image(ROOT / "examples" / "astronaut.jpg")
        from core.engine import stylize

        result = stylize(ROOT / "examples" / "astronaut.jpg", style, mode="full")
        assert result.image.shape == photo.shape and result.image.dtype == np.uint8
        assert len(result.faces) == 1 and result.message == ""
        assert np.abs(result.image[-60:].astype(int) - photo[-60:]).mean() > 10  # the background is stylized ...
        from core.engine import face_matrices

        background = stylize_background(photo, get_runner(style), matrices=face_matrices(result.faces, 256))
        np.testing.assert_array_equal(result.image[-60:], background[-60:])  # ... by the new path
        x0, y0, x1, y1 = map(int, result.faces[0].box)
        assert np.abs(result.image[y0:y1, x0:x1].astype(int) - background[y0:y1, x0:x1]).mean() > 3  # face on top


class TestSurrounds:
    """`stylize_surrounds`: the square around each face restyled at nearly the crop's resolution (whole-image mode)."""

    @staticmethod
    def crop_matrix(x: float, y: float, side: float, size: int) -> np.ndarray:
        """photo -> crop matrix of an axis-aligned crop of `side` photo px at (x, y), `size` crop px."""
        k = size / side
        return np.array([[k, 0.0, -k * x], [0.0, k, -k * y]])

    def test_box_is_the_crop_grown_about_its_centre_and_clipped(self):
        from core.background import surround_box

        m = self.crop_matrix(100, 200, 300, 256)
        assert surround_box(m, 256, (1000, 1000), scale=1.0) == (100, 200, 400, 500)
        assert surround_box(m, 256, (1000, 1000), scale=2.0) == (0, 50, 550, 650)  # x clipped at 0
        assert surround_box(m, 256, (600, 500), scale=2.0) == (0, 50, 500, 600)

    def test_box_mask_feathers_inner_edges_only(self):
        from core.background import box_mask

        mask = box_mask((0, 10, 100, 110), (200, 100), feather=0.2)[..., 0]
        assert mask.shape == (100, 100)
        assert mask[50, 0] == 1 and mask[50, 99] == 1  # the image's own left and right borders: no fade
        assert mask[0, 50] < 0.01 and mask[99, 50] < 0.01  # top and bottom fade out
        assert mask[20:80, :].min() == 1  # one ramp (20 px) in from the faded edges it is whole
        assert np.all(np.diff(mask[:20, 50]) > 0)

    @pytest.fixture()
    def inverting(self, tiny_style):
        from core.runtime import Runner

        class Inverting(Runner):
            backend = "fake"
            calls = crops = 0

            def run(self, image, landmarks, alpha):
                type(self).calls += 1
                type(self).crops += len(image)
                return -image

        runner = Inverting(tiny_style)
        runner.resolution = 256
        return runner

    def test_fine_detail_near_a_face_comes_back(self, inverting):
        """A 2 px checkerboard in a 2400 px photo: the reduced background (9.4x) loses it, the face's surround (a 400 px
        crop, restyled at 256 px: 1.6x) keeps it; far from the face nothing changes."""
        image = np.full((2400, 2400, 3), 128, np.uint8)
        board = ((np.indices((2400, 2400)).sum(0) // 2) % 2 * 160 + 48).astype(np.uint8)
        image[:] = board[..., None]
        background = stylize_background(image, inverting)
        m = self.crop_matrix(1000, 1000, 400, 256)
        calls, crops = inverting.calls, inverting.crops
        out = stylize_background(image, inverting, matrices=[m, self.crop_matrix(200, 200, 300, 256)])
        assert inverting.calls - calls == 1 and inverting.crops - crops == 3  # the picture and both surrounds
        inside = out[1100:1300, 1100:1300].astype(int)
        negative = 255 - image[1100:1300, 1100:1300].astype(int)
        assert np.abs(inside - negative).mean() < 0.5 * np.abs(background[1100:1300, 1100:1300] - negative).mean()
        np.testing.assert_array_equal(out[1900:, 1900:], background[1900:, 1900:])

    def test_a_face_as_large_as_the_photo_costs_no_call(self, inverting):
        image = np.random.default_rng(3).integers(0, 255, (600, 600, 3), dtype=np.uint8)
        calls = inverting.calls
        out = stylize_background(image, inverting, matrices=[self.crop_matrix(50, 50, 500, 256)])
        assert inverting.calls - calls == 1  # 256 px for 780: no gain of 1.5x over the background's 256 for 600
        np.testing.assert_array_equal(out, stylize_background(image, inverting))

    def test_strength_zero_is_the_photo(self, inverting):
        image = np.random.default_rng(4).integers(0, 255, (900, 700, 3), dtype=np.uint8)
        out = stylize_background(image, inverting, 0.0, matrices=[self.crop_matrix(300, 300, 150, 256)])
        np.testing.assert_array_equal(out, image)

    def test_the_engine_passes_each_face_crop(self, monkeypatch):
        """Whole-image mode hands the background pass each face's crop matrix (stills and frames alike)."""
        import core.engine as engine
        from core.alignment import alignment_matrix

        seen = []
        real = engine.stylize_background

        def spy(image, runner, strength=1.0, matrices=()):
            seen.append(list(matrices))
            return real(image, runner, strength, matrices)

        from core.images import load_image

        monkeypatch.setattr(engine, "stylize_background", spy)
        photo = load_image(ROOT / "examples" / "astronaut.jpg")
        result = engine.stylize(photo, str(ROOT / "styles" / "ink"), mode="full")
        engine.FrameStylizer(str(ROOT / "styles" / "ink"), mode="full")(photo, 0.0)
        engine.FrameStylizer(str(ROOT / "styles" / "ink"), mode="full", surround=False)(photo, 0.0)
        assert [len(s) for s in seen] == [1, 1, 0]
        np.testing.assert_allclose(seen[0][0], alignment_matrix(result.faces[0].points, 256))


class TestBackgroundKeys:
    """`BackgroundKeys`: whole-image mode on consecutive frames reuses the last restyled background while the picture
    and the faces' surround boxes stay nearly the same, for at most `max_age` frames."""

    @pytest.fixture()
    def inverting(self, tiny_style):
        from core.runtime import Runner

        class Inverting(Runner):
            backend = "fake"
            calls = 0

            def run(self, image, landmarks, alpha):
                type(self).calls += 1
                return -image

        runner = Inverting(tiny_style)
        runner.resolution = 256
        return runner

    @staticmethod
    def frame(seed: int = 0, shape=(480, 640)) -> np.ndarray:
        """A smooth random picture (so a small shift changes it little), (H, W, 3) uint8."""
        import cv2

        small = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
        return cv2.resize(small, shape[::-1], interpolation=cv2.INTER_CUBIC)

    def test_a_key_frame_is_the_plain_background(self, inverting):
        from core.background import BackgroundKeys

        image, m = self.frame(), TestSurrounds.crop_matrix(200, 100, 120, 256)
        out = BackgroundKeys()(image, inverting, 1.0, [m])
        np.testing.assert_array_equal(out, stylize_background(image, inverting, 1.0, [m]))

    def test_reuse_up_to_max_age_then_the_generator_again(self, inverting):
        from core.background import BackgroundKeys

        keys, image = BackgroundKeys(max_age=2), self.frame()
        calls = inverting.calls
        outs = [keys(image, inverting) for _ in range(7)]
        assert inverting.calls - calls == 3 and (keys.generated, keys.reused) == (3, 4)  # frames 0, 3, 6
        for out in outs[1:]:  # the same frame: reuse changes nothing
            np.testing.assert_array_equal(out, outs[0])

    def test_max_age_zero_never_reuses(self, inverting):
        from core.background import BackgroundKeys

        keys, image = BackgroundKeys(max_age=0), self.frame()
        for _ in range(3):
            keys(image, inverting)
        assert (keys.generated, keys.reused) == (3, 0)

    def test_a_changed_picture_calls_the_generator(self, inverting):
        from core.background import BackgroundKeys

        keys = BackgroundKeys(max_age=5, change=3.0)
        keys(self.frame(0), inverting)
        keys(self.frame(0) // 2 + 10, inverting)  # the light changed
        keys(self.frame(1), inverting)  # another picture
        assert (keys.generated, keys.reused) == (3, 0)

    def test_a_moved_face_calls_the_generator(self, inverting):
        from core.background import BackgroundKeys

        keys, image = BackgroundKeys(max_age=5, move=0.05), self.frame()
        crop = TestSurrounds.crop_matrix
        keys(image, inverting, 1.0, [crop(200, 100, 120, 256)])
        keys(image, inverting, 1.0, [crop(202, 100, 120, 256)])  # 2 px of a 156 px box: kept
        assert keys.reused == 1
        keys(image, inverting, 1.0, [crop(230, 100, 120, 256)])  # 30 px: the surround is restyled
        keys(image, inverting, 1.0, [])  # the face left
        assert (keys.generated, keys.reused) == (3, 1)

    def test_a_reused_background_follows_the_frame_where_the_style_follows_the_photo(self, inverting):
        """On a grey picture the negative is a style that follows the photo's luminance everywhere (gain -1): a reused
        key brought up against a shifted frame is close to that frame's own negative, far closer than the key
        frame's output is."""
        import cv2

        from core.background import BackgroundKeys

        image = np.repeat(self.frame(2)[..., :1], 3, 2)
        shifted = cv2.warpAffine(image, np.float32([[1, 0, 3], [0, 1, 2]]), image.shape[1::-1],
                                 borderMode=cv2.BORDER_REFLECT)
        keys = BackgroundKeys(max_age=2, change=50.0)
        first = keys(image, inverting)
        reused = keys(shifted, inverting)
        assert keys.reused == 1
        truth = stylize_background(shifted, inverting).astype(int)
        assert np.abs(reused - truth).mean() < 0.5 * np.abs(first - truth).mean()

    def test_tiles_and_strength_zero_are_never_reused(self, inverting):
        from core.background import BackgroundKeys

        keys = BackgroundKeys(max_age=5)
        small = self.frame(shape=(100, 120))  # at its own size: tiles
        keys(small, inverting), keys(small, inverting)
        np.testing.assert_array_equal(keys(self.frame(), inverting, 0.0), self.frame())
        assert (keys.generated, keys.reused) == (0, 0)

    @pytest.mark.parametrize("kwargs", [{"max_age": -1}, {"change": -1.0}, {"move": -0.1}])
    def test_bad_settings(self, kwargs):
        from core.background import BackgroundKeys

        with pytest.raises(ValueError, match="max_age >= 0"):
            BackgroundKeys(**kwargs)

    def test_frame_stylizer_reuses_backgrounds_in_full_mode_only(self):
        import core.engine as engine
        from core.images import load_image

        photo = load_image(ROOT / "examples" / "astronaut.jpg")
        full = engine.FrameStylizer(str(ROOT / "styles" / "ink"), mode="full", reuse=2)
        for t in range(3):
            full(photo, t / 30)
        assert (full.background_keys.generated, full.background_keys.reused) == (1, 2)
        full.reset()
        assert (full.background_keys.generated, full.background_keys.reused) == (0, 0)
        assert engine.FrameStylizer(str(ROOT / "styles" / "ink"), mode="face", reuse=2).background_keys is None
        assert engine.FrameStylizer(str(ROOT / "styles" / "ink"), mode="full", reuse=0).background_keys is None
