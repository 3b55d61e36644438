import json
import shutil

import numpy as np
import pytest
import torch

from core.errors import StyleNotFoundError, StylePackageError
from core.export import load_generator
from core.package import (CONFIG_FILE, REQUIRED_FILES, WEIGHTS_FILE, StyleConfig, list_local_styles, load_style,
                          scan_styles, validate_package)
from tests.conftest import make_tiny_style


@pytest.fixture
def package(tiny_style, tmp_path):
    """A private copy of the session's tiny style that a test may break."""
    return shutil.copytree(tiny_style.path, tmp_path / "tiny")


class TestSaveLoad:
    def test_every_file_written(self, tiny_style):
        assert sorted(p.name for p in tiny_style.path.iterdir()) == sorted(REQUIRED_FILES)

    def test_round_trip_weights(self, tmp_path):
        pkg = make_tiny_style(tmp_path, seed=3)
        gen = load_generator(pkg)
        torch.manual_seed(3)
        from core.generator import Generator, GeneratorConfig

        ref = Generator(GeneratorConfig(channels=4, blocks=1))
        with torch.no_grad():
            ref.to_rgb[0].bias.add_(torch.tensor([0.6, -0.3, 0.2]).repeat_interleave(4))
        for (k, a), (_, b) in zip(gen.state_dict().items(), ref.state_dict().items()):
            torch.testing.assert_close(a, b, msg=k)

    def test_round_trip_config(self, tiny_style):
        again = validate_package(tiny_style.path)
        assert again.config == tiny_style.config
        assert again.config.onnx["fp32"]["max_abs_error"] <= 1e-3

    def test_card_has_hub_metadata(self, tiny_style):
        card = (tiny_style.path / "README.md").read_text()
        assert card.startswith("---\n")
        for text in ("library_name: portrait-studio", "pipeline_tag: image-to-image", "thin-plate-spline", "landmarks"):
            assert text in card

    def test_refuses_overwrite(self, tiny_style):
        with pytest.raises(StylePackageError, match="already exists"):
            make_tiny_style(tiny_style.path.parent)


class TestValidatePackage:
    def test_missing_folder(self, tmp_path):
        with pytest.raises(StyleNotFoundError, match="not a style package folder"):
            validate_package(tmp_path / "nope")

    @pytest.mark.parametrize("name", REQUIRED_FILES)
    def test_missing_file(self, package, name):
        (package / name).unlink()
        with pytest.raises(StylePackageError, match=f"missing.*{name}"):
            validate_package(package)

    @pytest.mark.parametrize("name", ["extra.pt", "weights.bin", "model.pkl", "x.ckpt"])
    def test_refuses_pickle(self, package, name):
        (package / name).write_bytes(b"\x80\x04N.")
        with pytest.raises(StylePackageError, match="pickle"):
            validate_package(package)

    def test_refuses_unknown_file_type(self, package):
        (package / "run.sh").write_text("echo hi")
        with pytest.raises(StylePackageError, match="not allowed"):
            validate_package(package)

    def test_malformed_json(self, package):
        (package / CONFIG_FILE).write_text("{not json")
        with pytest.raises(StylePackageError, match="not valid JSON"):
            validate_package(package)

    @pytest.mark.parametrize("key,value,match", [
        ("name", "Bad Name!", "name"), ("resolution", 100, "resolution"), ("template", [[0, 0]], "template"),
        ("format_version", 99, "format_version"), ("alpha_default", "x", "alpha_default"),
    ("mode_default", "whole", "mode_default"), ("keep_shape", 1.5, "keep_shape"), ("surprise", 1, "unknown")])
    def test_bad_config_values(self, package, key, value, match):
        data = json.loads((package / CONFIG_FILE).read_text())
        data[key] = value
        (package / CONFIG_FILE).write_text(json.dumps(data))
        with pytest.raises(StylePackageError, match=match):
            validate_package(package)

    def test_config_does_not_match_weights(self, package):
        data = json.loads((package / CONFIG_FILE).read_text())
        data["model"]["channels"] = 8
        (package / CONFIG_FILE).write_text(json.dumps(data))
        with pytest.raises(StylePackageError, match="does not match the model config"):
            validate_package(package)

    def test_template_does_not_match_weights(self, package):
        data = json.loads((package / CONFIG_FILE).read_text())
        data["template"][0] = [0.9, 0.9]
        (package / CONFIG_FILE).write_text(json.dumps(data))
        with pytest.raises(StylePackageError, match="template"):
            validate_package(package)

    def test_corrupt_weights(self, package):
        (package / WEIGHTS_FILE).write_bytes(b"garbage")
        with pytest.raises(StylePackageError, match="safetensors"):
            validate_package(package)

    def test_corrupt_onnx(self, package):
        (package / "model.onnx").write_bytes(b"garbage")
        with pytest.raises(StylePackageError, match="ONNX"):
            validate_package(package)

    def test_resolution_does_not_match_onnx(self, package):
        data = json.loads((package / CONFIG_FILE).read_text())
        data["resolution"] = 128
        (package / CONFIG_FILE).write_text(json.dumps(data))
        with pytest.raises(StylePackageError, match="resolution"):
            validate_package(package)


class TestLoadStyle:
    def test_by_name_and_path(self, tiny_style):
        assert load_style("tiny", styles_dir=tiny_style.path.parent).path == tiny_style.path
        assert load_style(tiny_style.path).name == "tiny"

    def test_unknown_name_lists_installed(self, tiny_style):
        with pytest.raises(StyleNotFoundError, match="installed: tiny"):
            load_style("nope", styles_dir=tiny_style.path.parent)


class TestScanStyles:
    def test_good_and_bad(self, package):
        broken = package.parent / "broken"
        broken.mkdir()
        (broken / CONFIG_FILE).write_text("{}")
        good, bad = scan_styles(package.parent)
        assert [p.name for p in good] == ["tiny"] and set(bad) == {"broken"}
        assert [p.name for p in list_local_styles(package.parent)] == ["tiny"]


class TestStyleConfig:
    def test_json_round_trip(self):
        config = StyleConfig(name="x", template=[[0.0, 0.0]] * 73)
        assert StyleConfig.from_dict(json.loads(config.to_json())) == config
