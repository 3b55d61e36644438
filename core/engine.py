"""Stylize any photo: detect every face, align it, run the style, paste it back with a feathered mask;
optionally stylize the background too (once at the style's resolution, brought back to full size by guided
upsampling). No torch import on the default ONNX path.

This module is the orchestration; each concern has its own module, whose public names it re-exports:
core.aligned (per-face warp: damping, keep_shape, template mesh), core.damping (head turns, closed eyes),
core.masks (head masks), core.tps_numpy (numpy TPS, surround field), core.background (mode "full")."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from core import topology
from core.aligned import AlignedWarp, prepare_aligned, template_mesh, to_pixels, warp_anchors, warp_sources
from core.alignment import align_face, alignment_matrix, compose_affine, crop_image, displace, paste_back
from core.background import (BackgroundKeys, background_size, guided_upsample, luminance_gain, stylize_background,
                             stylize_tiles)
from core.damping import eye_aperture, eye_damping, geometry_damping, turn_damping, yaw
from core.images import ImageSource, fit_image, load_image
from core.landmarks import Face, default_detector, find_faces
from core.masks import HEAD_SCALE, crop_mask, grown_head, head_mask, paste_mask
from core.options import check_alpha, check_keep_shape, check_max_faces, check_max_side, check_mode, check_strength
from core.package import STYLIZE_MODES, StylePackage, load_style
from core.reuse import REUSE_CHANGE, KeyFrames
from core.runtime import Runner, get_runner
from core.scores import FaceScore, score_face, summary as score_summary
from core.tps_numpy import surround_field, tps_points, tps_remap
from core.tracking import FaceTracker

__all__ = [  # orchestration, then the names re-exported from the concern modules for existing callers
    "MODES", "RESAMPLE", "StylizeResult", "stylize", "stylize_faces", "stylize_faces_and_alphas", "stylize_faces_scored",
    "FrameStylizer", "FramePipeline", "TrackedFrame", "STREAM_THREADS",
    "detection_frame", "scale_face", "detect_for", "face_note",
    "AlignedWarp", "prepare_aligned", "template_mesh", "warp_anchors", "warp_sources",
    "background_size", "guided_upsample", "luminance_gain", "stylize_background", "stylize_tiles",
    "eye_aperture", "eye_damping", "geometry_damping", "turn_damping", "yaw",
    "HEAD_SCALE", "crop_mask", "grown_head", "head_mask",
    "surround_field", "tps_points", "tps_remap",
]

MODES = STYLIZE_MODES
RESAMPLE = cv2.INTER_LINEAR  # crops are resampled once each way; Lanczos costs 10x for no visible gain here


@dataclass
class StylizeResult:
    image: np.ndarray  # (H, W, 3) uint8
    faces: list[Face] = field(default_factory=list)
    message: str = ""  # a note for the user: no face, faces beyond the limit
    timings: dict = field(default_factory=dict)  # milliseconds per stage
    faces_found: int | None = None  # faces detected in all (more than len(faces) when over max_faces)
    # the settings as used, after the style's defaults (None where the caller built the result itself)
    mode: str | None = None
    alpha: float | None = None  # geometry strength before per-face damping
    keep_shape: float | None = None
    strength: float | None = None
    face_alphas: list[float] = field(default_factory=list)  # per face in `faces`: alpha after `geometry_damping`
    scores: list[FaceScore] = field(default_factory=list)  # per face, when asked for (`stylize(..., scores=True)`)

    @property
    def scores_text(self) -> str:
        """The faces' scores in one line ("" when none were computed)."""
        return score_summary(self.scores)

    @property
    def summary(self) -> str:
        total = sum(self.timings.values())
        return f"{len(self.faces)} face(s), {total:.0f} ms" + (f"; {self.message}" if self.message else "")


def stylize_faces_and_alphas(image: np.ndarray, faces: list[Face], runner: Runner, alpha: float, strength: float,
                             background: np.ndarray | None = None,
                             keep_shape: float = 0.0) -> tuple[np.ndarray, list[float]]:
    """`stylize_faces`, also returning the geometry strength each face got after damping (`prepare_aligned`)."""
    out, alphas, _ = stylize_faces_scored(image, faces, runner, alpha, strength, background, keep_shape)
    return out, alphas


def stylize_faces_scored(image: np.ndarray, faces: list[Face], runner: Runner, alpha: float, strength: float,
                         background: np.ndarray | None = None, keep_shape: float = 0.0,
                         score: bool = False, keyframes: KeyFrames | None = None,
                         ids: list[int] | None = None) -> tuple[np.ndarray, list[float], list[FaceScore]]:
    """`stylize_faces_and_alphas`, plus with `score` each face's `core.scores.FaceScore` of the style's output
    (geometry re-detected on it against the intended landmarks, structure kept from the warped photo).
    With `keyframes` (video, camera) and the tracker's face `ids`, a face's last output may be carried instead."""
    alpha, strength = check_alpha(alpha), check_strength(strength)
    keep_shape = check_keep_shape(keep_shape) or 0.0
    size = runner.resolution
    config = runner.package.config
    out = image if background is None else background
    scores: list[FaceScore] = []
    if not faces:
        return out.copy(), [], scores
    aligned = [align_face(image, f, size=size, interpolation=RESAMPLE) for f in faces]
    warps = [prepare_aligned(a.points, alpha, keep_shape, config.template, size) for a in aligned]

    def generate(index: list[int]) -> np.ndarray:
        return runner(np.stack([aligned[i].image for i in index]), np.stack([warps[i].sources for i in index]),
                      np.array([warps[i].alpha for i in index], np.float32))

    if keyframes is None or ids is None or len(ids) != len(faces):
        stylized = generate(list(range(len(faces))))
    else:
        stylized = keyframes(ids, [a.image for a in aligned], [topology.to_canonical(a.points) for a in aligned],
                             [w.geometry for w in warps], generate)
    oval = topology.GROUP_SLICES["face_oval"]
    pins = warp_anchors(config.model, size)
    warp_template = np.concatenate([to_pixels(np.asarray(config.template), size), pins])
    for a, warp, s in zip(aligned, warps, stylized):
        canonical, start = topology.to_canonical(a.points), topology.to_canonical(warp.sources)
        start_pinned = np.concatenate([start, pins])  # the generator's warp pins the crop border the same way
        mask = paste_mask(warp.geometry[oval], size, background is not None)
        if warp.alpha > 0:
            head = np.concatenate([grown_head(canonical[oval]), grown_head(warp.geometry[oval])])
            field_, frame = surround_field(start_pinned, warp_template, size, warp.alpha, head)
            out = displace(out, compose_affine(frame, a.matrix), field_)
        if strength < 1 or score:
            remap = tps_remap(start_pinned, warp_template, size, warp.alpha)
            warped = cv2.remap(a.image, remap[..., 0], remap[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            if score:
                head = mask if background is None else head_mask(warp.geometry[oval], size)
                scores.append(score_face(s, warped, warp.geometry, head, default_detector()))
            if strength < 1:
                s = np.clip(strength * s.astype(np.float32) + (1 - strength) * warped, 0, 255).astype(np.uint8)
        # below full strength the photo's own detail (finer than the crop holds) comes back in proportion
        reference = crop_image(out, a.matrix, size, RESAMPLE) if strength < 1 else None
        out = paste_back(out, s, a.matrix, mask=mask, interpolation=RESAMPLE, reference=reference,
                         detail=1.0 - strength)
    return out, [w.alpha for w in warps], scores


def stylize_faces(image: np.ndarray, faces: list[Face], runner: Runner, alpha: float, strength: float,
                  background: np.ndarray | None = None, keep_shape: float = 0.0) -> np.ndarray:
    """Align each face, stylize, blend with the identically warped original by `strength`, paste back
    (adding back (1 - strength) of the photo detail the crop could not hold). Where the style changes the
    face's geometry, the hair and background around it follow the same warp, so no outline is left twice."""
    return stylize_faces_and_alphas(image, faces, runner, alpha, strength, background, keep_shape)[0]


DETECT_SHORT_SIDE = 256  # a working image with a shorter short side is too small for the detector ...
DETECT_FRAME_SHORT = 512  # ... so faces are detected on the source decoded up to this short side instead


def detection_frame(image: ImageSource, rgb: np.ndarray) -> np.ndarray | None:
    """A larger copy of `image` to detect faces in when the downscaled working image `rgb` is too small for
    the detector (a panorama shrunk to max_side can be 77 px high): the source decoded up to DETECT_FRAME_SHORT
    px on its short side. None when `rgb` is large enough or the source is no larger."""
    h, w = rgb.shape[:2]
    if min(h, w) >= DETECT_SHORT_SIDE:
        return None
    frame = load_image(image, max_side=round(max(h, w) * DETECT_FRAME_SHORT / min(h, w)))
    return frame if min(frame.shape[:2]) > min(h, w) else None


def scale_face(face: Face, sx: float, sy: float) -> Face:
    """`face` in an image resized by (sx, sy): continuous pixel coordinates scale about the top-left corner."""
    x0, y0, x1, y1 = face.box
    return Face(face.points * np.float32([sx, sy]), (x0 * sx, y0 * sy, x1 * sx, y1 * sy), face.score)


def detect_for(image: ImageSource, rgb: np.ndarray, max_faces: int) -> tuple[list[Face], int]:
    """(faces in the working image `rgb`, how many were found in all); on `detection_frame` when `rgb` is too
    small for the detector, the faces scaled back to `rgb`."""
    frame = detection_frame(image, rgb)
    if frame is None:
        return find_faces(rgb, max_faces=max_faces)
    faces, found = find_faces(frame, max_faces=max_faces)
    sx, sy = rgb.shape[1] / frame.shape[1], rgb.shape[0] / frame.shape[0]
    return [scale_face(f, sx, sy) for f in faces], found


def face_matrices(faces: list[Face], size: int) -> list[np.ndarray]:
    """Each face's photo -> aligned crop matrix (2,3), as `align_face` cuts it: where whole-image mode restyles the
    surroundings at nearly the crop's resolution (core.background.surround_guides)."""
    return [alignment_matrix(f.points, size) for f in faces]


def face_note(found: int, used: int, limit: int) -> str:
    """The note for faces left out by the limit, e.g. '12 faces found; stylized the 8 largest (limit 8)'."""
    if found <= used:
        return ""
    return f"{found} faces found; stylized the {used} largest (limit {limit})"


def stylize(image: ImageSource, style: StylePackage | str, *, alpha: float | None = None, strength: float = 1.0,
            mode: str | None = None, max_side: int | None = 2048, backend: str = "onnx", variant: str = "fp32",
            faces: list[Face] | None = None, max_faces: int = 8, keep_shape: float | None = None,
            scores: bool = False, texture: bool = True, surround: bool = True,
            refine: bool = True) -> StylizeResult:
    """Stylize every face in a photo (mode "face") or the whole picture with faces on top (mode "full").

    alpha: geometry strength, mode and keep_shape (0 every face takes the style's template shape, 1 keeps its
    own shape and takes the style's average change; default: the style's); strength: 0 original .. 1 fully stylized;
    max_side: downscale larger inputs first (None or 0 keeps the size); max_faces: the largest faces stylized
    (the message says when more were found). Options are checked by core.options (OptionError, a ValueError).
    No face in "face" mode returns the original with a message, never an exception. The result carries the
    settings as used (the style's defaults filled in, each face's damped alpha), so callers need not recompute them;
    `scores` adds each face's geometry fidelity and likeness (core.scores; a Face Mesh pass per face, for stills);
    texture=False and refine=False leave out the style's texture stage (core.texture) and refiner, where it has
    them; surround=False leaves
    the surroundings of faces in "full" mode at the picture's reduced resolution (one generator pass less).
    """
    mode, alpha, strength = check_mode(mode), check_alpha(alpha), check_strength(strength)
    keep_shape, max_side, max_faces = check_keep_shape(keep_shape), check_max_side(max_side), check_max_faces(max_faces)
    timings = {}
    t0 = time.perf_counter()
    package = style if isinstance(style, StylePackage) else load_style(style)
    mode = mode or package.config.mode_default
    runner = get_runner(package, backend=backend, variant=variant, texture=texture, refine=refine)
    if faces is None:
        rgb = load_image(image, max_side=max_side)  # decoded small: memory follows max_side, not the file
    else:  # faces are in the source's pixels: kept when it fits, else found again on the downscaled image
        full = load_image(image)
        rgb = fit_image(full, max_side)
        faces = list(faces) if rgb is full else None
    timings["load"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    found = None if faces is None else len(faces)
    if faces is None:
        faces, found = detect_for(image, rgb, max_faces)
    timings["detect"] = (time.perf_counter() - t0) * 1000
    alpha = package.config.alpha_default if alpha is None else alpha
    keep_shape = package.config.keep_shape if keep_shape is None else keep_shape
    t0 = time.perf_counter()
    matrices = face_matrices(faces, runner.resolution) if surround else []
    background = stylize_background(rgb, runner, strength, matrices) if mode == "full" else None
    timings["background"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    out, face_alphas, face_scores = stylize_faces_scored(rgb, faces, runner, alpha, strength, background, keep_shape,
                                                         score=scores)
    timings["faces"] = (time.perf_counter() - t0) * 1000
    message = face_note(found, len(faces), max_faces)
    if not faces:
        message = ("no face found: the photo comes back unchanged; use a clearer, frontal, well-lit photo, "
                   "or choose 'whole image' to stylize everything") if mode == "face" else \
            "no face found: stylized the whole image without face alignment"
    return StylizeResult(image=out, faces=list(faces), message=message, timings=timings, faces_found=found, mode=mode,
                         alpha=alpha, keep_shape=keep_shape, strength=strength, face_alphas=face_alphas,
                         scores=face_scores)


# ONNX Runtime intra-op threads for a camera's or a clip's render stage. The next frame is tracked (and a clip
# decoded and encoded, or the browser draws the camera) on the other core meanwhile, so a second ONNX thread only
# spins: a live frame cost 67 ms of CPU for 38 ms of wall time with two, 35 for 32 with one
# (scripts/probes/live_parts.py), and a 720p clip ran 12.7 -> 16.9 frames/s (docs/app.md, docs/engine.md).
STREAM_THREADS = 1


@dataclass
class TrackedFrame:
    """A video frame (H, W, 3) uint8 with its tracked faces and their track ids, between the two stages of
    `FrameStylizer`."""

    image: np.ndarray
    faces: list
    ids: list[int]
    timings: dict


class FramePipeline:
    """A clip's frames through a `FrameStylizer` in two stages: `push(frame, t)` tracks this frame while the
    previous one renders in a worker thread, and returns the previous frame's StylizeResult (None for the first);
    `finish()` returns the last one. Results come in the order frames went in. Used as a context manager, so the
    worker is joined however the clip ends."""

    def __init__(self, stylizer: FrameStylizer) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.stylizer = stylizer
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="render")
        self._pending = None

    def push(self, frame: np.ndarray, t: float) -> StylizeResult | None:
        tracked = self.stylizer.track(frame, t)
        done = self.finish()
        self._pending = self._pool.submit(self.stylizer.render, tracked)
        return done

    def finish(self) -> StylizeResult | None:
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def __enter__(self) -> FramePipeline:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class FrameStylizer:
    """`stylizer(frame, t)` -> StylizeResult for consecutive frames of one video or camera at time `t` seconds.

    Faces come from a `FaceTracker` (mesh-only tracking between detections, One Euro smoothing), so each
    face's crop, warp and paste-back mask move smoothly; options are checked once, as `stylize` checks them.
    A frame without a face comes back unchanged in "face" mode and restyled whole in "full" mode.
    `reuse` (frames, 0 = off) lets a face's stylized crop be carried along its landmarks for up to that many
    frames while its crop looks the same (`core.reuse.KeyFrames`); `reuse_change` is that test's threshold. In
    "full" mode the picture's restyled background is reused the same way (`core.background.BackgroundKeys`).
    texture=False and refine=False leave out the style's texture and refiner stages (the camera: each costs more
    than a frame's budget);
    surround=False draws the surroundings of faces in "full" mode at the picture's reduced resolution only (the
    camera: restyling them costs one more generator pass, core.background.surround_guides). `threads`: ONNX
    Runtime's intra-op threads for this stream (None: PORTRAIT_THREADS, default 2).
    """

    def __init__(self, style: StylePackage | str, *, alpha: float | None = None, strength: float = 1.0,
                 mode: str | None = None, keep_shape: float | None = None, max_faces: int = 8,
                 smoothing: bool = True, redetect_every: int = 30, backend: str = "onnx", variant: str = "fp32",
                 tracker: FaceTracker | None = None, reuse: int = 0, reuse_change: float = REUSE_CHANGE,
                 texture: bool = True, surround: bool = True, threads: int | None = None,
                 refine: bool = True) -> None:
        self.package = style if isinstance(style, StylePackage) else load_style(style)
        config = self.package.config
        mode, alpha, strength = check_mode(mode), check_alpha(alpha), check_strength(strength)
        keep_shape, max_faces = check_keep_shape(keep_shape), check_max_faces(max_faces)
        self.mode = mode or config.mode_default
        self.alpha = config.alpha_default if alpha is None else alpha
        self.keep_shape = config.keep_shape if keep_shape is None else keep_shape
        self.strength = strength
        self.runner = get_runner(self.package, backend=backend, variant=variant, texture=texture, threads=threads,
                                 refine=refine)
        self.tracker = tracker or FaceTracker(max_faces=max_faces, redetect_every=redetect_every, smoothing=smoothing)
        self.keyframes = KeyFrames(reuse, reuse_change) if reuse else None
        self.background_keys = BackgroundKeys(reuse) if reuse and self.mode == "full" else None
        self.surround = surround

    def reset(self) -> None:
        """A new clip or camera: forget the tracked faces (and their key frames)."""
        self.tracker.reset()
        if self.keyframes is not None:
            self.keyframes.reset()
        if self.background_keys is not None:
            self.background_keys.reset()

    def __call__(self, frame: np.ndarray, t: float) -> StylizeResult:
        return self.render(self.track(frame, t))

    def track(self, frame: np.ndarray, t: float) -> TrackedFrame:
        """The first stage: the frame's faces from the tracker. Frames must be tracked in order; `render` of
        the previous frame may run meanwhile in another thread (the live camera overlaps the two)."""
        rgb = load_image(frame, max_pixels=None)
        t0 = time.perf_counter()
        faces = self.tracker(rgb, t)
        return TrackedFrame(rgb, faces, list(self.tracker.ids), {"track": (time.perf_counter() - t0) * 1000})

    def render(self, tracked: TrackedFrame) -> StylizeResult:
        """The second stage: the stylized frame of a tracked one, rendered in the order they were tracked."""
        rgb, faces, timings = tracked.image, tracked.faces, dict(tracked.timings)
        t0 = time.perf_counter()
        matrices = face_matrices(faces, self.runner.resolution) if self.surround else []
        restyle_background = self.background_keys or stylize_background
        background = restyle_background(rgb, self.runner, self.strength, matrices) if self.mode == "full" else None
        timings["background"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        out, face_alphas, _ = stylize_faces_scored(rgb, faces, self.runner, self.alpha, self.strength, background,
                                                   self.keep_shape, keyframes=self.keyframes, ids=tracked.ids)
        timings["faces"] = (time.perf_counter() - t0) * 1000
        message = "" if faces else ("no face in this frame: shown unchanged" if self.mode == "face"
                                    else "no face in this frame: stylized without face alignment")
        return StylizeResult(image=out, faces=faces, message=message, timings=timings, faces_found=len(faces),
                             mode=self.mode, alpha=self.alpha, keep_shape=self.keep_shape, strength=self.strength,
                             face_alphas=face_alphas)
