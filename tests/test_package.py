import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from core import package as pkg
from core.errors import StyleNotFoundError, StylePackageError
from core.export import load_generator
from core.package import (CONFIG_FILE, REQUIRED_FILES, WEIGHTS_FILE, StyleConfig, list_local_styles, load_style,
                          scan_styles, validate_package)
from core.templates import PHOTO_TEMPLATE
from tests.conftest import make_tiny_style


# --- hostile packages: each case is one defect a stranger's package may have (also pulled in tests/test_hub.py) -----
def files_of(folder) -> dict[str, bytes]:
    """A package's visible files, name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def write_files(folder, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).write_bytes(data)


def _json_edit(files, name, edit):
    data = json.loads(files[name])
    edit(data)
    return {**files, name: (json.dumps(data, indent=2) + "\n").encode()}


def config_edit(**changes):
    """A case that sets top-level style.json keys."""
    return lambda files: _json_edit(files, CONFIG_FILE, lambda d: d.update(changes))


def model_edit(**changes):
    """A case that sets keys of style.json's 'model' (the generator config)."""
    return lambda files: _json_edit(files, CONFIG_FILE, lambda d: d["model"].update(changes))


def template_edit(change):
    """A case that changes the landmark template in style.json and in the weights alike (so they still match)."""
    from safetensors.numpy import load, save

    def edit(files):
        config = json.loads(files[CONFIG_FILE])
        template = change(np.asarray(config["template"], np.float32))
        config["template"] = template.tolist()
        tensors = load(files[WEIGHTS_FILE])
        tensors["template"] = template
        return {**files, CONFIG_FILE: json.dumps(config, indent=2).encode(),
                WEIGHTS_FILE: save(tensors, metadata={"format": "pt"})}
    return edit


def replaced(name, data):
    return lambda files: {**files, name: data}


def wrong_shape_onnx(resolution: int = 64) -> bytes:
    """A graph with the documented inputs and output names whose output is the landmarks, (B, 478, 2)."""
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, resolution, resolution]),
              helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, ["batch", 478, 2]),
              helper.make_tensor_value_info("alpha", TensorProto.FLOAT, ["batch"])]
    output = helper.make_tensor_value_info("stylized", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Identity", ["landmarks"], ["stylized"])], "bad", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def external_data_onnx(location: str):
    """A case whose model.onnx keeps its biggest weight in an external file at `location`."""
    def edit(files):
        import onnx

        model = onnx.load_from_string(files["model.onnx"])
        tensor = max(model.graph.initializer, key=lambda t: len(t.raw_data))
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", location
        return {**files, "model.onnx": model.SerializeToString()}
    return edit


def png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG (signature and IHDR) claiming width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


HOSTILE = {  # case -> (edit of the files dict, what the refusal says)
    "style.json nested 200000 deep": (replaced(CONFIG_FILE, _deep(200_000)),
                                      r"style\.json is nested too deep \(more than 32 levels\)"),
    "5000-digit integer": (lambda f: {**f, CONFIG_FILE: f[CONFIG_FILE].replace(b'"resolution": 64',
                                                                              b'"resolution": ' + b"7" * 5000)},
                           r"style\.json is not valid JSON \(an integer with 5000 digits"),
    "title 12345": (config_edit(title=12345), r"style\.json: 'title' is 12345; it must be a string"),
    "description list": (config_edit(description=["x"]), r"'description' is \['x'\]"),
    "version number": (config_edit(version=2), r"'version' is 2"),
    "license null": (config_edit(license=None), r"'license' is None"),
    "software_version object": (config_edit(software_version={"v": 1}), r"'software_version' is \{'v': 1\}"),
    "huge title": (config_edit(title="x" * 5000), r"'title' is 'xxx.*at most 200 characters"),
    "alpha_default true": (config_edit(alpha_default=True), r"'alpha_default' True must be a number"),
    "format_version true": (config_edit(format_version=True), r"format_version True is not supported"),
    "tags of numbers": (config_edit(tags=[1]), r"'tags' must be a list of at most 32 strings"),
    "training steps text": (config_edit(training={"steps": "many"}), r"'training\.steps' is 'many'"),
    "onnx figure text": (config_edit(onnx={"fp32": {"max_abs_error": "small"}}),
                         r"'onnx\.fp32\.max_abs_error' is 'small'"),
    "channels sixteen": (model_edit(channels="sixteen"), r"'model\.channels' is 'sixteen'; it must be an integer"),
    "blocks true": (model_edit(blocks=True), r"'model\.blocks' is True"),
    "palette 99": (model_edit(palette=99), r"'model\.palette' is 99; it must be an integer from 0 to 32"),
    "unknown model key": (model_edit(layers=3), r"unknown keys \['layers'\] in 'model'"),
    "all-zero template": (template_edit(lambda t: t * 0), r"'template' is degenerate: its points span only 0\.000"),
    "duplicate template points": (template_edit(lambda t: np.concatenate([t[:1], t[:-1]])),
                                  r"'template' is degenerate: points 0 and 1 coincide"),
    "wrong output shape": (replaced("model.onnx", wrong_shape_onnx()),
                           r"model\.onnx answers a \(1, 3, 64, 64\) face with an output of shape \(1, 478, 2\)"),
    "external data ../../": (external_data_onnx("../../secret.bin"),
                             r"model\.onnx: tensor .* external file \('\.\./\.\./secret\.bin'\); style packages "
                             "must be self-contained"),
    "external data absolute": (external_data_onnx("/etc/passwd"), r"model\.onnx: tensor .* \('/etc/passwd'\)"),
    "mobile.json a list": (replaced("mobile.json", b"[]"), r"mobile\.json: expected a JSON object, got list"),
    "mobile.json nested deep": (replaced("mobile.json", b'{"a": ' + _deep(100) + b"}"),
                                r"mobile\.json is nested too deep"),
    "mobile.json style not a name": (lambda f: _json_edit(f, "mobile.json", lambda d: d.update(style=["x"])),
                                     r"mobile\.json: 'style' must be the style's name"),
    "mobile.json wrong size": (lambda f: _json_edit(f, "mobile.json",
                                                    lambda d: d["inputs"]["image"].update(shape=["batch", 3, 8, 8])),
                               r"mobile\.json: 'inputs\.image' must have shape \['batch', 3, 64, 64\]"),
    "mobile.json missing keys": (lambda f: _json_edit(f, "mobile.json", lambda d: d.pop("files")),
                                 r"mobile\.json: missing keys \['files'\]"),
    "preview not a PNG": (replaced("preview.png", b"GIF89a" + bytes(100)), r"preview\.png is not a PNG image"),
    "preview 100000 x 100000": (replaced("preview.png", png_header(100_000, 100_000) + bytes(64)),
                                r"preview\.png claims 100000 x 100000 pixels"),
    "preview truncated": (lambda f: {**f, "preview.png": f["preview.png"][:60]}, r"preview\.png is a damaged PNG"),
    "README not UTF-8": (replaced("README.md", b"# tiny\n\xff\xfe\x00\n"), r"README\.md is not UTF-8 text"),
    "README too large": (replaced("README.md", b"a" * (1024 * 1024 + 1)),
                         r"README\.md is larger than the 1,048,576-byte limit"),
    "attribution.json nested deep": (replaced("attribution.json", _deep(200_000)),
                                     r"attribution\.json is nested too deep"),
}


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


class TestHostilePackages:
    """Issue 14: whatever a package holds, validation refuses it with a message naming the file and the fix, and
    a package that validates stylizes."""

    @pytest.mark.parametrize("case", HOSTILE)
    def test_refused(self, package, case):
        edit, message = HOSTILE[case]
        write_files(package, edit(files_of(package)))
        with pytest.raises(StylePackageError, match=message) as info:
            validate_package(package)
        assert "recursion" not in str(info.value) and "Traceback" not in str(info.value)

    def test_bundled_styles_still_validate(self):
        good, bad = scan_styles(Path(pkg.__file__).resolve().parents[1] / "styles")
        assert len(good) == 4 and bad == {}

    def test_model_fields_match_the_generator(self):
        from dataclasses import fields

        from core.generator import HEADS, GeneratorConfig

        assert set(pkg.MODEL_FIELDS) == {f.name for f in fields(GeneratorConfig)}
        assert set(pkg.MODEL_FIELDS["head"][1]) == set(HEADS)

    def test_every_model_field_is_checked(self, package):
        original = files_of(package)
        for key, spec in pkg.MODEL_FIELDS.items():
            write_files(package, model_edit(**{key: "x" if spec[0] != "choice" else 3})(original))
            with pytest.raises(StylePackageError, match=f"'model.{key}' is"):
                validate_package(package)

    def test_json_reader_limits(self, tmp_path):
        file = tmp_path / "x.json"
        file.write_bytes(b" " * (pkg.MAX_JSON_BYTES + 1))
        with pytest.raises(StylePackageError, match="larger than the 4,194,304-byte limit"):
            pkg.read_json(file)
        file.write_bytes(_deep(33))
        with pytest.raises(StylePackageError, match="nested too deep"):
            pkg.read_json(file)
        file.write_bytes(_deep(32))
        assert pkg.read_json(file) is not None


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


class TestScanStylesIsolation:
    """Issue 14: one bad folder in the styles directory never disables the others."""

    def test_deep_and_huge_json_are_reported(self, package, caplog):
        for name, data in (("deep", _deep(200_000)), ("digits", b'{"name": ' + b"9" * 5000 + b"}")):
            shutil.copytree(package, package.parent / name)
            (package.parent / name / CONFIG_FILE).write_bytes(data)
        with caplog.at_level(logging.WARNING, logger="core.package"):
            good, bad = scan_styles(package.parent)
        assert [p.name for p in good] == ["tiny"]
        assert "nested too deep (more than 32 levels)" in bad["deep"] and "5000 digits" in bad["digits"]
        assert "skipped style folder" in caplog.text and "deep" in caplog.text

    def test_any_exception_of_one_package_is_reported(self, package, monkeypatch):
        shutil.copytree(package, package.parent / "zzz")
        real = pkg.check_weights

        def flaky(path, config):
            if path.name == "zzz":
                raise RuntimeError("disk on fire")
            return real(path, config)

        monkeypatch.setattr(pkg, "check_weights", flaky)
        good, bad = scan_styles(package.parent)
        assert [p.name for p in good] == ["tiny"] and "RuntimeError: disk on fire" in bad["zzz"]

    def test_cleans_stale_pull_folders(self, package):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        root = package.parent
        stale = [root / f".pull-{dead.pid}-abc", root / ".pull-oldstyle", root / f".tiny.removed-{dead.pid}",
                 root / f".tiny.new-{dead.pid}-k2j", root / f".tiny.old-{dead.pid}-x9"]  # killed write / replace
        live = root / f".pull-{os.getpid()}-live"
        for folder in (*stale, live):
            folder.mkdir()
            (folder / "style.json").write_text("{}")
        old = time.time() - 3600
        os.utime(root / ".pull-oldstyle", (old, old))
        good, bad = scan_styles(root)
        assert [p.name for p in good] == ["tiny"] and bad == {}
        assert not any(f.exists() for f in stale) and live.is_dir()


class TestStyleConfig:
    def test_json_round_trip(self):
        config = StyleConfig(name="x", template=[list(p) for p in PHOTO_TEMPLATE])
        assert StyleConfig.from_dict(json.loads(config.to_json())) == config
