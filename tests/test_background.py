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
        background = stylize_background(photo, get_runner(style))
        np.testing.assert_array_equal(result.image[-60:], background[-60:])  # ... by the new path
        x0, y0, x1, y1 = map(int, result.faces[0].box)
        assert np.abs(result.image[y0:y1, x0:x1].astype(int) - background[y0:y1, x0:x1]).mean() > 3  # face on top
