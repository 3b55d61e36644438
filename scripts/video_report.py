"""Video report (issue 15): throughput and flicker of `studio.video.stylize_video` with landmark smoothing on and off.

Makes a synthetic clip (default 20 s, 1280x720, 30 fps, H.264 crf 18 + a 440 Hz aac tone): one face from an
examples/ photo under smooth small motion (translation of +-40 / +-15 px, zoom +-3 %, rotation +-2 degrees, each
a slow sine) plus fresh Gaussian pixel noise every frame (sigma `--noise`, default 3 grey levels), the sensor noise
a camera adds (measured on the first 2 s: raw tracked landmarks move 0.73 px from frame to frame beyond the true
motion on the clean clip, 0.98 px with the noise). Then it stylizes the
clip twice with the default bundled style (the app's first: animation) in the style's default mode, smoothing on and
off, and prints per run: wall seconds, frames/s, CPU seconds (with the load average before and after: other
processes on the machine stretch the wall time), the tracker's counters, the audio, and the flicker:

    flicker = mean over frames t of mean |out_t - out_{t-1}| (RGB levels) in the face box at t
              minus the same for the input clip

The face box is the photo's 478 landmarks moved by frame t's known transform, grown by 20 % about its centre. The
input's own change (its motion and noise) is subtracted, so the figure is the change that stylization adds.
It also prints the landmark jitter behind it: a FaceTracker with the engine's settings on the decoded input, the
mean frame-to-frame change (px) of its landmarks' error against the true (transformed) ones.

Usage: .venv/bin/python scripts/video_report.py [--seconds 20] [--style animation] [--mode face|full]
       [--photo examples/portrait_4.jpg] [--noise 3] [--out runs/video_report]
Prints a table and one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.landmarks import find_faces  # noqa: E402
from core.tracking import FaceTracker  # noqa: E402
from core.package import load_style, scan_styles  # noqa: E402
from studio.provenance import cpu_model  # noqa: E402
from studio.video import read_frames, stylize_video  # noqa: E402

GROW = 1.2  # the face box (landmark extent) grown by this about its centre


def machine() -> str:
    """The CPU model name (as lscpu prints it) and the cores this process may use."""
    name = cpu_model(platform.processor() or "unknown CPU")
    return f"{name}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores"


def cpu_seconds() -> float:
    """CPU time (user + system, all threads) of this process so far: less sensitive than wall time to other
    processes on the machine (a busy machine shows as a load average above the cores used here)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def frame_transform(t: float, centre: np.ndarray, size: tuple[int, int], scale: float) -> np.ndarray:
    """The 2x3 affine placing the photo (face centre `centre`) in the frame at time t: slow sines of translation,
    zoom and rotation around the frame centre."""
    w, h = size
    s = scale * (1 + 0.03 * math.sin(2 * math.pi * t / 7.0))
    a = math.radians(2.0 * math.sin(2 * math.pi * t / 5.0))
    cx = w / 2 + 40 * math.sin(2 * math.pi * t / 9.0)
    cy = h / 2 + 15 * math.sin(2 * math.pi * t / 6.0)
    r = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.hstack([r, (np.array([cx, cy]) - r @ centre)[:, None]]).astype(np.float64)


def make_clip(path: Path, photo: np.ndarray, seconds: float, fps: int, size: tuple[int, int], noise: float,
              seed: int = 0) -> tuple[list[tuple[int, int, int, int]], np.ndarray]:
    """Write the synthetic clip; returns the face box (x0, y0, x1, y1) and the true landmarks (478, 2) of every
    frame."""
    faces, _ = find_faces(photo)
    if not faces:
        raise SystemExit("no face in the photo")
    points = faces[0].points.astype(np.float64)
    centre = points.mean(0)
    scale = 0.3 * size[0] / (points[:, 0].max() - points[:, 0].min())  # the face ~30 % of the frame width
    rng = np.random.default_rng(seed)
    w, h = size
    boxes, truth = [], []
    n = int(round(seconds * fps))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        sound = out.add_stream("aac", rate=44100, layout="mono")
        for i in range(n):
            m = frame_transform(i / fps, centre, size, scale)
            frame = cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            if noise:
                frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            moved = points @ m[:, :2].T + m[:, 2]
            truth.append(moved.astype(np.float32))
            (x0, y0), (x1, y1) = moved.min(0), moved.max(0)
            c, half = np.array([x0 + x1, y0 + y1]) / 2, np.array([x1 - x0, y1 - y0]) * GROW / 2
            boxes.append((max(0, int(c[0] - half[0])), max(0, int(c[1] - half[1])),
                          min(w, int(math.ceil(c[0] + half[0]))), min(h, int(math.ceil(c[1] + half[1])))))
        out.mux(video.encode(None))
        total, t = int(n / fps * 44100), 0
        while t < total:
            k = min(1024, total - t)
            x = (0.2 * np.sin(2 * np.pi * 440 * (t + np.arange(k)) / 44100)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
            af.sample_rate, af.pts = 44100, t
            t += k
            out.mux(sound.encode(af))
        out.mux(sound.encode(None))
    return boxes, np.stack(truth)


def landmark_jitter(path: Path, truth: np.ndarray, smoothing: bool) -> float:
    """Mean frame-to-frame change (px) of the tracked landmarks' error against `truth` (F, 478, 2), with the
    engine's tracker settings: jitter, with the true motion taken out. Frames without a face are skipped."""
    tracker = FaceTracker(smoothing=smoothing)
    errors = []
    for i, (rgb, t) in enumerate(read_frames(path)):
        faces = tracker(rgb, t)
        errors.append(faces[0].points - truth[i] if faces and i < len(truth) else None)
    steps = [np.linalg.norm(b - a, axis=-1).mean() for a, b in zip(errors, errors[1:])
             if a is not None and b is not None]
    return float(np.mean(steps))


def flicker(path: Path, boxes: list[tuple[int, int, int, int]]) -> float:
    """Mean over frames t >= 1 of mean |frame_t - frame_{t-1}| inside the face box of frame t (RGB levels)."""
    prev, values = None, []
    for i, (rgb, _) in enumerate(read_frames(path)):
        cur = rgb.astype(np.int16)
        if prev is not None and i < len(boxes):
            x0, y0, x1, y1 = boxes[i]
            values.append(float(np.abs(cur[y0:y1, x0:x1] - prev[y0:y1, x0:x1]).mean()))
        prev = cur
    return float(np.mean(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--style", help="style name (default: the app's first style)")
    parser.add_argument("--mode", choices=["face", "full"], help="default: the style's mode_default")
    parser.add_argument("--photo", default=str(ROOT / "examples" / "portrait_4.jpg"))
    parser.add_argument("--noise", type=float, default=3.0, help="per-frame Gaussian pixel noise (grey levels)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "video_report"))
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    style = load_style(args.style) if args.style else load_style(scan_styles()[0][0].path)
    mode = args.mode or style.config.mode_default
    photo = cv2.cvtColor(cv2.imread(args.photo), cv2.COLOR_BGR2RGB)
    clip = out / "input.mp4"
    t0 = time.perf_counter()
    boxes, truth = make_clip(clip, photo, args.seconds, args.fps, (args.width, args.height), args.noise)
    print(f"clip: {clip} ({len(boxes)} frames, {args.width}x{args.height}, {args.fps} fps, noise {args.noise}, "
          f"made in {time.perf_counter() - t0:.0f} s)", flush=True)
    base = flicker(clip, boxes)
    rows = {}
    for smoothing in (True, False):
        tag = "on" if smoothing else "off"
        load0, cpu0 = os.getloadavg()[0], cpu_seconds()
        result = stylize_video(clip, out / f"smoothing_{tag}.mp4", style, mode=mode, smoothing=smoothing)
        cpu = cpu_seconds() - cpu0
        value = flicker(result.path, boxes)
        rows[tag] = {"wall_s": round(result.seconds, 1), "frames": result.frames,
                     "frames_per_s": round(result.throughput, 2), "cpu_s": round(cpu, 1),
                     "load_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
                     "flicker_out": round(value, 3),
                     "flicker": round(value - base, 3), "tracker": result.tracker, "audio": result.audio,
                     "landmark_jitter_px": round(landmark_jitter(clip, truth, smoothing), 3),
                     "faces_per_frame_mean": round(float(np.mean(result.faces_per_frame)), 3)}
        print(f"smoothing {tag}: {json.dumps(rows[tag])}", flush=True)
    report = {"machine": machine(), "style": style.name, "mode": mode, "seconds": args.seconds, "fps": args.fps,
              "size": [args.width, args.height], "noise": args.noise, "flicker_input": round(base, 3), **rows}
    print()
    print(f"machine: {report['machine']}; style {style.name}, mode {mode}; "
          f"{len(boxes)} frames {args.width}x{args.height} @ {args.fps} fps")
    print(f"{'smoothing':>10} {'wall s':>8} {'frames/s':>9} {'cpu s':>7} {'flicker':>8} {'(out':>7} {'- in)':>7}  "
          f"{'jitter px':>9} {'detections/tracked/losses':>26}  audio")
    for tag, r in rows.items():
        tr = r["tracker"]
        print(f"{tag:>10} {r['wall_s']:>8.1f} {r['frames_per_s']:>9.2f} {r['cpu_s']:>7.1f} {r['flicker']:>8.3f} "
              f"{r['flicker_out']:>7.3f} {base:>7.3f} {r['landmark_jitter_px']:>9.3f}  "
              f"{tr['detections']:>8}/{tr['tracked']}/{tr['losses']:<10}  {r['audio']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
