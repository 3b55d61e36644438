import cv2
import numpy as np
import pytest

from studio.metrics import LPIPS, kid, lpips_scores
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def lpips():
    return LPIPS(shared_path("models", "vgg16_lpips.safetensors"))


class TestLPIPS:
    def test_reference_figures(self, lpips, astronaut):
        """Near the shared file's sanity figures at 256x256: identical 0, noise of 5% of the [-1, 1] range ~0.12,
        5x5 blur ~0.29, unrelated photos ~0.79."""
        img = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)[None]
        noise = np.clip(img + np.random.default_rng(0).normal(0, 0.05 * 127.5, img.shape), 0, 255).astype(np.uint8)
        blur = cv2.blur(img[0], (5, 5))[None]
        from skimage import data

        other = cv2.resize(data.coffee(), (256, 256), interpolation=cv2.INTER_AREA)[None]
        same, noisy, blurred, unrelated = (lpips_scores(lpips, img, x)[0] for x in (img, noise, blur, other))
        assert same == pytest.approx(0.0, abs=1e-6)
        assert 0.08 < noisy < 0.2 and 0.15 < blurred < 0.4 and unrelated > 0.6


class TestKID:
    def test_same_distribution_near_zero_and_shift_positive(self):
        rng = np.random.default_rng(0)
        a, b = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
        same, _ = kid(a, b, subsets=20, subset_size=100)
        shifted, _ = kid(a, b + 1.0, subsets=20, subset_size=100)
        assert abs(same) < 0.05 and shifted > 0.5
