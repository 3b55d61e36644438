"""core/texture.py (the graph), core/texture_bank.py (bank, atlas, settings) and a package's texture end to end."""

import json

import cv2
import numpy as np
import pytest
import torch

from core.texture import (PATCH, STRIDE, TextureGraph, build_bank as torch_bank, export_texture, overlap_add,
                          texture_transfer)
from core.texture_bank import (DETAIL_SCALE, TEXTURE_ATLAS, TEXTURE_GRAPH, build_bank, make_atlas, split_atlas,
                               texture_problem)


def smooth_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8: blurred noise, so every patch differs from its neighbours."""
    rng = np.random.default_rng(seed)
    return np.stack([cv2.GaussianBlur((rng.random((size, size, 3)) * 255).astype(np.uint8), (5, 5), 1.0)
                     for _ in range(n)])


def unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def run(images, crops, radius=1, sigma=2.0, offset_cost=None):
    g, d = build_bank(crops, radius, sigma)
    if offset_cost is None:
        return TextureGraph(radius, sigma)(unit(images), torch.from_numpy(g), torch.from_numpy(d))
    return texture_transfer(unit(images), torch.from_numpy(g) / 255, torch.from_numpy(d) / DETAIL_SCALE, radius, sigma,
                            offset_cost)


class TestGraph:
    def test_overlap_add_counts_votes(self):
        # ones at stride 4 with 8x8 patches: 4 votes inside, 2 on the edges, 1 in the corners
        n = 7
        out = overlap_add(torch.ones(1, 1, n, n, PATCH, PATCH))[0, 0]
        assert out.shape == (STRIDE * (n + 1),) * 2
        assert out[4:-4, 4:-4].eq(4).all() and out[0, 0] == 1 and out[0, 10] == 2

    def test_overlap_add_places_patches(self):
        patches = torch.zeros(1, 1, 3, 3, PATCH, PATCH)
        patches[0, 0, 1, 2] = torch.arange(64.0).view(8, 8)  # patch (1, 2) starts at (4, 8)
        out = overlap_add(patches)[0, 0]
        assert torch.equal(out[4:12, 8:16], torch.arange(64.0).view(8, 8))
        assert out.sum() == torch.arange(64.0).sum()

    def test_bank_of_the_image_itself_reproduces_it(self):
        # the best match of every patch is the same place of the same image: low-pass + its own detail
        crops = smooth_images(3, 64)
        out = run(crops[1:2], crops)
        err = (out - unit(crops[1:2])).abs().max().item() * 127.5
        assert err <= 1.0  # the stored 8-bit guide and int8 detail only

    def test_search_radius_finds_a_shifted_artwork(self):
        crops = smooth_images(1, 64, seed=3)
        shifted = np.roll(crops, 2, axis=2)  # 2 px = one guide pixel
        inner = (slice(None), slice(None), slice(12, -12), slice(12, -12))
        near = (run(shifted, crops, 1, offset_cost=0.0) - unit(shifted))[inner].abs().max().item()
        blind = (run(shifted, crops, 0, offset_cost=0.0) - unit(shifted))[inner].abs().max().item()
        costly = (run(shifted, crops, 1, offset_cost=1.0) - unit(shifted))[inner].abs().max().item()
        assert near * 127.5 <= 1.0 < blind * 127.5  # found exactly one guide pixel away
        assert costly == pytest.approx(blind)  # a prohibitive offset cost keeps every patch in place

    def test_detail_comes_from_the_bank(self):
        # a flat grey query takes the bank's detail: the output is no longer flat
        crops = smooth_images(2, 64)
        grey = np.full((1, 64, 64, 3), 128, np.uint8)
        out = run(grey, crops)
        assert out.std().item() > 0.02 and abs(out.mean().item() - unit(grey).mean().item()) < 0.02

    def test_numpy_bank_matches_torch_bank(self):
        crops = smooth_images(2, 32)
        g, d = build_bank(crops, 2, 1.5)
        gt, dt = torch_bank(unit(crops), 2, 1.5)
        assert g.dtype == np.uint8 and d.dtype == np.int8 and g.shape == tuple(gt.shape) and d.shape == tuple(dt.shape)
        assert np.abs(g / 255 - gt.numpy()).max() <= 0.5 / 255 + 1e-6
        assert np.abs(d / DETAIL_SCALE - dt.numpy()).max() <= 0.5 / DETAIL_SCALE + 1e-6

    def test_gradient_reaches_the_input_through_the_low_pass(self):
        crops = smooth_images(2, 16)
        g, d = (torch.from_numpy(a) for a in build_bank(crops, 1, 2.0))
        x = (unit(smooth_images(1, 16, seed=5)) * 0.5).double().requires_grad_()

        def f(x):
            return texture_transfer(x, g.double() / 255, d.double() / DETAIL_SCALE, 1, 2.0)
        # the choice of patches is piecewise constant; away from ties the map is the low-pass, which is smooth
        assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-4, fast_mode=True)

    def test_onnx_matches_torch(self, tmp_path):
        ort = pytest.importorskip("onnxruntime")
        crops = smooth_images(4, 64)
        g, d = build_bank(crops, 1, 2.0)
        path = export_texture(tmp_path / "t.onnx", 64, 4, 1, 2.0)
        x = unit(smooth_images(2, 64, seed=9))
        want = TextureGraph(1, 2.0)(x, torch.from_numpy(g), torch.from_numpy(d)).numpy()
        got = ort.InferenceSession(str(path)).run(None, {"image": x.numpy(), "guides": g, "details": d})[0]
        assert got.shape == (2, 3, 64, 64) and np.abs(got - want).max() < 1e-5


class TestBank:
    def test_atlas_round_trip(self):
        crops = smooth_images(5, 16)
        atlas = make_atlas(crops)
        assert atlas.shape == (32, 48, 3)  # 3 columns, 2 rows
        assert np.array_equal(split_atlas(atlas, 5, 16), crops)

    def test_atlas_of_the_wrong_size_is_refused(self):
        with pytest.raises(ValueError, match="must be 48x32"):
            split_atlas(np.zeros((48, 48, 3), np.uint8), 5, 16)

    @pytest.mark.parametrize("spec, words", [
        ([], "JSON object"), ({"count": 0}, "texture.count"), ({"count": 3, "radius": 9}, "texture.radius"),
        ({"count": 3, "sigma": "2"}, "texture.sigma"), ({"count": 2.5}, "whole number"),
        ({"count": 3, "size": 1}, "unknown keys")])
    def test_bad_settings_are_named(self, spec, words):
        assert words in texture_problem(spec, 64)

    def test_good_settings_and_none(self):
        assert texture_problem({}, 64) is None
        assert texture_problem({"count": 3, "radius": 0, "sigma": 1.5}, 64) is None


class TestPackage:
    @pytest.fixture
    def textured(self, tmp_path):
        from conftest import make_tiny_style
        from core.export import add_texture

        package = make_tiny_style(tmp_path, "textured")
        return add_texture(package, smooth_images(6, 64), radius=1, sigma=2.0)

    def test_save_load_symmetric(self, textured):
        from core.package import load_style

        again = load_style(textured.path)
        assert again.config.texture == {"count": 6, "radius": 1, "sigma": 2.0}
        assert (textured.path / TEXTURE_ATLAS).is_file() and (textured.path / TEXTURE_GRAPH).is_file()
        assert "texture" in (textured.path / "README.md").read_text()

    def test_runner_applies_it_and_backends_agree(self, textured):
        from core.runtime import get_runner

        faces = smooth_images(2, 64, seed=4)
        points = np.zeros((2, 478, 2), np.float32) + 32
        with_t = get_runner(textured, "onnx")(faces, points, 0.0)
        without = get_runner(textured, "onnx", texture=False)(faces, points, 0.0)
        torch_t = get_runner(textured, "torch")(faces, points, 0.0)
        assert np.abs(with_t.astype(int) - without).mean() > 1.0
        assert np.abs(with_t.astype(int) - torch_t).max() <= 1
        skipped = get_runner(textured, "onnx")(faces, points, 0.0, texture=False)  # the background pass's call
        assert np.array_equal(skipped, without)

    def test_background_pass_leaves_it_out(self, textured, monkeypatch):
        from core.background import stylize_tiles
        from core.runtime import get_runner

        runner = get_runner(textured, "onnx")
        seen = []
        monkeypatch.setattr(runner, "texture", lambda x: seen.append(x.shape) or x)
        stylize_tiles(smooth_images(1, 96)[0], runner)
        assert seen == []

    def test_missing_files_and_broken_atlas_are_named(self, textured):
        from core.errors import StylePackageError
        from core.package import load_style
        from core.runtime import clear_cache, get_runner

        (textured.path / TEXTURE_ATLAS).write_bytes(b"")
        cv2.imwrite(str(textured.path / TEXTURE_ATLAS), np.zeros((64, 64, 3), np.uint8))
        clear_cache()
        with pytest.raises(StylePackageError, match="texture.jpg.*re-export"):
            get_runner(load_style(textured.path), "onnx")
        (textured.path / TEXTURE_GRAPH).unlink()
        with pytest.raises(StylePackageError, match="texture.onnx"):
            load_style(textured.path)

    def test_bad_texture_in_style_json_is_refused(self, textured):
        from core.errors import StylePackageError
        from core.package import load_style

        cfg = json.loads((textured.path / "style.json").read_text())
        cfg["texture"]["radius"] = 99
        (textured.path / "style.json").write_text(json.dumps(cfg))
        with pytest.raises(StylePackageError, match="texture.radius"):
            load_style(textured.path)

    def test_packages_without_texture_load_unchanged(self, tiny_style):
        from core.package import load_style
        from core.runtime import get_runner

        assert load_style(tiny_style.path).config.texture == {}
        assert get_runner(tiny_style, "onnx").texture is None


class TestDecision:
    """studio.texture.texture_helps: the unpaired rule the trainer's "auto" uses (features = the pixels here)."""

    @staticmethod
    def pixels(x):
        return {"relu1_2": x}

    def test_detailed_art_flat_outputs_take_it(self):
        from studio.texture import texture_helps

        art = smooth_images(8, 32, seed=1)
        flat = np.stack([cv2.GaussianBlur(a, (0, 0), 4) for a in smooth_images(4, 32, seed=2)])
        helps, before, after = texture_helps(flat, art, 1, 2.0, vgg=self.pixels)
        assert helps and after < before

    def test_no_change_is_refused(self):
        from studio.texture import texture_helps

        flat_art = np.full((8, 32, 32, 3), 120, np.uint8)
        outputs = np.full((4, 32, 32, 3), 120, np.uint8)
        helps, before, after = texture_helps(outputs, flat_art, 1, 2.0, vgg=self.pixels)
        assert not helps and after == pytest.approx(before)

    def test_too_few_artworks_are_named(self):
        from studio.texture import texture_helps

        with pytest.raises(ValueError, match="at least 4 artworks"):
            texture_helps(np.zeros((2, 32, 32, 3), np.uint8), np.zeros((3, 32, 32, 3), np.uint8), vgg=self.pixels)

    def test_train_config_checks_the_setting(self):
        from core.errors import ConfigError
        from studio.config import TrainConfig

        assert TrainConfig.preset("quick").artwork_texture == "auto" and TrainConfig().artwork_texture == "off"
        with pytest.raises(ConfigError, match="artwork_texture"):
            TrainConfig.from_dict({"artwork_texture": "maybe"}).validate()
