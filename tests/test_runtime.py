import numpy as np
import pytest

from core import topology
from core.runtime import OnnxRunner, clear_cache, get_runner


def face_batch(style, n=2):
    r = style.config.resolution
    images = np.random.default_rng(0).integers(0, 255, (n, r, r, 3), dtype=np.uint8)
    mesh = np.full((n, topology.NUM_MESH_POINTS, 2), r / 2, np.float32)
    mesh[:, topology.CANONICAL_INDICES] = (np.asarray(style.config.template) + 1) * r / 2
    return images, mesh


class TestGetRunner:
    def test_cached(self, tiny_style):
        clear_cache()
        assert get_runner(tiny_style) is get_runner(tiny_style)
        assert isinstance(get_runner(tiny_style), OnnxRunner)

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
