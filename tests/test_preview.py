import numpy as np
import pytest

from core import topology
from core.errors import NoFaceError
from core.preview import alignment_preview, checkerboard, draw_grid, mean_template, tps_warp


class TestAlignmentPreview:
    def test_astronaut_against_a_warped_copy(self, astronaut):
        art = astronaut[:, ::-1].copy()  # the mirrored photo stands in for an artwork with the same face
        preview = alignment_preview(astronaut, art, size=128)
        assert preview.image.shape == (2 * (128 + 26) + 4, 3 * 128 + 8, 3)
        # a mirrored face aligned to the canonical frame has nearly the same (mirrored) landmarks
        mirrored = 128 - preview.artwork_points[topology.FLIP][:, 0]
        assert np.abs(mirrored - preview.photo_points[:, 0]).mean() < 4
        d = preview.to_dict()
        assert len(d["photo"]["aligned_canonical"]) == topology.NUM_CANONICAL

    def test_artwork_edit_moves_the_artwork_points_only(self, astronaut):
        edit = {"eyes": {"scale": [1.0, 2.0], "anchor": "top"}}
        plain = alignment_preview(astronaut, astronaut, size=128)
        edited = alignment_preview(astronaut, astronaut, size=128, artwork_edit=edit)
        np.testing.assert_allclose(edited.artwork_points, topology.edit_landmarks(plain.artwork_points[None], edit,
                                                                                  128)[0], atol=1e-4)
        np.testing.assert_array_equal(edited.photo_points, plain.photo_points)
        assert not np.array_equal(edited.image, plain.image)

    def test_no_face_names_the_input(self, astronaut):
        blank = np.full((200, 200, 3), 90, np.uint8)
        with pytest.raises(NoFaceError, match="art.png"):
            alignment_preview(astronaut, blank, artwork_name="art.png")


class TestMeanTemplate:
    def test_exact(self):
        pts = np.stack([np.full((73, 2), 64.0), np.full((73, 2), 192.0)])
        assert np.allclose(mean_template(pts, 256), 0.0)

    def test_bad_shape(self):
        with pytest.raises(ValueError, match="73"):
            mean_template(np.zeros((2, 10, 2)), 256)


class TestTpsWarp:
    def test_identity(self, astronaut):
        pts = np.random.default_rng(0).uniform(50, 450, (20, 2))
        out = tps_warp(astronaut, pts, pts, reg=0.0)
        assert np.abs(out.astype(int) - astronaut).max() <= 1

    def test_moves_content(self):
        image = np.zeros((64, 64, 3), np.uint8)
        image[20:24, 20:24] = 255
        src = np.array([[22.0, 22.0], [5, 5], [60, 5], [5, 60], [60, 60]])
        dst = src.copy()
        dst[0] = [40.0, 40.0]
        out = tps_warp(image, src, dst, reg=0.0)
        assert out[40, 40].min() > 200 and out[22, 22].max() < 50


class TestDrawGridAndCheckerboard:
    def test_grid_lines_only(self):
        out = draw_grid(np.zeros((32, 32, 3), np.uint8), step=8)
        assert out[0, 5].max() > 0 and out[4, 5].max() == 0

    def test_checkerboard_alternates(self):
        a, b = np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 255, np.uint8)
        c = checkerboard(a, b, tiles=2)
        assert c[0, 0, 0] == 0 and c[0, 15, 0] == 255 and c[15, 15, 0] == 0
