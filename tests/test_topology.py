"""Tests for core/topology.py: the canonical landmark subset, its mirror map and landmark group edits."""

from __future__ import annotations

import numpy as np
import pytest

from core import topology
from core.errors import LandmarkError
from core.topology import edit_landmarks

SIZE = 64


class TestFlip:
    def test_flip_is_an_involution_that_swaps_sides(self):
        np.testing.assert_array_equal(topology.FLIP[topology.FLIP], np.arange(topology.NUM_CANONICAL))
        for side, other in (("right_eye", "left_eye"), ("right_brow", "left_brow"), ("right_iris", "left_iris")):
            np.testing.assert_array_equal(topology.FLIP[topology.GROUP_SLICES[side]], topology.GROUP_SLICES[other])


def template_points(n: int = 3, size: int = SIZE) -> np.ndarray:
    """n copies (n, 73, 2) px of the photo template, each shifted a little, so units have distinct centres."""
    from core.templates import PHOTO_TEMPLATE

    base = (np.asarray(PHOTO_TEMPLATE) + 1) * size / 2
    return np.stack([base + k for k in range(n)]).astype(np.float32)


class TestEditLandmarks:
    def test_no_edit_is_identity_and_a_copy(self):
        pts = template_points()
        out = edit_landmarks(pts, {}, SIZE)
        np.testing.assert_array_equal(out, pts)
        assert out is not pts

    def test_scale_about_each_eye_centre(self):
        pts = template_points()
        out = edit_landmarks(pts, {"eyes": {"scale": [1.0, 2.0]}}, SIZE)
        for side in ("right", "left"):
            unit = np.concatenate([topology.GROUP_SLICES[f"{side}_eye"], topology.GROUP_SLICES[f"{side}_iris"]])
            centre = pts[:, unit].mean(1, keepdims=True)
            np.testing.assert_allclose(out[:, unit], centre + (pts[:, unit] - centre) * [1.0, 2.0], atol=1e-4)
        moved = np.zeros(topology.NUM_CANONICAL, bool)
        moved[np.concatenate([topology.GROUP_SLICES[g] for g in ("right_eye", "left_eye", "right_iris",
                                                                  "left_iris")])] = True
        np.testing.assert_array_equal(out[:, ~moved], pts[:, ~moved])

    def test_top_anchor_keeps_the_upper_edge(self):
        pts = template_points()
        out = edit_landmarks(pts, {"eyes": {"scale": [1.0, 2.0], "anchor": "top"}}, SIZE)
        eye = topology.GROUP_SLICES["left_eye"]
        np.testing.assert_allclose(out[:, eye, 1].min(1), pts[:, eye, 1].min(1), atol=1e-4)
        np.testing.assert_allclose(np.ptp(out[:, eye, 1], 1), 2 * np.ptp(pts[:, eye, 1], 1), atol=1e-4)
        np.testing.assert_allclose(out[:, eye, 0], pts[:, eye, 0], atol=1e-4)

    def test_shift_is_outward_for_paired_groups_and_plain_on_the_midline(self):
        pts = template_points(1)
        out = edit_landmarks(pts, {"brows": {"shift": [0.1, 0.0]}, "lips": {"shift": [0.1, -0.05]}}, SIZE)
        d = (out - pts)[0] / (SIZE / 2)
        np.testing.assert_allclose(d[topology.GROUP_SLICES["right_brow"]], [[-0.1, 0.0]] * 5, atol=1e-5)
        np.testing.assert_allclose(d[topology.GROUP_SLICES["left_brow"]], [[0.1, 0.0]] * 5, atol=1e-5)
        np.testing.assert_allclose(d[topology.GROUP_SLICES["lips_inner"]], [[0.1, -0.05]] * 8, atol=1e-5)

    def test_commutes_with_a_horizontal_flip(self):
        pts = template_points(2) + np.random.default_rng(0).normal(0, 1, (2, topology.NUM_CANONICAL, 2))
        edit = {"eyes": {"scale": [1.2, 1.7], "shift": [0.02, 0.03]}, "lips": {"scale": 0.7}}

        def flip(p):
            q = p[:, topology.FLIP].copy()
            q[..., 0] = SIZE - q[..., 0]
            return q

        np.testing.assert_allclose(edit_landmarks(flip(pts), edit, SIZE), flip(edit_landmarks(pts, edit, SIZE)),
                                   atol=1e-4)

    @pytest.mark.parametrize("edit, match", [
        ({"eyez": {"scale": 2}}, "unknown group 'eyez'"),
        ({"eyes": 2}, "expected"),
        ({"eyes": {"scale": 2, "rotate": 1}}, "expected"),
        ({"eyes": {"scale": -1}}, "scale must be in"),
        ({"eyes": {"anchor": "middle"}}, "anchor must be one of"),
        ({"eyes": {"scale": [1, 2, 3]}}, "two numbers"),
        ({"lips": {"shift": ["a", 0]}}, "two numbers"),
    ])
    def test_bad_edit(self, edit, match):
        with pytest.raises(LandmarkError, match=match):
            edit_landmarks(template_points(1), edit, SIZE)
