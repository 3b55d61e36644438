"""Tests for core/tps_numpy.py: the numpy TPS agrees with core.tps's torch TPS; remap maps; the surround field."""

import numpy as np
import pytest

from core import topology
from core.aligned import to_pixels
from core.masks import grown_head
from core.templates import PHOTO_TEMPLATE
from core.tps_numpy import surround_field, tps_points, tps_remap


class TestAgreesWithTorch:
    @pytest.mark.parametrize("alpha,reg", [(1.0, 1e-3), (0.7, 1e-3), (2.0, 0.0)])
    def test_random_points(self, alpha, reg):
        """Warp fitted by core.tps.solve_tps (template -> points), applied at random query points and scaled by
        alpha about the identity, equals tps_points to 1e-5 px."""
        import torch

        from core.tps import solve_tps, transform_points

        rng = np.random.default_rng(int(alpha * 10))
        template = rng.uniform(-0.8, 0.8, (73, 2))
        points = template + rng.normal(0, 0.05, (73, 2))
        query = rng.uniform(-1.3, 1.3, (500, 2))
        params = solve_tps(torch.tensor(template)[None], torch.tensor(points)[None], reg=reg)
        mapped = transform_points(params, torch.tensor(query)[None])[0].numpy()
        expected = to_pixels(query + alpha * (mapped - query), 96)
        got = tps_points(to_pixels(points, 96), to_pixels(template, 96), 96, alpha, to_pixels(query, 96), reg=reg)
        assert got.shape == (500, 2)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)

    def test_template_tps_grid(self):
        import torch

        from core.tps import TemplateTPS

        rng = np.random.default_rng(1)
        template = rng.uniform(-0.8, 0.8, (73, 2))
        points = template + rng.normal(0, 0.05, (73, 2))
        grid = TemplateTPS(torch.tensor(template), 32, 32, reg=1e-3)(torch.tensor(points)[None], 0.7)[0].numpy()
        ys, xs = np.mgrid[0:32, 0:32] + 0.5
        got = tps_points(to_pixels(points, 32), to_pixels(template, 32), 32, 0.7, np.stack([xs, ys], -1))
        np.testing.assert_allclose(got.reshape(32, 32, 2), to_pixels(grid, 32), atol=1e-5, rtol=0)


class TestTpsRemap:
    def test_identity_when_points_equal_template(self):
        rng = np.random.default_rng(0)
        pts = rng.uniform(10, 54, (73, 2))
        remap = tps_remap(pts, pts, 64, 1.0, reg=0.0)
        ys, xs = np.mgrid[0:64, 0:64]
        assert remap.dtype == np.float32 and np.abs(remap - np.stack([xs, ys], -1)).max() < 1e-3

    def test_matches_torch_template_tps(self):
        import torch

        from core.tps import TemplateTPS, norm_to_pixel

        rng = np.random.default_rng(1)
        template = rng.uniform(-0.8, 0.8, (73, 2))
        points = template + rng.normal(0, 0.05, (73, 2))
        grid = TemplateTPS(torch.tensor(template), 32, 32, reg=1e-3)(torch.tensor(points)[None], 0.7)[0].numpy()
        remap = tps_remap((points + 1) * 16, (template + 1) * 16, 32, 0.7, reg=1e-3)
        assert np.abs(norm_to_pixel(grid, 32, 32) - 0.5 - remap).max() < 1e-3

    def test_large_crops_interpolate_the_exact_map(self):
        template = (np.asarray(PHOTO_TEMPLATE) + 1) * 256  # a photo's landmarks: a smooth change of shape
        points = (template - 256) * [0.9, 1.1] + 256 + 12 * np.sin(template[:, ::-1] / 90)
        remap = tps_remap(points, template, 512, 1.0)
        ys, xs = np.mgrid[0:512:7, 0:512:7]
        exact = tps_points(points, template, 512, 1.0, np.stack([xs, ys], -1) + 0.5) - 0.5
        assert np.abs(remap[ys, xs].reshape(-1, 2) - exact).max() < 0.1  # a tenth of a pixel


class TestSurroundField:
    def test_field_is_the_warp_near_the_head_and_zero_at_its_edge(self):
        template = (np.asarray(PHOTO_TEMPLATE) + 1) * 128
        canonical = template + np.random.default_rng(0).normal(0, 4, template.shape)
        head = grown_head(canonical[topology.GROUP_SLICES["face_oval"]])
        field, frame = surround_field(canonical, template, 256, 1.0, head)
        g = field.shape[0]
        cell = 1 / frame[0, 0]
        centre = np.array([g // 2, g // 2])  # the crop centre: inside the head
        at = (centre + 0.5) * cell + frame[0, 2] * -cell
        expected = (tps_points(canonical, template, 256, 1.0, at[None]) - at) / cell
        np.testing.assert_allclose(field[centre[1], centre[0]], expected[0], atol=1e-4)
        assert np.abs(field[0]).max() == 0 and np.abs(field[:, -1]).max() == 0
        still, _ = surround_field(template, template, 256, 1.0, head)
        assert np.abs(still).max() < 1e-6
