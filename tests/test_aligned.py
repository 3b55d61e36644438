"""Tests for core/aligned.py: unit <-> pixel coordinates, template meshes, warp sources and `prepare_aligned`."""

import numpy as np
import pytest

from core import topology
from core.aligned import (AlignedWarp, canonical_mesh, prepare_aligned, template_mesh, to_pixels, to_unit,
                          warp_anchors, warp_sources)
from core.templates import PHOTO_TEMPLATE, border_points

SIZE = 256
SMALL_FACE = np.asarray(PHOTO_TEMPLATE) * 0.8  # a style template: the average face shrunk to 80 %


def photo_mesh(seed: int = 0, noise: float = 2.0) -> np.ndarray:
    """A frontal, open-eyed face (478,2 px): the average photo face plus a little noise (damping 1)."""
    mesh = template_mesh(PHOTO_TEMPLATE, SIZE).astype(np.float64)
    mesh[topology.CANONICAL_INDICES] += np.random.default_rng(seed).normal(0, noise, (topology.NUM_CANONICAL, 2))
    return mesh


class TestCoordinates:
    def test_known_values(self):
        np.testing.assert_array_equal(to_pixels([[-1, -1], [1, 1], [0, 0.5]], 256), [[0, 0], [256, 256], [128, 192]])
        np.testing.assert_array_equal(to_unit(np.array([[0.0, 64.0], [256.0, 128.0]]), 256), [[-1, -0.5], [1, 0]])

    def test_round_trip(self):
        px = np.random.default_rng(0).uniform(-20, 300, (5, 73, 2))
        np.testing.assert_allclose(to_pixels(to_unit(px, 256), 256), px, atol=1e-12)
        unit = np.random.default_rng(1).uniform(-1.5, 1.5, (73, 2))
        np.testing.assert_allclose(to_unit(to_pixels(unit, 96), 96), unit, atol=1e-12)

    def test_equals_core_tps_on_square_crops_and_keeps_tensors(self):
        import torch

        from core.tps import norm_to_pixel, pixel_to_norm

        unit = torch.rand(2, 73, 2, dtype=torch.float64) * 2 - 1
        assert isinstance(to_pixels(unit, 64), torch.Tensor)
        torch.testing.assert_close(to_pixels(unit, 64), norm_to_pixel(unit, 64, 64))
        torch.testing.assert_close(to_unit(to_pixels(unit, 64), 64), pixel_to_norm(norm_to_pixel(unit, 64, 64), 64, 64))

    def test_keeps_float32(self):
        assert to_pixels(np.zeros((3, 2), np.float32), 64).dtype == np.float32


class TestTemplateMesh:
    def test_places_the_template_at_the_canonical_indices(self):
        mesh = template_mesh(SMALL_FACE, 64)
        assert mesh.shape == (topology.NUM_MESH_POINTS, 2) and mesh.dtype == np.float32
        np.testing.assert_allclose(mesh[topology.CANONICAL_INDICES], (SMALL_FACE + 1) * 32, atol=1e-5)
        np.testing.assert_allclose(topology.to_canonical(mesh), (SMALL_FACE + 1) * 32, atol=1e-5)
        others = np.setdiff1d(np.arange(topology.NUM_MESH_POINTS), topology.CANONICAL_INDICES)
        assert (mesh[others] == 32).all()  # the rest at the crop centre (read by nobody)

    def test_canonical_mesh_batches_and_keeps_float64(self):
        points = np.random.default_rng(0).uniform(0, 64, (3, topology.NUM_CANONICAL, 2))
        mesh = canonical_mesh(points, 64)
        assert mesh.shape == (3, topology.NUM_MESH_POINTS, 2) and mesh.dtype == np.float64
        np.testing.assert_array_equal(topology.to_canonical(mesh), points)


class TestWarpSources:
    def test_zero_is_the_face_one_is_the_average_face(self):
        points = photo_mesh(noise=6.0)
        assert warp_sources(points, 0.0, SIZE) is points
        full = warp_sources(points, 1.0, SIZE)
        np.testing.assert_allclose(topology.to_canonical(full), (np.asarray(PHOTO_TEMPLATE) + 1) * 128, atol=1e-4)
        others = np.setdiff1d(np.arange(topology.NUM_MESH_POINTS), topology.CANONICAL_INDICES)
        np.testing.assert_array_equal(full[others], points[others])  # only the canonical points are read
        half = topology.to_canonical(warp_sources(points, 0.5, SIZE))
        np.testing.assert_allclose(half, (topology.to_canonical(points) + topology.to_canonical(full)) / 2, atol=1e-4)

    def test_anchors(self):
        assert warp_anchors({}, 64).shape == (0, 2) and warp_anchors({"anchors": 0}, 64).shape == (0, 2)
        np.testing.assert_allclose(warp_anchors({"anchors": 3}, 64), (border_points(3) + 1) * 32)


class TestPrepareAligned:
    def test_alpha_zero_keeps_the_photo(self):
        points = photo_mesh()
        warp = prepare_aligned(points, 0.0, 0.0, SMALL_FACE, SIZE)
        assert isinstance(warp, AlignedWarp) and warp.alpha == 0.0 and warp.sources is points
        np.testing.assert_array_equal(warp.geometry, topology.to_canonical(points))

    def test_alpha_one_gives_the_template(self):
        warp = prepare_aligned(photo_mesh(), 1.0, 0.0, SMALL_FACE, SIZE)
        assert warp.alpha == 1.0
        np.testing.assert_allclose(warp.geometry, to_pixels(SMALL_FACE, SIZE), atol=1e-9)

    def test_keep_shape_one_adds_the_average_change_to_the_face(self):
        points = photo_mesh(noise=6.0)
        warp = prepare_aligned(points, 1.0, 1.0, SMALL_FACE, SIZE)
        change = to_pixels(SMALL_FACE, SIZE) - to_pixels(np.asarray(PHOTO_TEMPLATE), SIZE)
        np.testing.assert_allclose(warp.geometry, topology.to_canonical(points) + change, atol=1e-4)
        np.testing.assert_allclose(topology.to_canonical(warp.sources), to_pixels(np.asarray(PHOTO_TEMPLATE), SIZE),
                                   atol=1e-4)

    def test_damped_alpha_scales_the_geometry(self):
        points = photo_mesh()
        eye = np.hypot(*(points[263] - points[33]))
        points[4, 0] = (points[33, 0] + points[263, 0]) / 2 + 0.25 * eye  # yaw 0.25: turn damping 0.5
        warp = prepare_aligned(points, 2.0, 0.0, SMALL_FACE, SIZE)
        assert warp.alpha == pytest.approx(1.0, abs=1e-6) and warp.alpha == float(np.float32(warp.alpha))
        own = topology.to_canonical(points)
        np.testing.assert_allclose(warp.geometry, own + warp.alpha * (to_pixels(SMALL_FACE, SIZE) - own), atol=1e-9)

    def test_closed_eyes_keep_their_geometry(self):
        from tests.test_damping import close_eyes

        points = close_eyes(photo_mesh())
        warp = prepare_aligned(points, 1.0, 0.0, SMALL_FACE, SIZE)
        assert warp.alpha == 0.0
        np.testing.assert_array_equal(warp.geometry, topology.to_canonical(points))
