"""Video files in and out with PyAV (FFmpeg's libraries in the `av` wheel; no system ffmpeg), and
`stylize_video`, which runs a clip through `core.engine.FrameStylizer` frame by frame.

Reading (`probe_video`, `read_frames`): anything PyAV opens that has a video stream (mp4, mov, webm, mkv,
avi, ...) becomes upright RGB uint8 frames with their timestamps in seconds:
- rotation: the display matrix (a phone clip recorded in portrait is stored sideways with a rotation of
  +-90 degrees) is applied, so frames come out as the clip is shown; mirror flips in the matrix are ignored;
- frame rate: `t` is each frame's own pts (so a variable frame rate gives the tracker its true time steps);
  the written clip has the same frames at the source's average frame rate (constant rate);
- size: limited to MAX_SECONDS and 4K (MAX_PIXELS, MAX_SIDE) before anything is decoded.

Writing (`VideoWriter`): H.264 (libx264, yuv420p, CRF 20, preset veryfast) in mp4 with +faststart, so
browsers play it as it downloads. yuv420p needs an even width and height: an odd-sized frame loses its
last column and/or last row (321x241 is written as 320x240; nothing is scaled or invented). Audio is
kept: aac, mp3, alac, ac3 and eac3 from mp4, mov or mkv are copied packet for packet (remuxed); any other
audio (opus and vorbis from webm, pcm, mp3 from avi, ...) is re-encoded to aac.

`stylize_video` writes to a hidden temporary file beside the output and renames it at the end, so a failed,
interrupted or cancelled run leaves neither a half-written file nor a changed input.

Why one module of this length (about 520 lines): reading, writing and the audio path share one timing model
(pts, time bases, the written frame rate) and one set of limits, and `stylize_video` is their only user; split,
each part would need the others' internals.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import av
import numpy as np

from core.errors import Cancelled, VideoError

if TYPE_CHECKING:
    from core.engine import FrameStylizer

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}
MAX_SECONDS = 600.0  # clips longer than 10 min are refused
MAX_PIXELS = 3840 * 2160  # ... and frames larger than 4K UHD
MAX_SIDE = 4096  # ... or with a longer side than DCI 4K
CRF, PRESET = 20, "veryfast"  # x264: visually close to the stylized frames, fast on a laptop CPU
COPY_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3"}  # codecs mp4 carries as they are ...
COPY_FROM = ("mov", "mp4", "matroska")  # ... when they come from these containers (no ADTS headers to strip)
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
NOT_VIDEO_FORMATS = ("tty", "image2", "_pipe")  # demuxers that "open" text or still images as a video
FALLBACK_FPS = Fraction(30)
LIMIT_SLACK_S = 0.1  # a "1 min" phone clip of 60.05 s still passes a 60 s limit


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class VideoInfo:
    """What `probe_video` learned: `width` x `height` as displayed (after `rotation`, counter-clockwise degrees),
    `fps` the average frame rate, `frames` the expected count (an estimate where the container has none),
    `duration_s` (None when unknown), `audio` the audio codec (None: no audio); `indexed`: `frames` is the
    container's own count (mp4, mov), so decoding far fewer means the file was cut short."""

    path: Path
    width: int
    height: int
    rotation: int
    fps: Fraction
    frames: int
    duration_s: float | None
    audio: str | None
    container: str
    indexed: bool = False


def _name(path: Path) -> str:
    return path.name or str(path)


def _unreadable(path: Path, why: str) -> VideoError:
    return VideoError(f"{_name(path)} is not a readable video ({why}): check that the file is complete (a copy or "
                      f"download may have been cut short) or export it again as mp4, mov, webm, mkv or avi")


def open_video(path: str | Path) -> av.container.InputContainer:
    """The input container; a missing file raises FileNotFoundError, an empty, damaged or non-video file a
    VideoError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise _unreadable(path, f"FFmpeg: {getattr(exc, 'strerror', None) or exc}") from None
    name = container.format.name
    if not container.streams.video or any(bad in name for bad in NOT_VIDEO_FORMATS):
        container.close()
        raise _unreadable(path, "no video stream in it" + (f"; it reads as {name}" if container.streams.audio
                                                           or not container.streams.video else ""))
    return container


def stream_fps(stream: av.video.stream.VideoStream) -> Fraction:
    """The stream's average frame rate (frames / duration), else its guessed or base rate, else 30; as a
    fraction with a denominator of at most 1001 (30000/1001 stays exact)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 1000:
            return Fraction(rate).limit_denominator(1001)
    return FALLBACK_FPS


def stream_rotation(container: av.container.InputContainer, stream) -> int:
    """The display rotation (counter-clockwise degrees, a multiple of 90) of the first frame; 0 when none."""
    try:
        for frame in container.decode(stream):
            return int(round((frame.rotation or 0) / 90.0)) * 90 % 360
    except av.FFmpegError:
        return 0
    return 0


def probe_video(path: str | Path, *, max_seconds: float | None = MAX_SECONDS, max_pixels: int | None = MAX_PIXELS,
                max_side: int | None = MAX_SIDE, limit_note: str = "") -> VideoInfo:
    """Open `path` and check it against the limits (before decoding it all): VideoError for a damaged, empty or
    non-video file, a clip longer than `max_seconds` or frames over `max_pixels` / `max_side` (`limit_note` is
    appended to those messages: where a larger clip can go)."""
    path = Path(path)
    note = f"; {limit_note}" if limit_note else ""
    with open_video(path) as container:
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        if w <= 0 or h <= 0:
            raise _unreadable(path, "its video stream has no frame size")
        if (max_pixels and w * h > max_pixels) or (max_side and max(w, h) > max_side):
            raise VideoError(f"{_name(path)} is {w}x{h}, larger than the limit of {_limit_size(max_pixels, max_side)}: "
                             f"scale it down first{note}")
        duration = None
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        if max_seconds and duration and duration > max_seconds + LIMIT_SLACK_S:
            raise VideoError(f"{_name(path)} lasts {_clock(duration)}, longer than the limit of {_clock(max_seconds)}: "
                             f"trim it first{note}")
        fps = stream_fps(stream)
        frames = stream.frames or (round(duration * float(fps)) if duration else 0)
        audio = container.streams.audio[0].codec_context.codec.canonical_name if container.streams.audio else None
        rotation = stream_rotation(container, stream)
        if rotation in (90, 270):
            w, h = h, w
        return VideoInfo(path, w, h, rotation, fps, int(frames), duration, audio, container.format.name,
                         bool(stream.frames))


def _limit_size(max_pixels: int | None, max_side: int | None) -> str:
    parts = []
    if max_pixels:
        parts.append({3840 * 2160: "4K (3840x2160)", 1920 * 1080: "1080p (1920x1080)"}.get(max_pixels,
                                                                                          f"{max_pixels} pixels"))
    if max_side:
        parts.append(f"{max_side} px on the long side")
    return " and ".join(parts)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d} min" if s >= 60 else f"{seconds:.1f} s"


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A decoded frame turned by its display rotation (counter-clockwise degrees, FFmpeg's convention) so it
    shows as the clip's player shows it: -90 (a phone's portrait clip) turns it 90 degrees clockwise."""
    k = int(round(rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def frame_rgb(frame: av.VideoFrame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded frame, upright."""
    return upright(frame.to_ndarray(format="rgb24"), frame.rotation or 0)


def read_frames(path: str | Path) -> Iterator[tuple[np.ndarray, float]]:
    """(upright RGB uint8 frame, t seconds from its pts) for every frame of the clip's first video stream."""
    path = Path(path)
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first = None
        try:
            for i, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else i / float(stream_fps(stream))
                first = t if first is None else first
                yield frame_rgb(frame), t
        except av.FFmpegError as exc:
            raise _unreadable(path, f"damaged after {0 if first is None else i} frames: {exc}") from None


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even width and height yuv420p can hold: an odd side loses its last pixel."""
    return width - width % 2, height - height % 2


# --------------------------------------------------------------------------- writing


class VideoWriter:
    """H.264 mp4 at a constant `fps`: `write(rgb)` each frame (an odd-sized one is cropped to `even_size`), the
    audio through `add_audio(stream)` then `audio(packet)` for each of its packets, `close()` at the end.

    Timestamps: the n-th frame written shows at `start_s + n / fps`; audio keeps its own timestamps minus
    `origin_s` (the source's earliest start), so picture and sound stay in sync."""

    def __init__(self, path: str | Path, fps: Fraction, width: int, height: int, *, crf: int = CRF,
                 preset: str = PRESET, start_s: float = 0.0, origin_s: float = 0.0) -> None:
        self.path, self.fps = Path(path), Fraction(fps)
        self.width, self.height = even_size(width, height)
        if self.width < 2 or self.height < 2:
            raise VideoError(f"cannot write a {width}x{height} video: frames need at least 2x2 pixels")
        self.container = av.open(str(self.path), "w", format="mp4", container_options={"movflags": "+faststart"})
        self.video = self.container.add_stream("libx264", rate=self.fps, options={"crf": str(crf), "preset": preset})
        self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.time_base = 1 / self.fps
        self.next_pts = int(round(start_s * self.fps))
        self.origin_s = float(origin_s)
        self.frames = 0
        self.audio_stream = None
        self.audio_mode: str | None = None  # "copy" or "aac"
        self._resampler = None
        self._samples: int | None = None  # aac: the next sample's pts, set by the first audio frame

    def write(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:self.height, :self.width]), format="rgb24")
        frame.pts, frame.time_base = self.next_pts, self.time_base
        self.next_pts += 1
        self.frames += 1
        self.container.mux(self.video.encode(frame))

    def add_audio(self, source) -> str:
        """Take audio from the input audio stream `source`: copied when mp4 carries its codec as it is, else
        re-encoded to aac. Returns "copy" or "aac". Call before the first `write`."""
        codec = source.codec_context.codec.canonical_name
        container_name = source.container.format.name
        if codec in COPY_AUDIO and any(c in container_name for c in COPY_FROM):
            self.audio_stream = self.container.add_stream_from_template(source)
            self.audio_mode = "copy"
        else:
            ctx = source.codec_context
            rate = min(AAC_RATES, key=lambda r: abs(r - (ctx.sample_rate or 48000)))
            layout = "mono" if ctx.layout.nb_channels == 1 else "stereo"
            self.audio_stream = self.container.add_stream("aac", rate=rate, layout=layout)
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            self.audio_mode = "aac"
        return self.audio_mode

    def audio(self, packet: av.Packet) -> None:
        """One demuxed packet of the `add_audio` stream: muxed as it is ("copy") or decoded and re-encoded."""
        if self.audio_stream is None:
            return
        if self.audio_mode == "copy":
            if packet.size == 0 or packet.dts is None:
                return
            shift = int(round(self.origin_s / packet.time_base)) if self.origin_s else 0
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts -= shift
            packet.stream = self.audio_stream
            self.container.mux(packet)
            return
        for frame in packet.decode():
            self._encode_audio(frame)

    def _encode_audio(self, frame: av.AudioFrame | None) -> None:
        """Resample to the aac stream's format (None flushes) and encode, timestamps counted in samples from
        the first frame's time."""
        rate = self.audio_stream.codec_context.sample_rate
        if self._samples is None:
            start = frame.time if frame is not None and frame.time is not None else self.origin_s
            self._samples = max(0, int(round((start - self.origin_s) * rate)))
        for out in self._resampler.resample(frame):
            out.pts, out.time_base = self._samples, Fraction(1, rate)
            self._samples += out.samples
            self.container.mux(self.audio_stream.encode(out))

    def close(self) -> None:
        """Flush the encoders and write the mp4's index."""
        if self.container is None:
            return
        try:
            self.container.mux(self.video.encode(None))
            if self.audio_mode == "aac":
                self._encode_audio(None)
                self.container.mux(self.audio_stream.encode(None))
        finally:
            container, self.container = self.container, None
            container.close()

    def abort(self) -> None:
        """Close without flushing (the file is about to be removed)."""
        if self.container is not None:
            container, self.container = self.container, None
            try:
                container.close()
            except Exception:  # noqa: BLE001 - a half-written file that is removed next
                pass


# --------------------------------------------------------------------------- stylizing a clip


@dataclass
class VideoProgress:
    """One frame done: `done` of `total` (an estimate until the end), throughput `fps`, `eta_s`, and the `stage`
    ("stylizing", or "whole image" for the second pass of a clip without a face)."""

    done: int
    total: int
    fps: float
    eta_s: float | None
    elapsed_s: float
    stage: str = "stylizing"

    @property
    def text(self) -> str:
        eta = "—" if self.eta_s is None else f"{int(self.eta_s) // 60}:{int(self.eta_s) % 60:02d}"
        return f"{self.stage}: frame {self.done}/{self.total} · {self.fps:.1f} fps · ETA {eta}"


@dataclass
class VideoResult:
    """A written clip: `frames` at `fps`, `size` (width, height) as written, the audio (`audio`: "copied",
    "re-encoded to aac" or "none"), faces per frame, the `mode` used, the tracker's counters, the wall time, and
    the settings as used (the style's defaults filled in)."""

    path: Path
    frames: int
    fps: Fraction
    size: tuple[int, int]
    audio: str
    faces_per_frame: list[int] = field(default_factory=list)
    mode: str = "face"
    message: str = ""
    seconds: float = 0.0
    tracker: dict = field(default_factory=dict)
    source: VideoInfo | None = None
    alpha: float = 0.0
    keep_shape: float = 0.0
    strength: float = 1.0

    @property
    def audio_kept(self) -> bool:
        return self.audio != "none"

    @property
    def frames_with_faces(self) -> int:
        return sum(1 for n in self.faces_per_frame if n)

    @property
    def throughput(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def summary(self) -> str:
        w, h = self.size
        faces = self.faces_per_frame
        face_text = "no face"
        if faces and max(faces):
            face_text = f"faces in {self.frames_with_faces}/{self.frames} frames (max {max(faces)})"
        return (f"{self.frames} frames, {w}x{h}, {float(self.fps):.3g} fps, audio {self.audio}, {face_text}, "
                f"{self.seconds:.1f} s ({self.throughput:.1f} fps)" + (f"; {self.message}" if self.message else ""))


def temp_path(dst: Path) -> Path:
    """A hidden file beside `dst` for the output being written."""
    return dst.with_name(f".{dst.stem}.{uuid.uuid4().hex[:8]}.part.mp4")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _transcode(info: VideoInfo, tmp: Path, stylizer: FrameStylizer, *, crf: int, preset: str,
               max_seconds: float | None, on_frame: Callable[[int], None],
               cancel: Any = None) -> tuple[int, str, list[int], tuple[int, int]]:
    """One pass: decode `info.path`, stylize each frame (tracked while the previous one renders), encode to `tmp`
    with the audio.
    Returns (frames, audio description, faces per frame, written size)."""
    from core.engine import FramePipeline

    path = info.path
    faces: list[int] = []
    with open_video(path) as container:
        vstream = container.streams.video[0]
        vstream.thread_type = "AUTO"
        astream = container.streams.audio[0] if container.streams.audio else None
        starts = [float(s.start_time * s.time_base) for s in (vstream, astream)
                  if s is not None and s.start_time is not None and s.time_base]
        origin = min(starts) if starts else 0.0
        vstart = float(vstream.start_time * vstream.time_base) if vstream.start_time is not None else 0.0
        writer = VideoWriter(tmp, info.fps, info.width, info.height, crf=crf, preset=preset,
                             start_s=max(0.0, vstart - origin), origin_s=origin)
        try:
            audio = "none"
            if astream is not None:
                try:
                    audio = "copied" if writer.add_audio(astream) == "copy" else f"re-encoded to aac from {info.audio}"
                except (av.FFmpegError, ValueError):
                    writer.audio_stream, audio = None, f"dropped ({info.audio} cannot be carried or re-encoded)"
            streams = [s for s in (vstream, astream) if s is not None]
            n = decoded = 0

            def emit(result) -> None:
                nonlocal n
                if result is not None:
                    writer.write(result.image)
                    faces.append(len(result.faces))
                    n += 1
                    on_frame(n)

            with FramePipeline(stylizer) as pipeline:  # a frame is tracked while the one before it renders
                for packet in container.demux(*streams):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(f"cancelled: {_name(path)} was not written")
                    if packet.stream is astream:
                        writer.audio(packet)
                        continue
                    for frame in packet.decode():
                        if cancel is not None and cancel.is_set():
                            raise Cancelled(f"cancelled: {_name(path)} was not written")
                        t = frame.time if frame.time is not None else decoded / float(info.fps)
                        if max_seconds and t - vstart > max_seconds + LIMIT_SLACK_S:
                            raise VideoError(f"{_name(path)} runs past the limit of {_clock(max_seconds)}: trim it "
                                             "first")
                        decoded += 1
                        emit(pipeline.push(frame_rgb(frame), t))
                emit(pipeline.finish())
            if n == 0:
                raise _unreadable(path, "no frame could be decoded")
            if info.indexed and n < 0.9 * info.frames - 1:  # an mp4 with its index first, cut short
                raise _unreadable(path, f"only {n} of its {info.frames} frames could be decoded")
            writer.close()
        except av.FFmpegError as exc:
            writer.abort()
            raise _unreadable(path, f"damaged after {len(faces)} frames: {exc}") from None
        except BaseException:
            writer.abort()
            raise
    return n, audio, faces, (writer.width, writer.height)


def stylize_video(src: str | Path, dst: str | Path, style, *, mode: str | None = None, alpha: float | None = None,
                  strength: float = 1.0, keep_shape: float | None = None, smoothing: bool = True, max_faces: int = 8,
                  redetect_every: int = 30, progress: Callable[[VideoProgress], None] | None = None,
                  cancel: Any = None, max_seconds: float | None = MAX_SECONDS, max_pixels: int | None = MAX_PIXELS,
                  max_side: int | None = MAX_SIDE, limit_note: str = "", crf: int = CRF, preset: str = PRESET,
                  backend: str = "onnx", variant: str = "fp32") -> VideoResult:
    """Stylize every frame of the clip `src` into the H.264 mp4 `dst` (same frames and average fps, audio kept).

    Faces are tracked through the clip by `FrameStylizer` (`smoothing=False`: raw landmarks, for comparison).
    In "face" mode a clip where no frame has a face is restyled whole ("full" mode, no face alignment) and the
    message says so. `progress(VideoProgress)` after each frame; `cancel` (anything with `is_set()`, such as a
    threading.Event) stops at the next frame with `Cancelled`. The output goes to a temporary file beside `dst`,
    renamed over `dst` only when complete; on any error, interruption or cancellation it is removed.
    VideoError: damaged, empty or non-video input, or over `max_seconds` / `max_pixels` / `max_side`.
    """
    from core.engine import STREAM_THREADS, FrameStylizer
    from core.options import check_mode
    from core.reuse import REUSE_AGE
    from core.package import StylePackage, load_style

    t_start = time.perf_counter()
    src, dst = Path(src), Path(dst)
    info = probe_video(src, max_seconds=max_seconds, max_pixels=max_pixels, max_side=max_side, limit_note=limit_note)
    if _same_file(src, dst):
        raise VideoError(f"the output {dst} would replace its input {_name(src)}: write it to another folder or name")
    package = style if isinstance(style, StylePackage) else load_style(style)
    mode = check_mode(mode) or package.config.mode_default
    options = dict(alpha=alpha, strength=strength, keep_shape=keep_shape, max_faces=max_faces, smoothing=smoothing,
                   redetect_every=redetect_every, backend=backend, variant=variant,
                   threads=STREAM_THREADS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(dst)

    used: dict = {}  # the settings as the stylizer resolved them

    def run(frame_mode: str, stage: str):
        stylizer = FrameStylizer(package, mode=frame_mode, reuse=REUSE_AGE, **options)  # core.reuse
        t0 = time.perf_counter()
        total = [max(info.frames, 1)]

        def on_frame(n: int) -> None:
            if progress is None:
                return
            total[0] = max(total[0], n)
            elapsed = time.perf_counter() - t0
            fps = n / elapsed if elapsed > 0 else 0.0
            eta = (total[0] - n) / fps if fps > 0 else None
            progress(VideoProgress(n, total[0], fps, eta, elapsed, stage))

        out = _transcode(info, tmp, stylizer, crf=crf, preset=preset, max_seconds=max_seconds, on_frame=on_frame,
                         cancel=cancel)
        tracker = stylizer.tracker
        counters = {"frames": tracker.frames, "detections": tracker.detections, "tracked": tracker.tracked,
                    "losses": tracker.losses}
        used.update(alpha=stylizer.alpha, keep_shape=stylizer.keep_shape, strength=stylizer.strength)
        return out, counters

    try:
        (frames, audio, faces, size), counters = run(mode, "stylizing")
        message = ""
        if not any(faces):
            if mode == "face":
                (frames, audio, faces, size), counters = run("full", "whole image")
                message = "no face in any frame: restyled the whole clip in whole-image mode (no face alignment)"
                mode = "full"
            else:
                message = "no face in any frame: stylized the whole image without face alignment"
        elif mode == "face" and not all(faces):
            message = (f"{sum(1 for f in faces if not f)} of {frames} frames without a face came back unchanged")
        if (size[0], size[1]) != (info.width, info.height):
            crop = " and ".join(s for s, odd in (("the last column", info.width % 2), ("the last row", info.height % 2))
                                if odd)
            message = "; ".join(m for m in (message, f"odd size {info.width}x{info.height}: dropped {crop} "
                                                     f"(H.264 needs even sides)") if m)
        if audio.startswith("dropped"):
            message = "; ".join(m for m in (message, f"audio {audio}") if m)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return VideoResult(dst, frames, info.fps, size, audio, faces, mode, message, time.perf_counter() - t_start,
                       counters, info, **used)
