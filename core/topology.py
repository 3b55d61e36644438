"""The canonical landmark subset of the MediaPipe 478-point face mesh that drives every TPS warp.

Groups are named; "right"/"left" are the subject's (image left is the subject's right).
`FLIP` maps each canonical point to its mirror partner, so a horizontal flip keeps landmarks
consistent. Pure data: importing this module loads no model.
"""

from __future__ import annotations

import numpy as np

NUM_MESH_POINTS = 478  # 468 mesh points + 10 iris points (refine_landmarks=True)

# Mirror pairs (subject's right, subject's left) and midline points, per group.
_GROUPS_SPEC: dict[str, tuple[list[tuple[int, int]], list[int]]] = {
    "face_oval": (
        [(67, 297), (54, 284), (162, 389), (234, 454), (132, 361), (172, 397), (150, 379), (176, 400)],
        [10, 152],
    ),
    "right_brow": ([(70, 300), (63, 293), (105, 334), (66, 296), (107, 336)], []),
    "right_eye": (
        [(33, 263), (160, 387), (159, 386), (158, 385), (133, 362), (153, 380), (145, 374), (144, 373)],
        [],
    ),
    "right_iris": ([(468, 473)], []),
    "nose": ([(98, 327)], [168, 6, 195, 4, 2]),
    "lips_outer": ([(61, 291), (40, 270), (37, 267), (91, 321), (84, 314)], [0, 17]),
    "lips_inner": ([(78, 308), (82, 312), (87, 317)], [13, 14]),
}


def _build() -> tuple[dict[str, list[int]], list[int], list[tuple[int, int]]]:
    groups: dict[str, list[int]] = {}
    pairs: list[tuple[int, int]] = []
    for name, (mirror, mid) in _GROUPS_SPEC.items():
        right = [r for r, _ in mirror]
        left = [l for _, l in mirror]
        pairs += mirror
        if name.startswith("right_"):
            groups[name] = right
            groups["left_" + name[len("right_"):]] = left
        else:
            groups[name] = right + mid + left
    order = [i for g in groups.values() for i in g]
    return groups, order, pairs


GROUPS, CANONICAL_INDICES, _PAIRS = _build()
"""GROUPS: name -> mesh indices. CANONICAL_INDICES: the concatenation of all groups (73 points)."""

NUM_CANONICAL = len(CANONICAL_INDICES)

_pos = {mesh: k for k, mesh in enumerate(CANONICAL_INDICES)}
FLIP = np.arange(NUM_CANONICAL)
for _r, _l in _PAIRS:
    FLIP[_pos[_r]], FLIP[_pos[_l]] = _pos[_l], _pos[_r]
FLIP.setflags(write=False)
"""FLIP[k]: position in the canonical subset of point k's mirror partner."""

GROUP_SLICES: dict[str, np.ndarray] = {
    name: np.array([_pos[i] for i in idx]) for name, idx in GROUPS.items()
}
"""Group name -> positions within the canonical subset."""

# Points used for the coarse (global) feature warp: the face outline, eye and iris centres, nose
# tip and mouth corners. Local warps use every canonical point.
GLOBAL_INDICES = np.array(
    [_pos[i] for i in GROUPS["face_oval"]]
    + [_pos[i] for i in (33, 133, 263, 362, 468, 473, 4, 61, 291, 0, 17)]
)

LANDMARK_KEYPOINTS = [  # shown in order by the manual landmark editor
    ("right eye outer corner", 33), ("right eye inner corner", 133),
    ("left eye inner corner", 362), ("left eye outer corner", 263),
    ("nose tip", 4), ("mouth right corner", 61), ("mouth left corner", 291),
    ("upper lip centre", 0), ("lower lip centre", 17), ("chin", 152),
    ("right jaw", 172), ("left jaw", 397), ("forehead top", 10),
]


def to_canonical(points: np.ndarray) -> np.ndarray:
    """Select the canonical subset: (..., 478, 2) -> (..., NUM_CANONICAL, 2)."""
    points = np.asarray(points)
    if points.shape[-2:] != (NUM_MESH_POINTS, 2):
        raise ValueError(f"expected (..., {NUM_MESH_POINTS}, 2) mesh landmarks, got {points.shape}")
    return points[..., CANONICAL_INDICES, :]


def flip_canonical(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror canonical landmarks (..., N, 2) for an image of `width` flipped left-right."""
    out = np.asarray(points, dtype=np.float64)[..., FLIP, :].copy()
    out[..., 0] = width - out[..., 0]
    return out
