import shutil

import numpy as np
import pytest

from core.aligned import template_mesh
from core.errors import StylePackageError
from core.package import validate_package
from core.runtime import OnnxRunner, Runner, clear_cache, get_runner


def face_batch(style, n=2):
    r = style.config.resolution
    images = np.random.default_rng(0).integers(0, 255, (n, r, r, 3), dtype=np.uint8)
    mesh = np.repeat(template_mesh(style.config.template, r)[None], n, 0)
    return images, mesh


class TestGetRunner:
    def test_cached(self, tiny_style):
        clear_cache()
        assert get_runner(tiny_style) is get_runner(tiny_style)
        assert isinstance(get_runner(tiny_style), OnnxRunner)

    def test_threads_are_part_of_the_cache_key(self, tiny_style, monkeypatch):
        clear_cache()
        monkeypatch.setenv("PORTRAIT_THREADS", "2")
        one, default = get_runner(tiny_style, threads=1), get_runner(tiny_style)
        assert one is not default and one is get_runner(tiny_style, threads=1)
        assert one.session.get_session_options().intra_op_num_threads == 1
        assert default.session.get_session_options().intra_op_num_threads == 2

    def test_onnx_matches_torch(self, tiny_style):
        images, mesh = face_batch(tiny_style)
        a = get_runner(tiny_style)(images, mesh, 1.0).astype(int)
        b = get_runner(tiny_style, backend="torch")(images, mesh, 1.0).astype(int)
        assert a.shape == images.shape and np.abs(a - b).max() <= 1

    @pytest.mark.parametrize("variant", ["fp16", "int8"])
    def test_variants_run(self, tiny_style, variant):
        images, mesh = face_batch(tiny_style, 1)
        out = get_runner(tiny_style, variant=variant)(images, mesh, 1.0)
        ref = get_runner(tiny_style)(images, mesh, 1.0)
        assert np.abs(out.astype(int) - ref).mean() < 8

    def test_bad_backend_and_size(self, tiny_style):
        with pytest.raises(ValueError, match="backend"):
            get_runner(tiny_style, backend="tf")
        with pytest.raises(ValueError, match="64x64"):
            get_runner(tiny_style)(np.zeros((1, 32, 32, 3), np.uint8), np.zeros((1, 478, 2)), 1.0)


class TestBrokenGraphs:
    """Issue 14: a graph is verified before its first use, also for packages listed without their models
    (scan_styles), so a broken one fails with a message naming the file, not a numpy or onnxruntime traceback."""

    @pytest.fixture
    def broken(self, tiny_style, tmp_path):
        """A copy of the tiny style whose model.onnx is replaced by `bytes`, listed as scan_styles lists it."""
        def make(data: bytes):
            path = shutil.copytree(tiny_style.path, tmp_path / "broken")
            (path / "model.onnx").write_bytes(data)
            return validate_package(path, check_models=False)
        return make

    def test_wrong_output_shape(self, broken, tiny_style):
        from test_package import wrong_shape_onnx

        style = broken(wrong_shape_onnx())
        images, mesh = face_batch(style, 1)
        with pytest.raises(StylePackageError, match=r"model\.onnx answers .* output of shape \(1, 478, 2\)"):
            get_runner(style)(images, mesh, 1.0)

    @pytest.mark.parametrize("location", ["../../secret.bin", "/etc/passwd"])
    def test_external_data(self, broken, tiny_style, location):
        from test_package import external_data_onnx, files_of

        style = broken(external_data_onnx(location)(files_of(tiny_style.path))["model.onnx"])
        with pytest.raises(StylePackageError, match="keeps its data in an external file"):
            get_runner(style)

    def test_answers_are_checked(self, tiny_style):
        class Wrong(Runner):
            def run(self, image, landmarks, alpha):
                return landmarks  # (B, 478, 2)

        images, mesh = face_batch(tiny_style, 2)
        with pytest.raises(StylePackageError, match=r"answered \(2, 478, 2\) float32 instead of \(2, 3, 64, 64\)"):
            Wrong(tiny_style)(images, mesh, 1.0)

    def test_one_tiny_inference_per_file(self, tiny_style, tmp_path, monkeypatch):
        from core import package

        calls = []
        real = package.check_onnx_runs
        monkeypatch.setattr(package, "check_onnx_runs", lambda file, config: (calls.append(file), real(file, config)))
        style = validate_package(shutil.copytree(tiny_style.path, tmp_path / "fresh"))  # verifies all 3 variants
        assert len(calls) == 3
        clear_cache()
        get_runner(style)
        clear_cache()
        get_runner(style)
        validate_package(style.path)
        assert len(calls) == 3  # verified once per file version, however often it is loaded
