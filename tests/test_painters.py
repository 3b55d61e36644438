"""studio.painters: the procedural painters, the landmark-driven exaggeration, `paint`, and the
scripts/make_artworks.py helpers that turn photos into artworks with provenance."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from core.alignment import align_face
from core.errors import DatasetError, LandmarkError
from core.landmarks import FaceDetector
from core.topology import GROUP_SLICES, to_canonical
from studio.painters import EXAGGERATION, PAINTERS, exaggerate, exaggerate_points, paint

ROOT = Path(__file__).resolve().parents[1]
DETECTOR = FaceDetector()
SIZE = 256


@pytest.fixture(scope="module")
def script():
    """scripts/make_artworks.py as a module."""
    spec = importlib.util.spec_from_file_location("make_artworks", ROOT / "scripts" / "make_artworks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def crop(astronaut):
    """The astronaut's face aligned at SIZE px (the frame artworks are made in)."""
    return align_face(astronaut, DETECTOR(astronaut)[0], size=SIZE)


@pytest.fixture(scope="module")
def painted(crop):
    """{style: artwork of the aligned astronaut with its exaggeration}."""
    return {style: paint(style, crop.image, crop.points, seed=3) for style in PAINTERS}


def _eye_width(points: np.ndarray) -> float:
    """Sum of both eyes' corner-to-corner distances of (478, 2) mesh points."""
    return float(np.linalg.norm(points[33] - points[133]) + np.linalg.norm(points[362] - points[263]))


@pytest.mark.parametrize("style", sorted(PAINTERS))
class TestPainters:
    def test_shape_dtype_and_change(self, style, crop, painted):
        out = painted[style]
        assert out.shape == crop.image.shape and out.dtype == np.uint8
        assert np.abs(out.astype(np.float32) - crop.image).mean() > 8.0

    def test_deterministic_per_seed(self, style, crop):
        painter = PAINTERS[style]
        a = painter(crop.image, np.random.default_rng(7))
        b = painter(crop.image, np.random.default_rng(7))
        c = painter(crop.image, np.random.default_rng(8))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_keeps_a_detectable_face(self, style, crop, painted):
        faces = DETECTOR(painted[style])
        assert faces, f"no face detected on the {style} artwork"
        target = to_canonical(crop.points)
        if EXAGGERATION[style]:
            target = exaggerate_points(target, EXAGGERATION[style])
        error = np.linalg.norm(faces[0].canonical - target, axis=1).mean()
        assert error < 0.06 * SIZE  # landmarks land where the (moved) face is

    def test_non_square_and_input_untouched(self, style, astronaut):
        image = np.ascontiguousarray(astronaut[:90, 20:150])
        before = image.copy()
        out = PAINTERS[style](image, np.random.default_rng(0))
        assert out.shape == (90, 130, 3) and out.dtype == np.uint8
        np.testing.assert_array_equal(image, before)

    @pytest.mark.parametrize("bad", [
        np.zeros((64, 64, 3), np.float32),
        np.zeros((64, 64), np.uint8),
        np.zeros((64, 64, 4), np.uint8),
        np.zeros((8, 64, 3), np.uint8),
        [[0, 0, 0]],
    ])
    def test_bad_image(self, style, bad):
        with pytest.raises(ValueError, match="image"):
            PAINTERS[style](bad, np.random.default_rng(0))

    def test_bad_rng(self, style, crop):
        with pytest.raises(ValueError, match="Generator"):
            PAINTERS[style](crop.image, 0)


class TestExaggeratePoints:
    def test_identity_at_zero(self, crop):
        points = to_canonical(crop.points)
        np.testing.assert_allclose(exaggerate_points(points, 0.0), points)

    def test_eyes_scaled_about_their_centres(self, crop):
        points = to_canonical(crop.points).astype(np.float64)
        moved = exaggerate_points(points, 1.0)
        for side in ("right", "left"):
            idx = GROUP_SLICES[f"{side}_eye"]
            np.testing.assert_allclose(moved[idx].mean(0), points[idx].mean(0), atol=1e-9)
            ratio = np.ptp(moved[idx], axis=0) / np.ptp(points[idx], axis=0)
            np.testing.assert_allclose(ratio, 1.4, rtol=1e-9)

    def test_jaw_narrower_chin_higher(self, crop):
        points = to_canonical(crop.points).astype(np.float64)
        moved = exaggerate_points(points, 1.0)
        oval = GROUP_SLICES["face_oval"]
        assert moved[oval][:, 1].max() < points[oval][:, 1].max() - 5
        lower = points[oval][:, 1] > points[GROUP_SLICES["nose"]][:, 1].mean()
        assert np.ptp(moved[oval][lower, 0]) < np.ptp(points[oval][lower, 0])

    def test_bad_shape(self):
        with pytest.raises(LandmarkError):
            exaggerate_points(np.zeros((10, 2)))


class TestExaggerate:
    def test_eyes_grow_when_redetected(self, crop):
        out = exaggerate(crop.image, crop.points, 1.0)
        before, after = DETECTOR(crop.image)[0].points, DETECTOR(out)[0].points
        assert _eye_width(after) > 1.08 * _eye_width(before)

    def test_border_fixed(self, crop):
        out = exaggerate(crop.image, crop.points, 1.0).astype(np.float32)
        ref = crop.image.astype(np.float32)
        for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
            assert np.abs(out[edge] - ref[edge]).mean() < 0.5
        assert np.abs(out - ref).mean() > 1.0  # the inside did move

    def test_strength_zero_and_canonical_input(self, crop):
        np.testing.assert_array_equal(exaggerate(crop.image, crop.points, 0.0), crop.image)
        np.testing.assert_array_equal(exaggerate(crop.image, to_canonical(crop.points), 1.0),
                                      exaggerate(crop.image, crop.points, 1.0))

    def test_bad_input(self, crop):
        with pytest.raises(LandmarkError):
            exaggerate(crop.image, np.zeros((5, 2)))
        with pytest.raises(ValueError, match="strength"):
            exaggerate(crop.image, crop.points, -1.0)
        with pytest.raises(ValueError, match="uint8"):
            exaggerate(crop.image.astype(np.float32), crop.points)


class TestPaint:
    def test_exaggeration_only_where_configured(self, crop, painted):
        plain = paint("animation", crop.image, seed=3)
        assert not np.array_equal(plain, painted["animation"])
        np.testing.assert_array_equal(paint("oil", crop.image, seed=3), painted["oil"])

    def test_matches_painter_with_seeded_rng(self, crop):
        np.testing.assert_array_equal(paint("ink", crop.image, seed=5),
                                      PAINTERS["ink"](crop.image, np.random.default_rng(5)))

    def test_unknown_style(self, crop):
        with pytest.raises(ValueError, match="watercolor"):
            paint("pastel", crop.image)


class TestMakeArtworksScript:
    def test_split_halves_disjoint_and_stable(self, script):
        names = [f"{i:04d}.jpg" for i in range(101)]
        art, pool = script.split_halves(names)
        assert len(art) == 51 and len(pool) == 50 and not set(art) & set(pool)
        assert script.split_halves(list(reversed(names))) == (art, pool)

    def test_artworks_with_provenance(self, script, astronaut, tmp_path):
        photos = tmp_path / "photos"
        (photos / "images").mkdir(parents=True)
        rows = []
        for name, license_ in (("a.png", "Public Domain Mark"), ("b.png", "Public Domain Mark"),
                               ("c.png", "All rights reserved"), ("d.png", "Public Domain Dedication (CC0)")):
            script.save_image(photos / "images" / name, astronaut)
            rows.append({"image_name": name, "author": "NASA", "photo_url": f"https://example.org/{name}",
                         "license": license_})
        (photos / "metadata.json").write_text(json.dumps(rows))
        (tmp_path / "skip.txt").write_text("# held out\nb.png\n")
        out = tmp_path / "art"
        made = script.make_artworks("ink", photos, out, count=5, seed=1, size=128,
                                    exclude=script.read_list(str(tmp_path / "skip.txt")))
        # b is held out, c is not license-clean, d is a near duplicate of a (the same photo)
        assert [r["source_image"] for r in made] == ["a.png"]
        meta = json.loads((out / "metadata.json").read_text())
        assert meta == made and (out / "a.png").is_file()
        row = meta[0]
        assert row["image_name"] == "a.png" and row["license"] == "Public Domain Mark"
        assert row["painter"] == "ink" and row["software"]["portrait_studio"]
        redo = paint("ink", align_face(astronaut, DETECTOR(astronaut)[0], size=128).image, seed=row["seed"])
        np.testing.assert_array_equal(script.load_image(out / "a.png"), redo)
        with pytest.raises(DatasetError, match="already holds images"):
            script.make_artworks("ink", photos, out, count=1, seed=1, size=128)
