from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import topology
from core.background import stylize_tiles
from core.engine import stylize
from core.masks import grown_head
from core.package import StylePackage
from core.runtime import get_runner
from core.templates import PHOTO_TEMPLATE
from core.tps_numpy import surround_field
from tests.test_damping import close_eyes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_face_style(tmp_path_factory):
    """A tiny style whose template shrinks the face to 80 % about its centre: a strong geometry change."""
    from tests.conftest import make_tiny_style

    template = np.asarray(PHOTO_TEMPLATE) * 0.8
    return make_tiny_style(tmp_path_factory.mktemp("geometry"), name="small-face", template=template)


@pytest.fixture(scope="module")
def two_faces(astronaut):
    return np.concatenate([astronaut, astronaut[:, ::-1]], 1)


class TestStylize:
    def test_face_mode_changes_face_keeps_background(self, astronaut, tiny_style):
        result = stylize(astronaut, tiny_style)
        out = result.image
        assert out.shape == astronaut.shape and out.dtype == np.uint8
        assert len(result.faces) == 1 and result.message == ""
        x0, y0, x1, y1 = map(int, result.faces[0].box)
        face = (slice(y0, y1), slice(x0, x1))
        assert np.abs(out[face].astype(int) - astronaut[face]).mean() > 20
        assert np.array_equal(out[-60:], astronaut[-60:])  # far background (the bottom rows) untouched
        assert np.array_equal(out[:, -60:], astronaut[:, -60:])

    def test_full_mode_changes_background(self, astronaut, tiny_style):
        out = stylize(astronaut, tiny_style, mode="full").image
        assert out.shape == astronaut.shape
        assert np.abs(out[-60:].astype(int) - astronaut[-60:]).mean() > 20

    def test_mode_defaults_to_the_style(self, astronaut, tiny_style):
        whole = StylePackage(tiny_style.path, replace(tiny_style.config, mode_default="full"))
        assert np.abs(stylize(astronaut, whole).image[-60:].astype(int) - astronaut[-60:]).mean() > 20
        np.testing.assert_array_equal(stylize(astronaut, whole, mode="face").image[-60:], astronaut[-60:])

    def test_strength_zero_alpha_zero_is_the_original(self, astronaut, tiny_style):
        np.testing.assert_array_equal(stylize(astronaut, tiny_style, strength=0.0, alpha=0.0).image, astronaut)

    def test_strength_zero_is_near_original(self, astronaut, tiny_style):
        faint = stylize(astronaut, tiny_style, strength=0.0, alpha=0.0).image
        full = stylize(astronaut, tiny_style).image
        assert np.abs(faint.astype(int) - astronaut).mean() < 0.25 * np.abs(full.astype(int) - astronaut).mean()

    def test_two_faces(self, two_faces, tiny_style):
        result = stylize(two_faces, tiny_style)
        assert len(result.faces) == 2
        for f in result.faces:
            x0, y0, x1, y1 = map(int, f.box)
            assert np.abs(result.image[y0:y1, x0:x1].astype(int) - two_faces[y0:y1, x0:x1]).mean() > 20

    def test_no_face_returns_original_with_message(self, tiny_style):
        noise = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
        result = stylize(noise, tiny_style)
        assert np.array_equal(result.image, noise)
        assert "no face" in result.message and result.faces == []

    def test_no_face_full_mode_still_stylizes(self, tiny_style):
        flat = np.full((100, 150, 3), 128, np.uint8)
        result = stylize(flat, tiny_style, mode="full")
        assert result.image.shape == flat.shape and np.abs(result.image.astype(int) - flat).mean() > 10

    def test_torch_backend_matches_onnx(self, astronaut, tiny_style):
        a = stylize(astronaut, tiny_style).image.astype(int)
        b = stylize(astronaut, tiny_style, backend="torch").image.astype(int)
        assert np.abs(a - b).max() <= 2

    def test_max_side_downscales(self, astronaut, tiny_style):
        assert stylize(astronaut, tiny_style, max_side=256).image.shape == (256, 256, 3)

    def test_concurrent_equals_serial(self, astronaut, two_faces, tiny_style):
        inputs = [astronaut, two_faces, astronaut[::-1].copy(), two_faces[:, ::-1].copy()] * 2
        serial = [stylize(x, tiny_style).image for x in inputs]
        with ThreadPoolExecutor(4) as pool:
            parallel = list(pool.map(lambda x: stylize(x, tiny_style).image, inputs))
        for s, p in zip(serial, parallel):
            assert np.array_equal(s, p)

    @pytest.mark.parametrize("kw,match", [({"mode": "nope"}, "mode"), ({"strength": 2.0}, "strength")])
    def test_bad_options(self, astronaut, tiny_style, kw, match):
        with pytest.raises(ValueError, match=match):
            stylize(astronaut, tiny_style, **kw)


class TestSurroundGeometry:
    def test_hair_and_background_follow_the_face(self, astronaut, small_face_style):
        """At strength 0 the pasted head is the photo warped to the template; the surroundings must carry the
        same warp, so the composite has no seam: it equals the photo with the face warp spread around it."""
        from core.alignment import align_face, compose_affine, displace
        from core.landmarks import detect_faces

        face = detect_faces(astronaut)[0]
        out = stylize(astronaut, small_face_style, strength=0.0, alpha=1.0, faces=[face]).image
        a = align_face(astronaut, face, size=64)
        canonical = topology.to_canonical(a.points)
        template = (np.asarray(small_face_style.config.template) + 1) * 32
        oval = canonical[topology.GROUP_SLICES["face_oval"]]
        head = np.concatenate([grown_head(oval), grown_head(template[topology.GROUP_SLICES["face_oval"]])])
        field, frame = surround_field(canonical, template, 64, 1.0, head)
        spread = displace(astronaut, compose_affine(frame, a.matrix), field)
        x0, y0, x1, y1 = np.round(face.box).astype(int)
        pad = (x1 - x0) // 2
        region = (slice(max(y0 - pad, 0), y1 + pad), slice(max(x0 - pad, 0), x1 + pad))
        seam = np.abs(out[region].astype(int) - spread[region]).mean()
        moved = np.abs(spread[region].astype(int) - astronaut[region]).mean()
        assert moved > 10 and seam < 0.25 * moved
        np.testing.assert_array_equal(out[-40:], astronaut[-40:])  # far away nothing moves

    def test_no_geometry_no_movement(self, astronaut, small_face_style):
        out = stylize(astronaut, small_face_style, strength=0.0, alpha=0.0).image
        np.testing.assert_array_equal(out, astronaut)

class TestWarpSources:
    def test_engine_uses_it_and_the_style_default(self, astronaut, small_face_style):
        own = stylize(astronaut, small_face_style, keep_shape=1.0).image
        assert np.abs(own.astype(int) - stylize(astronaut, small_face_style, keep_shape=0.0).image).mean() > 0.1
        keeper = StylePackage(small_face_style.path, replace(small_face_style.config, keep_shape=1.0))
        np.testing.assert_array_equal(stylize(astronaut, keeper).image, own)
        with pytest.raises(ValueError, match="keep_shape"):
            stylize(astronaut, small_face_style, keep_shape=1.5)


class TestEyeDamping:
    def test_engine_keeps_the_geometry_of_closed_eyes(self, astronaut, small_face_style):
        from core.landmarks import detect_faces

        face = detect_faces(astronaut)[0]
        closed = [replace(face, points=close_eyes(face.points))]
        np.testing.assert_array_equal(stylize(astronaut, small_face_style, faces=closed, alpha=1.0).image,
                                      stylize(astronaut, small_face_style, faces=closed, alpha=0.0).image)
        assert np.abs(stylize(astronaut, small_face_style, faces=[face], alpha=1.0).image.astype(int)
                      - stylize(astronaut, small_face_style, faces=[face], alpha=0.0).image).mean() > 1


class TestResolvedSettings:
    """StylizeResult carries the settings as used, so callers need not recompute the style's defaults."""

    def test_defaults_are_the_styles(self, astronaut, small_face_style):
        config = replace(small_face_style.config, alpha_default=1.3, keep_shape=0.4, mode_default="full")
        result = stylize(astronaut, StylePackage(small_face_style.path, config))
        assert (result.mode, result.alpha, result.keep_shape, result.strength) == ("full", 1.3, 0.4, 1.0)
        assert result.face_alphas == [pytest.approx(1.3, abs=1e-6)]  # a frontal, open-eyed face: undamped

    def test_given_values_and_damping(self, astronaut, small_face_style):
        from core.landmarks import detect_faces

        face = detect_faces(astronaut)[0]
        closed = replace(face, points=close_eyes(face.points))
        result = stylize(astronaut, small_face_style, faces=[face, closed], alpha=2.0, keep_shape=0.0, strength=0.5,
                         mode="face")
        assert (result.mode, result.alpha, result.keep_shape, result.strength) == ("face", 2.0, 0.0, 0.5)
        assert result.face_alphas == [pytest.approx(2.0, abs=1e-6), 0.0]

    def test_frames_carry_them_too(self, astronaut, small_face_style):
        from core.engine import FrameStylizer

        result = FrameStylizer(small_face_style, alpha=0.5, strength=0.7)(astronaut, 0.0)
        assert (result.mode, result.alpha, result.keep_shape, result.strength) == \
            (small_face_style.config.mode_default, 0.5, small_face_style.config.keep_shape, 0.7)
        assert len(result.face_alphas) == len(result.faces) == 1


class TestReexports:
    def test_every_moved_name_is_the_concern_modules_own(self):
        """Code that imports the engine's former helpers from core.engine gets the new modules' functions."""
        from core import aligned, background, damping, engine, masks, tps_numpy

        for module in (aligned, background, damping, masks, tps_numpy):
            for name in [n for n in engine.__all__ if hasattr(module, n)]:
                assert getattr(engine, name) is getattr(module, name), name
        assert all(hasattr(engine, n) for n in engine.__all__)
        assert {"warp_anchors", "warp_sources", "geometry_damping", "stylize_background", "stylize_tiles",
                "head_mask", "tps_remap", "FrameStylizer", "detection_frame"} <= set(engine.__all__)


class TestOptions:
    """core.options: one check of every numeric stylize option (finite, in range) for the engine, CLI and app."""

    @pytest.mark.parametrize("name,value", [
        ("alpha", float("nan")), ("alpha", 1e9), ("alpha", -0.1), ("alpha", float("inf")), ("alpha", True),
        ("alpha", "1"), ("strength", 1.5), ("strength", None), ("keep_shape", float("nan")),
        ("max_side", -1), ("max_side", 32), ("max_side", 100.5), ("max_faces", 0), ("max_faces", 1000)])
    def test_refused_with_the_range(self, name, value):
        from core.errors import OptionError, PortraitStudioError
        from core.options import OPTIONS, check_option

        with pytest.raises(OptionError, match=f"^{name} must be between {OPTIONS[name].lo:g} and") as info:
            check_option(name, value)
        assert isinstance(info.value, ValueError) and isinstance(info.value, PortraitStudioError)

    def test_accepted_and_normalised(self):
        from core.options import check_alpha, check_keep_shape, check_max_faces, check_max_side, check_mode, \
            check_strength

        assert (check_alpha(None), check_alpha(3), check_strength(0), check_keep_shape(np.float32(0.5))) == \
            (None, 3.0, 0.0, 0.5)
        assert (check_max_side(0), check_max_side(None), check_max_side(2048.0), check_max_faces(8)) == \
            (None, None, 2048, 8)
        assert check_mode(None) is None and check_mode("full") == "full"
        with pytest.raises(ValueError, match="--alpha must be between 0 and 3"):
            check_alpha(float("nan"), "--alpha")

    @pytest.mark.parametrize("kw,match", [({"alpha": float("nan")}, "alpha"), ({"alpha": 1e9}, "alpha"),
                                          ({"max_side": -1}, "max_side"), ({"strength": float("nan")}, "strength"),
                                          ({"max_faces": 0}, "max_faces"), ({"mode": "nope"}, "mode")])
    def test_engine_refuses_bad_numbers(self, astronaut, tiny_style, kw, match):
        from core.errors import OptionError

        with pytest.raises(OptionError, match=match):
            stylize(astronaut, tiny_style, **kw)

    def test_lower_level_entry_points(self, astronaut, tiny_style):
        from core.engine import stylize_faces
        from core.errors import OptionError

        runner = get_runner(tiny_style)
        with pytest.raises(OptionError, match="alpha"):
            stylize_faces(astronaut, [], runner, float("nan"), 1.0)
        with pytest.raises(OptionError, match="strength"):
            stylize_tiles(astronaut, runner, strength=float("inf"))


class TestFaceLimit:
    def test_faces_beyond_the_limit_are_reported(self, astronaut, tiny_style):
        three = np.concatenate([astronaut, astronaut[:, ::-1], astronaut], 1)
        result = stylize(three, tiny_style, max_faces=2)
        assert len(result.faces) == 2 and result.faces_found == 3
        assert result.message == "3 faces found; stylized the 2 largest (limit 2)"
        assert result.message in result.summary

    def test_no_note_within_the_limit(self, astronaut, tiny_style):
        result = stylize(astronaut, tiny_style)
        assert result.faces_found == 1 and result.message == ""


class TestPanorama:
    @pytest.fixture(scope="class")
    def panorama(self):
        """A 300x8000 panorama holding the bundled example portrait scaled to 300 px high, at x 3000."""
        import cv2

        from core.images import load_image

        photo = load_image(ROOT / "examples" / "portrait_1.jpg")
        face = cv2.resize(photo, (round(photo.shape[1] * 300 / photo.shape[0]), 300), interpolation=cv2.INTER_AREA)
        pano = np.full((300, 8000, 3), 200, np.uint8)
        pano[:, 3000:3000 + face.shape[1]] = face
        return pano

    def test_face_found_at_full_resolution_and_mapped_back(self, panorama, tiny_style):
        result = stylize(panorama, tiny_style)  # max_side 2048: the working image is 77 px high
        assert result.image.shape == (77, 2048, 3)
        assert len(result.faces) == 1, result.message
        x0, y0, x1, y1 = result.faces[0].box
        assert 3000 * 0.256 < x0 < x1 < 3233 * 0.256 and 0 <= y0 < y1 <= 77

    def test_detection_frame_only_when_too_small(self, panorama, astronaut):
        from core.engine import detection_frame
        from core.images import load_image

        assert detection_frame(astronaut, astronaut) is None
        assert detection_frame(astronaut[:200], astronaut[:200]) is None  # small, but no larger source
        assert detection_frame(panorama, load_image(panorama, max_side=2048)).shape == panorama.shape




class TestFramePipeline:
    """core.engine.FramePipeline: a frame tracked while the previous one renders, as video files and the camera run."""

    def test_two_stages_give_the_one_stage_results_in_order(self, tiny_style, astronaut):
        from core.engine import FramePipeline, FrameStylizer
        from studio.live import moving_face_frames

        frames = moving_face_frames(astronaut, (320, 240), frames=6)
        one = FrameStylizer(tiny_style, mode="face", reuse=2)
        expected = [one(f, i / 30).image for i, f in enumerate(frames)]
        got = []
        with FramePipeline(FrameStylizer(tiny_style, mode="face", reuse=2)) as pipeline:
            for i, f in enumerate(frames):
                result = pipeline.push(f, i / 30)
                assert (result is None) == (i == 0)
                if result is not None:
                    got.append(result.image)
            got.append(pipeline.finish().image)
            assert pipeline.finish() is None
        assert len(got) == len(frames) and all(np.array_equal(a, b) for a, b in zip(got, expected))

    def test_a_render_error_reaches_the_caller(self, tiny_style, astronaut, monkeypatch):
        from core.engine import FramePipeline, FrameStylizer
        from core.errors import StylePackageError

        stylizer = FrameStylizer(tiny_style, mode="face")

        def broken(tracked):
            raise StylePackageError("the graph broke")

        monkeypatch.setattr(stylizer, "render", broken)
        with FramePipeline(stylizer) as pipeline:
            assert pipeline.push(astronaut, 0.0) is None
            with pytest.raises(StylePackageError, match="the graph broke"):
                pipeline.push(astronaut, 0.1)
