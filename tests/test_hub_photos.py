"""studio/hub_photos.py against tests/hubserver.py over real HTTP: a photo pool published as a dataset repo and
trained on from there, and the pools that must not be published."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hubserver import hub_server  # noqa: F401 - the fixture is used by name
from test_data import make_aligned_pool

from core.errors import DatasetError
from studio.data import POOL_ATTRIBUTION, POOL_MANIFEST, build_photo_pool
from studio.hub_photos import check_pool, push_photos

ROOT = Path(__file__).resolve().parents[1]
REPO = "alice/faces"


@pytest.fixture
def pool(tmp_path, astronaut) -> Path:
    return make_aligned_pool(tmp_path / "pool", astronaut)


class TestPushPhotos:
    def test_round_trip_through_the_hub(self, hub_server, pool, tmp_path, monkeypatch):  # noqa: F811
        result = push_photos(pool, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        remote = hub_server.files("datasets/" + REPO)
        assert sorted(result.files) == sorted(set(remote) - {".gitattributes"})
        assert {"pool.json", "landmarks.npz", "attribution.json", "README.md", "images/a0.jpg"} <= set(remote)
        assert remote["images/a1.jpg"] == (pool / "images" / "a1.jpg").read_bytes()
        card = remote["README.md"].decode()
        assert card.startswith("---\n") and "portrait-studio" in card and "Public Domain Mark (3)" in card
        assert not (pool / "README.md").exists()  # the card is written for the upload only
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
        local, pulled = build_photo_pool(pool, 64), build_photo_pool(REPO, 64, cache_dir=None)
        assert pulled.source == REPO and len(pulled.images) == 3
        np.testing.assert_array_equal(pulled.images, local.images)  # trained on from the Hub, landmarks and all
        np.testing.assert_allclose(pulled.points, local.points)
        assert [p["license"] for p in pulled.provenance] == ["Public Domain Mark"] * 3

    def test_its_own_card_is_kept(self, hub_server, pool):  # noqa: F811
        (pool / "README.md").write_text("---\nlicense: cc0-1.0\n---\n# my faces\n")
        push_photos(pool, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert hub_server.files("datasets/" + REPO)["README.md"] == (pool / "README.md").read_bytes()
        assert hub_server.files("datasets/" + REPO) and "alice/faces" not in hub_server.repos  # not a model repo

    def test_the_bundled_pool_is_publishable(self):
        manifest, files = check_pool(ROOT / "studio" / "photos")
        assert manifest["count"] == 400 and len(files) == 403 and all((ROOT / "studio" / "photos" / f).is_file()
                                                                     for f in files)


class TestRefused:
    def test_a_photo_without_a_license(self, hub_server, pool):  # noqa: F811
        rows = json.loads((pool / POOL_ATTRIBUTION).read_text())
        rows[1]["license"] = ""
        (pool / POOL_ATTRIBUTION).write_text(json.dumps(rows))
        with pytest.raises(DatasetError, match=r"a1\.jpg has no license and author or URL in attribution\.json"):
            push_photos(pool, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert hub_server.repos == {} and hub_server.count("POST") == 0  # nothing was created or sent

    def test_a_photo_without_a_row(self, pool):
        rows = json.loads((pool / POOL_ATTRIBUTION).read_text())
        (pool / POOL_ATTRIBUTION).write_text(json.dumps(rows[:2]))
        with pytest.raises(DatasetError, match=r"a2\.jpg has no license"):
            check_pool(pool)

    def test_a_plain_folder(self, tmp_path):
        (tmp_path / "x.jpg").write_bytes(b"")
        with pytest.raises(DatasetError, match="not an aligned photo pool.*make_photo_pool.py"):
            check_pool(tmp_path)

    def test_a_broken_pool(self, pool):
        (pool / POOL_MANIFEST).write_text(json.dumps({**json.loads((pool / POOL_MANIFEST).read_text()), "count": 9}))
        with pytest.raises(DatasetError, match="declares 9"):
            check_pool(pool)
        (pool / POOL_MANIFEST).write_text("{")
        with pytest.raises(DatasetError, match="pool.json is not readable JSON"):
            check_pool(pool)

    def test_no_token(self, hub_server, pool):  # noqa: F811
        from core.errors import HubError

        with pytest.raises(HubError):
            push_photos(pool, REPO, endpoint=hub_server.endpoint)
        assert hub_server.repos == {}


def test_cli_imports_no_torch_until_it_runs():
    code = "import sys; import studio.hub_photos; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_cli(hub_server, pool):  # noqa: F811
    env = {**hub_server.client_env(), "PATH": "/usr/bin:/bin", "HOME": str(pool.parent)}
    done = subprocess.run([sys.executable, "-m", "studio", "push-photos", str(pool), "--repo", REPO], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pushed" in done.stdout and "train --photos alice/faces" in done.stdout
    assert "datasets/alice/faces" in hub_server.repos
    bad = subprocess.run([sys.executable, "-m", "studio", "push-photos", str(pool.parent), "--repo", REPO],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "is not an aligned photo pool" in bad.stderr
