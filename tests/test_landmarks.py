"""core.landmarks: detection in the original frame for any image form, Face records, drawing."""

from __future__ import annotations

import dataclasses
import io
import json
import threading

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from conftest import shared_path
from core.errors import LandmarkError, NoFaceError
from core.landmarks import Face, FaceDetector, detect_faces, draw_landmarks, largest_face
from core.topology import GROUPS, NUM_CANONICAL

DETECTOR = FaceDetector()  # one set of MediaPipe graphs for the whole module


@pytest.fixture(scope="module")
def astro_face(astronaut) -> Face:
    faces = DETECTOR(astronaut)
    assert len(faces) == 1
    return faces[0]


def _eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return points[GROUPS["right_eye"]].mean(axis=0), points[GROUPS["left_eye"]].mean(axis=0)


class TestFace:
    def test_canonical_and_area(self, astro_face):
        assert astro_face.canonical.shape == (NUM_CANONICAL, 2)
        x0, y0, x1, y1 = astro_face.box
        assert astro_face.area == pytest.approx((x1 - x0) * (y1 - y0))

    def test_dict_round_trip_is_json(self, astro_face):
        data = json.loads(json.dumps(astro_face.to_dict()))
        back = Face.from_dict(data)
        np.testing.assert_allclose(back.points, astro_face.points, atol=1e-3)
        assert back.box == pytest.approx(astro_face.box) and back.score == pytest.approx(astro_face.score)

    def test_frozen_and_read_only(self, astro_face):
        with pytest.raises(dataclasses.FrozenInstanceError):
            astro_face.score = 0.0
        with pytest.raises(ValueError):
            astro_face.points[0, 0] = 1.0

    @pytest.mark.parametrize("points", [np.zeros((68, 2)), np.full((478, 2), np.nan)])
    def test_bad_points(self, points):
        with pytest.raises(LandmarkError):
            Face(points, (0, 0, 1, 1), 1.0)

    @pytest.mark.parametrize("data", [{}, {"points": "x"}, {"points": [[0, 0]] * 478, "box": [1, 2]}])
    def test_malformed_dict(self, data):
        with pytest.raises(LandmarkError):
            Face.from_dict(data)


class TestDetectFaces:
    def test_astronaut(self, astro_face):
        x0, y0, x1, y1 = astro_face.box
        assert 165 < x0 < 195 and 255 < x1 < 285 and 55 < y0 < 85 and 165 < y1 < 190
        assert 0.5 <= astro_face.score <= 1.0
        assert astro_face.points.dtype == np.float32
        right_eye, left_eye = _eye_centres(astro_face.points)
        mouth = astro_face.points[[61, 291]].mean(axis=0)
        assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image left
        assert max(right_eye[1], left_eye[1]) < mouth[1]

    def test_exif_rotated_jpeg(self, astronaut, astro_face):
        buf = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # stored rotated 90 degrees counter-clockwise; displayed upright
        Image.fromarray(np.ascontiguousarray(np.rot90(astronaut))).save(buf, "JPEG", exif=exif, quality=95)
        faces = DETECTOR(buf.getvalue())
        assert len(faces) == 1
        assert np.abs(faces[0].points - astro_face.points).mean() < 2.0

    def test_rgba_grey_and_16bit(self, astronaut, astro_face):
        rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
        grey = np.asarray(Image.fromarray(astronaut).convert("L"))
        for image in (rgba, astronaut.astype(np.uint16) * 257):
            np.testing.assert_allclose(DETECTOR(image)[0].points, astro_face.points, atol=1e-3)
        faces = DETECTOR(grey)
        assert len(faces) == 1 and np.abs(faces[0].points - astro_face.points).mean() < 3.0

    def test_tiny_image_does_not_crash(self, astronaut):
        tiny = cv2.resize(astronaut[50:200, 150:300], (48, 48), interpolation=cv2.INTER_AREA)
        faces = DETECTOR(tiny)
        assert isinstance(faces, list)
        for face in faces:
            x0, y0, x1, y1 = face.box
            assert -10 < x0 < x1 < 58 and -10 < y0 < y1 < 58

    def test_huge_image_original_frame(self, astronaut, astro_face):
        huge = np.full((3000, 4000, 3), 127, np.uint8)
        huge[1000:1512, 2500:3012] = astronaut
        faces = DETECTOR(huge)
        assert len(faces) == 1
        assert np.abs(faces[0].points - (astro_face.points + (2500, 1000))).max() < 3.0

    def test_no_face_in_noise(self):
        noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
        assert DETECTOR(noise) == []

    def test_two_faces(self, astronaut):
        two = np.concatenate([astronaut, astronaut[:, :, ::-1]], axis=1)  # second one colour-swapped
        faces = DETECTOR(two)
        assert len(faces) == 2
        assert faces[0].area >= faces[1].area
        (a, b) = sorted(faces, key=lambda f: f.box[0])
        assert a.box[2] < 512 < b.box[0]  # one face per half, boxes disjoint
        assert len(DETECTOR(two, max_faces=1)) == 1

    def test_find_counts_faces_beyond_the_limit(self, astronaut):
        three = np.concatenate([astronaut, astronaut[:, ::-1], astronaut], axis=1)
        faces, found = DETECTOR.find(three, max_faces=2)
        assert len(faces) == 2 and found == 3
        assert DETECTOR.find(astronaut)[1] == 1 and DETECTOR.find(np.full((64, 64, 3), 9, np.uint8)) == ([], 0)

    def test_min_score_filters(self, astronaut):
        assert FaceDetector(mesh_fallback=False)(astronaut, min_score=0.95) == []
        faces = DETECTOR(astronaut, min_score=0.95)  # the fallback's own detector rejects it too
        assert faces == []

    def test_bad_arguments(self, astronaut):
        with pytest.raises(ValueError):
            DETECTOR(astronaut, max_faces=0)
        with pytest.raises(ValueError):
            DETECTOR(astronaut, min_score=1.5)

    def test_threads_share_a_detector(self, astronaut, astro_face):
        results: list[list[Face]] = []
        threads = [threading.Thread(target=lambda: results.append(DETECTOR(astronaut))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 3
        for faces in results:
            np.testing.assert_allclose(faces[0].points, astro_face.points, atol=1e-3)

    def test_module_function(self, astronaut, astro_face):
        np.testing.assert_allclose(detect_faces(astronaut)[0].points, astro_face.points, atol=1e-3)

    def test_close_up_found_by_zoom_out(self, astronaut, astro_face):
        crop = cv2.resize(astronaut[100:170, 190:260], (256, 256), interpolation=cv2.INTER_CUBIC)
        assert FaceDetector(zoom_out=False)(crop) == []  # the face fills the frame
        faces = DETECTOR(crop)
        assert len(faces) == 1
        back = faces[0].points * (70 / 256) + (190, 100)
        assert np.abs(back - astro_face.points).mean() < 2.0

    def test_fallbacks_help_on_anime(self):
        files = sorted(shared_path("data", "selfie2anime", "anime").glob("*.jpg"))[:40]
        plain = FaceDetector(mesh_fallback=False, zoom_out=False)
        hits = np.array([(bool(DETECTOR(f)), bool(plain(f))) for f in files])
        assert hits[:, 0].mean() >= 0.75 and hits[:, 0].mean() > hits[:, 1].mean()
        assert not (hits[:, 1] & ~hits[:, 0]).any()


class TestLargestFace:
    def test_found(self, astronaut, astro_face):
        np.testing.assert_allclose(largest_face(astronaut).points, astro_face.points, atol=1e-3)

    def test_no_face_names_image(self):
        with pytest.raises(NoFaceError, match="holiday.jpg.*frontal"):
            largest_face(np.full((64, 64, 3), 90, np.uint8), name="holiday.jpg")

    def test_no_face_names_path(self, tmp_path):
        path = tmp_path / "wall.png"
        Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(path)
        with pytest.raises(NoFaceError, match="wall.png"):
            largest_face(path)


class TestDrawLandmarks:
    def test_draws_points_and_box(self, astronaut, astro_face):
        out = draw_landmarks(astronaut, astro_face)
        assert out.shape == astronaut.shape and out.dtype == np.uint8
        assert not np.shares_memory(out, astronaut)
        x, y = np.round(astro_face.points[468]).astype(int)  # right iris centre, drawn white
        assert out[y - 1, x - 1].min() > 200
        assert np.array_equal(astronaut, data.astronaut())  # input untouched

    def test_box_exact(self):
        face = Face(np.full((478, 2), 50.0), (10, 10, 90, 90), 1.0)
        out = draw_landmarks(np.full((100, 100, 3), 128, np.uint8), face)
        edge = out[9:11, 20:80].max(axis=0)  # anti-aliased line at y = 10 (between rows 9 and 10)
        assert (edge[:, 1] > 200).all() and (edge[:, [0, 2]] < 60).all()
        np.testing.assert_array_equal(out[50, 50], [200, 0, 255])  # lips_inner, drawn last
        assert (out[30:45, 30:45] == 128).all()

    def test_point_forms(self, astronaut, astro_face):
        a = draw_landmarks(astronaut, astro_face.points, draw_box=False)
        b = draw_landmarks(astronaut, astro_face.canonical[None])
        c = draw_landmarks(astronaut, [astro_face], draw_box=False)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        full = draw_landmarks(astronaut, astro_face, canonical_only=False)
        assert (full != astronaut).sum() > (draw_landmarks(astronaut, astro_face) != astronaut).sum()

    def test_bad_points(self, astronaut):
        with pytest.raises(LandmarkError):
            draw_landmarks(astronaut, np.zeros((68, 2)))

