"""The canonical landmark subset of the MediaPipe 478-point face mesh that drives every TPS warp.

Groups are named; "right"/"left" are the subject's (image left is the subject's right).
`FLIP` maps each canonical point to its mirror partner, so a horizontal flip keeps landmarks
consistent; `edit_landmarks` rescales named groups for art a human-face detector misreads. Importing this module
loads no model.
"""

from __future__ import annotations

import numpy as np

from core.errors import LandmarkError

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


LANDMARK_EDIT_UNITS: dict[str, list[list[str]]] = {
    "eyes": [["right_eye", "right_iris"], ["left_eye", "left_iris"]],
    "brows": [["right_brow"], ["left_brow"]],
    "lips": [["lips_outer", "lips_inner"]],
    **{g: [[g]] for g in GROUPS},
}
"""Keys of a landmark edit: each names units of groups, each unit scaled about its own centre."""


EDIT_ANCHORS = ("centre", "top", "bottom")


def parse_landmark_edit(edit: dict | None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Check a landmark edit {key: {"scale": s or [sx, sy], "shift": [dx, dy], "anchor": "centre"|"top"|"bottom"}}
    -> (positions, scale, shift, anchor) per unit, shift mirrored for the subject's right side.
    Raises LandmarkError naming the bad key."""
    units = []
    for key, spec in (edit or {}).items():
        if key not in LANDMARK_EDIT_UNITS:
            raise LandmarkError(f"landmark edit: unknown group {key!r}; use one of {sorted(LANDMARK_EDIT_UNITS)}")
        if not isinstance(spec, dict) or set(spec) - {"scale", "shift", "anchor"}:
            raise LandmarkError(f"landmark edit {key!r}: expected {{\"scale\": [sx, sy], \"shift\": [dx, dy], "
                               f"\"anchor\": \"centre\"}}, got {spec!r}")
        anchor = spec.get("anchor", "centre")
        if anchor not in EDIT_ANCHORS:
            raise LandmarkError(f"landmark edit {key!r}: anchor must be one of {EDIT_ANCHORS}, got {anchor!r}")
        try:
            scale = np.broadcast_to(np.asarray(spec.get("scale", 1.0), np.float64), (2,)).copy()
            shift = np.broadcast_to(np.asarray(spec.get("shift", 0.0), np.float64), (2,)).copy()
        except (TypeError, ValueError):
            raise LandmarkError(f"landmark edit {key!r}: scale and shift must be a number or two numbers, "
                               f"got {spec!r}") from None
        if not (np.isfinite(scale).all() and np.isfinite(shift).all()) or (scale <= 0).any() or (scale > 5).any():
            raise LandmarkError(f"landmark edit {key!r}: scale must be in (0, 5] and shift finite, got {spec!r}")
        for groups in LANDMARK_EDIT_UNITS[key]:
            sign = -1.0 if groups[0].startswith("right_") else 1.0  # subject's right is image left: mirror x
            pos = np.concatenate([GROUP_SLICES[g] for g in groups])
            units.append((pos, scale, shift * np.array([sign, 1.0]), anchor))
    return units


def edit_landmarks(points: np.ndarray, edit: dict | None, size: int) -> np.ndarray:
    """Scale and shift named landmark groups of every face: (N, 73, 2) aligned px -> a new (N, 73, 2).

    A detector trained on human faces misplaces features that art draws at other proportions (MediaPipe puts a
    human eye's lids at the top of an anime eye two to three times taller); one edit fixes the whole set. Each unit
    is scaled by (sx, sy) about its centre (or, with anchor "top"/"bottom", the middle of its top/bottom edge) and
    moved by (dx, dy) in normalized units (the crop spans [-1, 1]), dx pointing away from the midline for paired
    groups, so one edit stays left-right symmetric.
    """
    out = np.array(points, dtype=np.float32, copy=True)
    for pos, scale, shift, anchor in parse_landmark_edit(edit):
        unit = out[:, pos].astype(np.float64)
        centre = unit.mean(axis=1, keepdims=True)
        if anchor != "centre":
            centre[..., 1] = (unit[..., 1].min if anchor == "top" else unit[..., 1].max)(axis=1, keepdims=True)
        out[:, pos] = (centre + (unit - centre) * scale + shift * size / 2).astype(np.float32)
    return out
