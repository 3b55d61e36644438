"""Tests for core/damping.py: head-turn and eye-aperture damping of the geometry strength."""

import numpy as np
import pytest

from core import topology
from core.damping import EYE_CENTRES, eye_aperture, eye_damping, geometry_damping, turn_damping, yaw


def close_eyes(points: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Mesh points (478,2) with every upper-lid point moved `amount` of the way onto its lower lid."""
    closed = points.copy()
    for upper, lower in [((160, 159, 158), (144, 145, 153)), ((387, 386, 385), (373, 374, 380))]:
        closed[list(upper)] += amount * (points[list(lower)] - points[list(upper)])
    return closed


def drawn_face(nose_x: float = 5.0, right_gap: float = 1.2, left_gap: float = 1.2) -> np.ndarray:
    """A mesh (478,2) with only the points damping reads: eye corners at x 0, 4 (right) and 6, 10 (left) on y 0,
    lids `*_gap` apart over each eye's middle, the nose tip at `nose_x` (5: frontal)."""
    p = np.zeros((topology.NUM_MESH_POINTS, 2))
    p[[33, 133, 362, 263], 0] = 0, 4, 6, 10
    p[[159, 145], :] = [[2, -right_gap / 2], [2, right_gap / 2]]
    p[[386, 374], :] = [[8, -left_gap / 2], [8, left_gap / 2]]
    p[4] = nose_x, 3
    return p


class TestExactCases:
    @pytest.mark.parametrize("nose_x,expected_yaw,expected", [(5.0, 0.0, 1.0), (6.0, 0.1, 1.0), (7.5, 0.25, 0.5),
                                                               (2.5, -0.25, 0.5), (9.0, 0.4, 0.0), (0.0, -0.5, 0.0)])
    def test_turn(self, nose_x, expected_yaw, expected):
        face = drawn_face(nose_x)
        assert yaw(face) == pytest.approx(expected_yaw) and turn_damping(face) == pytest.approx(expected)

    def test_turn_along_the_eye_centres(self):
        """The artwork filter's reading (scripts/make_artworks.py): eye centres at x 2 and 8 (6 apart), the offset
        along the eye axis, so a rolled head reads the same as an upright one."""
        face = drawn_face(7.5)
        assert yaw(face, EYE_CENTRES, along_eyes=True) == pytest.approx(2.5 / 6)
        c, s = np.cos(0.6), np.sin(0.6)
        rolled = face @ np.array([[c, s], [-s, c]])
        assert yaw(rolled, EYE_CENTRES, along_eyes=True) == pytest.approx(2.5 / 6)
        assert yaw(rolled) != pytest.approx(yaw(face))  # the x offset alone is changed by roll

    @pytest.mark.parametrize("gaps,aperture,expected", [((1.2, 1.2), 0.3, 1.0), ((0.8, 0.8), 0.2, 1.0),
                                                        ((0.6, 0.6), 0.15, 0.5), ((1.0, 0.2), 0.15, 0.5),
                                                        ((0.4, 0.4), 0.1, 0.0), ((0.0, 0.0), 0.0, 0.0)])
    def test_eyes(self, gaps, aperture, expected):
        face = drawn_face(5.0, *gaps)
        assert eye_aperture(face) == pytest.approx(aperture) and eye_damping(face) == pytest.approx(expected)

    def test_product(self):
        face = drawn_face(7.5, 0.6, 0.6)
        assert geometry_damping(face) == pytest.approx(0.25)
        assert geometry_damping(drawn_face(9.5)) == 0.0 and geometry_damping(drawn_face(5.0)) == 1.0

    def test_reads_only_canonical_points(self):
        face = drawn_face(7.0, 0.7, 0.9)
        others = np.setdiff1d(np.arange(topology.NUM_MESH_POINTS), topology.CANONICAL_INDICES)
        moved = face.copy()
        moved[others] = np.random.default_rng(0).uniform(-50, 50, (len(others), 2))
        assert geometry_damping(moved) == geometry_damping(face)


class TestDetectedFaces:
    def test_frontal_keeps_alpha_turned_loses_it(self, astronaut):
        from core.landmarks import detect_faces

        points = detect_faces(astronaut)[0].points.astype(np.float64)
        assert abs(yaw(points)) < 0.1 and turn_damping(points) == 1.0
        turned = points.copy()
        turned[4, 0] += 0.6 * np.hypot(*(points[263] - points[33]))  # nose far to one side: a strong turn
        assert turn_damping(turned) == 0.0

    def test_open_eyes_keep_alpha_closed_lose_it(self, astronaut):
        from core.landmarks import detect_faces

        points = detect_faces(astronaut)[0].points.astype(np.float64)
        assert 0.22 < eye_aperture(points) < 0.5 and eye_damping(points) == 1.0
        assert eye_aperture(close_eyes(points)) == pytest.approx(0.0, abs=1e-6)
        assert eye_damping(close_eyes(points)) == 0.0
        half = eye_damping(close_eyes(points, 1 - 0.15 / eye_aperture(points)))  # aperture 0.15: half-way
        assert half == pytest.approx(0.5, abs=0.02)

    def test_geometry_damping_is_the_product(self, astronaut):
        from core.landmarks import detect_faces

        points = close_eyes(detect_faces(astronaut)[0].points.astype(np.float64), 0.6)
        points[4, 0] += 0.2 * np.hypot(*(points[263] - points[33]))
        assert 0 < turn_damping(points) < 1 and 0 < eye_damping(points) < 1
        assert geometry_damping(points) == pytest.approx(turn_damping(points) * eye_damping(points))
