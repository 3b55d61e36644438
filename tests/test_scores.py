"""core.scores: exact cases of the two per-output scores, and the engine's scores on an identity style."""

import numpy as np
import pytest

from core import topology
from core.scores import FaceScore, inter_ocular, landmark_nme, structure_similarity, summary
from core.templates import PHOTO_TEMPLATE


def canonical(size=256):
    return (np.asarray(PHOTO_TEMPLATE, np.float64) + 1) * size / 2


class TestLandmarkNme:
    def test_identical_is_zero(self):
        p = canonical()
        assert landmark_nme(p, p) == 0.0

    def test_shift_in_percent_of_eye_distance(self):
        p = canonical()
        iod = inter_ocular(p)
        assert landmark_nme(p + [0.05 * iod, 0], p) == pytest.approx(5.0)
        moved = p.copy()
        moved[0] += [0, 0.73 * iod]  # one point of 73 moved by 73 % of the eye distance: mean 1 %
        assert landmark_nme(moved, p) == pytest.approx(1.0)

    def test_scale_invariant(self):
        p = canonical()
        q = p + np.random.default_rng(0).normal(0, 2, p.shape)
        assert landmark_nme(q * 3, p * 3) == pytest.approx(landmark_nme(q, p))

    @pytest.mark.parametrize("a,b,match", [(np.zeros((72, 2)), np.zeros((72, 2)), "canonical"),
                                           (np.zeros((73, 2)), np.zeros((73, 2)), "coincident eyes")])
    def test_bad_input(self, a, b, match):
        with pytest.raises(ValueError, match=match):
            landmark_nme(a, b)


class TestStructureSimilarity:
    def test_identical_is_one_and_inverse_is_minus_one(self, astronaut):
        assert structure_similarity(astronaut, astronaut) == pytest.approx(1.0, abs=1e-4)
        assert structure_similarity(astronaut, 255 - astronaut) < -0.7  # flat windows (EPS) count as similar

    def test_flat_images_count_as_similar_and_noise_does_not(self, astronaut):
        flat = np.full((64, 64, 3), 128, np.uint8)
        assert structure_similarity(flat, flat) == pytest.approx(1.0)
        noise = np.random.default_rng(0).integers(0, 256, astronaut.shape, dtype=np.uint8)
        assert abs(structure_similarity(astronaut, noise)) < 0.2

    def test_mask_weights_the_mean(self, astronaut):
        left = np.zeros(astronaut.shape[:2], np.float32)
        left[:, :256] = 1
        mixed = astronaut.copy()
        mixed[:, 256:] = 255 - mixed[:, 256:]  # the right half inverted
        assert structure_similarity(astronaut, mixed, left) > 0.9
        assert structure_similarity(astronaut, mixed, 1 - left) < -0.55

    def test_shapes_must_match(self, astronaut):
        with pytest.raises(ValueError, match="same"):
            structure_similarity(astronaut, astronaut[:100])


def test_summary_text():
    assert summary([]) == ""
    assert summary([FaceScore(2.04, 0.8312)]) == "geometry error 2.0 % of eye distance, likeness 0.83"
    two = summary([FaceScore(None, 0.5), FaceScore(1.0, 0.9)])
    assert two.startswith("face 1: face not found again on the output, likeness 0.50; face 2: geometry error 1.0")


@pytest.fixture(scope="module")
def identity_style(tmp_path_factory):
    """A style whose generator is the exact TPS warp (pixel skip, untrained residual): no paint at all."""
    import torch

    from core.export import save_style
    from core.generator import Generator, GeneratorConfig
    from core.package import StyleConfig

    torch.manual_seed(0)
    gen = Generator(GeneratorConfig(channels=4, blocks=1, pixel_skip=True),
                    torch.as_tensor(np.asarray(PHOTO_TEMPLATE), dtype=torch.float32))
    return save_style(tmp_path_factory.mktemp("styles") / "identity", gen,
                      StyleConfig(name="identity", resolution=128, description="exact warp"),
                      np.zeros((128, 256, 3), np.uint8))


class TestEngineScores:
    def test_identity_warp_keeps_geometry_and_structure(self, astronaut, identity_style):
        from core.engine import stylize

        for alpha in (0.0, 1.0):
            result = stylize(astronaut, identity_style, alpha=alpha, scores=True)
            (score,) = result.scores
            assert score.nme is not None and score.nme < 4.0  # Face Mesh's own jitter at 128 px is ~1.5-2.6 %
            assert score.likeness > 0.98
            assert "geometry error" in result.scores_text

    def test_a_painting_style_scores_lower_likeness(self, astronaut, identity_style, tiny_style):
        from core.engine import stylize

        same = stylize(astronaut, identity_style, scores=True).scores[0].likeness
        painted = stylize(astronaut, tiny_style, scores=True).scores[0].likeness
        assert painted < same - 0.05

    def test_off_by_default(self, astronaut, identity_style):
        from core.engine import stylize

        result = stylize(astronaut, identity_style)
        assert result.scores == [] and result.scores_text == ""
