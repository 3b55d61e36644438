"""studio/refine.py: the artworks' own pairs, the refiner's training and its package round trip."""

import json

import numpy as np
import pytest
import torch

from studio.refine import destyle, pair_tensors, random_windows, train_refiner, with_refiner


def flat_with_line(n: int = 2, size: int = 32) -> np.ndarray:
    """(n, size, size, 3) uint8: a light left half, a dark right half, a 1 px black line across the light half."""
    images = np.full((n, size, size, 3), 200, np.uint8)
    images[:, :, size // 2:] = 60
    images[:, 10, : size // 2 - 4] = 0
    return images


def tiny_generator(refiner: int = 4):
    from core.generator import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig(channels=4, blocks=1, head="art", palette=4, pixel_skip=True,
                                     refiner=refiner)).eval()


class TestDestyle:
    def test_median_removes_a_thin_line_and_keeps_regions(self):
        images = flat_with_line()
        out = destyle(images, 5)
        assert (out[:, 10, 2:12] == 200).all()  # the line is gone
        assert (out[:, 4:28, 4:12] == 200).all() and (out[:, 4:28, 20:28] == 60).all()  # both regions stay
        assert (out[:, :, 15] == 200).all() and (out[:, :, 16] == 60).all()  # the edge does not move

    def test_size_one_is_the_identity(self):
        images = flat_with_line()
        assert np.array_equal(destyle(images, 1), images)

    @pytest.mark.parametrize("bad, match", [(np.zeros((2, 8, 8, 3), np.float32), "uint8"),
                                            (np.zeros((8, 8, 3), np.uint8), r"\(N, S, S, 3\)")])
    def test_bad_input_names_the_shape(self, bad, match):
        with pytest.raises(ValueError, match=match):
            destyle(bad)

    def test_even_size_is_refused(self):
        with pytest.raises(ValueError, match="odd"):
            destyle(flat_with_line(), 4)


class TestPairs:
    def test_inputs_are_the_heads_painting_of_the_destyled_artwork(self):
        gen = tiny_generator()
        images = flat_with_line(2, 64)
        inputs, targets = pair_tensors(gen, images, median=5)
        assert inputs.shape == targets.shape == (2, 3, 64, 64)
        plain = torch.from_numpy(destyle(images, 5)).permute(0, 3, 1, 2).float() / 127.5 - 1
        with torch.no_grad():
            want = gen.paint(plain, gen.template[None].expand(2, -1, -1), torch.zeros(2))
        torch.testing.assert_close(inputs, want)
        torch.testing.assert_close(targets, torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1)

    def test_alpha_zero_paints_the_artwork_where_it_is(self):
        from core.generator import Generator, GeneratorConfig

        gen = Generator(GeneratorConfig(channels=4, blocks=1, pixel_skip=True, anchors=4)).eval()  # no head: warp
        images = (np.random.default_rng(0).random((1, 64, 64, 3)) * 255).astype(np.uint8)
        inputs, targets = pair_tensors(gen, images, median=1)
        assert (inputs - targets).abs().max() < 1e-4

    def test_windows_take_the_same_place_of_both(self):
        g = torch.Generator().manual_seed(0)
        x = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).view(2, 3, 16, 16)
        a, b = random_windows(x, x.clone(), 5, 8, g)
        assert a.shape == (5, 3, 8, 8) and torch.equal(a, b)
        a2, b2 = random_windows(x, -x, 5, 8, torch.Generator().manual_seed(0))
        assert torch.equal(a2, -b2)


def outlined(n: int = 4, size: int = 64) -> np.ndarray:
    """(n, size, size, 3) uint8 "cels": a light and a dark region with a 2 px black outline where they meet, the
    boundary at another column in each image: what the destyled painting lacks and the refiner can learn."""
    images = np.full((n, size, size, 3), 200, np.uint8)
    for i in range(n):
        edge = size // 2 - 8 + 5 * i
        images[i, :, edge:] = 60
        images[i, :, edge - 1:edge + 1] = 0
    return images


class TestTraining:
    def test_l1_fit_moves_only_the_refiner_towards_the_artworks(self):
        from studio.refine import refine_loss

        gen = tiny_generator()
        others = {k: v.clone() for k, v in gen.state_dict().items() if not k.startswith("refiner.")}
        images = outlined()
        inputs, targets = pair_tensors(gen, images)
        with torch.no_grad():
            before = float(refine_loss(None, gen.refiner(inputs), targets, lpips_weight=0)[0])
        seen = []
        report = train_refiner(gen, images, steps=100, batch=4, crop=32, lr=1e-2, lpips_weight=0,
                               progress=lambda s, n, parts: seen.append(s))
        with torch.no_grad():
            after = float(refine_loss(None, gen.refiner(inputs), targets, lpips_weight=0)[0])
        assert after < 0.7 * before
        assert seen == list(range(1, 101)) and report["steps"] == 100 and report["artworks"] == 4
        for k, v in gen.state_dict().items():
            if not k.startswith("refiner."):
                assert torch.equal(v, others[k]), k
        assert not any(p.requires_grad for p in gen.parameters())

    def test_refuses_a_generator_without_refiner_and_one_artwork(self):
        with pytest.raises(ValueError, match="no refiner"):
            train_refiner(tiny_generator(0), flat_with_line(4, 64), steps=1, lpips_weight=0)
        with pytest.raises(ValueError, match="at least 2 artworks"):
            train_refiner(tiny_generator(), flat_with_line(1, 64), steps=1, lpips_weight=0)

    def test_with_refiner_keeps_every_other_weight_and_starts_at_identity(self):
        gen = tiny_generator(0)
        refined = with_refiner(gen, 4, 2)
        assert refined.config.refiner == 4 and refined.config.refiner_blocks == 2
        image = torch.rand(1, 3, 64, 64) * 2 - 1
        points = gen.template[None]
        with torch.no_grad():
            assert torch.equal(gen(image, points, 0.0), refined(image, points, 0.0))
        again = with_refiner(refined, 8)  # a new refiner replaces the old one
        assert again.refiner.inp.out_channels == 8


class TestPackage:
    def test_replace_generator_round_trip(self, tmp_path):
        from conftest import make_tiny_style
        from core.export import load_generator, replace_generator
        from core.package import load_style
        from core.runtime import get_runner

        package = make_tiny_style(tmp_path, "refined")
        preview = (package.path / "preview.png").read_bytes()
        gen = with_refiner(load_generator(package), 4)
        with torch.no_grad():
            for p in gen.refiner.parameters():
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(2)) * 0.05)
        replace_generator(package, gen, {"refiner": {"steps": 3}})
        again = load_style(package.path)
        assert again.config.model["refiner"] == 4 and again.config.training["refiner"] == {"steps": 3}
        assert (package.path / "preview.png").read_bytes() == preview
        assert json.loads((package.path / "style.json").read_text())["model"]["refiner"] == 4
        loaded = load_generator(again)
        for k, v in gen.state_dict().items():
            assert torch.equal(loaded.state_dict()[k], v), k
        faces = (np.random.default_rng(1).random((2, 64, 64, 3)) * 255).astype(np.uint8)
        points = np.zeros((2, 478, 2), np.float32) + 32
        onnx_out = get_runner(again, "onnx")(faces, points, 0.0).astype(int)
        torch_out = get_runner(again, "torch")(faces, points, 0.0).astype(int)
        assert np.abs(onnx_out - torch_out).max() <= 1

    @pytest.fixture
    def refined(self, tmp_path):
        """A tiny package and the same with a refiner that visibly changes the output."""
        from conftest import make_tiny_style
        from core.export import load_generator, replace_generator

        plain = make_tiny_style(tmp_path, "plain")
        package = make_tiny_style(tmp_path, "refined")
        gen = with_refiner(load_generator(package), 4)
        with torch.no_grad():
            gen.refiner.out.bias.copy_(torch.tensor([-0.4, 0.3, 0.1]))
        return plain, replace_generator(package, gen, {"refiner": {"steps": 1}})

    def test_the_refiner_is_its_own_graph_that_live_frames_leave_out(self, refined):
        """model.onnx ends at the painting (the phone's and the camera's graph); refiner.onnx runs after it."""
        from core.runtime import get_runner

        plain, package = refined
        assert (package.path / "refiner.onnx").is_file() and not (plain.path / "refiner.onnx").exists()
        assert (package.path / "model.onnx").stat().st_size == (plain.path / "model.onnx").stat().st_size
        mobile = json.loads((package.path / "mobile.json").read_text())
        assert mobile["refiner"]["file"] == "refiner.onnx" and "refiner" not in json.loads(
            (plain.path / "mobile.json").read_text())
        assert "refiner.onnx" in (package.path / "README.md").read_text()
        from studio.catalog import style_files

        assert str(package.path / "refiner.onnx") in style_files(package)  # the app's download list
        faces = (np.random.default_rng(3).random((2, 64, 64, 3)) * 255).astype(np.uint8)
        points = np.zeros((2, 478, 2), np.float32) + 32
        before = get_runner(plain)(faces, points, 0.0).astype(int)
        live = get_runner(package, refine=False)
        assert live.refiner is None
        assert np.array_equal(live(faces, points, 0.0).astype(int), before)
        full = get_runner(package)(faces, points, 0.0).astype(int)
        shift = (full - before).mean(axis=(0, 1, 2))
        assert shift[0] < -30 and shift[1] > 20  # the bias: -0.4 / +0.3 in [-1, 1]
        assert np.abs(get_runner(package, "torch")(faces, points, 0.0).astype(int) - full).max() <= 1
        assert np.array_equal(get_runner(package, "torch", refine=False)(faces, points, 0.0).astype(int), before)

    def test_a_package_without_its_refiner_graph_is_refused(self, refined):
        from core.errors import StylePackageError
        from core.package import load_style

        (refined[1].path / "refiner.onnx").unlink()
        with pytest.raises(StylePackageError, match="no refiner.onnx.*refresh_graphs"):
            load_style(refined[1].path)

    def test_a_foreign_refiner_graph_is_refused_before_use(self, refined):
        from core.errors import StylePackageError
        from core.package import validate_package

        plain, package = refined
        (package.path / "refiner.onnx").write_bytes((plain.path / "model.onnx").read_bytes())
        with pytest.raises(StylePackageError, match="refiner.onnx has inputs"):
            validate_package(package.path)
        (package.path / "refiner.onnx").write_bytes(b"not onnx")
        with pytest.raises(StylePackageError, match="not a valid ONNX model"):
            validate_package(package.path)

    def test_a_generator_without_refiner_drops_the_graph(self, refined):
        from core.export import load_generator, replace_generator
        from core.package import load_style

        plain, package = refined
        replace_generator(package, load_generator(plain))
        again = load_style(package.path)
        assert not again.config.model["refiner"] and not (package.path / "refiner.onnx").exists()
        assert "refiner" not in json.loads((package.path / "mobile.json").read_text())

    def test_the_camera_leaves_it_out(self, refined, monkeypatch):
        from studio import live

        monkeypatch.setenv("PORTRAIT_STYLES", str(refined[1].path.parent))
        session = live.LiveSession()
        session.update(live.LiveSettings(style="refined", mode="face"))
        assert session.stylizer.runner.refiner is None and session.stylizer.runner.texture is None


class TestConfig:
    def test_refine_steps_validated_and_resumable(self):
        from studio.config import RESUMABLE, TrainConfig
        from core.errors import ConfigError

        assert TrainConfig().refine_steps == 0 and "refine_steps" in RESUMABLE
        TrainConfig(refine_steps=10).validate()
        with pytest.raises(ConfigError, match="refine_steps"):
            TrainConfig(refine_steps=-1).validate()

    def test_description_says_it_once(self):
        from studio.refine import refined_description

        report = {"width": 16, "steps": 600, "artworks": 100}
        once = refined_description("Oil paint.", report)
        assert once.startswith("Oil paint. Refined: a 16-wide") and "600 steps on 100 pairs" in once
        twice = refined_description(once, {**report, "steps": 900})
        assert twice.count("Refined:") == 1 and "900 steps" in twice


class TestDecision:
    """refine_package(decide=True) keeps the refiner only when the unpaired rule says it helps."""

    @pytest.fixture
    def setup(self, tmp_path, monkeypatch):
        import cv2

        import studio.refine as R
        import studio.texture as T
        from conftest import make_tiny_style

        package = make_tiny_style(tmp_path, "decided")
        art = tmp_path / "art"
        art.mkdir()
        for i, im in enumerate(outlined(3, 64)):
            cv2.imwrite(str(art / f"a{i}.png"), im)
        monkeypatch.setattr(T, "pool_outputs", lambda package, photos=None: outlined(2, 64))
        faces = np.stack([np.full((64, 64, 3), 128, np.uint8)] * 3)
        import studio.data as D

        monkeypatch.setattr(D, "build_style_set", lambda *a, **k: type("S", (), {"images": faces})())
        return package, art, R, monkeypatch

    @pytest.mark.parametrize("helps", [False, True])
    def test_kept_or_put_back(self, setup, helps):
        package, art, R, monkeypatch = setup
        before = {f.name: f.read_bytes() for f in package.path.iterdir()}
        monkeypatch.setattr(R, "refiner_helps", lambda *a, **k: (helps, 0.2, 0.1 if helps else 0.3))
        out, report = R.refine_package(package, art, steps=2, width=4, decide=True, batch=2, crop=32,
                                       lpips_weight=0, cache_dir=None)
        after = {f.name: f.read_bytes() for f in out.path.iterdir()}
        assert report["added"] is helps and report["distance_without"] == 0.2
        assert (after == before) is (not helps)
        assert out.config.model.get("refiner", 0) == (4 if helps else 0)


class TestTrainerStage:
    """studio.train._add_refiner: off at 0 steps, decided by the rule, and a missing VGG file loses nothing."""

    def test_calls_refine_with_the_rule_or_skips(self, monkeypatch):
        import studio.refine as R
        from studio.config import TrainConfig
        from studio.train import _add_refiner

        calls = []
        monkeypatch.setattr(R, "refine_package", lambda package, source, steps, **kw: calls.append((source, steps, kw))
                            or ("refined", {"added": True}))
        style = type("S", (), {"files": ["a.png"]})()
        assert _add_refiner("pkg", TrainConfig(), style, "art", None) == "pkg" and not calls
        assert _add_refiner("pkg", TrainConfig(refine_steps=7), style, "art", "pool") == "refined"
        source, steps, kw = calls[0]
        assert (source, steps, kw["decide"], kw["photos"]) == ("art", 7, True, "pool")

    def test_missing_weights_keep_the_package(self, monkeypatch, caplog):
        import studio.refine as R
        from studio.config import TrainConfig
        from studio.train import _add_refiner

        def fail(*a, **k):
            raise FileNotFoundError("vgg16_lpips.safetensors is missing")
        monkeypatch.setattr(R, "refine_package", fail)
        style, package = type("S", (), {"files": ["a.png"]})(), type("P", (), {"path": "styles/x"})()
        assert _add_refiner(package, TrainConfig(refine_steps=7), style, None, None) is package
        assert "no refiner" in caplog.text and "vgg16_lpips" in caplog.text
