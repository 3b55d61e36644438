"""Tests for studio/data.py: style sets, photo pools, overrides, templates and landmark-consistent augmentation.
Over 500 lines because it mirrors studio/data.py (long for the reasons at its top).

Artworks are painted from scikit-image's public-domain astronaut with studio.painters (crops and flips), so
the face detector finds them without ../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core import topology
from core.errors import DatasetError
from core.images import save_image
from core.landmarks import detect_faces
from core.topology import edit_landmarks
from core.tps import norm_to_pixel
from studio.data import (BUNDLED_POOL, OUTLIER_Z, POOL_ATTRIBUTION, POOL_FORMAT, POOL_LANDMARKS, POOL_MANIFEST,
                         POOL_VERSION, FaceSet, apply_warp, build_photo_pool, build_style_set, color_jitter,
                         default_photo_source, fit_keypoints, hflip, license_summary, load_aligned_pool,
                         load_overrides, mean_template, outlier_scores, random_tps, random_warp, resolve_source,
                         seeded_generator, source_label, template_in_image, to_tensor, warp_to)

SIZE = 64


def astronaut_views(astronaut: np.ndarray) -> list[np.ndarray]:
    """Three crops of the astronaut with the face at different places and scales (one mirrored)."""
    import cv2

    return [np.ascontiguousarray(astronaut[0:320, 80:400]),
            np.ascontiguousarray(astronaut[20:300, 100:380][:, ::-1]),
            cv2.resize(astronaut[0:360, 60:420], (300, 300), interpolation=cv2.INTER_AREA)]


def make_dataset(folder: Path, astronaut: np.ndarray, artworks: int = 6) -> tuple[Path, Path]:
    """folder/art: `artworks` painted astronauts (4 painters x views); folder/photos: 9 brightness variants."""
    from studio.painters import paint

    art, photos = folder / "art", folder / "photos"
    art.mkdir(parents=True, exist_ok=True)
    photos.mkdir(parents=True, exist_ok=True)
    views = astronaut_views(astronaut)
    styles = ("watercolor", "oil", "ink")
    for k in range(artworks):
        save_image(art / f"art{k}.png", paint(styles[k % 3], views[k % 2], seed=k))
    for i, view in enumerate(views):
        for j, gain in enumerate((0.8, 1.0, 1.2)):
            save_image(photos / f"p{i}{j}.jpg", np.clip(view * gain, 0, 255).astype(np.uint8))
    return art, photos


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, astronaut) -> tuple[Path, Path]:
    return make_dataset(tmp_path_factory.mktemp("data"), astronaut)


@pytest.fixture(scope="module")
def style_set(dataset):
    return build_style_set(dataset[0], SIZE)


def _copy_art(src: Path, dst: Path, names: list[str]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        (dst / n).write_bytes((src / n).read_bytes())
    return dst


def _noise_image(path: Path, seed: int = 0) -> None:
    save_image(path, np.random.default_rng(seed).integers(0, 255, (96, 96, 3), dtype=np.uint8))


class TestBuildStyleSet:
    def test_smoke(self, style_set):
        assert style_set.images.shape == (6, SIZE, SIZE, 3) and style_set.images.dtype == np.uint8
        assert style_set.points.shape == (6, topology.NUM_CANONICAL, 2)
        assert [r.status for r in style_set.records] == ["ok"] * 6
        assert style_set.files == [f"art{k}.png" for k in range(6)]
        # Aligned frame: eyes above the mouth, both inside the crop.
        assert ((style_set.points > 0) & (style_set.points < SIZE)).all()

    def test_list_of_files(self, dataset):
        files = sorted(dataset[0].glob("*.png"))[:3]
        s = build_style_set(files, SIZE)
        assert len(s) == 3 and s.files == [str(f) for f in files]

    def test_non_images_are_reported(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png", "art1.png"])
        (folder / "notes.txt").write_text("not an image")
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        s = build_style_set(folder, SIZE)
        status = {r.file: (r.status, r.message) for r in s.records}
        assert status["notes.txt"][0] == "excluded" and "not a readable image" in status["notes.txt"][1]
        assert status["broken.png"][0] == "excluded"
        assert len(s) == 2 and "excluded" in s.report()

    def test_no_face_excluded_and_reported(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png", "art1.png"])
        _noise_image(folder / "noise.png")
        s = build_style_set(folder, SIZE, missing="exclude")
        rec = next(r for r in s.records if r.file == "noise.png")
        assert rec.status == "excluded" and "no face" in rec.message and rec.index is None
        assert len(s) == 2

    def test_missing_template_fits_mean_shape(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png", "art1.png"])
        _noise_image(folder / "noise.png")
        s = build_style_set(folder, SIZE, missing="template")
        rec = next(r for r in s.records if r.file == "noise.png")
        assert rec.status == "fitted" and rec.source == "template" and "centred square" in rec.message
        assert len(s) == 3
        # The fitted shape is the other artworks' mean, up to the similarity alignment.
        np.testing.assert_allclose(s.points[rec.index], s.points[:2].mean(0), atol=1.0)

    def test_missing_error(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png", "art1.png"])
        _noise_image(folder / "noise.png")
        with pytest.raises(DatasetError, match="noise.png"):
            build_style_set(folder, SIZE, missing="error")

    def test_overrides_points_and_keypoints(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png", "art1.png"])
        _noise_image(folder / "a_noise.png", 1)
        _noise_image(folder / "b_noise.png", 2)
        face = detect_faces(folder / "art0.png")[0]
        keypoints = {str(i): face.points[i].tolist() for _, i in topology.LANDMARK_KEYPOINTS}
        overrides = tmp_path / "landmarks.json"
        overrides.write_text(json.dumps({"a_noise.png": {"points": face.points.tolist()},
                                         "b_noise.png": {"keypoints": keypoints},
                                         "gone.png": {"points": face.points.tolist()}}))
        s = build_style_set(folder, SIZE, overrides=overrides)
        recs = {r.file: r for r in s.records}
        assert recs["a_noise.png"].status == "override" and recs["b_noise.png"].status == "override"
        # Full points give art0's aligned landmarks exactly; keypoints pass through their 13 points (the
        # alignment, computed from the fitted eyes, may shift the frame by a fraction of a pixel).
        np.testing.assert_allclose(s.points[recs["a_noise.png"].index], s.points[recs["art0.png"].index], atol=1e-3)
        kp_pos = [topology.CANONICAL_INDICES.index(i) for _, i in topology.LANDMARK_KEYPOINTS]
        np.testing.assert_allclose(s.points[recs["b_noise.png"].index][kp_pos],
                                   s.points[recs["art0.png"].index][kp_pos], atol=0.5)
        assert any("gone.png" in w for w in s.warnings)

    def test_bad_override_file(self, dataset, tmp_path):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"art0.png": {"keypoints": {"33": [1, 2]}}}))
        with pytest.raises(DatasetError, match="at least 3 keypoints"):
            build_style_set(dataset[0], SIZE, overrides=bad)
        bad.write_text("{not json")
        with pytest.raises(DatasetError, match="not valid JSON"):
            load_overrides(bad)
        bad.write_text(json.dumps({"x.png": {"points": [[0, 0]] * 5}}))
        with pytest.raises(DatasetError, match="478"):
            load_overrides(bad)

    def test_outlier_flagged_then_excluded(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", [f"art{k}.png" for k in range(6)])
        face = detect_faces(folder / "art2.png")[0]
        pts = face.points.copy()
        eyes = np.r_[topology.GROUPS["left_eye"], topology.GROUPS["left_iris"]]
        pts[eyes] += (0, -40)  # one eye far above the other
        overrides = tmp_path / "o.json"
        overrides.write_text(json.dumps({"art2.png": {"points": pts.tolist()}}))
        s = build_style_set(folder, SIZE, overrides=overrides)
        rec = next(r for r in s.records if r.file == "art2.png")
        assert rec.status == "outlier" and rec.z > OUTLIER_Z and "landmark editor" in rec.message
        assert len(s) == 6
        s2 = build_style_set(folder, SIZE, overrides=overrides, exclude_outliers=True)
        assert len(s2) == 5 and next(r for r in s2.records if r.file == "art2.png").status == "excluded"

    def test_empty_folder(self, tmp_path):
        with pytest.raises(DatasetError, match="empty"):
            build_style_set(tmp_path, SIZE)

    def test_missing_folder(self, tmp_path):
        with pytest.raises(DatasetError, match="does not exist"):
            build_style_set(tmp_path / "nope", SIZE)

    def test_only_non_images(self, tmp_path):
        (tmp_path / "a.txt").write_text("x")
        with pytest.raises(DatasetError, match="readable image"):
            build_style_set(tmp_path, SIZE)

    def test_no_face_in_any_artwork(self, tmp_path):
        _noise_image(tmp_path / "a.png", 1)
        _noise_image(tmp_path / "b.png", 2)
        with pytest.raises(DatasetError, match="no face found in any.*landmark editor"):
            build_style_set(tmp_path, SIZE)

    def test_single_artwork(self, dataset, tmp_path):
        folder = _copy_art(dataset[0], tmp_path / "art", ["art0.png"])
        with pytest.raises(DatasetError, match="at least 2"):
            build_style_set(folder, SIZE)

    def test_bad_settings(self, dataset):
        with pytest.raises(DatasetError, match="missing"):
            build_style_set(dataset[0], SIZE, missing="guess")
        with pytest.raises(DatasetError, match="multiple of 8"):
            build_style_set(dataset[0], 60)


class TestBuildPhotoPool:
    def test_cache_and_provenance(self, dataset, tmp_path):
        meta = [{"image_name": "p00.jpg", "author": "NASA", "photo_url": "u", "license": "Public Domain Mark"}]
        (dataset[1] / "metadata.json").write_text(json.dumps(meta))
        calls = []

        def detector(image, max_faces=4):
            calls.append(1)
            return detect_faces(image, max_faces=max_faces)

        try:
            pool = build_photo_pool(dataset[1], SIZE, cache_dir=tmp_path, detector=detector)
            assert len(pool) == 9 and len(calls) == 9
            assert pool.provenance[0]["author"] == "NASA" and pool.provenance[1] is None
            assert license_summary(pool.provenance) == {"Public Domain Mark": 1, "unknown": 8}
            again = build_photo_pool(dataset[1], SIZE, cache_dir=tmp_path, detector=detector)
            assert len(calls) == 9, "the second build must come from the cache"
            np.testing.assert_array_equal(again.images, pool.images)
            np.testing.assert_array_equal(again.points, pool.points)
            for f in (tmp_path / "faces").glob("*.npz"):
                np.load(f, allow_pickle=False)  # plain arrays only
        finally:
            (dataset[1] / "metadata.json").unlink()

    def test_limit_and_exclusions(self, dataset, tmp_path):
        folder = tmp_path / "ph"
        folder.mkdir()
        _noise_image(folder / "a.png")
        (folder / "b.txt").write_text("x")
        for name in ("p00.jpg", "p01.jpg", "p02.jpg"):
            (folder / name).write_bytes((dataset[1] / name).read_bytes())
        pool = build_photo_pool(folder, SIZE, cache_dir=None, limit=2)
        assert len(pool) == 2
        assert {r.file: r.status for r in pool.records} == {"a.png": "excluded", "b.txt": "excluded",
                                                             "p00.jpg": "ok", "p01.jpg": "ok"}

    def test_hf_dataset_id(self, dataset, monkeypatch, tmp_path):
        import huggingface_hub

        seen = {}

        def fake_download(repo_id, repo_type, endpoint=None):
            seen.update(repo_id=repo_id, repo_type=repo_type)
            return str(dataset[1])

        monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
        pool = build_photo_pool("someone/faces", SIZE, cache_dir=tmp_path, limit=1)
        assert seen == {"repo_id": "someone/faces", "repo_type": "dataset"} and len(pool) == 1

    def test_bad_sources(self, tmp_path, monkeypatch):
        with pytest.raises(DatasetError, match="does not exist"):
            build_photo_pool(tmp_path / "nope/", SIZE)
        with pytest.raises(DatasetError, match="empty"):
            build_photo_pool(tmp_path, SIZE)
        _noise_image(tmp_path / "a.png")
        with pytest.raises(DatasetError, match="no face found"):
            build_photo_pool(tmp_path, SIZE, cache_dir=None)


def make_aligned_pool(folder: Path, astronaut: np.ndarray, count: int = 3, size: int = 128) -> Path:
    """A tiny aligned pool in scripts/make_photo_pool.py's layout: `count` brightness variants of one aligned
    astronaut crop, its detected landmarks, attribution rows and the manifest."""
    from core.alignment import align_face

    face = detect_faces(astronaut_views(astronaut)[0], max_faces=1)[0]
    crop = align_face(astronaut_views(astronaut)[0], face, size=size, margin=1.0)
    (folder / "images").mkdir(parents=True)
    names, rows = [], []
    for k in range(count):
        name = f"images/a{k}.jpg"
        save_image(folder / name, np.clip(crop.image * (0.8 + 0.2 * k), 0, 255).astype(np.uint8))
        names.append(name)
        rows.append({"file": name, "image_name": f"a{k}.jpg", "author": "NASA", "photo_url": f"u{k}",
                     "license": "Public Domain Mark"})
    np.savez_compressed(folder / POOL_LANDMARKS, names=np.array(names),
                        points=np.stack([crop.points.astype(np.float32)] * count))
    (folder / POOL_ATTRIBUTION).write_text(json.dumps(rows))
    (folder / POOL_MANIFEST).write_text(json.dumps({"format": POOL_FORMAT, "version": POOL_VERSION, "size": size,
                                                    "margin": 1.0, "count": count}))
    return folder


class TestAlignedPool:
    @pytest.fixture
    def pool_dir(self, tmp_path, astronaut):
        return make_aligned_pool(tmp_path / "pool", astronaut)

    def test_loads_without_detection(self, pool_dir, monkeypatch):
        import core.landmarks

        def no_detection(*a, **k):
            raise AssertionError("an aligned pool must not run the face detector")

        monkeypatch.setattr(core.landmarks, "default_detector", no_detection)
        pool = build_photo_pool(pool_dir, SIZE, cache_dir=None)
        assert len(pool) == 3 and pool.images.shape == (3, SIZE, SIZE, 3) and pool.points.shape == (3, 73, 2)
        assert pool.files == ["images/a0.jpg", "images/a1.jpg", "images/a2.jpg"]
        assert {r.source for r in pool.records} == {"stored"}
        assert license_summary(pool.provenance) == {"Public Domain Mark": 3}
        full = load_aligned_pool(pool_dir, 128)  # the stored size: points exactly as stored
        stored = np.load(pool_dir / POOL_LANDMARKS)["points"]
        np.testing.assert_allclose(full.points[0], topology.to_canonical(stored[0]), atol=1e-5)
        np.testing.assert_allclose(pool.points, full.points * (SIZE / 128), atol=1e-4)  # resized: points scale
        assert len(build_photo_pool(pool_dir, SIZE, limit=2)) == 2

    def test_landmarks_match_a_fresh_detection(self, pool_dir):
        """The stored landmarks are where the detector finds the face in the crop (a few pixels at 128 px)."""
        pool = load_aligned_pool(pool_dir, 128)
        fresh = detect_faces(pool.images[1], max_faces=1)[0].canonical
        assert np.abs(fresh - pool.points[1]).mean() < 4.0

    def test_other_margin_realigns_from_stored_points(self, pool_dir):
        from core.alignment import alignment_matrix

        wide = load_aligned_pool(pool_dir, SIZE, margin=1.3)
        np.testing.assert_allclose(alignment_matrix(wide.points[0], SIZE, 1.3)[:, :2], np.eye(2), atol=1e-3)

    def test_missing_landmarks(self, pool_dir):
        (pool_dir / POOL_LANDMARKS).unlink()
        with pytest.raises(DatasetError, match=r"landmarks\.npz is missing.*make_photo_pool"):
            build_photo_pool(pool_dir, SIZE)

    @pytest.mark.parametrize("points, match", [
        (np.zeros((3, 73, 2), np.float32), r"expected \(N,\) and \(N, 478, 2\)"),
        (np.zeros((3, 478, 3), np.float32), r"points \(3, 478, 3\)"),
        (np.full((3, 478, 2), np.nan, np.float32), "non-finite"),
        (np.full((3, 478, 2), 5000.0, np.float32), "far outside"),
    ])
    def test_bad_landmarks(self, pool_dir, points, match):
        names = np.load(pool_dir / POOL_LANDMARKS)["names"]
        np.savez(pool_dir / POOL_LANDMARKS, names=names, points=points)
        with pytest.raises(DatasetError, match=match) as info:
            build_photo_pool(pool_dir, SIZE)
        assert str(pool_dir / POOL_LANDMARKS) in str(info.value) and "make_photo_pool" in str(info.value)

    def test_wrong_count(self, pool_dir):
        manifest = json.loads((pool_dir / POOL_MANIFEST).read_text())
        (pool_dir / POOL_MANIFEST).write_text(json.dumps({**manifest, "count": 5}))
        with pytest.raises(DatasetError, match="holds 3 faces but pool.json declares 5"):
            build_photo_pool(pool_dir, SIZE)

    def test_broken_files(self, pool_dir):
        (pool_dir / "images" / "a1.jpg").write_bytes(b"not a jpeg")
        with pytest.raises(DatasetError, match=r"a1\.jpg is not a readable crop"):
            build_photo_pool(pool_dir, SIZE)
        (pool_dir / POOL_LANDMARKS).write_bytes(b"garbage")
        with pytest.raises(DatasetError, match="not a readable npz"):
            build_photo_pool(pool_dir, SIZE)
        (pool_dir / POOL_MANIFEST).write_text(json.dumps({"format": "something else"}))
        with pytest.raises(DatasetError, match="not a portrait-studio-photo-pool manifest"):
            build_photo_pool(pool_dir, SIZE)
        (pool_dir / POOL_MANIFEST).write_text("{")
        with pytest.raises(DatasetError, match="pool.json is not readable JSON"):
            build_photo_pool(pool_dir, SIZE)

    def test_default_source_and_label(self, monkeypatch, tmp_path):
        monkeypatch.delenv("PORTRAIT_PHOTOS", raising=False)
        assert default_photo_source() == BUNDLED_POOL and source_label(BUNDLED_POOL) == "studio/photos"
        monkeypatch.setenv("PORTRAIT_PHOTOS", str(tmp_path))
        assert default_photo_source() == tmp_path and source_label(tmp_path) == str(tmp_path)
        assert source_label("someone/faces") == "someone/faces"

    def test_hf_prefix(self, monkeypatch, tmp_path):
        import huggingface_hub

        seen = {}
        monkeypatch.setattr(huggingface_hub, "snapshot_download",
                            lambda repo_id, repo_type, endpoint: seen.update(repo_id=repo_id, repo_type=repo_type)
                            or tmp_path)
        assert resolve_source("hf://datasets/someone/faces") == tmp_path
        assert seen == {"repo_id": "someone/faces", "repo_type": "dataset"}


class TestBundledPool:
    """studio/photos, committed with the project: present and valid in every checkout (no ../shared needed)."""

    def test_pool_loads_and_is_attributed(self):
        manifest = json.loads((BUNDLED_POOL / POOL_MANIFEST).read_text())
        pool = build_photo_pool(BUNDLED_POOL, SIZE, cache_dir=None)
        assert len(pool) == manifest["count"] >= 300 and pool.points.shape == (len(pool), 73, 2)
        assert np.isfinite(pool.points).all() and 0 <= pool.points.min() and pool.points.max() <= SIZE
        clean = {"Public Domain Mark", "Public Domain Dedication (CC0)", "United States Government Work"}
        assert all(p and p["author"] and p["photo_url"].startswith("https://") and p["license"] in clean
                   for p in pool.provenance)
        total = sum(f.stat().st_size for f in BUNDLED_POOL.rglob("*") if f.is_file())
        assert total < 10e6, f"the bundled pool is {total / 1e6:.1f} MB"
        assert "make_photo_pool.py" in (BUNDLED_POOL / "README.md").read_text()

    def test_held_out_faces_stay_out(self):
        import re

        root = Path(__file__).resolve().parents[1]
        sources = {r["source_image"] for r in json.loads((BUNDLED_POOL / POOL_ATTRIBUTION).read_text())}
        held = {ln.strip() for ln in (root / "studio" / "eval_holdout.txt").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")}
        docs_faces = set(re.findall(r"\"(\d+\.jpg)\"", re.search(r"DOCS_FACES = \[(.*?)\]",
                                    (root / "scripts" / "capture.py").read_text(), re.S).group(1)))
        example_ids = set(re.findall(r"flickr\.com/photos/[^/\s]+/(\d+)",
                                     (root / "examples" / "ATTRIBUTION.md").read_text()))
        artworks = set()
        for cfg in (root / "styles").glob("*/style.json"):
            files = json.loads(cfg.read_text())["provenance"]["artworks"]["files"]
            artworks |= {Path(f.strip()).stem + ".jpg" for f in files.split(",") if f.strip()}
        assert len(held) >= 40 and len(docs_faces) == 11 and len(example_ids) == 4 and artworks
        assert not sources & held and not sources & docs_faces and not sources & artworks
        assert not {Path(s).stem for s in sources} & example_ids


class TestMeanTemplate:
    def test_exact(self):
        pts = np.stack([np.full((73, 2), 16.0), np.full((73, 2), 48.0)])
        np.testing.assert_allclose(mean_template(pts, 64), np.zeros((73, 2)))

    def test_bad_shape(self):
        from core.errors import LandmarkError

        with pytest.raises(LandmarkError):
            mean_template(np.zeros((2, 10, 2)), 64)


class TestOutlierScores:
    def test_flags_only_the_odd_one(self):
        rng = np.random.default_rng(0)
        pts = 32 + rng.normal(0, 0.5, (10, 73, 2))
        pts[3, :10] += 15
        z = outlier_scores(pts, 64)
        assert z.argmax() == 3 and z[3] > OUTLIER_Z and (np.delete(z, 3) < OUTLIER_Z).all()

    def test_identical_shapes_flag_nothing(self):
        assert (outlier_scores(np.full((5, 73, 2), 30.0), 64) == 0).all()


class TestFitKeypoints:
    def test_exact_through_keypoints(self):
        ref = np.random.default_rng(0).normal(size=(73, 2))
        target = ref * 2 + 5
        idx = [33, 263, 61, 291, 4]
        kp = np.array([[i, *target[topology.CANONICAL_INDICES.index(i)]] for i in idx])
        # An affine target: the TPS is that affine map, so every point follows.
        np.testing.assert_allclose(fit_keypoints(kp, ref), target, atol=1e-6)


class TestTemplateInImage:
    def test_face_fills_centred_square(self):
        t = mean_template(np.full((1, 73, 2), 32.0) + np.random.default_rng(0).normal(0, 8, (1, 73, 2)), 64)
        pts = template_in_image(t, 100, 200)
        oval = pts[topology.GROUP_SLICES["face_oval"]]
        lo, hi = oval.min(0), oval.max(0)
        assert np.isclose((hi - lo).max(), 100) and np.allclose((lo + hi) / 2, (100, 50))


# --------------------------------------------------------------------------- torch helpers


def _dot_image(points: torch.Tensor, k: int, size: int = 64) -> torch.Tensor:
    """(B, 3, S, S) black images with a bright 3x3 square at canonical point k."""
    img = -torch.ones(points.shape[0], 3, size, size)
    px = norm_to_pixel(points[:, k], size, size).floor().long()
    for b, (x, y) in enumerate(px.tolist()):
        img[b, :, y - 1:y + 2, x - 1:x + 2] = 1.0
    return img


def _peak(img: torch.Tensor) -> torch.Tensor:
    """Brightness-weighted centre (B, 2) in normalized coordinates."""
    w = (img.mean(1) + 1).clamp_min(0) ** 4
    s = img.shape[-1]
    c = (torch.arange(s) + 0.5) * 2 / s - 1
    return torch.stack([(w.sum(1) * c).sum(-1), (w.sum(2) * c).sum(-1)], -1) / w.sum((1, 2))[:, None]


@pytest.fixture(scope="module")
def batch(style_set):
    return to_tensor(style_set.images[:4], style_set.points[:4], SIZE)


class TestToTensor:
    def test_ranges(self, style_set):
        x, p = to_tensor(style_set.images[:2], style_set.points[:2], SIZE)
        assert x.shape == (2, 3, SIZE, SIZE) and -1 <= x.min() and x.max() <= 1
        np.testing.assert_allclose(p.numpy(), style_set.points[:2] / 32 - 1, atol=1e-6)


class TestHflip:
    def test_twice_is_identity(self, batch):
        x, p = batch
        mask = torch.tensor([True, False, True, True])
        x2, p2 = hflip(*hflip(x, p, mask), mask)
        assert torch.equal(x2, x) and torch.allclose(p2, p)

    def test_landmarks_follow_the_image(self, batch):
        _, p = batch
        k = topology.CANONICAL_INDICES.index(33)  # subject's right eye corner
        x, p2 = hflip(_dot_image(p, k), p, torch.ones(4, dtype=torch.bool))
        # The dot now sits where the mirrored point lands, which is the *left* eye corner's slot.
        k2 = topology.FLIP[k]
        assert torch.allclose(_peak(x), p2[:, k2], atol=2.5 / SIZE)
        assert (p2[:, k2, 0] * p[:, k, 0] < 0).all()

    def test_mask_false_keeps(self, batch):
        x, p = batch
        x2, p2 = hflip(x, p, torch.zeros(4, dtype=torch.bool))
        assert torch.equal(x2, x) and torch.equal(p2, p)


class TestColorJitter:
    def test_zero_is_identity_and_seeded(self, batch):
        x, _ = batch
        assert torch.allclose(color_jitter(x, torch.Generator().manual_seed(0), 0, 0, 0), x)
        a = color_jitter(x, torch.Generator().manual_seed(1))
        b = color_jitter(x, torch.Generator().manual_seed(1))
        assert torch.equal(a, b) and not torch.allclose(a, x) and a.abs().max() <= 1


class TestRandomTps:
    def test_zero_strength_is_identity(self, batch):
        x, p = batch
        x2, p2 = random_tps(x, p, torch.Generator().manual_seed(0), strength=0.0)
        assert torch.allclose(x2, x, atol=1e-5) and torch.allclose(p2, p, atol=1e-6)

    def test_landmarks_follow_the_image(self, batch):
        _, p = batch
        k = topology.CANONICAL_INDICES.index(4)  # nose tip
        src, dst = random_warp(4, torch.Generator().manual_seed(3), strength=0.05)
        img, moved = apply_warp(_dot_image(p, k), p, src, dst)
        assert (moved - p).abs().max() > 0.01
        assert torch.allclose(_peak(img), moved[:, k], atol=2.5 / SIZE)


class TestWarpTo:
    def test_moves_landmarks_to_target(self, batch, style_set):
        _, p = batch
        target = torch.as_tensor(style_set.template)[None] * 0.9  # a smaller face
        k = topology.CANONICAL_INDICES.index(61)  # mouth corner
        out = warp_to(_dot_image(p, k), p, target, reg=0.0)
        assert torch.allclose(_peak(out), target[:, k].expand(4, 2), atol=2.5 / SIZE)


class TestSeededGenerator:
    def test_keys(self):
        a = torch.rand(3, generator=seeded_generator(0, 5, 0))
        assert torch.equal(a, torch.rand(3, generator=seeded_generator(0, 5, 0)))
        assert not torch.equal(a, torch.rand(3, generator=seeded_generator(0, 6, 0)))
        assert not torch.equal(a, torch.rand(3, generator=seeded_generator(0, 5, 1)))


class TestFaceSet:
    def test_edited_moves_points_and_template(self, style_set):
        edit = {"lips": {"scale": 0.5}}
        edited = style_set.edited(edit)
        np.testing.assert_array_equal(edited.points, edit_landmarks(style_set.points, edit, style_set.size))
        lips = topology.GROUP_SLICES["lips_outer"]
        assert np.ptp(edited.template[lips, 0]) == pytest.approx(0.5 * np.ptp(style_set.template[lips, 0]), rel=1e-4)
        assert edited.images is style_set.images and style_set.edited({}) is style_set

    def test_subset_renumbers(self, style_set):
        sub = style_set.subset([4, 1])
        assert isinstance(sub, FaceSet) and len(sub) == 2 and sub.files == ["art4.png", "art1.png"]
        np.testing.assert_array_equal(sub.images[0], style_set.images[4])


class TestArtworkEntry:
    """build_style_set's typed per-file record: every status it ever takes is a declared one."""

    def test_every_status_is_declared(self, dataset, tmp_path, monkeypatch):
        from studio import data as D

        seen = []
        setattr_ = D.ArtworkEntry.__setattr__

        def spy(self, key, value):
            if key == "status":
                seen.append(value)
            setattr_(self, key, value)

        monkeypatch.setattr(D.ArtworkEntry, "__setattr__", spy)
        folder = _copy_art(dataset[0], tmp_path / "art", [f"art{k}.png" for k in range(5)])
        _noise_image(folder / "kp_noise.png", 1)
        _noise_image(folder / "noise.png", 2)
        (folder / "notes.txt").write_text("not an image")
        face = detect_faces(folder / "art0.png")[0]
        keypoints = {str(i): face.points[i].tolist() for _, i in topology.LANDMARK_KEYPOINTS}
        pts = face.points.copy()
        pts[np.r_[topology.GROUPS["left_eye"], topology.GROUPS["left_iris"]]] += (0, -40)
        overrides = tmp_path / "o.json"
        overrides.write_text(json.dumps({"kp_noise.png": {"keypoints": keypoints},
                                         "art2.png": {"points": pts.tolist()}}))
        s = build_style_set(folder, SIZE, overrides=overrides, missing="template")
        assert set(seen) == {"missing", "keypoints", "ok", "override", "fitted", "excluded", "outlier"}
        assert set(seen) <= set(D.ARTWORK_STATUSES)
        assert {r.status for r in s.records} == {"ok", "override", "fitted", "excluded", "outlier"} == set(D.STATUSES)
        assert not set(D.PENDING) & {r.status for r in s.records}

    def test_an_undeclared_status_is_refused(self):
        from studio.data import ArtworkEntry

        entry = ArtworkEntry("a.png", Path("a.png"))
        assert entry.status == "missing"
        entry.exclude("why")
        assert entry.record(None).to_dict() == {"file": "a.png", "status": "excluded", "message": "why"}
        with pytest.raises(ValueError, match="'detected' is not one of"):
            entry.status = "detected"
        with pytest.raises(ValueError, match="not one of"):
            ArtworkEntry("b.png", Path("b.png"), status="keypoint")
