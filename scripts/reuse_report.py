"""Key-frame reuse report (issue 15, core/reuse.py): speed and what it costs in the picture, on the bench's moving
clip (examples/astronaut.jpg drifting and zooming at 640x480) and on a clip whose face changes expression (the
same drift, alternating every 10 frames between examples/portrait_2.jpg and a copy with the mouth region warped).

For each max age (0 = the generator on every frame): median ms per frame, the share of frames that ran the
generator, the mean |difference| to the every-frame output inside the face box (8-bit levels), and the flicker
(mean |out_t - out_t-1| in the face box minus the same for the input).

    .venv/bin/python scripts/reuse_report.py [--style styles/animation] [--ages 0 1 2 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def face_box(faces, shape) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = faces[0].box
    h, w = shape[:2]
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h)


def run(frames, style, age: int):
    from core.engine import FrameStylizer

    st = FrameStylizer(style, mode="face", reuse=age)
    outs, times, boxes = [], [], []
    for i, f in enumerate(frames):
        t0 = time.perf_counter()
        r = st(f, i / 30)
        times.append((time.perf_counter() - t0) * 1000)
        outs.append(r.image)
        boxes.append(face_box(r.faces, f.shape) if r.faces else None)
    keys = st.keyframes
    calls = 1.0 if keys is None else keys.generated / max(keys.generated + keys.carried, 1)
    return outs, float(np.median(times[len(frames) // 3:])), calls, boxes


def region_mean(a, b, box) -> float:
    x0, y0, x1, y1 = box
    return float(np.abs(a[y0:y1, x0:x1].astype(np.float32) - b[y0:y1, x0:x1]).mean())


def flicker(frames, boxes) -> float:
    vals = [region_mean(frames[t], frames[t - 1], boxes[t]) for t in range(1, len(frames)) if boxes[t]]
    return float(np.mean(vals))


def expression_clip(n: int) -> list[np.ndarray]:
    """A drifting face whose lower half changes every 10 frames (a mouth opening and closing, roughly)."""
    from core.images import load_image
    from studio.live import moving_face_frames

    photo = load_image(ROOT / "examples" / "portrait_2.jpg")
    h, w = photo.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = 0.33 * h, 0.45 * w  # about where the mouth is in this photo
    bump = 6.0 * np.exp(-(((ys - cy) / (0.05 * h)) ** 2 + ((xs - cx) / (0.08 * w)) ** 2))
    opened = cv2.remap(photo, xs, ys - bump * np.sign(ys - cy), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    a = moving_face_frames(photo, (640, 480), n)
    b = moving_face_frames(opened, (640, 480), n)
    return [b[i] if (i // 10) % 2 else a[i] for i in range(n)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default=str(ROOT / "styles" / "animation"))
    ap.add_argument("--ages", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--frames", type=int, default=90)
    args = ap.parse_args(argv)
    from core.images import load_image
    from core.package import load_style
    from studio.live import moving_face_frames

    style = load_style(args.style)
    clips = {"drift": moving_face_frames(load_image(ROOT / "examples" / "astronaut.jpg"), (640, 480), args.frames),
             "expression": expression_clip(args.frames)}
    print(f"{'clip':>10} {'age':>3} {'ms/frame':>9} {'generator':>9} {'diff':>6} {'flicker':>8}")
    for name, frames in clips.items():
        base, base_ms, _, boxes = run(frames, style, 0)
        base_flicker = flicker(base, boxes) - flicker(frames, boxes)
        for age in args.ages:
            outs, ms, calls, _ = (base, base_ms, 1.0, boxes) if age == 0 else run(frames, style, age)
            diff = float(np.mean([region_mean(o, b, bx) for o, b, bx in zip(outs, base, boxes) if bx]))
            fl = flicker(outs, boxes) - flicker(frames, boxes)
            print(f"{name:>10} {age:>3} {ms:>9.1f} {calls:>9.2f} {diff:>6.2f} {fl:>8.3f}"
                  + ("  (every frame)" if age == 0 else f"  (every frame: {base_flicker:.3f})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
