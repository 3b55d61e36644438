from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import topology
from core.engine import grown_head, stylize, stylize_tiles, surround_field, tps_points, tps_remap
from core.package import StylePackage
from core.runtime import get_runner
from core.templates import PHOTO_TEMPLATE

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


class TestStylizeTiles:
    def test_odd_sizes(self, tiny_style):
        image = np.random.default_rng(0).integers(0, 255, (150, 97, 3), dtype=np.uint8)
        assert stylize_tiles(image, get_runner(tiny_style)).shape == image.shape

    def test_tile_interior_equals_single_pass(self, tiny_style):
        runner = get_runner(tiny_style)
        r = runner.resolution
        image = np.random.default_rng(1).integers(0, 255, (r, 2 * r, 3), dtype=np.uint8)
        out = stylize_tiles(image, runner, overlap=16)
        from core import topology

        mesh = np.full((1, topology.NUM_MESH_POINTS, 2), r / 2, np.float32)
        first = runner(image[None, :, :r], mesh, 0.0)[0]
        assert np.abs(out[:, : r - 16].astype(int) - first[:, : r - 16]).max() <= 1


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

    def test_field_is_the_warp_near_the_head_and_zero_at_its_edge(self):
        template = (np.asarray(PHOTO_TEMPLATE) + 1) * 128
        canonical = template + np.random.default_rng(0).normal(0, 4, template.shape)
        head = grown_head(canonical[topology.GROUP_SLICES["face_oval"]])
        field, frame = surround_field(canonical, template, 256, 1.0, head)
        g = field.shape[0]
        cell = 1 / frame[0, 0]
        centre = np.array([g // 2, g // 2])  # the crop centre: inside the head
        at = (centre + 0.5) * cell + frame[0, 2] * -cell
        expected = (tps_points(canonical, template, 256, 1.0, at[None]) - at) / cell
        np.testing.assert_allclose(field[centre[1], centre[0]], expected[0], atol=1e-4)
        assert np.abs(field[0]).max() == 0 and np.abs(field[:, -1]).max() == 0
        still, _ = surround_field(template, template, 256, 1.0, head)
        assert np.abs(still).max() < 1e-6


class TestTpsRemap:
    def test_identity_when_points_equal_template(self):
        rng = np.random.default_rng(0)
        pts = rng.uniform(10, 54, (73, 2))
        remap = tps_remap(pts, pts, 64, 1.0, reg=0.0)
        ys, xs = np.mgrid[0:64, 0:64]
        assert np.abs(remap - np.stack([xs, ys], -1)).max() < 1e-3

    def test_matches_torch_template_tps(self):
        import torch

        from core.tps import TemplateTPS, norm_to_pixel

        rng = np.random.default_rng(1)
        template = rng.uniform(-0.8, 0.8, (73, 2))
        points = template + rng.normal(0, 0.05, (73, 2))
        grid = TemplateTPS(torch.tensor(template), 32, 32, reg=1e-3)(torch.tensor(points)[None], 0.7)[0].numpy()
        remap = tps_remap((points + 1) * 16, (template + 1) * 16, 32, 0.7, reg=1e-3)
        assert np.abs(norm_to_pixel(grid, 32, 32) - 0.5 - remap).max() < 1e-3


    def test_large_crops_interpolate_the_exact_map(self):
        template = (np.asarray(PHOTO_TEMPLATE) + 1) * 256  # a photo's landmarks: a smooth change of shape
        points = (template - 256) * [0.9, 1.1] + 256 + 12 * np.sin(template[:, ::-1] / 90)
        remap = tps_remap(points, template, 512, 1.0)
        ys, xs = np.mgrid[0:512:7, 0:512:7]
        exact = tps_points(points, template, 512, 1.0, np.stack([xs, ys], -1) + 0.5) - 0.5
        assert np.abs(remap[ys, xs].reshape(-1, 2) - exact).max() < 0.1  # a tenth of a pixel


class TestTurnDamping:
    def test_frontal_keeps_alpha_turned_loses_it(self, astronaut):
        from core.engine import turn_damping, yaw
        from core.landmarks import detect_faces

        points = detect_faces(astronaut)[0].points.astype(np.float64)
        assert abs(yaw(points)) < 0.1 and turn_damping(points) == 1.0
        turned = points.copy()
        turned[4, 0] += 0.6 * np.hypot(*(points[263] - points[33]))  # nose far to one side: a strong turn
        assert turn_damping(turned) == 0.0


def close_eyes(points: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Mesh points (478,2) with every upper-lid point moved `amount` of the way onto its lower lid."""
    closed = points.copy()
    for upper, lower in [((160, 159, 158), (144, 145, 153)), ((387, 386, 385), (373, 374, 380))]:
        closed[list(upper)] += amount * (points[list(lower)] - points[list(upper)])
    return closed


class TestWarpSources:
    def test_zero_is_the_face_one_is_the_average_face(self, astronaut):
        from core.alignment import align_face
        from core.engine import warp_sources
        from core.landmarks import detect_faces

        points = align_face(astronaut, detect_faces(astronaut)[0], size=256).points
        assert warp_sources(points, 0.0, 256) is points
        full = warp_sources(points, 1.0, 256)
        np.testing.assert_allclose(topology.to_canonical(full), (np.asarray(PHOTO_TEMPLATE) + 1) * 128, atol=1e-4)
        others = np.setdiff1d(np.arange(topology.NUM_MESH_POINTS), topology.CANONICAL_INDICES)
        np.testing.assert_array_equal(full[others], points[others])  # only the canonical points are read
        half = topology.to_canonical(warp_sources(points, 0.5, 256))
        np.testing.assert_allclose(half, (topology.to_canonical(points) + topology.to_canonical(full)) / 2, atol=1e-4)

    def test_engine_uses_it_and_the_style_default(self, astronaut, small_face_style):
        own = stylize(astronaut, small_face_style, keep_shape=1.0).image
        assert np.abs(own.astype(int) - stylize(astronaut, small_face_style, keep_shape=0.0).image).mean() > 0.1
        keeper = StylePackage(small_face_style.path, replace(small_face_style.config, keep_shape=1.0))
        np.testing.assert_array_equal(stylize(astronaut, keeper).image, own)
        with pytest.raises(ValueError, match="keep_shape"):
            stylize(astronaut, small_face_style, keep_shape=1.5)


class TestEyeDamping:
    def test_open_eyes_keep_alpha_closed_lose_it(self, astronaut):
        from core.engine import eye_aperture, eye_damping
        from core.landmarks import detect_faces

        points = detect_faces(astronaut)[0].points.astype(np.float64)
        assert 0.22 < eye_aperture(points) < 0.5 and eye_damping(points) == 1.0
        assert eye_aperture(close_eyes(points)) == pytest.approx(0.0, abs=1e-6)
        assert eye_damping(close_eyes(points)) == 0.0
        half = eye_damping(close_eyes(points, 1 - 0.15 / eye_aperture(points)))  # aperture 0.15: half-way
        assert half == pytest.approx(0.5, abs=0.02)

    def test_geometry_damping_is_the_product(self, astronaut):
        from core.engine import eye_damping, geometry_damping, turn_damping
        from core.landmarks import detect_faces

        points = close_eyes(detect_faces(astronaut)[0].points.astype(np.float64), 0.6)
        points[4, 0] += 0.2 * np.hypot(*(points[263] - points[33]))
        assert 0 < turn_damping(points) < 1 and 0 < eye_damping(points) < 1
        assert geometry_damping(points) == pytest.approx(turn_damping(points) * eye_damping(points))

    def test_engine_keeps_the_geometry_of_closed_eyes(self, astronaut, small_face_style):
        from core.landmarks import detect_faces

        face = detect_faces(astronaut)[0]
        closed = [replace(face, points=close_eyes(face.points))]
        np.testing.assert_array_equal(stylize(astronaut, small_face_style, faces=closed, alpha=1.0).image,
                                      stylize(astronaut, small_face_style, faces=closed, alpha=0.0).image)
        assert np.abs(stylize(astronaut, small_face_style, faces=[face], alpha=1.0).image.astype(int)
                      - stylize(astronaut, small_face_style, faces=[face], alpha=0.0).image).mean() > 1


class TestHeadMask:
    def test_covers_face_not_corners(self):
        from core import topology
        from core.engine import head_mask
        from core.templates import PHOTO_TEMPLATE

        oval = ((np.asarray(PHOTO_TEMPLATE) + 1) * 128)[topology.GROUP_SLICES["face_oval"]]
        mask = head_mask(oval, 256)
        centre = oval.mean(0).astype(int)
        assert mask.shape == (256, 256) and mask[centre[1], centre[0]] > 0.95
        assert mask[:8, :8].max() == 0 and mask[-8:, -8:].max() == 0


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


def transition_width(row: np.ndarray, lo: float = 32, hi: float = 223) -> int:
    """Pixels of a 1-D profile across one step edge that lie strictly between the two levels."""
    row = np.asarray(row, float)
    return int(((row > lo) & (row < hi)).sum())


class TestWholeImageBackground:
    """`stylize_background` (mode "full"): the picture stylized once, reduced, then guided-upsampled to full size."""

    @pytest.fixture(scope="class")
    def inverting(self, tiny_style):
        """A runner whose 'style' is the photo's negative (an exact, known answer) that counts the crops it is given."""
        from core.runtime import Runner

        class Inverting(Runner):
            backend = "fake"
            crops = 0

            def run(self, image, landmarks, alpha):
                type(self).crops += len(image)
                return -image

        return Inverting(tiny_style)

    @pytest.mark.parametrize("shape", [(301, 517), (1, 1), (2, 3), (64, 2000), (120, 2000), (517, 301)])
    def test_shape_and_dtype(self, tiny_style, shape):
        from core.engine import stylize_background

        image = np.random.default_rng(0).integers(0, 255, shape + (3,), dtype=np.uint8)
        out = stylize_background(image, get_runner(tiny_style))
        assert out.shape == image.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - image).mean() > 5  # stylized, not passed through

    def test_one_generator_call_for_a_photo(self, inverting):
        from core.engine import background_size, stylize_background

        assert background_size(1497, 1024, 256) == (256, 175) and background_size(200, 100, 256) == (200, 100)
        assert background_size(64, 2000, 256) == (64, 2000) and background_size(100, 2000, 256) == (64, 1280)
        inverting.resolution, before = 256, inverting.crops
        try:
            out = stylize_background(np.zeros((1497, 1024, 3), np.uint8), inverting)
        finally:
            inverting.resolution = inverting.package.config.resolution
        assert inverting.crops - before == 1  # stylize_tiles at this size made 35
        assert (out == 255).all()

    def test_strength(self, tiny_style):
        from core.engine import stylize_background

        image = np.random.default_rng(2).integers(0, 255, (240, 330, 3), dtype=np.uint8)
        runner = get_runner(tiny_style)
        np.testing.assert_array_equal(stylize_background(image, runner, 0.0), image)
        full = np.abs(stylize_background(image, runner, 1.0).astype(int) - image).mean()
        half = np.abs(stylize_background(image, runner, 0.5).astype(int) - image).mean()
        assert full > 10 and 0.35 * full < half < 0.65 * full

    def test_a_step_edge_stays_sharp(self, inverting):
        """A vertical black/white edge in a photo reduced 7.5x: the output's edge is as sharp as the photo's (a few
        px), where upsampling the reduced output alone spreads it over many."""
        import cv2

        from core.engine import background_size, stylize_background

        photo = np.zeros((480, 720, 3), np.uint8)
        photo[:, 361:] = 255  # not on the reduced grid
        out = stylize_background(photo, inverting)
        assert out.shape == photo.shape
        rows = out[40:440:40, 330:392, 0]
        assert max(transition_width(r) for r in rows) <= 3
        assert np.abs(out[:, :340].astype(int) - 255).max() <= 8 and out[:, 380:].max() <= 8  # the negative
        h, w = background_size(480, 720, inverting.resolution)
        small = 255 - cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
        blurred = cv2.resize(small, (720, 480), interpolation=cv2.INTER_CUBIC)[240, 330:392, 0]
        assert transition_width(blurred) >= 6  # the test tells the two apart

    def test_full_mode_end_to_end_with_a_bundled_style(self):
        from core.engine import stylize_background
        from core.images import load_image
        from core.package import load_style

        style = load_style(ROOT / "styles" / "ink")
        photo = load_image(ROOT / "examples" / "astronaut.jpg")
        result = stylize(ROOT / "examples" / "astronaut.jpg", style, mode="full")
        assert result.image.shape == photo.shape and result.image.dtype == np.uint8
        assert len(result.faces) == 1 and result.message == ""
        assert np.abs(result.image[-60:].astype(int) - photo[-60:]).mean() > 10  # the background is stylized ...
        background = stylize_background(photo, get_runner(style))
        np.testing.assert_array_equal(result.image[-60:], background[-60:])  # ... by the new path
        x0, y0, x1, y1 = map(int, result.faces[0].box)
        assert np.abs(result.image[y0:y1, x0:x1].astype(int) - background[y0:y1, x0:x1]).mean() > 3  # face on top
