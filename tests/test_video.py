"""studio/video.py, the video side of `python -m studio stylize` and the app's video handler, on small clips made
here with PyAV from examples/astronaut.jpg (moved a few px per frame, 320x240 or smaller) with a sine as sound.

Tracking against per-frame detection is tests/test_tracking.py's (test_tracking_equals_per_frame_detection);
here the clip-level tracker counters are checked instead."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import cv2
import gradio as gr
import numpy as np
import pytest
from PIL import Image

from core.errors import Cancelled, VideoError
from studio import workspace
from studio.app import stylize
from studio.cli import main
from studio.video import VideoWriter, even_size, probe_video, read_frames, stylize_video, upright

ROOT = Path(__file__).resolve().parents[1]
PHOTO = cv2.cvtColor(cv2.imread(str(ROOT / "examples" / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
FACE = (225, 124)  # the face's centre in the photo (px)
TONE_HZ = 440.0


def face_frame(i: int, width: int = 320, height: int = 240, scale: float = 0.8) -> np.ndarray:
    """Frame i of a clip: the astronaut at `scale`, her face moving (2, 1) px per frame from near the centre."""
    cx, cy = width / 2 - 12 + 2 * i, height / 2 - 8 + i
    m = np.float32([[scale, 0, cx - FACE[0] * scale], [0, scale, cy - FACE[1] * scale]])
    return cv2.warpAffine(PHOTO, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blank_frame(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A moving colour gradient: no face anywhere."""
    x = np.linspace(0, 1, width)[None, :, None] + 0.01 * i
    y = np.linspace(0, 1, height)[:, None, None]
    rgb = np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
                          np.broadcast_to(0.5 * (x + y), (height, width, 1))], -1)
    return (np.mod(rgb, 1) * 200 + 30).astype(np.uint8)


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 24, *, audio: str | None = "aac",
               vcodec: str = "libx264", rotation: int | None = None, pts_ms: list[int] | None = None) -> Path:
    """Encode RGB frames with PyAV, plus (unless audio is None) a 440 Hz sine as long as the clip in `audio`.
    `rotation`: a display matrix of that many degrees counter-clockwise (the frames are stored as given);
    `pts_ms`: each frame's time in ms (a variable frame rate)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        video = out.add_stream(vcodec, rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        if pts_ms is not None:
            video.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=48000 if audio == "libopus" else 44100, layout="mono") if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            rate = sound.rate
            seconds = (pts_ms[-1] / 1000 + 1 / fps) if pts_ms is not None else len(frames) / fps
            total, t = int(seconds * rate), 0
            while t < total:
                n = min(1000, total - t)
                x = (0.3 * np.sin(2 * np.pi * TONE_HZ * (t + np.arange(n)) / rate)).astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = rate, t
                t += n
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path


def decode(path: Path) -> list[np.ndarray]:
    return [rgb for rgb, _ in read_frames(path)]


def audio_of(path: Path) -> tuple[str | None, float, float]:
    """(codec, seconds, rms) of a file's first audio stream; (None, 0, 0) without one."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None, 0.0, 0.0
        stream = c.streams.audio[0]
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(stream)])
        rate = stream.codec_context.sample_rate
        return stream.codec_context.codec.canonical_name, len(samples) / rate / stream.codec_context.channels, \
            float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def video_of(path: Path) -> tuple[int, Fraction, tuple[int, int], str]:
    """(decoded frames, average fps, (width, height), codec) of a file's video."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        n = sum(1 for _ in c.decode(stream))
        return n, stream.average_rate, (stream.codec_context.width, stream.codec_context.height), \
            stream.codec_context.codec.canonical_name


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    """24 frames at 24 fps, 320x240, H.264 + aac sine."""
    return write_clip(tmp_path_factory.mktemp("clips") / "walk.mp4", [face_frame(i) for i in range(24)])


class TestRoundTrip:
    def test_keeps_frames_fps_size_and_audio(self, face_clip, tiny_style, tmp_path):
        result = stylize_video(face_clip, tmp_path / "out.mp4", tiny_style, mode="face")
        assert result.path == tmp_path / "out.mp4" and leftovers(tmp_path) == []
        assert video_of(result.path) == (24, Fraction(24), (320, 240), "h264")
        assert (result.frames, result.fps, result.size, result.audio) == (24, Fraction(24), (320, 240), "copied")
        codec, seconds, rms = audio_of(result.path)
        assert codec == "aac" and seconds == pytest.approx(1.0, abs=0.05) and rms > 0.15  # the sine, not silence
        assert result.faces_per_frame == [1] * 24 and result.message == ""
        config = tiny_style.config  # the settings as used, the style's defaults filled in
        assert (result.alpha, result.keep_shape, result.strength) == (config.alpha_default, config.keep_shape, 1.0)
        # tracked between detections (frame 0 only: 24 < redetect_every), never lost
        assert result.tracker == {"frames": 24, "detections": 1, "tracked": 23, "losses": 0}
        src, out = decode(face_clip), decode(result.path)
        diff = np.abs(out[12].astype(int) - src[12].astype(int)).mean(-1)
        face = diff[85:165, 135:210].mean()  # the face's box in frame 12
        assert face > 8 * max(diff[:, :60].mean(), 0.5), (face, diff[:, :60].mean())  # restyled the face only

    def test_no_audio_in_no_audio_out(self, tiny_style, tmp_path):
        clip = write_clip(tmp_path / "mute.mp4", [face_frame(i) for i in range(6)], audio=None)
        result = stylize_video(clip, tmp_path / "o" / "mute.mp4", tiny_style, mode="face")
        assert result.audio == "none" and not result.audio_kept
        assert audio_of(result.path)[0] is None and video_of(result.path)[0] == 6

    @pytest.mark.parametrize("suffix,vcodec,acodec,audio", [
        (".mov", "libx264", "aac", "copied"),
        (".mkv", "mpeg4", "mp3", "copied"),
        (".webm", "libvpx-vp9", "libopus", "re-encoded to aac from opus"),
        (".avi", "mpeg4", "mp3", "re-encoded to aac from mp3"),  # mp3 from avi: re-encoded, not copied
    ])
    def test_containers(self, tiny_style, tmp_path, suffix, vcodec, acodec, audio):
        clip = write_clip(tmp_path / f"c{suffix}", [face_frame(i) for i in range(8)], vcodec=vcodec, audio=acodec)
        result = stylize_video(clip, tmp_path / "c.mp4", tiny_style, mode="face")
        assert result.audio == audio and result.faces_per_frame == [1] * 8
        assert video_of(result.path) == (8, Fraction(24), (320, 240), "h264")
        codec, seconds, rms = audio_of(result.path)
        assert codec == ("mp3" if audio == "copied" and acodec == "mp3" else "aac")
        assert seconds == pytest.approx(8 / 24, abs=0.08) and rms > 0.15

    def test_odd_size_drops_the_last_column_and_row(self, tiny_style, tmp_path):
        clip = write_clip(tmp_path / "odd.mkv", [face_frame(i, 321, 241) for i in range(6)], vcodec="mpeg4",
                          audio=None)
        assert probe_video(clip).width == 321 and even_size(321, 241) == (320, 240)
        result = stylize_video(clip, tmp_path / "odd.mp4", tiny_style, mode="face", strength=0.0, alpha=0.0)
        assert result.size == (320, 240) and video_of(result.path)[:3] == (6, Fraction(24), (320, 240))
        assert (result.alpha, result.strength) == (0.0, 0.0)
        assert "odd size 321x241: dropped the last column and the last row" in result.message
        src, out = decode(clip)[0], decode(result.path)[0]
        assert np.abs(out.astype(int) - src[:240, :320]).mean() < 6  # cropped, not scaled

    def test_variable_frame_rate(self, tiny_style, tmp_path, monkeypatch):
        from core import engine

        pts = [0, 30, 70, 100, 160, 190, 230, 250, 300, 340]  # ms, irregular
        clip = write_clip(tmp_path / "vfr.mp4", [face_frame(i) for i in range(10)], pts_ms=pts)
        seen = []
        track = engine.FrameStylizer.track
        monkeypatch.setattr(engine.FrameStylizer, "track", lambda self, f, t: (seen.append(t), track(self, f, t))[1])
        info = probe_video(clip)
        result = stylize_video(clip, tmp_path / "vfr_out.mp4", tiny_style, mode="face")
        assert seen == pytest.approx([p / 1000 for p in pts], abs=1e-3)  # the tracker gets each frame's own time
        assert [t for _, t in read_frames(clip)] == pytest.approx(seen, abs=1e-3)
        assert result.frames == 10 and result.fps == info.fps and float(info.fps) == pytest.approx(10 / 0.35, rel=0.15)
        n, fps, _, _ = video_of(result.path)
        assert n == 10 and float(fps) == pytest.approx(float(info.fps), rel=1e-3)


class TestRotation:
    @pytest.mark.parametrize("rotation", [90, -90, 180])
    def test_display_matrix_comes_out_upright(self, tiny_style, tmp_path, rotation):
        frames = [face_frame(i) for i in range(6)]
        k = rotation // 90
        stored = [np.ascontiguousarray(np.rot90(f, -k)) for f in frames]  # what a phone stores: turned
        clip = write_clip(tmp_path / "phone.mov", stored, rotation=rotation, audio=None)
        info = probe_video(clip)
        assert info.rotation == rotation % 360 and (info.width, info.height) == (320, 240)
        read = decode(clip)
        assert read[0].shape == (240, 320, 3)
        assert np.abs(read[0].astype(int) - frames[0]).mean() < 5
        result = stylize_video(clip, tmp_path / "phone.mp4", tiny_style, mode="face", strength=0.0, alpha=0.0)
        assert result.size == (320, 240) and result.faces_per_frame == [1] * 6  # an upright face is found
        out = decode(result.path)
        assert out[0].shape == (240, 320, 3)
        right = np.abs(out[3].astype(int) - frames[3]).mean()
        wrong = np.abs(out[3].astype(int) - np.rot90(frames[3], 2)).mean()
        assert right < 6 and wrong > 4 * right, (right, wrong)
        with av.open(str(result.path)) as c:  # written upright: no display matrix left to apply
            assert next(c.decode(video=0)).rotation == 0

    def test_upright(self):
        a = np.arange(6).reshape(2, 3)
        assert upright(a, 0) is a
        assert upright(a, 90).tolist() == [[2, 5], [1, 4], [0, 3]]  # counter-clockwise
        assert upright(a, -90).tolist() == [[3, 0], [4, 1], [5, 2]]  # clockwise: a phone's portrait clip


class TestNoFace:
    def test_face_mode_restyles_the_whole_clip(self, tiny_style, tmp_path):
        clip = write_clip(tmp_path / "sky.mp4", [blank_frame(i) for i in range(6)])
        result = stylize_video(clip, tmp_path / "sky_out.mp4", tiny_style, mode="face")
        assert result.mode == "full" and result.faces_per_frame == [0] * 6
        assert "no face in any frame" in result.message and "whole-image mode" in result.message
        assert result.frames == 6 and result.audio == "copied" and leftovers(tmp_path) == []
        src, out = decode(clip)[2], decode(result.path)[2]
        assert np.abs(out.astype(int) - src).mean() > 10  # restyled, not returned unchanged

    def test_full_mode_says_so(self, tiny_style, tmp_path):
        clip = write_clip(tmp_path / "sky.mp4", [blank_frame(i) for i in range(4)], audio=None)
        result = stylize_video(clip, tmp_path / "o.mp4", tiny_style, mode="full")
        assert result.mode == "full" and "stylized the whole image" in result.message

    def test_some_frames_without_a_face(self, tiny_style, tmp_path):
        frames = [face_frame(i) for i in range(6)] + [blank_frame(i) for i in range(3)]
        clip = write_clip(tmp_path / "leave.mp4", frames, audio=None)
        result = stylize_video(clip, tmp_path / "o.mp4", tiny_style, mode="face")
        assert result.mode == "face" and result.faces_per_frame == [1] * 6 + [0] * 3
        assert "3 of 9 frames without a face came back unchanged" in result.message


class TestBadInput:
    @pytest.fixture(params=["random", "truncated", "truncated_faststart", "empty", "text", "audio_only"])
    def bad_clip(self, request, face_clip, tmp_path) -> Path:
        path = tmp_path / f"bad_{request.param}.mp4"
        if request.param == "random":
            path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
        elif request.param == "truncated":
            data = face_clip.read_bytes()
            path.write_bytes(data[:len(data) * 2 // 3])  # the index (moov) is at the end: nothing opens
        elif request.param == "truncated_faststart":  # index first (as this module writes): 2/3 of the frames
            whole = tmp_path / "whole.mp4"
            writer = VideoWriter(whole, Fraction(24), 320, 240)
            for i in range(24):
                writer.write(face_frame(i))
            writer.close()
            data = whole.read_bytes()
            path.write_bytes(data[:len(data) * 2 // 3])
        elif request.param == "empty":
            path.write_bytes(b"")
        elif request.param == "text":
            path.write_text("this is not a video\n" * 50)
        else:
            path = tmp_path / "bad_audio_only.m4a"
            with av.open(str(path), "w", format="mp4") as out:
                sound = out.add_stream("aac", rate=44100, layout="mono")
                frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44100, 0
                out.mux(sound.encode(frame))
                out.mux(sound.encode(None))
        return path

    def test_clear_error_naming_the_file(self, bad_clip, tiny_style, tmp_path):
        out = tmp_path / "out"
        with pytest.raises(VideoError) as info:
            stylize_video(bad_clip, out / "x.mp4", tiny_style)
        text = str(info.value)
        assert bad_clip.name in text and "not a readable video" in text and "export it again" in text
        assert isinstance(info.value, ValueError)
        assert not (out / "x.mp4").exists() and (not out.exists() or leftovers(out) == [])

    def test_missing_file(self, tiny_style, tmp_path):
        with pytest.raises(FileNotFoundError, match="nope.mp4"):
            stylize_video(tmp_path / "nope.mp4", tmp_path / "x.mp4", tiny_style)

    def test_too_long_and_too_large(self, face_clip, tiny_style, tmp_path):
        with pytest.raises(VideoError, match=r"walk.mp4 lasts 1.0 s, longer than the limit of 0.2 s: trim it first"):
            stylize_video(face_clip, tmp_path / "x.mp4", tiny_style, max_seconds=0.2)
        with pytest.raises(VideoError, match=r"walk.mp4 is 320x240, larger than the limit .*; use the CLI"):
            stylize_video(face_clip, tmp_path / "x.mp4", tiny_style, max_pixels=200 * 200, limit_note="use the CLI")
        with pytest.raises(VideoError, match="4K"):
            probe_video(face_clip, max_pixels=3840 * 2160, max_side=300)
        assert list(tmp_path.iterdir()) == []

    def test_refuses_to_write_over_its_input(self, face_clip, tiny_style, tmp_path):
        clip = tmp_path / "same.mp4"
        shutil.copy(face_clip, clip)
        with pytest.raises(VideoError, match="would replace its input"):
            stylize_video(clip, clip, tiny_style)
        assert clip.read_bytes() == face_clip.read_bytes()


class TestCancel:
    def test_cancel_leaves_nothing(self, face_clip, tiny_style, tmp_path):
        import threading

        event, seen = threading.Event(), []
        dst = tmp_path / "out.mp4"
        dst.write_bytes(b"an earlier result")  # kept as it was

        def progress(p):
            seen.append(p)
            if p.done == 5:
                event.set()

        with pytest.raises(Cancelled, match="cancelled: walk.mp4 was not written"):
            stylize_video(face_clip, dst, tiny_style, mode="face", progress=progress, cancel=event)
        assert len(seen) == 5 and seen[-1].total == 24 and seen[-1].fps > 0 and "ETA" in seen[-1].text
        assert dst.read_bytes() == b"an earlier result" and leftovers(tmp_path) == []

    def test_interrupt_leaves_nothing(self, face_clip, tiny_style, tmp_path):
        def progress(p):
            if p.done == 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            stylize_video(face_clip, tmp_path / "out.mp4", tiny_style, progress=progress)
        assert list(tmp_path.iterdir()) == []


class TestCli:
    def test_images_and_videos_in_one_call(self, face_clip, tiny_style, tmp_path, capsys, astronaut):
        Image.fromarray(astronaut).save(tmp_path / "a.jpg")
        out = tmp_path / "out"
        code = main(["stylize", str(face_clip), str(tmp_path / "a.jpg"), "--style", str(tiny_style.path), "--out",
                     str(out), "--mode", "face"])
        stdout, err = capsys.readouterr()
        assert code == 0, err
        assert (out / "a.png").is_file() and video_of(out / "walk.mp4")[:3] == (24, Fraction(24), (320, 240))
        assert audio_of(out / "walk.mp4")[0] == "aac"
        assert "wrote 1 image(s) and 1 video(s)" in stdout
        assert "walk.mp4 ->" in err and "audio copied" in err and "frame/s" in err  # the bar's rate

    def test_folder_with_a_clip_and_a_broken_one(self, face_clip, tiny_style, tmp_path, capsys):
        src = tmp_path / "in"
        src.mkdir()
        shutil.copy(face_clip, src / "walk.mov")
        (src / "broken.webm").write_bytes(b"\0" * 100)
        code = main(["stylize", str(src), "--style", str(tiny_style.path), "--out", str(tmp_path / "o")])
        stdout, err = capsys.readouterr()
        assert code == 0 and (tmp_path / "o" / "walk.mp4").is_file()
        assert f"skipped {src / 'broken.webm'}: broken.webm is not a readable video" in err
        assert "wrote 0 image(s) and 1 video(s)" in stdout and "1 failed" in stdout

    def test_a_clip_renders_on_one_onnx_thread(self, face_clip, tiny_style, tmp_path, monkeypatch):
        """The other core tracks, decodes and encodes meanwhile (core.engine.STREAM_THREADS)."""
        from core import engine

        runners = []
        init = engine.FrameStylizer.__init__

        def spy(self, *args, **kwargs):
            init(self, *args, **kwargs)
            runners.append(self.runner)

        monkeypatch.setattr(engine.FrameStylizer, "__init__", spy)
        assert main(["stylize", str(face_clip), "--style", str(tiny_style.path), "--out", str(tmp_path)]) == 0
        assert engine.STREAM_THREADS == 1 and runners
        assert all(r.session.get_session_options().intra_op_num_threads == 1 for r in runners)

    def test_no_smoothing_flag(self, face_clip, tiny_style, tmp_path, monkeypatch):
        from core import engine

        flags = []
        init = engine.FrameStylizer.__init__

        def spy(self, *args, **kwargs):
            flags.append(kwargs["smoothing"])
            init(self, *args, **kwargs)

        monkeypatch.setattr(engine.FrameStylizer, "__init__", spy)
        base = ["stylize", str(face_clip), "--style", str(tiny_style.path), "--out", str(tmp_path), "--mode", "face"]
        assert main(base) == 0 and main(base + ["--no-smoothing"]) == 0
        assert flags == [True, False]

    def test_ctrl_c_exits_130_and_leaves_no_file(self, face_clip, tiny_style, tmp_path, monkeypatch, capsys):
        from core import engine

        track, count = engine.FrameStylizer.track, [0]

        def interrupted(self, frame, t):
            count[0] += 1
            if count[0] == 4:
                raise KeyboardInterrupt
            return track(self, frame, t)

        monkeypatch.setattr(engine.FrameStylizer, "track", interrupted)
        out = tmp_path / "out"
        assert main(["stylize", str(face_clip), "--style", str(tiny_style.path), "--out", str(out)]) == 130
        assert "interrupted: walk.mp4 was not written (no partial file left" in capsys.readouterr().err
        assert list(out.iterdir()) == []



class TestUiVideo:
    def test_handler_writes_the_clip_with_progress(self, styles_dir, tiny_style, face_clip):
        calls = []
        session = stylize.VideoSession()
        player, download, facts = stylize.stylize_video_clicked(
            str(face_clip), tiny_style.name, 1.0, 1.0, "face", 0.0, session,
            progress=lambda value, desc=None: calls.append((value, desc)))
        assert Path(player).is_file() and video_of(Path(player))[:3] == (24, Fraction(24), (320, 240))
        assert download["value"] == player and download["interactive"] is True
        assert "**24 frames**" in facts and "audio copied" in facts and "faces in 24/24 frames" in facts
        assert calls[-1][0] == (24, 24) and "fps" in calls[-1][1] and "ETA" in calls[-1][1]
        assert Path(player).name.startswith("walk-tiny-")

    def test_cancel_button(self, styles_dir, tiny_style, face_clip):
        session = stylize.VideoSession()
        before = set((workspace.work_dir() / "videos").glob("*")) if (workspace.work_dir() / "videos").is_dir() else set()

        def progress(value, desc=None):
            if value[0] == 3:
                stylize.cancel_video_clicked(session)  # what the Cancel button does while the job runs

        player, download, facts = stylize.stylize_video_clicked(str(face_clip), tiny_style.name, 1.0, 1.0, "face", 0.0,
                                                           session, progress=progress)
        assert player is None and download["interactive"] is False and facts.startswith("Cancelled")
        assert set((workspace.work_dir() / "videos").glob("*")) == before

    def test_app_limits_and_broken_uploads(self, styles_dir, tiny_style, face_clip, tmp_path, monkeypatch):
        monkeypatch.setattr(stylize, "VIDEO_MAX_SECONDS", 0.5)
        with pytest.raises(gr.Error, match=r"longer than the limit of 0.5 s.*the app takes clips up to 1 min"):
            stylize.stylize_video_clicked(str(face_clip), tiny_style.name, 1.0, 1.0, "face", 0.0, stylize.VideoSession())
        broken = tmp_path / "upload" / "holiday.mp4"
        broken.parent.mkdir()
        broken.write_bytes(b"garbage" * 100)
        with pytest.raises(gr.Error) as info:
            stylize.stylize_video_clicked(str(broken), tiny_style.name, 1.0, 1.0, "face", 0.0, stylize.VideoSession())
        assert "holiday.mp4 is not a readable video" in info.value.message
        assert str(broken.parent) not in info.value.message

    def test_no_upload_is_a_prompt(self, styles_dir):
        player, download, facts = stylize.stylize_video_clicked(None, None, 1.0, 1.0, "face")
        assert player is None and facts == stylize.VIDEO_PROMPT

    def test_session_state_copies_fresh(self):
        import copy

        session = stylize.VideoSession()
        session.cancel.set()
        assert not copy.deepcopy(session).cancel.is_set()
