"""Tests for studio/losses.py: adversarial terms, R1, DiffAugment, geometry-aware cycle and deformation terms,
perceptual/texture/colour terms and the EMA/requires_grad utilities."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn

from core.templates import PHOTO_TEMPLATE
from studio import losses as L
from studio.data import random_warp, warp_to


def _points(batch: int, seed: int = 0, noise: float = 0.03) -> torch.Tensor:
    """Landmarks near the photo template, (B, 73, 2) normalized."""
    g = torch.Generator().manual_seed(seed)
    return torch.tensor(PHOTO_TEMPLATE)[None].repeat(batch, 1, 1) + noise * torch.randn(batch, 73, 2, generator=g)


def _smooth_images(batch: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Smooth random images (B, 3, S, S) in [-1, 1]: warps and round trips stay accurate on them."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(batch, 3, 4, 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)


class TestRequiresGrad:
    def test_toggle(self):
        m = nn.Linear(2, 2)
        L.requires_grad(m, False)
        assert not any(p.requires_grad for p in m.parameters())
        L.requires_grad(m, True)
        assert all(p.requires_grad for p in m.parameters())


class TestEmaUpdate:
    def test_exact(self):
        ema, model = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
        with torch.no_grad():
            ema.weight.fill_(1.0)
            model.weight.fill_(3.0)
            model.running_mean.fill_(7.0)
        L.ema_update(ema, model, 0.75)
        assert torch.allclose(ema.weight, torch.full((3,), 1.5))
        assert torch.equal(ema.running_mean, model.running_mean)  # buffers are copied
        L.ema_update(ema, model, 0.0)
        assert torch.equal(ema.weight, model.weight)


class TestDiscriminator:
    def test_patch_logits(self):
        d = L.Discriminator(channels=4)
        assert d(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 4, 4)


class TestAdversarial:
    def test_values_at_zero_logits(self):
        z = torch.zeros(4, 1, 2, 2)
        assert math.isclose(L.d_logistic_loss(z, z).item(), 2 * math.log(2), rel_tol=1e-6)
        assert math.isclose(L.g_nonsaturating_loss(z).item(), math.log(2), rel_tol=1e-6)

    def test_direction(self):
        big = torch.full((2, 1), 10.0)
        assert L.d_logistic_loss(big, -big) < 1e-3 and L.g_nonsaturating_loss(big) < 1e-3


class TestR1:
    def test_linear_discriminator(self):
        w = torch.tensor([1.0, -2.0, 3.0])
        x = torch.randn(5, 3, requires_grad=True)
        assert math.isclose(L.r1_penalty(x @ w, x).item(), 14.0, rel_tol=1e-6)

    def test_patch_logits_use_the_per_sample_mean(self):
        # logits (B, 1, 2, 2) = four copies of x @ w: the mean has gradient w, |w|^2 = 14; a sum would give 224
        w = torch.tensor([1.0, -2.0, 3.0])
        x = torch.randn(5, 3, requires_grad=True)
        logits = (x @ w)[:, None, None, None].expand(5, 1, 2, 2)
        assert math.isclose(L.r1_penalty(logits, x).item(), 14.0, rel_tol=1e-6)

    def test_differentiable(self):
        d = L.Discriminator(channels=2)
        x = torch.randn(2, 3, 32, 32, requires_grad=True)
        L.r1_penalty(d(x), x).backward()
        weights = [m.weight for m in d.modules() if isinstance(m, nn.Conv2d)]  # biases do not move the gradient
        assert all(w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0 for w in weights)


class TestDiffAugment:
    def test_shape_seeded_and_changes(self):
        x = _smooth_images(3)
        a = L.diff_augment(x, torch.Generator().manual_seed(0))
        assert a.shape == x.shape and not torch.allclose(a, x)
        assert torch.equal(a, L.diff_augment(x, torch.Generator().manual_seed(0)))

    def test_no_policy_is_identity(self):
        x = _smooth_images(2)
        assert torch.equal(L.diff_augment(x, torch.Generator(), ()), x)

    def test_translation_moves_content(self):
        x = torch.zeros(8, 1, 16, 16)
        x[:, :, 8, 8] = 1
        out = L.diff_augment(x, torch.Generator().manual_seed(1), ("translation",))
        assert (out.flatten(1).sum(1) <= 1).all() and not torch.equal(out, x)

    def test_cutout_zeroes_a_quarter(self):
        x = torch.ones(4, 1, 16, 16)
        out = L.diff_augment(x, torch.Generator().manual_seed(2), ("cutout",))
        zeros = (out == 0).flatten(1).sum(1)
        assert (zeros > 0).all() and (zeros <= 64).all()

    def test_gradcheck(self):
        x = torch.rand(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: L.diff_augment(t, torch.Generator().manual_seed(0)), (x,))


class TestCycleLoss:
    def test_perfect_round_trip_is_small(self):
        photo, p = _smooth_images(2), _points(2)
        template = torch.tensor(PHOTO_TEMPLATE) * 1.1
        stylized = warp_to(photo, p, template[None])  # an ideal G: same texture, template geometry
        good = L.cycle_loss(lambda im: im, stylized, photo, p, template)
        wrong_geometry = L.cycle_loss(lambda im: im, stylized, photo, p, template, no_tps=True)
        assert good < 0.5 * wrong_geometry  # the round trip only blurs (two resamplings, border padding)

    def test_no_tps_identity_is_zero(self):
        photo, p = _smooth_images(2), _points(2)
        assert L.cycle_loss(lambda im: im, photo, photo, p, p[0], no_tps=True) == 0


class TestDeformationLoss:
    def test_geometry_normaliser_is_invariant(self):
        photo, p = _smooth_images(2), _points(2)
        template = torch.tensor(PHOTO_TEMPLATE)[None]
        src, dst = random_warp(2, torch.Generator().manual_seed(0), 0.05)

        def normaliser(im, pts):  # G that maps any geometry to the template, as the feature TPS does
            return warp_to(im, pts, template)

        def ignores_points(im, pts):
            return im

        mask = L.face_mask(template[0], 32)
        out = normaliser(photo, p)
        invariant = L.deformation_loss(normaliser, photo, p, out, src, dst, mask=mask)
        broken = L.deformation_loss(ignores_points, photo, p, photo, src, dst, mask=mask)
        assert invariant < 0.3 * broken

    def test_no_tps_equivariance(self):
        photo, p = _smooth_images(2), _points(2)
        src, dst = random_warp(2, torch.Generator().manual_seed(0), 0.05)
        assert L.deformation_loss(lambda im, pts: im, photo, p, photo, src, dst, no_tps=True) < 1e-6
        assert L.deformation_loss(lambda im, pts: -im, photo, p, -photo, src, dst, no_tps=True) < 1e-6


class TestFaceMask:
    def test_inside_and_outside(self):
        m = L.face_mask(torch.tensor(PHOTO_TEMPLATE), 64)
        assert m.shape == (1, 1, 64, 64) and m[0, 0, 32, 32] == 1 and m[0, 0, 0, 0] == 0
        assert 0.2 < m.mean() < 0.6


class TestColorAndTexture:
    def test_color_loss(self):
        x = _smooth_images(2, 32)
        assert L.color_loss(x, x) == 0 and L.color_loss(x, x + 0.5) > 0.4
        assert L.lowpass(x, 8).shape == (2, 3, 4, 4)

    def test_gram_exact(self):
        f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)
        assert torch.allclose(L.gram(f), torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4)

    def test_texture_loss_zero_at_target(self):
        f = {"a": torch.randn(2, 4, 5, 5)}
        target = {"a": L.gram(f["a"]).mean(0)}
        assert L.texture_loss({"a": f["a"][:1].repeat(2, 1, 1, 1)}, {"a": L.gram(f["a"][:1])[0]}) < 1e-9
        assert L.texture_loss(f, target) >= 0


class TestPerceptual:
    def test_parse_metadata(self):
        meta = {"input": "RGB in [-1,1]; shift=[-0.1,0.2,0.3] scale=[1,2,3] applied"}
        assert L._parse_metadata(meta) == ((-0.1, 0.2, 0.3), (1.0, 2.0, 3.0))
        assert L._parse_metadata({}) == (L.VGG_SHIFT, L.VGG_SCALE)

    def test_missing_weights_are_skipped_with_a_note(self, tmp_path, monkeypatch, caplog):
        monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
        with caplog.at_level(logging.WARNING):
            assert L.load_vgg(["relu2_2"], path=tmp_path / "none.safetensors", allow_download=False) is None
        assert "perceptual loss skipped" in caplog.text

    def test_shared_vgg(self):
        from conftest import shared_path

        vgg = L.load_vgg(["relu2_2", "relu3_3"], path=shared_path("models", "vgg16_lpips.safetensors"), max_size=32)
        assert len(vgg.features) == 16 and not any(p.requires_grad for p in vgg.parameters())
        x = _smooth_images(2, 64)
        feats = vgg(x)
        assert feats["relu2_2"].shape == (2, 128, 16, 16)  # resized to 32 first
        same = L.perceptual_loss(feats, vgg(x), ["relu2_2", "relu3_3"])
        noisy = L.perceptual_loss(feats, vgg(x + 0.3 * torch.randn_like(x)), ["relu2_2", "relu3_3"])
        assert same == 0 and noisy > 0.05

    def test_unknown_tap(self):
        with pytest.raises(ValueError, match="unknown VGG taps"):
            L.VGGFeatures({}, ["relu9_9"])


class TestStyleStatistics:
    def test_sliced_wasserstein_exact(self):
        a = torch.tensor([[0.0], [1.0], [2.0]])
        d = torch.ones(1, 1)
        assert L.sliced_wasserstein(a, a.flip(0), d) == 0  # order-free: a distance between sets
        torch.testing.assert_close(L.sliced_wasserstein(a, a + 0.5, d), torch.tensor(0.25))

    def test_sorted_projections_match_torch_sort_with_gradients(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(257, 6, generator=g, dtype=torch.float64, requires_grad=True)
        d = torch.randn(6, 5, generator=g, dtype=torch.float64)
        got = L.sorted_projections(x, d)
        torch.testing.assert_close(got, (d.t() @ x.t()).sort(-1).values, rtol=0, atol=0)
        torch.testing.assert_close(got, (x @ d).sort(0).values.t(), rtol=0, atol=1e-12)
        assert torch.autograd.gradcheck(lambda t: L.sorted_projections(t, d), (x,))
        with torch.no_grad():
            torch.testing.assert_close(L.sorted_projections(x, d), got.detach(), rtol=0, atol=0)
        half = L.sorted_projections(x.detach().to(torch.bfloat16), d.to(torch.bfloat16))  # torch's own sort
        assert half.dtype == torch.bfloat16 and half.shape == (5, 257)

    def test_style_swd_prefers_the_same_distribution(self):
        g = torch.Generator().manual_seed(0)
        real = torch.randn(2, 8, 16, 16, generator=g)
        same = torch.randn(2, 8, 16, 16, generator=g)
        other = torch.randn(2, 8, 16, 16, generator=g) * 3 + 1
        bank = {"relu1_2": L.feature_samples(real, 512, g)}
        near = L.style_swd_loss({"relu1_2": same}, bank, torch.Generator().manual_seed(1), count=512)
        far = L.style_swd_loss({"relu1_2": other}, bank, torch.Generator().manual_seed(1), count=512)
        assert near < 0.1 * far

    def test_patch_loss_sees_texture_not_colour(self):
        g = torch.Generator().manual_seed(0)
        art = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
        shifted = (art + 0.3).clamp(-1, 1.3)  # same texture, other colour: mean-free patches are unchanged
        noisy = art + 0.3 * torch.randn(2, 3, 32, 32, generator=g)
        s = L.patch_loss(shifted, art, torch.Generator().manual_seed(1))
        n = L.patch_loss(noisy, art, torch.Generator().manual_seed(1))
        assert s < 0.2 * n

    def test_layout_loss_ignores_tone_but_not_layout(self):
        x = _smooth_images(2, 32)
        assert L.layout_loss(x * 0.5 + 0.2, x) < 1e-2  # up to the std epsilon
        assert L.layout_loss(x.flip(-1), x) > 0.1


class TestFeatureSamples:
    def test_gathers_the_same_vectors_as_a_channels_last_copy(self):
        feat = torch.randn(3, 5, 7, 9, generator=torch.Generator().manual_seed(0))
        got = L.feature_samples(feat, 64, torch.Generator().manual_seed(1))
        idx = torch.randint(0, 3 * 7 * 9, (64,), generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(got, feat.permute(0, 2, 3, 1).reshape(-1, 5)[idx], rtol=0, atol=0)

    def test_swd_artwork_side_builds_no_graph(self):
        a = torch.randn(32, 4, requires_grad=True)
        d = L.random_directions(8, 4, torch.Generator().manual_seed(0), a.device)
        loss = L.sliced_wasserstein(a, torch.randn(32, 4), d)
        loss.backward()
        assert a.grad is not None and torch.isfinite(a.grad).all()


class TestStyleRepresentation:
    def test_rgb_is_the_image(self):
        x = torch.rand(2, 3, 16, 16) * 2 - 1
        assert L.style_representation(x, "rgb") is x

    def test_gray_is_luma_in_three_channels(self):
        x = torch.zeros(1, 3, 8, 8)
        x[:, 1] = 1.0
        g = L.style_representation(x, "gray")
        assert g.shape == x.shape
        assert torch.allclose(g, torch.full_like(x, 0.587))

    def test_surface_keeps_flat_regions_and_removes_fine_texture(self):
        flat = torch.zeros(1, 3, 64, 64)
        flat[..., 32:] = 0.8  # one strong edge: kept
        assert torch.allclose(L.style_representation(flat, "surface")[..., :, :28], flat[..., :, :28], atol=1e-4)
        g = torch.Generator().manual_seed(0)
        grain = 0.05 * torch.randn(1, 3, 64, 64, generator=g)  # weak texture: smoothed away
        out = L.style_representation(grain, "surface")
        assert out.std() < 0.25 * grain.std()
        assert (L.style_representation(flat, "surface")[..., 40:] - 0.8).abs().max() < 1e-3

    def test_gradients_flow(self):
        x = torch.rand(1, 3, 12, 12, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: L.style_representation(t, "surface"), (x,))

    def test_unknown_kind(self):
        with pytest.raises(ValueError, match="unknown style representation"):
            L.style_representation(torch.zeros(1, 3, 8, 8), "edges")


class TestStructureRepresentation:
    """White-box's structure representation (each Felzenszwalb segment filled with its mean colour) and its loss."""

    def halves(self, noise=0.05):
        g = torch.Generator().manual_seed(0)
        x = torch.full((2, 3, 32, 32), -0.6)
        x[..., 16:] = 0.5
        return (x + noise * torch.randn(x.shape, generator=g)).clamp(-1, 1)

    def test_segments_take_their_mean_colour(self):
        x = self.halves()
        flat = L.structure_representation(x)
        assert flat.shape == x.shape and not flat.requires_grad
        left, right = flat[..., 2:30, 2:14], flat[..., 2:30, 18:30]
        assert left.std() < 0.02 and right.std() < 0.02  # each side one flat colour
        torch.testing.assert_close(left.mean(), x[..., :16].mean(), atol=0.02, rtol=0)
        torch.testing.assert_close(right.mean(), x[..., 16:].mean(), atol=0.02, rtol=0)

    def test_a_flat_image_is_its_own_structure(self):
        x = self.halves(noise=0.0)
        torch.testing.assert_close(L.structure_representation(x), x, atol=1 / 255, rtol=0)

    def test_loss_is_zero_on_its_own_target_and_reaches_the_output_only(self):
        a = torch.rand(2, 8, 4, 4, requires_grad=True)
        assert L.structure_loss({"t": a}, {"t": a.detach().clone()}, "t").item() == 0
        b = torch.rand(2, 8, 4, 4, requires_grad=True)
        loss = L.structure_loss({"t": a}, {"t": b}, "t")
        loss.backward()
        assert loss.item() > 0 and a.grad is not None and b.grad is None
