"""studio/live.py: the live webcam's WebSocket protocol, its session and its bounds (the browser side is tested
in tests/test_app.py::TestLiveWebcam)."""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pytest

from core.engine import STREAM_THREADS
from core.errors import ImageLoadError, OptionError
from studio import live



def frame_message(rgb: np.ndarray, stamp: float = 123.5) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return struct.pack("<d", stamp) + jpeg.tobytes()


def reply_image(reply: bytes) -> tuple[float, float, np.ndarray]:
    stamp, server_ms = struct.unpack_from("<df", reply)
    bgr = cv2.imdecode(np.frombuffer(reply, np.uint8, offset=12), cv2.IMREAD_COLOR)
    return stamp, server_ms, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def camera(astronaut):
    return live.moving_face_frames(astronaut, (320, 240), frames=8)


class TestProtocol:
    def test_round_trip_keeps_the_stamp_and_the_picture(self, camera):
        stamp, rgb = live.decode_frame(frame_message(camera[0], 4567.25))
        assert stamp == 4567.25 and rgb.shape == (240, 320, 3)
        assert np.abs(rgb.astype(int) - camera[0]).mean() < 3
        back_stamp, server_ms, back = reply_image(live.encode_frame(stamp, 12.5, rgb))
        assert back_stamp == 4567.25 and server_ms == 12.5 and np.abs(back.astype(int) - rgb).mean() < 3

    def test_large_frames_are_brought_to_the_live_size(self):
        _, rgb = live.decode_frame(frame_message(np.zeros((720, 1280, 3), np.uint8)))
        assert rgb.shape == (360, 640, 3)

    @pytest.mark.parametrize("data, words", [
        (b"", "8-byte timestamp"), (b"12345678", "8-byte timestamp"),
        (struct.pack("<d", 1.0) + b"not a jpeg at all", "not a JPEG"),
        (struct.pack("<d", 1.0) + b"\xff" * (live.MAX_MESSAGE + 1), "8-byte timestamp"),
    ], ids=["empty", "stamp only", "not an image", "too big"])
    def test_bad_frames_are_refused_by_name(self, data, words):
        with pytest.raises(ImageLoadError, match=words):
            live.decode_frame(data)

    def test_settings(self):
        s = live.LiveSettings.parse(live.settings_json("tiny", 0.5, 0.8, "full", 1.0))
        assert (s.style, s.alpha, s.strength, s.mode, s.keep_shape) == ("tiny", 0.5, 0.8, "full", 1.0)
        assert live.LiveSettings.parse("{}") == live.LiveSettings()

    @pytest.mark.parametrize("text, error, words", [
        ("{not json", ImageLoadError, "not JSON"), ("[1, 2]", ImageLoadError, "JSON object"),
        ('{"style": 5}', ImageLoadError, "style name"),
        ('{"alpha": "NaN"}', OptionError, "Geometry strength"), ('{"strength": 7}', OptionError, "Style strength"),
        ('{"mode": "sideways"}', OptionError, "mode"),
    ])
    def test_bad_settings_are_refused_by_name(self, text, error, words):
        with pytest.raises(error, match=words):
            live.LiveSettings.parse(text)


class TestSession:
    def test_frames_before_a_style_come_back_unchanged(self, camera):
        session = live.LiveSession()
        _, _, out = reply_image(session.process(frame_message(camera[0])))
        assert np.abs(out.astype(int) - camera[0]).mean() < 4.5 and session.frames == 1

    def test_a_style_restyles_the_face_and_tracks_it(self, styles_dir, tiny_style, camera):
        session = live.LiveSession()
        session.update(live.LiveSettings(style=tiny_style.name, mode="face"))
        outs = [reply_image(session.process(frame_message(f)))[2] for f in camera]
        assert all(np.abs(o.astype(int) - f).mean() > 7 for o, f in zip(outs, camera)), [np.abs(o.astype(int) - f).mean() for o, f in zip(outs, camera)]
        tracker = session.stylizer.tracker
        assert tracker.frames == len(camera) and tracker.detections < len(camera) and tracker.tracked > 0

    def test_blend_settings_keep_the_tracker_and_a_new_mode_restarts_it(self, styles_dir, tiny_style, camera):
        session = live.LiveSession()
        session.update(live.LiveSettings(style=tiny_style.name, mode="face"))
        session.process(frame_message(camera[0]))
        first = session.stylizer
        session.update(live.LiveSettings(style=tiny_style.name, mode="face", alpha=0.0, strength=0.0))
        assert session.stylizer is first and first.strength == 0.0
        _, _, out = reply_image(session.process(frame_message(camera[1])))
        assert np.abs(out.astype(int) - camera[1]).mean() < 4.5  # the photo, through two JPEG passes
        session.update(live.LiveSettings(style=tiny_style.name, mode="full"))
        assert session.stylizer is not first and session.stylizer.mode == "full"
        assert session.stylizer.surround is False  # no second generator pass for faces' surroundings per frame

    def test_a_camera_runs_its_style_on_one_thread(self, styles_dir, tiny_style):
        """Two ONNX Runtime threads spin and take the CPU the browser needs (docs/app.md, "Live webcam")."""
        session = live.LiveSession()
        session.update(live.LiveSettings(style=tiny_style.name, mode="face"))
        assert session.stylizer.runner.session.get_session_options().intra_op_num_threads == STREAM_THREADS == 1

    def test_a_missing_style_is_named(self, styles_dir):
        from core.errors import StylePackageError

        with pytest.raises(StylePackageError, match="no longer installed"):
            live.LiveSession().update(live.LiveSettings(style="gone"))


class TestEndpoint:
    @pytest.fixture
    def client(self):
        from starlette.applications import Starlette
        from starlette.testclient import TestClient

        with TestClient(Starlette(routes=live.routes())) as client:
            yield client

    def test_settings_then_frames(self, client, styles_dir, tiny_style, camera):
        with client.websocket_connect(live.ROUTE) as ws:
            ws.send_text(live.settings_json(tiny_style.name, None, 1.0, "face", None))
            assert json.loads(ws.receive_text()) == {"ok": tiny_style.name}
            for i, f in enumerate(camera[:3]):
                ws.send_bytes(frame_message(f, float(i)))
                stamp, server_ms, out = reply_image(ws.receive_bytes())
                assert stamp == float(i) and server_ms > 0 and out.shape == f.shape

    def test_frames_sent_together_come_back_in_order_and_match_one_at_a_time(self, client, styles_dir, tiny_style,
                                                                             camera, monkeypatch):
        """Frames are tracked while the previous one renders: every frame still gets its own reply, in order,
        and a settings change waits for the frames in hand. The pictures equal a session run one frame at a time
        (on a clock of one thirtieth of a second per tracked frame: the One Euro filter reads the clock)."""
        original = live.LiveSession.track

        def track(self, data):
            self.ticks = getattr(self, "ticks", 0) + 1
            return original(self, data)

        monkeypatch.setattr(live.LiveSession, "track", track)
        monkeypatch.setattr(live.LiveSession, "clock", lambda self: self.ticks / 30)
        with client.websocket_connect(live.ROUTE) as ws:
            ws.send_text(live.settings_json(tiny_style.name, None, 1.0, "face", None))
            ws.receive_text()
            for i, f in enumerate(camera):
                ws.send_bytes(frame_message(f, float(i)))
            ws.send_text(live.settings_json(tiny_style.name, 0.0, 1.0, "face", None))
            replies = [ws.receive_bytes() for _ in camera]
            assert json.loads(ws.receive_text()) == {"ok": tiny_style.name}
        serial = live.LiveSession()
        serial.update(live.LiveSettings(style=tiny_style.name, mode="face"))
        for i, (reply, f) in enumerate(zip(replies, camera)):
            stamp, _, out = reply_image(reply)
            _, _, expected = reply_image(serial.process(frame_message(f, float(i))))
            assert stamp == float(i) and np.abs(out.astype(int) - expected).max() <= 1, i

    def test_bad_messages_get_a_message_and_the_stream_goes_on(self, client, styles_dir, tiny_style, camera):
        with client.websocket_connect(live.ROUTE) as ws:
            ws.send_text('{"alpha": 1e9}')
            assert "Geometry strength" in json.loads(ws.receive_text())["error"]
            ws.send_bytes(b"garbage")
            assert "timestamp" in json.loads(ws.receive_text())["error"]
            ws.send_text(live.settings_json("gone", None, 1.0, None, None))
            assert "no longer installed" in json.loads(ws.receive_text())["error"]
            ws.send_bytes(frame_message(camera[0], 9.0))
            assert reply_image(ws.receive_bytes())[0] == 9.0

    def test_cameras_beyond_the_limit_are_told_to_wait(self, client, monkeypatch):
        monkeypatch.setattr(live, "MAX_SESSIONS", 1)
        with client.websocket_connect(live.ROUTE) as first:
            first.send_text("{}")
            assert json.loads(first.receive_text()) == {"ok": None}
            with client.websocket_connect(live.ROUTE) as second:
                assert "already runs 1 live camera" in json.loads(second.receive_text())["error"]
        with client.websocket_connect(live.ROUTE) as again:  # the slot is free once the first camera left
            again.send_text("{}")
            assert json.loads(again.receive_text()) == {"ok": None}

    def test_sessions_end_after_their_time(self, client, monkeypatch):
        monkeypatch.setattr(live, "MAX_SECONDS", -1)
        with client.websocket_connect(live.ROUTE) as ws:
            ws.send_text("{}")
            assert "stop after" in json.loads(ws.receive_text())["error"]


class TestFakeCamera:
    def test_frames_move_and_keep_their_size(self, astronaut):
        frames = live.moving_face_frames(astronaut, (200, 100), frames=6)
        assert len(frames) == 6 and all(f.shape == (100, 200, 3) and f.dtype == np.uint8 for f in frames)
        assert np.abs(frames[0].astype(int) - frames[2]).mean() > 1

    def test_y4m(self, tmp_path, astronaut):
        frames = live.moving_face_frames(astronaut, (64, 48), frames=3)
        path = tmp_path / "cam.y4m"
        live.write_y4m(path, frames, fps=25)
        data = path.read_bytes()
        header = b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n"
        assert data.startswith(header) and data.count(b"FRAME\n") == 3
        assert len(data) == len(header) + 3 * (6 + 64 * 48 * 3 // 2)
