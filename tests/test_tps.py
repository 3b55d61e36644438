"""Tests for core/tps.py: coordinates, TPS solve/evaluate, image warps, template basis and ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import LandmarkError
from core.tps import (
    TemplateTPS,
    TPSParams,
    TPSWarp,
    identity_grid,
    norm_to_pixel,
    pixel_to_norm,
    solve_tps,
    template_basis,
    tps_grid,
    tps_kernel,
    transform_points,
    warp_image,
)


def _points(batch: int, n: int, dtype: torch.dtype = torch.float64, seed: int = 0, spread: float = 0.8) -> torch.Tensor:
    """Random well-spread control points in [-spread, spread] (B, N, 2)."""
    gen = torch.Generator().manual_seed(seed)
    return ((torch.rand(batch, n, 2, generator=gen, dtype=torch.float64) * 2 - 1) * spread).to(dtype)


def _jitter(points: torch.Tensor, scale: float = 0.05, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return points + scale * torch.randn(points.shape, generator=gen, dtype=torch.float64).to(points.dtype)


def _random_affine(seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    linear = torch.eye(2, dtype=torch.float64) + 0.3 * torch.randn(2, 2, generator=gen, dtype=torch.float64)
    return linear, 0.2 * torch.randn(2, generator=gen, dtype=torch.float64)


def _coordinate_image(height: int, width: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(1, 2, H, W) image whose pixel value is its own normalized (x, y) centre."""
    return identity_grid(height, width, dtype=dtype).permute(2, 0, 1)[None]


class TestPixelToNorm:
    def test_pixel_centres_and_edges(self):
        pts = torch.tensor([[0.5, 0.5], [0.0, 0.0], [8.0, 4.0], [7.5, 3.5]])
        expected = torch.tensor([[-1 + 1 / 8, -1 + 1 / 4], [-1.0, -1.0], [1.0, 1.0], [1 - 1 / 8, 1 - 1 / 4]])
        torch.testing.assert_close(pixel_to_norm(pts, height=4, width=8), expected)

    def test_numpy_and_int_input(self):
        out = pixel_to_norm(np.array([[4, 2]]), 4, 8)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        np.testing.assert_allclose(out, [[0.0, 0.0]])
        assert pixel_to_norm(np.zeros((3, 2), np.float32), 4, 8).dtype == np.float32

    def test_matches_identity_grid(self):
        rows, cols = torch.meshgrid(torch.arange(3.0), torch.arange(5.0), indexing="ij")
        centres = torch.stack([cols + 0.5, rows + 0.5], dim=-1).double()
        torch.testing.assert_close(pixel_to_norm(centres, 3, 5), identity_grid(3, 5, dtype=torch.float64))

    def test_bad_input(self):
        with pytest.raises(LandmarkError, match=r"\(\.\.\., 2\)"):
            pixel_to_norm(torch.zeros(4, 3), 4, 4)
        with pytest.raises(ValueError, match="positive integers"):
            pixel_to_norm(torch.zeros(4, 2), 0, 4)


class TestNormToPixel:
    def test_round_trip(self):
        pts = torch.rand(2, 7, 2, dtype=torch.float64) * 100
        torch.testing.assert_close(norm_to_pixel(pixel_to_norm(pts, 90, 120), 90, 120), pts)
        arr = np.random.default_rng(0).uniform(-1, 1, (5, 2))
        np.testing.assert_allclose(pixel_to_norm(norm_to_pixel(arr, 9, 13), 9, 13), arr)

    def test_corners(self):
        out = norm_to_pixel(torch.tensor([[-1.0, -1.0], [1.0, 1.0]]), height=4, width=8)
        torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [8.0, 4.0]]))

    def test_bad_input(self):
        with pytest.raises(LandmarkError):
            norm_to_pixel(np.zeros(5), 4, 4)


class TestIdentityGrid:
    def test_matches_affine_grid(self):
        theta = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=torch.float64)
        expected = F.affine_grid(theta, [1, 1, 5, 7], align_corners=False)[0]
        torch.testing.assert_close(identity_grid(5, 7, dtype=torch.float64), expected)

    def test_sampling_is_identity(self):
        img = torch.rand(1, 3, 6, 9)
        out = F.grid_sample(img, identity_grid(6, 9)[None], align_corners=False)
        torch.testing.assert_close(out, img)


class TestTpsKernel:
    def test_values(self):
        r2 = torch.tensor([0.0, 1.0, 0.25, 4.0], dtype=torch.float64)
        torch.testing.assert_close(tps_kernel(r2), torch.tensor([0.0, 0.0, 0.25 * np.log(0.25), 4 * np.log(4.0)],
                                                                dtype=torch.float64))

    def test_finite_gradient_at_zero(self):
        p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        c = torch.zeros(2, dtype=torch.float64)
        tps_kernel(((p - c) ** 2).sum()).backward()
        assert torch.isfinite(p.grad).all()
        r2 = torch.zeros(3, requires_grad=True)
        tps_kernel(r2).sum().backward()
        assert torch.isfinite(r2.grad).all()


class TestSolveTps:
    def test_exact_interpolation(self):
        src = _points(2, 12)
        dst = _jitter(src, 0.1)
        params = solve_tps(src, dst)
        assert isinstance(params, TPSParams)
        assert params.centers.shape == (2, 12, 2) and params.kernel_weights.shape == (2, 12, 2)
        assert params.affine.shape == (2, 3, 2)
        torch.testing.assert_close(transform_points(params, src), dst, atol=1e-8, rtol=0)

    def test_identity(self):
        src = _points(1, 10)
        params = solve_tps(src, src)
        torch.testing.assert_close(params.kernel_weights, torch.zeros_like(src), atol=1e-10, rtol=0)
        identity = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
        torch.testing.assert_close(params.affine[0], identity, atol=1e-10, rtol=0)

    def test_affine_reproduction(self):
        linear, shift = _random_affine()
        src = _points(1, 9)
        params = solve_tps(src, src @ linear.T + shift)
        other = _points(1, 50, seed=7, spread=1.0)
        torch.testing.assert_close(transform_points(params, other), other @ linear.T + shift, atol=1e-8, rtol=0)
        torch.testing.assert_close(params.kernel_weights, torch.zeros_like(src), atol=1e-8, rtol=0)

    def test_regularization_smooths(self):
        src = _points(1, 15)
        dst = _jitter(src, 0.1)
        exact, smooth = solve_tps(src, dst), solve_tps(src, dst, reg=0.1)
        assert (transform_points(smooth, src) - dst).abs().max() > 1e-3
        assert smooth.kernel_weights.norm() < exact.kernel_weights.norm()
        assert solve_tps(src, dst, reg=1.0).kernel_weights.norm() < smooth.kernel_weights.norm()

    def test_gradcheck(self):
        src = _points(1, 5).requires_grad_()
        dst = _jitter(src.detach(), 0.1).requires_grad_()
        query = _points(1, 4, seed=5)
        assert torch.autograd.gradcheck(lambda s, d: transform_points(solve_tps(s, d), query), (src, dst))
        # Evaluating exactly at the control points (r2 = 0) must also have finite gradients.
        transform_points(solve_tps(src, dst), src).sum().backward()
        assert torch.isfinite(src.grad).all() and torch.isfinite(dst.grad).all()

    def test_batch_equals_loop(self):
        src, query = _points(3, 8), _points(3, 6, seed=9)
        dst = _jitter(src, 0.1)
        batched = transform_points(solve_tps(src, dst, reg=0.01), query)
        for b in range(3):
            single = transform_points(solve_tps(src[b : b + 1], dst[b : b + 1], reg=0.01), query[b : b + 1])
            torch.testing.assert_close(batched[b : b + 1], single)

    @pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-3), (torch.float64, 1e-8)])
    def test_dtypes(self, dtype, atol):
        src = _points(2, 20, dtype)
        dst = _jitter(src, 0.05)
        params = solve_tps(src, dst)
        out = transform_points(params, src)
        assert params.affine.dtype == dtype and out.dtype == dtype
        torch.testing.assert_close(out, dst, atol=atol, rtol=0)

    def test_bad_input(self):
        src = _points(1, 5)
        with pytest.raises(LandmarkError, match="same shape"):
            solve_tps(src, src[:, :4])
        with pytest.raises(LandmarkError, match="at least 3"):
            solve_tps(src[:, :2], src[:, :2])
        with pytest.raises(LandmarkError, match=r"\(B, N, 2\)"):
            solve_tps(src[0], src[0])
        nan = src.clone()
        nan[0, 2, 1] = float("nan")
        with pytest.raises(LandmarkError, match="NaN"):
            solve_tps(nan, src)
        with pytest.raises(LandmarkError, match="dst contains NaN"):
            solve_tps(src, nan)
        dup = src.clone()
        dup[0, 1] = dup[0, 0]
        with pytest.raises(LandmarkError, match="duplicated"):
            solve_tps(dup, src)
        with pytest.raises(ValueError, match="reg"):
            solve_tps(src, src, reg=-1.0)
        assert issubclass(LandmarkError, ValueError)


class TestTransformPoints:
    def test_shared_query_broadcasts(self):
        src = _points(2, 6)
        dst = _jitter(src)
        query = _points(1, 4, seed=4)
        params = solve_tps(src, dst)
        torch.testing.assert_close(transform_points(params, query), transform_points(params, query.expand(2, -1, -1)))

    def test_bad_input(self):
        params = solve_tps(_points(2, 6), _points(2, 6, seed=2))
        with pytest.raises(LandmarkError, match="batch"):
            transform_points(params, _points(3, 4))
        with pytest.raises(LandmarkError, match=r"\(B, N, 2\)"):
            transform_points(params, torch.zeros(2, 4, 3, dtype=torch.float64))


class TestTpsGrid:
    def test_identity(self):
        src = _points(2, 7)
        grid = tps_grid(solve_tps(src, src), 5, 6)
        assert grid.shape == (2, 5, 6, 2)
        torch.testing.assert_close(grid, identity_grid(5, 6, dtype=torch.float64).expand(2, -1, -1, -1))

    def test_matches_transform_points_at_pixel_centres(self):
        src = _points(2, 7)
        params = solve_tps(src, _jitter(src))
        centres = identity_grid(4, 3, dtype=torch.float64).reshape(1, -1, 2).expand(2, -1, -1)
        expected = transform_points(params, centres).reshape(2, 4, 3, 2)
        torch.testing.assert_close(tps_grid(params, 4, 3), expected)


class TestWarpImage:
    def test_identity(self):
        img = torch.rand(2, 3, 16, 20)
        src = _points(2, 10, torch.float32)
        out = warp_image(img, src, src)
        assert out.shape == img.shape
        torch.testing.assert_close(out, img, atol=1e-5, rtol=0)

    def test_content_moves_from_src_to_dst(self):
        # A translation by t moves each pixel's content by t: output(q) = input(q - t).
        img = _coordinate_image(16, 16)
        src = _points(1, 6, spread=0.5)
        shift = torch.tensor([0.25, -0.125], dtype=torch.float64)
        out = warp_image(img, src, src + shift, padding_mode="zeros")
        inner = (slice(None), slice(None), slice(4, 12), slice(4, 12))
        expected = (img - shift.view(1, 2, 1, 1))[inner]
        torch.testing.assert_close(out[inner], expected, atol=1e-10, rtol=0)

    def test_out_size_and_feature_maps(self):
        feats = torch.rand(1, 32, 8, 8)
        src = _points(1, 5, torch.float32)
        out = warp_image(feats, src, src, out_size=(12, 10), mode="nearest")
        assert out.shape == (1, 32, 12, 10)

    def test_gradcheck(self):
        img = torch.rand(1, 2, 6, 7, dtype=torch.float64, requires_grad=True)
        src = _points(1, 5, spread=0.6)
        dst = _jitter(src, 0.05).requires_grad_()
        assert torch.autograd.gradcheck(lambda i, d: warp_image(i, src, d, padding_mode="zeros"), (img, dst))

    def test_batch_equals_loop(self):
        img = torch.rand(3, 2, 9, 9, dtype=torch.float64)
        src = _points(3, 6)
        dst = _jitter(src)
        batched = warp_image(img, src, dst, reg=0.01)
        for b in range(3):
            single = warp_image(img[b : b + 1], src[b : b + 1], dst[b : b + 1], reg=0.01)
            torch.testing.assert_close(batched[b : b + 1], single)

    def test_bad_input(self):
        src = _points(1, 5)
        with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
            warp_image(torch.rand(3, 8, 8), src, src)
        with pytest.raises(ValueError, match="floating point"):
            warp_image(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), src, src)
        with pytest.raises(LandmarkError, match="batch"):
            warp_image(torch.rand(2, 3, 8, 8), src, src)
        with pytest.raises(LandmarkError, match="same shape"):
            warp_image(torch.rand(1, 3, 8, 8), src, src[:, :4])
        with pytest.raises(LandmarkError, match="dst_points contains NaN"):
            warp_image(torch.rand(1, 3, 8, 8), src, torch.full_like(src, float("nan")))


class TestTemplateBasis:
    @pytest.mark.parametrize("reg", [0.0, 0.05])
    def test_matches_tps_grid(self, reg):
        template = _points(1, 12)[0]
        pts = _jitter(template.expand(3, -1, -1), 0.1)
        basis = template_basis(template, 7, 9, reg)
        assert basis.shape == (63, 12) and basis.dtype == torch.float64
        expected = tps_grid(solve_tps(template.expand(3, -1, -1), pts, reg), 7, 9)
        torch.testing.assert_close((basis @ pts).reshape(3, 7, 9, 2), expected, atol=1e-5, rtol=0)

    def test_float32_cast_and_affine_rows(self):
        template = _points(1, 10, torch.float32)[0]
        basis = template_basis(template, 6, 5)
        assert basis.dtype == torch.float32
        torch.testing.assert_close(basis.sum(1), torch.ones(30), atol=1e-5, rtol=0)
        torch.testing.assert_close(basis @ template, identity_grid(6, 5).reshape(-1, 2), atol=1e-5, rtol=0)

    def test_bad_input(self):
        with pytest.raises(LandmarkError, match=r"\(N, 2\)"):
            template_basis(torch.zeros(1, 5, 2), 4, 4)
        with pytest.raises(LandmarkError, match="at least 3"):
            template_basis(torch.zeros(2, 2), 4, 4)
        with pytest.raises(LandmarkError, match="NaN"):
            template_basis(torch.tensor([[0.0, 0.0], [1.0, float("nan")], [0.0, 1.0]]), 4, 4)


class TestTemplateTPS:
    H, W = 16, 12

    def _template(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Template points on pixel centres (away from the border), so output pixels sit exactly on them."""
        rows = torch.tensor([3, 5, 8, 12, 10, 4, 13])
        cols = torch.tensor([2, 8, 5, 3, 9, 6, 7])
        return identity_grid(self.H, self.W, dtype=dtype)[rows, cols], rows, cols

    def test_buffers(self):
        template, _, _ = self._template()
        module = TemplateTPS(template, self.H, self.W)
        assert module.basis.shape == (self.H * self.W, 7) and module.identity.shape == (self.H * self.W, 2)
        torch.testing.assert_close(module.template, template)
        assert module.state_dict() == {}
        assert module.to(torch.float64).basis.dtype == torch.float64

    def test_alpha_zero_is_identity(self):
        template, _, _ = self._template()
        points = _jitter(template.expand(2, -1, -1), 0.1)
        grid = TemplateTPS(template, self.H, self.W)(points, alpha=0.0)
        assert grid.shape == (2, self.H, self.W, 2)
        torch.testing.assert_close(grid, identity_grid(self.H, self.W).expand(2, -1, -1, -1))

    def test_alpha_one_maps_template_to_points(self):
        template, rows, cols = self._template(torch.float64)
        points = _jitter(template.expand(2, -1, -1), 0.1).clamp(-0.8, 0.8)
        grid = TemplateTPS(template, self.H, self.W)(points)
        sampled = F.grid_sample(_coordinate_image(self.H, self.W).expand(2, -1, -1, -1), grid, align_corners=False)
        torch.testing.assert_close(sampled[:, :, rows, cols].transpose(1, 2), points, atol=1e-8, rtol=0)

    def test_alpha_shapes_scale_displacement(self):
        template, _, _ = self._template()
        points = _jitter(template.expand(2, -1, -1), 0.1)
        module = TemplateTPS(template, self.H, self.W)
        ident, full = module(points, 0.0), module(points, 1.0)
        half = ident + 0.5 * (full - ident)
        for alpha in (0.5, torch.tensor(0.5), torch.full((2,), 0.5), torch.full((2, 1), 0.5)):
            torch.testing.assert_close(module(points, alpha), half)
        mixed = module(points, torch.tensor([0.0, 2.0]))
        torch.testing.assert_close(mixed[0], ident[0])
        torch.testing.assert_close(mixed[1], ident[1] + 2 * (full[1] - ident[1]), atol=1e-5, rtol=0)

    def test_matches_tps_grid(self):
        template, _, _ = self._template(torch.float64)
        points = _jitter(template.expand(2, -1, -1), 0.1)
        expected = tps_grid(solve_tps(template.expand(2, -1, -1), points, reg=0.02), self.H, self.W)
        torch.testing.assert_close(TemplateTPS(template, self.H, self.W, reg=0.02)(points), expected)

    def test_bad_input(self):
        template, _, _ = self._template()
        module = TemplateTPS(template, self.H, self.W)
        with pytest.raises(LandmarkError, match="7 landmarks"):
            module(torch.zeros(1, 6, 2))
        with pytest.raises(LandmarkError, match=r"\(B, N, 2\)"):
            module(template)
        with pytest.raises(LandmarkError, match="NaN"):
            module(torch.full((1, 7, 2), float("nan")))
        with pytest.raises(LandmarkError, match="at least 3"):
            TemplateTPS(template[:2], self.H, self.W)


class _WarpFeatures(torch.nn.Module):
    def __init__(self, tps: TemplateTPS) -> None:
        super().__init__()
        self.tps = tps

    def forward(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(image, self.tps(points, alpha), align_corners=False)


class TestTemplateTPSOnnx:
    def test_onnx_parity(self, tmp_path):
        ort = pytest.importorskip("onnxruntime")
        template = _points(1, 20, torch.float32)[0]
        model = _WarpFeatures(TemplateTPS(template, 24, 20)).eval()
        image = torch.rand(2, 4, 24, 20)
        points = _jitter(template.expand(2, -1, -1), 0.05)
        alpha = torch.tensor([1.0, 0.7])
        path = tmp_path / "template_tps.onnx"
        torch.onnx.export(
            model, (image, points, alpha), str(path), dynamo=False, opset_version=17,
            input_names=["image", "points", "alpha"], output_names=["warped"],
        )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"image": image.numpy(), "points": points.numpy(), "alpha": alpha.numpy()})
        with torch.no_grad():
            expected = model(image, points, alpha).numpy()
        assert np.abs(out - expected).max() < 1e-4


class TestTPSWarp:
    def test_matches_warp_image(self):
        img = torch.rand(1, 3, 10, 10)
        src = _points(1, 6, torch.float32)
        dst = _jitter(src)
        out = TPSWarp(reg=0.01, padding_mode="zeros")(img, src, dst)
        torch.testing.assert_close(out, warp_image(img, src, dst, reg=0.01, padding_mode="zeros"))


class TestAnchoredTemplateTPS:
    """Border anchors pin the crop's edge, so a template warp changes the face, not the frame."""

    def test_anchors_lie_on_the_frame_edge(self):
        from core.tps import border_anchors

        a = border_anchors(4)
        assert a.shape == (16, 2) and (a.abs().amax(1) == 1).all() and len(set(map(tuple, a.tolist()))) == 16

    def test_border_stays_and_landmarks_still_map(self):
        from core.tps import TemplateTPS, border_anchors

        g = torch.Generator().manual_seed(0)
        template = torch.rand(12, 2, generator=g) - 0.5
        points = (template * 1.25)[None]  # a uniform scale: an unanchored TPS scales the whole frame
        free = TemplateTPS(template, 32, 32)(points)
        pinned = TemplateTPS(template, 32, 32, anchors=border_anchors(8))(points)
        ident = identity_grid(32, 32).reshape(1, 32, 32, 2)
        edge = lambda grid: torch.cat([grid[0, 0], grid[0, -1], grid[0, :, 0], grid[0, :, -1]])  # noqa: E731
        assert (edge(free) - edge(ident)).abs().max() > 0.1
        assert (edge(pinned) - edge(ident)).abs().max() < 0.05
        centre = (pinned - ident)[0, 12:20, 12:20].abs().mean()
        assert centre > 0.5 * (free - ident)[0, 12:20, 12:20].abs().mean()  # the face still changes

    def test_without_anchors_unchanged(self):
        from core.tps import TemplateTPS

        template = torch.rand(10, 2, generator=torch.Generator().manual_seed(1)) - 0.5
        points = template[None] + 0.05
        torch.testing.assert_close(TemplateTPS(template, 16, 16)(points),
                                   TemplateTPS(template, 16, 16, anchors=torch.zeros(0, 2))(points))
