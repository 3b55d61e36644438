import torch

from core import topology
from core.generator import Generator, GeneratorConfig, count_parameters, upsample_grid
from core.tps import identity_grid


def tiny(**kw):
    return Generator(GeneratorConfig(channels=4, blocks=1, **kw)).eval()


def inputs(gen, size=64, batch=2, jitter=0.03, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    points = gen.template[None] + torch.randn(batch, topology.NUM_CANONICAL, 2, generator=g) * jitter
    return image, points


class TestGenerator:
    def test_shape_and_range(self):
        gen = tiny()
        image, points = inputs(gen)
        out = gen(image, points, 1.0)
        assert out.shape == image.shape
        assert out.abs().max() <= 1

    def test_default_config_is_light(self):
        gen = Generator()
        assert count_parameters(gen) < 150_000

    def test_alpha_zero_ignores_landmarks(self):
        gen = tiny()
        image, points = inputs(gen, jitter=0.05)
        a = gen(image, points, 0.0)
        b = gen(image, gen.template[None].expand_as(points), 0.0)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)

    def test_alpha_changes_output_when_landmarks_differ(self):
        gen = tiny()
        image, points = inputs(gen, jitter=0.05)
        assert (gen(image, points, 1.0) - gen(image, points, 0.0)).abs().max() > 1e-3

    def test_landmarks_at_template_mean_no_warp(self):
        gen = tiny()
        image, _ = inputs(gen)
        at_template = gen.template[None].expand(2, -1, -1)
        torch.testing.assert_close(gen(image, at_template, 1.0), gen(image, at_template, 0.0), atol=2e-3, rtol=0)

    def test_per_sample_alpha(self):
        gen = tiny()
        image, points = inputs(gen)
        both = gen(image, points, torch.tensor([0.0, 1.0]))
        torch.testing.assert_close(both[0], gen(image[:1], points[:1], 0.0)[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(both[1], gen(image[1:], points[1:], 1.0)[0], atol=1e-5, rtol=0)

    def test_gradients_reach_every_parameter(self):
        gen = tiny().train()
        image, points = inputs(gen)
        gen(image, points, 1.0).mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gen.parameters())

    def test_no_warp_config(self):
        gen = tiny(global_warp=False, local_warp=False)
        image, points = inputs(gen, jitter=0.05)
        torch.testing.assert_close(gen(image, points, 1.0), gen(image, points, 0.0))

    def test_rejects_size_not_multiple_of_8(self):
        gen = tiny()
        image, points = inputs(gen, size=60)
        try:
            gen(image, points, 1.0)
        except ValueError as exc:
            assert "multiple of 8" in str(exc)
        else:
            raise AssertionError("expected ValueError")

    def test_set_template_changes_warp(self):
        gen = tiny()
        image, points = inputs(gen)
        before = gen(image, points, 1.0)
        gen.set_template(gen.template * 0.9)
        assert (gen(image, points, 1.0) - before).abs().max() > 1e-4


class TestUpsampleGrid:
    def test_identity_stays_identity_inside(self):
        grid = identity_grid(16, 16)[None]
        up = upsample_grid(grid)
        torch.testing.assert_close(up[:, 1:-1, 1:-1], identity_grid(32, 32)[None, 1:-1, 1:-1], atol=1e-6, rtol=0)


class TestGeneratorConfig:
    def test_legacy_dict_without_bottleneck_keeps_full_skips(self):
        legacy = {k: v for k, v in GeneratorConfig().to_dict().items() if k != "skip_bottleneck"}
        assert GeneratorConfig.from_dict(legacy).skip_bottleneck == 0
        assert GeneratorConfig.from_dict(GeneratorConfig().to_dict()) == GeneratorConfig()

    def test_unknown_key(self):
        import pytest

        with pytest.raises(ValueError, match="unknown generator config"):
            GeneratorConfig.from_dict({"width": 3})
