"""Key-frame reuse report (issue 15, core/reuse.py): speed and what it costs in the picture, on the bench's moving
clip (examples/astronaut.jpg drifting and zooming at 640x480) and on a clip whose face changes expression (the
same drift, alternating every 10 frames between examples/portrait_2.jpg and a copy with the mouth region warped).

For each max age (0 = the generator on every frame): median ms per frame, the share of frames that ran the
generator, the mean |difference| to the every-frame output inside the face box (8-bit levels), and the flicker
(mean |out_t - out_t-1| in the face box minus the same for the input). With `--mode full` (whole image, where the
restyled background is reused too, core.background.BackgroundKeys) the same figures follow for the picture outside
the face box, with the share of frames that ran the background's generator.

    .venv/bin/python scripts/reuse_report.py [--style styles/animation] [--ages 0 1 2 3] [--mode face|full]
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


def run(frames, style, age: int, mode: str = "face"):
    from core.engine import FrameStylizer

    st = FrameStylizer(style, mode=mode, reuse=age)
    outs, times, boxes = [], [], []
    for i, f in enumerate(frames):
        t0 = time.perf_counter()
        r = st(f, i / 30)
        times.append((time.perf_counter() - t0) * 1000)
        outs.append(r.image)
        boxes.append(face_box(r.faces, f.shape) if r.faces else None)
    keys, back = st.keyframes, st.background_keys
    calls = 1.0 if keys is None else keys.generated / max(keys.generated + keys.carried, 1)
    back_calls = 1.0 if back is None else back.generated / max(back.generated + back.reused, 1)
    return outs, float(np.median(times[len(frames) // 3:])), (calls, back_calls), boxes


def region_mean(a, b, box, outside: bool = False) -> float:
    """Mean |a - b| in 8-bit levels inside the box (x0, y0, x1, y1), or outside it."""
    x0, y0, x1, y1 = box
    d = np.abs(a.astype(np.float32) - b)
    if not outside:
        return float(d[y0:y1, x0:x1].mean())
    inside = d[y0:y1, x0:x1].sum()
    return float((d.sum() - inside) / (d.size - d[y0:y1, x0:x1].size))


def flicker(frames, boxes, outside: bool = False) -> float:
    vals = [region_mean(frames[t], frames[t - 1], boxes[t], outside) for t in range(1, len(frames)) if boxes[t]]
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
    ap.add_argument("--mode", choices=["face", "full"], default="face")
    args = ap.parse_args(argv)
    from core.images import load_image
    from core.package import load_style
    from studio.live import moving_face_frames

    style = load_style(args.style)
    clips = {"drift": moving_face_frames(load_image(ROOT / "examples" / "astronaut.jpg"), (640, 480), args.frames),
             "expression": expression_clip(args.frames)}
    full = args.mode == "full"
    print(f"{'clip':>10} {'age':>3} {'ms/frame':>9} {'generator':>9} {'diff':>6} {'flicker':>8}"
          + (f" {'bg gen':>7} {'bg diff':>7} {'bg flicker':>10}" if full else ""))
    for name, frames in clips.items():
        base, base_ms, _, boxes = run(frames, style, 0, args.mode)
        base_flicker = flicker(base, boxes) - flicker(frames, boxes)
        base_bg = flicker(base, boxes, True) - flicker(frames, boxes, True)
        for age in args.ages:
            outs, ms, calls, _ = (base, base_ms, (1.0, 1.0), boxes) if age == 0 else run(frames, style, age, args.mode)
            diff = float(np.mean([region_mean(o, b, bx) for o, b, bx in zip(outs, base, boxes) if bx]))
            fl = flicker(outs, boxes) - flicker(frames, boxes)
            line = f"{name:>10} {age:>3} {ms:>9.1f} {calls[0]:>9.2f} {diff:>6.2f} {fl:>8.3f}"
            if full:
                bg_diff = float(np.mean([region_mean(o, b, bx, True) for o, b, bx in zip(outs, base, boxes) if bx]))
                bg_fl = flicker(outs, boxes, True) - flicker(frames, boxes, True)
                line += f" {calls[1]:>7.2f} {bg_diff:>7.2f} {bg_fl:>10.3f}"
            print(line + ("  (every frame)" if age == 0 else f"  (every frame: {base_flicker:.3f}"
                          + (f", background {base_bg:.3f})" if full else ")")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
