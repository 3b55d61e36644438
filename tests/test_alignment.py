"""core.alignment: FFHQ similarity, aligned crops, feather mask and paste-back round trip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.alignment import (AlignedFace, align_face, alignment_matrix, compose_affine, crop_image, displace,
                            feather_mask, invert_affine, paste_back, transform_points)
from core.errors import LandmarkError
from core.landmarks import Face, FaceDetector
from core.topology import GROUPS, to_canonical

DETECTOR = FaceDetector()


@pytest.fixture(scope="module")
def astro_face(astronaut) -> Face:
    return DETECTOR(astronaut)[0]


def _synthetic_points() -> np.ndarray:
    """Mesh points with eye centres (100, 100) / (200, 100) and mouth corners (130, 220) / (170, 220)."""
    p = np.zeros((478, 2))
    ring = np.stack([np.cos(np.arange(8)), np.sin(np.arange(8))], axis=1) * 10
    ring -= ring.mean(axis=0)
    p[GROUPS["right_eye"]] = (100, 100) + ring
    p[GROUPS["left_eye"]] = (200, 100) + ring
    p[61], p[291] = (130, 220), (170, 220)
    return p


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(np.radians(angle_deg)) * scale, np.sin(np.radians(angle_deg)) * scale
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


class TestAlignmentMatrix:
    def test_exact_ffhq_recipe(self):
        # eye_to_eye = (100, 0), eye_to_mouth = (0, 120): x = (220, 0), half = max(200, 216) = 216,
        # centre = (150, 112); the crop spans centre +- 216 in both axes.
        m = alignment_matrix(_synthetic_points(), size=432)
        np.testing.assert_allclose(m, [[1, 0, 216 - 150], [0, 1, 216 - 112]], atol=1e-12)
        np.testing.assert_allclose(transform_points([[100, 100], [200, 100]], m), [[166, 204], [266, 204]])

    def test_is_similarity_and_canonical_agrees(self, astro_face):
        m = alignment_matrix(astro_face.points, 256)
        a = m[:, :2]
        np.testing.assert_allclose(a @ a.T, np.eye(2) * np.linalg.det(a), atol=1e-12)
        assert np.linalg.det(a) > 0
        np.testing.assert_allclose(alignment_matrix(to_canonical(astro_face.points), 256), m, atol=1e-9)

    def test_equivariant_to_similarities(self, astro_face):
        p = astro_face.points.astype(np.float64)
        t = _similarity(37.0, 0.6, (40.0, -12.0))
        moved = transform_points(p, t)
        np.testing.assert_allclose(transform_points(moved, alignment_matrix(moved, 256)),
                                   transform_points(p, alignment_matrix(p, 256)), atol=1e-9)

    def test_margin_and_size(self, astro_face):
        m1 = alignment_matrix(astro_face.points, 256)
        m2 = alignment_matrix(astro_face.points, 256, margin=2.0)
        np.testing.assert_allclose(m2[:, :2], m1[:, :2] / 2, atol=1e-12)
        centre = transform_points(transform_points([[128.0, 128.0]], invert_affine(m1)), m2)
        np.testing.assert_allclose(centre, [[128.0, 128.0]], atol=1e-9)
        np.testing.assert_allclose(alignment_matrix(astro_face.points, 512), m1 * 2, atol=1e-9)

    @pytest.mark.parametrize("points", [np.zeros((68, 2)), np.full((478, 2), np.nan), np.zeros((478, 2))])
    def test_bad_points(self, points):
        with pytest.raises(LandmarkError):
            alignment_matrix(points)


class TestInvertAffine:
    def test_round_trip(self):
        t = _similarity(12.0, 1.7, (3.0, 4.0))
        np.testing.assert_allclose(invert_affine(invert_affine(t)), t, atol=1e-12)
        pts = np.random.default_rng(0).normal(size=(10, 2)) * 100
        back = transform_points(transform_points(pts, t), invert_affine(t))
        np.testing.assert_allclose(back, pts, atol=1e-9)


class TestTransformPoints:
    def test_identity_and_batch(self):
        pts = np.arange(24, dtype=float).reshape(2, 6, 2)
        np.testing.assert_array_equal(transform_points(pts, np.eye(2, 3)), pts)
        np.testing.assert_allclose(transform_points(pts, [[2, 0, 1], [0, 2, -1]]), pts * 2 + (1, -1))


class TestAlignFace:
    def test_smoke(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        assert isinstance(aligned, AlignedFace) and aligned.size == 128
        assert aligned.image.shape == (128, 128, 3) and aligned.image.dtype == np.uint8
        np.testing.assert_allclose(aligned.points, transform_points(astro_face.points, aligned.matrix))
        canonical = align_face(astronaut, astro_face.canonical, size=128)
        assert canonical.points.shape == (73, 2)
        np.testing.assert_array_equal(canonical.image, aligned.image)

    def test_eyes_at_canonical_positions(self, astronaut, astro_face):
        # A frontal face: eyes at x = 0.375 / 0.625 of the crop (|x| = 2 * eye distance), y ~ 0.48.
        rot = cv2.warpAffine(astronaut, _similarity(25.0, 0.8, (-20.0, 90.0)), (512, 512),
                             flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        for image, face in ((astronaut, astro_face), (rot, DETECTOR(rot)[0])):
            aligned = align_face(image, face, size=256)
            eyes = np.stack([aligned.points[GROUPS[g]].mean(axis=0) for g in ("right_eye", "left_eye")])
            np.testing.assert_allclose(eyes / 256, [[0.375, 0.478], [0.625, 0.478]], atol=0.01)

    def test_matches_crop_of_rotated_copy(self, astronaut, astro_face):
        t = _similarity(-20.0, 1.3, (30.0, 200.0))
        rot = cv2.warpAffine(astronaut, t, (700, 700), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        # Same landmarks carried through t (OpenCV's matrix is in pixel-index coordinates).
        moved = transform_points(astro_face.points - 0.5, t) + 0.5
        a = align_face(astronaut, astro_face, size=256).image.astype(int)
        b = align_face(rot, moved, size=256).image.astype(int)
        assert np.abs(a - b)[32:224, 32:224].mean() < 3.0

    def test_large_downscale_is_area_reduced(self, astronaut, astro_face):
        big = cv2.resize(astronaut, (2560, 2560), interpolation=cv2.INTER_CUBIC)
        small = align_face(astronaut, astro_face, size=128).image.astype(int)
        from_big = align_face(big, astro_face.points * 5, size=128).image.astype(int)
        assert np.abs(small - from_big)[16:112, 16:112].mean() < 2.0

    def test_pixel_centre_convention(self):
        # size 216 -> M = [[0.5, 0, 33], [0, 0.5, 52]]: crop pixel (iu, iv) samples the original at
        # index (2 iu - 65.5, 2 iv - 103.5), the exact mean of a 2x2 block with bilinear weights.
        image = np.random.default_rng(1).integers(0, 256, (400, 400, 3), dtype=np.uint8)
        aligned = align_face(image, _synthetic_points(), size=216, interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(aligned.matrix, [[0.5, 0, 33], [0, 0.5, 52]], atol=1e-12)
        blocks = image[16:296, 14:334].reshape(140, 2, 160, 2, 3).astype(float).mean(axis=(1, 3))
        assert np.abs(aligned.image[60:200, 40:200] - blocks).max() <= 1.0

    @pytest.mark.parametrize("border", ["reflect", "constant", "replicate"])
    def test_borders(self, astronaut, astro_face, border):
        corner = astronaut[40:200, 150:300]  # the crop reaches beyond this image
        aligned = align_face(corner, astro_face.points - (150, 40), size=64, border=border)
        assert aligned.image.shape == (64, 64, 3)
        if border == "constant":
            assert (aligned.image[0, 0] == 0).all()

    def test_bad_border(self, astronaut, astro_face):
        with pytest.raises(ValueError):
            align_face(astronaut, astro_face, border="wrap")


class TestFeatherMask:
    def test_shape_range_and_symmetry(self):
        m = feather_mask(256)
        assert m.shape == (256, 256) and m.dtype == np.float32
        assert m.min() == 0.0 and m.max() == 1.0
        np.testing.assert_array_equal(m, m.T)
        np.testing.assert_array_equal(m, m[::-1, ::-1])
        assert (m[0] == 0).all() and (m[:, -1] == 0).all()
        assert (m[48:208, 48:208] == 1).all()
        assert (np.diff(m[128, 128:]) <= 0).all()

    def test_hard_edge(self):
        m = feather_mask(32, feather=0.0)
        assert set(np.unique(m)) == {0.0, 1.0} and m[16, 16] == 1 and m[0, 16] == 0

    @pytest.mark.parametrize("feather", [-0.1, 0.6])
    def test_bad_feather(self, feather):
        with pytest.raises(ValueError):
            feather_mask(64, feather)


class TestPasteBack:
    # Measured with INTER_LANCZOS4 on the astronaut over the face box, in 1/255 units:
    # size 256 (1.45x upsampling): max 9, mean 0.16; size 512 (2.9x): max 2, mean 0.10.
    @pytest.mark.parametrize("size,max_err", [(256, 9), (512, 2)])
    def test_round_trip(self, astronaut, astro_face, size, max_err):
        aligned = align_face(astronaut, astro_face, size=size)
        back = paste_back(astronaut, aligned.image, aligned.matrix)
        x0, y0, x1, y1 = np.round(astro_face.box).astype(int)
        err = np.abs(back.astype(int) - astronaut)[y0:y1, x0:x1]
        assert err.mean() <= 0.25 and err.max() <= max_err
        assert (err <= 1).mean() >= 0.99

    @pytest.mark.parametrize("size", [128, 256, 512])
    def test_round_trip_with_reference_is_exact(self, astronaut, astro_face, size):
        aligned = align_face(astronaut, astro_face, size=size)
        back = paste_back(astronaut, aligned.image, aligned.matrix, reference=aligned.image)
        np.testing.assert_array_equal(back, astronaut)

    def test_reference_pastes_the_change(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=256)
        brighter = np.clip(aligned.image.astype(int) + 10, 0, 255).astype(np.uint8)
        back = paste_back(astronaut, brighter, aligned.matrix, reference=aligned.image)
        x0, y0, x1, y1 = np.round(astro_face.box).astype(int)
        diff = back.astype(int)[y0 + 30:y1 - 30, x0 + 30:x1 - 30] - astronaut[y0 + 30:y1 - 30, x0 + 30:x1 - 30]
        unsaturated = astronaut[y0 + 30:y1 - 30, x0 + 30:x1 - 30] < 235
        assert np.abs(diff[unsaturated] - 10).max() <= 1

    def test_detail_zero_ignores_reference(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        plain = paste_back(astronaut, aligned.image, aligned.matrix)
        np.testing.assert_array_equal(
            paste_back(astronaut, aligned.image, aligned.matrix, reference=aligned.image, detail=0.0), plain)
        half = paste_back(astronaut, aligned.image, aligned.matrix, reference=aligned.image, detail=0.5)
        assert np.abs(half.astype(int) - astronaut).sum() < np.abs(plain.astype(int) - astronaut).sum()

    def test_bad_reference(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        with pytest.raises(ValueError, match="reference"):
            paste_back(astronaut, aligned.image, aligned.matrix, reference=aligned.image[:64])

    def test_pixel_centre_convention(self):
        # M = [[0.5, 0, 33], [0, 0.5, 52]]: pasting equals a 2x bilinear resize of the crop placed
        # at (-66, -104), which uses the same half-pixel convention.
        crop = np.random.default_rng(2).integers(0, 256, (216, 216, 3), dtype=np.uint8)
        m = np.array([[0.5, 0, 33], [0, 0.5, 52]])
        out = paste_back(np.zeros((300, 300, 3), np.uint8), crop, m, mask=np.ones((216, 216)),
                         interpolation=cv2.INTER_LINEAR)
        up = cv2.resize(crop, (432, 432), interpolation=cv2.INTER_LINEAR)
        assert np.abs(out[50:250, 50:250].astype(int) - up[154:354, 116:316]).max() <= 1

    def test_far_pixels_untouched(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        back = paste_back(astronaut, np.full((128, 128, 3), 255, np.uint8), aligned.matrix)
        cover = paste_back(np.zeros_like(astronaut), np.full((128, 128, 3), 255, np.uint8), aligned.matrix)
        outside = cover.max(axis=2) == 0  # where the warped mask is exactly zero
        assert outside.mean() > 0.7
        np.testing.assert_array_equal(back[outside], astronaut[outside])
        x0, y0, x1, y1 = np.round(astro_face.box).astype(int)
        assert (back[y0 + 20:y1 - 20, x0 + 20:x1 - 20] == 255).all()

    def test_float_crop_and_zero_mask(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        as_float = paste_back(astronaut, aligned.image.astype(np.float32) / 255, aligned.matrix)
        np.testing.assert_array_equal(as_float, paste_back(astronaut, aligned.image, aligned.matrix))
        none = paste_back(astronaut, np.zeros((128, 128, 3), np.uint8), aligned.matrix,
                          mask=np.zeros((128, 128)))
        np.testing.assert_array_equal(none, astronaut)

    def test_crop_partly_outside(self, astronaut, astro_face):
        corner = np.ascontiguousarray(astronaut[100:, 200:])  # the face is cut by the top-left corner
        aligned = align_face(corner, astro_face.points - (200, 100), size=256)
        back = paste_back(corner, aligned.image, aligned.matrix)
        assert back.shape == corner.shape
        assert np.abs(back.astype(int) - corner)[:60, :60].mean() < 1.0

    def test_crop_entirely_outside(self, astronaut):
        m = np.array([[1.0, 0.0, -5000.0], [0.0, 1.0, 0.0]])
        np.testing.assert_array_equal(paste_back(astronaut, np.zeros((64, 64, 3), np.uint8), m), astronaut)

    def test_bad_shapes(self, astronaut):
        m = np.eye(2, 3)
        with pytest.raises(ValueError):
            paste_back(astronaut, np.zeros((64, 32, 3), np.uint8), m)
        with pytest.raises(ValueError):
            paste_back(astronaut.astype(np.float32), np.zeros((64, 64, 3), np.uint8), m)
        with pytest.raises(ValueError):
            paste_back(astronaut, np.zeros((64, 64, 3), np.uint8), m, mask=np.ones((32, 32)))
        with pytest.raises(ValueError, match="255"):
            paste_back(astronaut, np.full((64, 64, 3), 200.0), m)


class TestComposeAffine:
    def test_equals_applying_both(self):
        rng = np.random.default_rng(0)
        outer, inner = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
        pts = rng.normal(size=(5, 2))
        np.testing.assert_allclose(transform_points(pts, compose_affine(outer, inner)),
                                   transform_points(transform_points(pts, inner), outer), atol=1e-12)


class TestCropImage:
    def test_is_the_aligned_crop(self, astronaut, astro_face):
        aligned = align_face(astronaut, astro_face, size=128)
        np.testing.assert_array_equal(crop_image(astronaut, aligned.matrix, 128), aligned.image)


class TestDisplace:
    IDENTITY = np.array([[1.0, 0, 0], [0, 1.0, 0]])

    def test_zero_field_is_exact(self, astronaut):
        out = displace(astronaut, self.IDENTITY, np.zeros((512, 512, 2), np.float32))
        np.testing.assert_array_equal(out, astronaut)
        assert out is not astronaut

    def test_constant_field_shifts_the_interior(self, astronaut):
        field = np.zeros((512, 512, 2), np.float32)
        field[...] = (3, -2)
        out = displace(astronaut, self.IDENTITY, field)
        np.testing.assert_array_equal(out[40:-40, 40:-40], astronaut[38:-42, 43:-37])  # away from the border

    def test_offsets_scale_from_the_frame_to_image_pixels(self, astronaut):
        half = np.array([[0.5, 0, 0], [0, 0.5, 0]])  # the frame has half the image's resolution
        field = np.zeros((256, 256, 2), np.float32)
        field[..., 0] = 2  # 2 frame units = 4 image pixels
        out = displace(astronaut, half, field)
        np.testing.assert_array_equal(out[40:-40, 40:-40], astronaut[40:-40, 44:-36])

    def test_outside_the_frame_and_on_the_border_unchanged(self, astronaut):
        frame = np.array([[1.0, 0, -100], [0, 1.0, -100]])  # the frame covers image pixels 100..299
        field = np.full((200, 200, 2), 40.0, np.float32)
        out = displace(astronaut, frame, field)
        outside = np.ones(astronaut.shape[:2], bool)
        outside[96:304, 96:304] = False
        np.testing.assert_array_equal(out[outside], astronaut[outside])
        assert np.abs(out[150:250, 150:250].astype(int) - astronaut[150:250, 150:250]).mean() > 5
        whole = displace(astronaut, self.IDENTITY, np.full((512, 512, 2), 40.0, np.float32))
        np.testing.assert_array_equal(whole[0], astronaut[0])  # offsets vanish at the image border
        np.testing.assert_array_equal(whole[:, -1], astronaut[:, -1])

    def test_bad_field(self, astronaut):
        with pytest.raises(ValueError, match="offsets"):
            displace(astronaut, self.IDENTITY, np.zeros((8, 8, 3)))


class TestFaceCrop:
    """`face_square` / `face_crop`: square pictures of a face box for thumbnails and grids."""

    def test_square_is_scaled_about_the_centre_and_kept_inside(self):
        from core.alignment import face_square

        assert face_square((400, 400, 500, 600), (1000, 1000), scale=1.6) == (290, 340, 320)
        assert face_square((100, 100, 200, 300), (1000, 1000), scale=1.6) == (0, 50, 300)  # shrunk at the left edge
        assert face_square((100, 100, 200, 300), (1000, 1000), scale=1.6, inside=False) == (-10, 40, 320)
        assert face_square((400, 400, 500, 600), (1000, 1000), scale=1.0, lift=0.25) == (350, 350, 200)

    def test_crop_holds_that_square(self):
        from core.alignment import face_crop

        image = np.zeros((300, 400, 3), np.uint8)
        image[100:200, 150:250] = 200  # the square of box (175, 125, 225, 175) at scale 2
        out = face_crop(image, (175, 125, 225, 175), side=50, scale=2.0)
        assert out.shape == (50, 50, 3) and (out == 200).all()
        big = face_crop(image, (175, 125, 225, 175), side=200, scale=2.0)  # upscaled
        assert big.shape == (200, 200, 3) and (big == 200).all()

    def test_outside_the_image_is_black_or_avoided(self):
        from core.alignment import face_crop

        image = np.full((100, 100, 3), 255, np.uint8)
        padded = face_crop(image, (0, 0, 40, 40), side=80, scale=2.0, inside=False)
        assert (padded[:20, :20] == 0).all() and (padded[40:, 40:] == 255).all()
        assert (face_crop(image, (0, 0, 40, 40), side=80, scale=2.0) == 255).all()
