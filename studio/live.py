"""Live webcam over a WebSocket next to the Gradio app: the browser sends JPEG camera frames, the server tracks
faces (core.tracking, through core.engine.FrameStylizer) and sends each stylized frame back as JPEG.

Why this route (docs/app.md, "Live webcam"): Gradio's own streaming makes one queued HTTP round trip per frame
(5 FPS here), fastrtc 0.0.34 needs gradio<6, and running the style in the browser would need the face mesh, the
TPS alignment and the paste-back rewritten in JavaScript. A WebSocket carries frames with no queue, keeps up to
three frames in flight so transfer overlaps compute, and reuses the whole server pipeline.

Protocol (all little-endian): text messages are JSON settings {"style", "alpha", "strength", "mode",
"keep_shape"}; the first must come before any frame. A frame is binary: float64 client timestamp, then JPEG.
The reply is binary: the same float64, float32 server milliseconds, then the stylized JPEG. Problems come back
as text {"error": message}; a frame that cannot be stylized comes back unchanged, so the stream never stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from core.errors import ImageLoadError, PortraitStudioError
from core.options import check_alpha, check_keep_shape, check_mode, check_strength

log = logging.getLogger(__name__)

ROUTE = "/live/ws"
MAX_SESSIONS = 2  # concurrent live cameras per server: each takes most of a CPU core
MAX_SECONDS = 600  # one live session, then the browser is asked to start again
MAX_MESSAGE = 2_000_000  # bytes: a 1280x720 JPEG is well under this
MAX_SIDE = 640  # frames are stylized at most this large (the browser sends 640x480)
JPEG_QUALITY = 85
HEADER = struct.Struct("<d")
REPLY = struct.Struct("<df")

_sessions = 0
_sessions_lock = threading.Lock()


def decode_frame(data: bytes) -> tuple[float, np.ndarray]:
    """(client timestamp, (H, W, 3) uint8 RGB at most MAX_SIDE) of one binary frame message."""
    if len(data) <= HEADER.size or len(data) > MAX_MESSAGE:
        raise ImageLoadError(f"a live frame must be an 8-byte timestamp and a JPEG under {MAX_MESSAGE} bytes, "
                             f"got {len(data)} bytes")
    (stamp,) = HEADER.unpack_from(data)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8, offset=HEADER.size), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageLoadError("a live frame is not a JPEG or PNG: the camera page sends JPEG frames")
    h, w = bgr.shape[:2]
    if max(h, w) > MAX_SIDE:
        s = MAX_SIDE / max(h, w)
        bgr = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return stamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_frame(stamp: float, server_ms: float, rgb: np.ndarray) -> bytes:
    """The binary reply for one frame: timestamp, server milliseconds, JPEG of (H, W, 3) uint8 RGB `rgb`."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return REPLY.pack(stamp, server_ms) + jpeg.tobytes()


@dataclass
class StagedFrame:
    """A decoded frame between `LiveSession.track` and `LiveSession.render`."""

    stamp: float
    image: np.ndarray
    stylizer: Any
    tracked: Any = None
    seconds: float = 0.0


@dataclass
class LiveSettings:
    """What the page's controls say; checked like every other stylize option."""

    style: str | None = None
    alpha: float | None = None
    strength: float = 1.0
    mode: str | None = None
    keep_shape: float | None = None

    @classmethod
    def parse(cls, text: str) -> "LiveSettings":
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise ImageLoadError(f"live settings are not JSON ({e}); reload the page") from None
        if not isinstance(raw, dict):
            raise ImageLoadError("live settings must be a JSON object; reload the page")
        style = raw.get("style") or None
        if style is not None and not isinstance(style, str):
            raise ImageLoadError("the live style must be a style name; pick a style in the gallery")
        return cls(style=style, alpha=check_alpha(raw.get("alpha"), "Geometry strength"),
                   strength=check_strength(raw.get("strength", 1.0), "Style strength"),
                   mode=check_mode(raw.get("mode") or None),
                   keep_shape=check_keep_shape(raw.get("keep_shape"), "Keep own face shape"))


@dataclass
class LiveSession:
    """One camera: its settings and its FrameStylizer (rebuilt when the style changes, so tracking restarts)."""

    settings: LiveSettings = field(default_factory=LiveSettings)
    stylizer: Any = None
    started: float = field(default_factory=time.monotonic)
    frames: int = 0

    def clock(self) -> float:
        """Seconds since the camera started: the time the One Euro filter sees for the frame being tracked."""
        return time.monotonic() - self.started

    def update(self, settings: LiveSettings) -> None:
        from core.engine import STREAM_THREADS, FrameStylizer
        from core.reuse import REUSE_AGE
        from studio.catalog import require_style

        if self.stylizer is None or settings.style != self.settings.style or settings.mode != self.settings.mode:
            self.stylizer = FrameStylizer(require_style(settings.style), alpha=settings.alpha,
                                          strength=settings.strength, mode=settings.mode,
                                          keep_shape=settings.keep_shape, max_faces=2, reuse=REUSE_AGE,
                                          texture=False, surround=False, refine=False,  # each costs
                                          threads=STREAM_THREADS)  # more than a frame has
        else:  # the same faces keep being tracked; only the blend settings change
            config = self.stylizer.package.config
            self.stylizer.alpha = config.alpha_default if settings.alpha is None else settings.alpha
            self.stylizer.strength = settings.strength
            self.stylizer.keep_shape = config.keep_shape if settings.keep_shape is None else settings.keep_shape
        self.settings = settings

    def process(self, data: bytes) -> bytes:
        """One binary frame message -> its binary reply (the frame unchanged when it cannot be stylized)."""
        return self.render(self.track(data))

    def track(self, data: bytes) -> StagedFrame:
        """Stage one of a frame message: decode it and track its faces. Frames are tracked in order; the
        previous frame's `render` may run meanwhile in another thread."""
        t0 = time.perf_counter()
        stamp, rgb = decode_frame(data)
        staged = StagedFrame(stamp, rgb, self.stylizer)
        if self.stylizer is not None:
            try:
                staged.tracked = self.stylizer.track(rgb, self.clock())
            except PortraitStudioError as e:
                log.info("live frame left unchanged: %s", e)
        staged.seconds = time.perf_counter() - t0
        return staged

    def render(self, staged: StagedFrame) -> bytes:
        """Stage two: the binary reply of a tracked frame, by the stylizer that tracked it."""
        t0 = time.perf_counter()
        out = staged.image
        if staged.tracked is not None:
            try:
                out = staged.stylizer.render(staged.tracked).image
            except PortraitStudioError as e:
                log.info("live frame left unchanged: %s", e)
        self.frames += 1
        return encode_frame(staged.stamp, (staged.seconds + time.perf_counter() - t0) * 1000, out)


def _take_slot() -> bool:
    global _sessions
    with _sessions_lock:
        if _sessions >= MAX_SESSIONS:
            return False
        _sessions += 1
        return True


def _free_slot() -> None:
    global _sessions
    with _sessions_lock:
        _sessions = max(0, _sessions - 1)


async def endpoint(websocket) -> None:
    """The WebSocket route: settings and frames in, stylized frames out, one worker thread per camera."""
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    if not _take_slot():
        await websocket.send_text(json.dumps({"error": f"the server already runs {MAX_SESSIONS} live cameras; "
                                                       "try again in a minute"}))
        await websocket.close()
        return
    session = LiveSession()
    rendering: asyncio.Task | None = None  # the previous frame's render and reply, overlapping the next tracking
    older: asyncio.Task | None = None  # the one before it

    async def reply(staged: StagedFrame, before: asyncio.Task | None) -> None:
        if before is not None:
            await before  # replies leave in the order the frames came
        await websocket.send_bytes(await asyncio.to_thread(session.render, staged))

    try:
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                break
            if time.monotonic() - session.started > MAX_SECONDS:
                await websocket.send_text(json.dumps({"error": f"live sessions stop after {MAX_SECONDS // 60} "
                                                               "minutes; press Start again"}))
                break
            try:
                if message.get("text") is not None:
                    if rendering is not None:  # settings change the stylizer: finish the frames in hand first
                        await rendering
                    rendering = older = None
                    await asyncio.to_thread(session.update, LiveSettings.parse(message["text"]))
                    await websocket.send_text(json.dumps({"ok": session.settings.style}))
                elif message.get("bytes") is not None:
                    # two stages (docs/app.md): this frame is tracked while the previous one renders. At most one
                    # render runs and one waits, so a client that sends faster than that is slowed down here.
                    if older is not None:
                        await older
                    staged = await asyncio.to_thread(session.track, message["bytes"])
                    older, rendering = rendering, asyncio.create_task(reply(staged, rendering))
            except PortraitStudioError as e:
                await websocket.send_text(json.dumps({"error": str(e)}))
    except WebSocketDisconnect:
        pass
    except Exception:  # noqa: BLE001 - one broken camera must not take the server down
        log.exception("live session failed")
    finally:
        for task in (older, rendering):
            if task is not None:
                task.cancel()
        _free_slot()


def routes() -> list:
    """The Starlette routes to add to the Gradio app (`launch(app_kwargs={"routes": routes()})`)."""
    from starlette.routing import WebSocketRoute

    return [WebSocketRoute(ROUTE, endpoint)]


# The page side: a camera preview, the stylized canvas, Start/Stop and the measured FPS and latency.
HTML = """
<div id="live-rtc" class="ps-live">
  <div class="ps-live-row">
    <figure><video id="live-cam" autoplay muted playsinline></video><figcaption>Camera</figcaption></figure>
    <figure><canvas id="live-out" width="640" height="480"></canvas><figcaption>Stylized</figcaption></figure>
  </div>
  <div class="ps-live-bar">
    <button id="live-start" class="lg primary">▶ Start camera</button>
    <button id="live-stop" class="lg secondary" disabled>■ Stop</button>
    <span id="live-stats">Camera off. Frames go to this server and come back stylized (640x480).</span>
  </div>
</div>
"""

JS = """
const q = (s) => element.querySelector(s);
const video = q('#live-cam'), out = q('#live-out'), stats = q('#live-stats');
const grab = document.createElement('canvas');
const grabCtx = grab.getContext('2d', { alpha: false, willReadFrequently: false });
const outCtx = out.getContext('2d', { alpha: false, desynchronized: true });
// Frames sent and not yet back (docs/app.md): two, or three (one in transfer, one tracked, one rendered) while the
// last frames came back within LATENCY_BUDGET ms, so a server that keeps up is kept busy and one that does not is
// not handed a queue.
const LATENCY_BUDGET = 130;
let ws = null, stream = null, running = false, fresh = false, inflight = 0, peak = 0, sentSettings = '';
let shown = 0, firstShown = 0, lastShown = 0, latencies = [], serverMs = [], lastStamp = 0;
const settings = () => { const e = document.querySelector('#live-settings textarea, #live-settings input');
  return e ? e.value : '{}'; };
const median = (a) => { if (!a.length) return 0; const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]; };
window.psLive = () => ({ shown, fps: shown > 1 ? (shown - 1) * 1000 / (lastShown - firstShown) : 0,
  latency_ms: median(latencies), server_ms: median(serverMs), running, lastStamp, peak_in_flight: peak });
function report(text) { stats.textContent = text; }
const inFlight = () => (latencies.length >= 10 && median(latencies.slice(-30)) < LATENCY_BUDGET ? 3 : 2);
function send() {
  if (!running || !fresh || inflight >= inFlight() || !ws || ws.readyState !== 1) return;
  fresh = false; inflight++; peak = Math.max(peak, inflight);
  const stamp = performance.now();
  if (grab.width !== video.videoWidth || grab.height !== video.videoHeight) {  // a resize clears and reallocates
    grab.width = video.videoWidth; grab.height = video.videoHeight; }
  grabCtx.drawImage(video, 0, 0);
  grab.toBlob(async (blob) => {
    const head = new ArrayBuffer(8); new DataView(head).setFloat64(0, stamp, true);
    if (ws && ws.readyState === 1) ws.send(await new Blob([head, blob]).arrayBuffer()); else inflight--;
  }, 'image/jpeg', 0.85);
}
function onFrame() { fresh = true; send(); if (running) video.requestVideoFrameCallback(onFrame); }
async function start() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) { report('No camera: ' + e.message + '. Allow camera access for this page and press Start.'); return; }
  video.srcObject = stream; await video.play();
  const base = location.pathname.replace(/\\/$/, '');
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base + '/live/ws');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { sentSettings = settings(); ws.send(sentSettings); running = true; inflight = 0;
    shown = 0; latencies = []; serverMs = []; q('#live-start').disabled = true; q('#live-stop').disabled = false;
    video.requestVideoFrameCallback(onFrame); };
  ws.onmessage = async (e) => {
    if (typeof e.data === 'string') { const m = JSON.parse(e.data); if (m.error) report('⚠️ ' + m.error); return; }
    inflight = Math.max(0, inflight - 1);
    const view = new DataView(e.data), stamp = view.getFloat64(0, true);
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(e.data, 12)], { type: 'image/jpeg' }));
    if (out.width !== bitmap.width || out.height !== bitmap.height) { out.width = bitmap.width; out.height = bitmap.height; }
    outCtx.drawImage(bitmap, 0, 0); bitmap.close();  // closed at once, not left to the garbage collector
    const now = performance.now();
    if (!shown) firstShown = now;
    shown++; lastShown = now; lastStamp = stamp;
    latencies.push(now - stamp); serverMs.push(view.getFloat32(8, true));
    if (latencies.length > 120) { latencies.shift(); serverMs.shift(); }
    send();
  };
  ws.onclose = () => { if (running) stop('Connection closed. Press Start to try again.'); };
}
function stop(text) {
  running = false;
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  q('#live-start').disabled = false; q('#live-stop').disabled = true;
  if (text) report(text);
}
q('#live-start').addEventListener('click', start);
q('#live-stop').addEventListener('click', () => stop('Camera off.'));
setInterval(() => {
  if (!running) return;
  const now = settings();
  if (ws && ws.readyState === 1 && now !== sentSettings) { sentSettings = now; ws.send(now); }
  const s = window.psLive();
  report(`${s.fps.toFixed(1)} FPS · ${Math.round(s.latency_ms)} ms behind the camera · ` +
         `server ${Math.round(s.server_ms)} ms per frame · ${s.shown} frames`);
}, 500);
"""

CSS = """
.ps-live-row { display: flex; gap: 12px; flex-wrap: wrap; }
.ps-live-row figure { margin: 0; flex: 1 1 300px; }
.ps-live-row video, .ps-live-row canvas { width: 100%; aspect-ratio: 4 / 3; background: #111; border-radius: 12px;
  transform: scaleX(-1); object-fit: contain; }
.ps-live-row figcaption { font-size: 13px; color: var(--body-text-color-subdued); }
.ps-live-bar { display: flex; gap: 10px; align-items: center; margin-top: 8px; flex-wrap: wrap; }
.ps-live-bar button { padding: 6px 16px; border-radius: 10px; }
#live-stats { font-size: 13.5px; font-variant-numeric: tabular-nums; }
"""


def settings_json(style: str | None, alpha: float | None, strength: float, mode: str | None,
                  keep_shape: float | None) -> str:
    """The hidden settings box's value: what the Stylize tab's controls say, for the live page."""
    return json.dumps({"style": style, "alpha": alpha, "strength": strength, "mode": mode or None,
                       "keep_shape": keep_shape})


def moving_face_frames(photo: np.ndarray, size: tuple[int, int] = (640, 480), frames: int = 60,
                       shift: float = 12.0) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames of `photo` filling `size` (w, h), drifting by up to `shift` px and 3% zoom on a
    loop: a fake camera for the live page's browser test and report."""
    w, h = size
    s = max(w / photo.shape[1], h / photo.shape[0]) * 1.1
    base = cv2.resize(photo, (round(photo.shape[1] * s), round(photo.shape[0] * s)), interpolation=cv2.INTER_AREA)
    cy, cx = base.shape[0] / 2, base.shape[1] / 2
    out = []
    for i in range(frames):
        phase = 2 * np.pi * i / frames
        z = 1 + 0.03 * np.sin(phase)
        m = np.float32([[z, 0, w / 2 - z * (cx + shift * np.sin(phase))],
                        [0, z, h / 2 - z * (cy + 0.5 * shift * np.cos(phase))]])
        out.append(cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def write_y4m(path, frames: list[np.ndarray], fps: int = 30) -> None:
    """Frames (H, W, 3) uint8 RGB as a YUV4MPEG2 file, the format Chromium's fake camera plays in a loop."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
