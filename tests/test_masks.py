"""Tests for core/masks.py: the soft head mask a stylized face is pasted with."""

import numpy as np

from core import topology
from core.masks import HEAD_SCALE, crop_mask, grown_head, head_mask
from core.templates import PHOTO_TEMPLATE


class TestGrownHead:
    def test_square_grows_about_its_centre_and_lifts(self):
        square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * 10 + 50
        grown = grown_head(square)
        sx, sy = HEAD_SCALE
        lift = 0.08 * 2 * 10 * sy
        expected = np.array([[-sx, -sy], [sx, -sy], [sx, sy], [-sx, sy]]) * 10 + 50 - [0, lift]
        np.testing.assert_allclose(grown, expected)
        np.testing.assert_array_equal(square[0], [40, 40])  # the input is left alone


class TestHeadMask:
    def test_covers_face_not_corners(self):
        oval = ((np.asarray(PHOTO_TEMPLATE) + 1) * 128)[topology.GROUP_SLICES["face_oval"]]
        mask = head_mask(oval, 256)
        centre = oval.mean(0).astype(int)
        assert mask.shape == (256, 256) and mask.dtype == np.float32 and mask[centre[1], centre[0]] > 0.95
        assert mask[:8, :8].max() == 0 and mask[-8:, -8:].max() == 0

    def test_follows_the_oval(self):
        oval = ((np.asarray(PHOTO_TEMPLATE) * 0.4 + 1) * 128)[topology.GROUP_SLICES["face_oval"]]
        left, right = head_mask(oval - [60, 0], 256), head_mask(oval + [60, 0], 256)
        assert left[128, 70] > 0.9 and left[128, 190] < 0.05
        assert right[128, 190] > 0.9 and right[128, 70] < 0.05

    def test_crop_mask_fades_to_zero_at_the_border_and_is_shared(self):
        mask = crop_mask(64)
        assert mask[32, 32] == 1 and mask[0].max() == 0 and mask[:, -1].max() == 0
        assert crop_mask(64) is mask and not mask.flags.writeable


def test_paste_mask_is_the_head_over_photos_and_the_whole_crop_over_a_stylized_background():
    from core.masks import paste_mask

    size = 128
    oval = ((np.asarray(PHOTO_TEMPLATE) + 1) * size / 2)[topology.GROUP_SLICES["face_oval"]]
    face = paste_mask(oval, size, whole_image=False)
    whole = paste_mask(oval, size, whole_image=True)
    np.testing.assert_array_equal(face, head_mask(oval, size))
    assert (whole >= face).all() and (whole >= crop_mask(size) - 1e-7).all()
    corner = (size // 8, size // 8)  # outside the head, inside the crop's feather
    assert face[corner] < 0.05 and whole[corner] > 0.5
