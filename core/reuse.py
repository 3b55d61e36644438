"""Key-frame reuse for video and the camera: a face's stylized crop is carried to the next frames along its
tracked landmarks (a smooth warp of the crop, about a millisecond) while carrying the key frame's *photo* crop the same
way still reproduces this frame's photo crop (so motion is carried, but a new expression, light or a turn of the head
calls the generator), and at most `max_age` frames. The generator is most of the per-face cost (docs/engine.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np


REUSE_AGE = 2  # frames a stylized crop may be carried before the generator runs again (0: every frame)
REUSE_CHANGE = 3.0  # mean |difference| (8-bit levels, 32 px thumbnails) between this frame's photo crop and the
# key frame's carried to it, above which the generator runs again
THUMB = 32
PINS_PER_SIDE = 4
CARRY_NODES = 17  # the carry's field is evaluated on this many nodes per side and interpolated (it is smooth)
CARRY_SIGMA = 0.05  # width of each landmark's influence, as a fraction of the crop


def thumb(crop: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 aligned crop -> (THUMB, THUMB, 3) float32: what `crop_change` compares."""
    return cv2.resize(crop, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)


def crop_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in 8-bit levels of two `thumb`s: lighting, expression, a turn of the head."""
    return float(np.abs(a - b).mean())


def border_pins(size: int, per_side: int = PINS_PER_SIDE) -> np.ndarray:
    """(4 * per_side, 2) fixed points on the crop's border (px), so a carry moves the face, not the whole crop."""
    t = np.linspace(0, size, per_side, endpoint=False)
    e = np.full_like(t, float(size))
    z = np.zeros_like(t)
    return np.concatenate([np.stack([t, z], 1), np.stack([e, t], 1), np.stack([size - t, e], 1),
                           np.stack([z, size - t], 1)]).astype(np.float64)


def carry_map(key_points: np.ndarray, points: np.ndarray, size: int, nodes: int = CARRY_NODES) -> np.ndarray:
    """cv2.remap map (S,S,2) float32 that moves landmarks `key_points` (N,2 px) to `points` (N,2 px), the border
    pinned: the landmarks' displacements spread by normalized Gaussian weights (CARRY_SIGMA of the crop) and
    inverted to first order (source = q - d(q)). No linear solve: a fresh TPS system per key went through
    LAPACK, whose threads then spun into the rest of the frame (+9 ms a frame on 2 cores)."""
    pins = border_pins(size)
    centres = np.concatenate([np.asarray(key_points, np.float64), pins])
    moves = np.concatenate([np.asarray(points, np.float64) - key_points, np.zeros_like(pins)])
    at = np.linspace(0, size - 1, nodes)
    ys, xs = np.meshgrid(at, at, indexing="ij")
    q = np.stack([xs, ys], -1).reshape(-1, 2)
    d2 = ((q[:, None, :] - centres[None]) ** 2).sum(-1)
    w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * (CARRY_SIGMA * size) ** 2))
    shift = np.einsum("kn,nd->kd", w, moves) / w.sum(1, keepdims=True)
    grid = (q - shift).reshape(nodes, nodes, 2).astype(np.float32)
    k = (nodes - 1) / (size - 1)  # pixel index -> node index
    return cv2.warpAffine(grid, np.array([[k, 0, 0], [0, k, 0]]), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def carry(stylized: np.ndarray, key_points: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The key frame's stylized crop (S, S, 3) with its landmarks `key_points` (N, 2 px) moved to `points`
    (N, 2 px), the same face's landmarks in this frame's crop: `carry_map`, pinned at the crop's border."""
    remap = carry_map(np.asarray(key_points, np.float64), np.asarray(points, np.float64), stylized.shape[0])
    return cv2.remap(stylized, remap[..., 0], remap[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@dataclass
class _Key:
    photo: np.ndarray  # the photo's aligned crop when the generator last ran on it, as a uint8 `thumb`
    photo_points: np.ndarray  # its landmarks (N, 2 px)
    points: np.ndarray  # the output's landmarks then (N, 2 px)
    stylized: np.ndarray  # the generator's output then (S, S, 3) uint8
    age: int = 0  # frames carried since


class KeyFrames:
    """`keys(ids, crops, crop_points, points, generate)` -> one stylized crop per face: the generator's
    (`generate(indices)` for the faces that need it, one batched call) or the face's last one carried to `points`
    (the output's landmarks; `crop_points` are the photo crop's). `ids` are the tracker's stable face ids; a face
    not seen in a frame is forgotten. Counters: `generated`, `carried`."""

    def __init__(self, max_age: int = REUSE_AGE, change: float = REUSE_CHANGE) -> None:
        if max_age < 0 or change < 0:
            raise ValueError(f"need max_age >= 0 (frames) and change >= 0 (levels), got {max_age}, {change}")
        self.max_age, self.change = int(max_age), float(change)
        self.reset()

    def reset(self) -> None:
        self._keys: dict[int, _Key] = {}
        self.generated = self.carried = 0

    def __call__(self, ids: Sequence[int], crops: Sequence[np.ndarray], crop_points: Sequence[np.ndarray],
                 points: Sequence[np.ndarray], generate: Callable[[list[int]], Sequence[np.ndarray]]
                 ) -> list[np.ndarray]:
        crop_points = [np.asarray(p, np.float64) for p in crop_points]
        thumbs = [thumb(c) for c in crops]
        scales = [THUMB / c.shape[0] for c in crops]
        fresh = [i for i, face in enumerate(ids) if self._stale(face, thumbs[i], crop_points[i] * scales[i])]
        made = dict(zip(fresh, generate(fresh))) if fresh else {}
        out = []
        for i, face in enumerate(ids):
            if i in made:
                small = thumbs[i].round().astype(np.uint8)
                self._keys[face] = _Key(small, crop_points[i] * scales[i], np.asarray(points[i], np.float64),
                                        made[i])
                out.append(made[i])
            else:
                key = self._keys[face]
                key.age += 1
                out.append(carry(key.stylized, key.points, np.asarray(points[i], np.float64)))
        self._keys = {face: self._keys[face] for face in ids}
        self.generated += len(made)
        self.carried += len(ids) - len(made)
        return out

    def _stale(self, face: int, crop_thumb: np.ndarray, thumb_points: np.ndarray) -> bool:
        """No key, too old, or the key's photo thumbnail carried here differs from this frame's (`thumb`, with its
        landmarks in thumbnail pixels)."""
        key = self._keys.get(face)
        if key is None or key.age >= self.max_age:
            return True
        carried = carry(key.photo, key.photo_points, thumb_points)
        return crop_change(carried.astype(np.float32), crop_thumb) > self.change
