"""Whole-image ("full") mode: the background stylized once at the style's resolution and guided-upsampled
(core.engine.stylize_background) against the tiles at the photo's own size it replaced (core.engine.stylize_tiles).

    python scripts/whole_image.py grid --out docs/whole_image_grid.jpg
    python scripts/whole_image.py bench --repeats 12

grid: a row per bundled style; portrait_2 at 1024x1497 whole (faces on top, as the user gets it) before and after,
a crop of its background at full size before and after, and astronaut (512x512) before and after.
bench: face-mode ms, full-mode ms before and after, and their ratios (median of --repeats, the three interleaved
so load from elsewhere falls on all alike) for every bundled style on three photo sizes, as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import core.engine as engine  # noqa: E402
from core.images import load_image, save_image  # noqa: E402
from core.package import load_style  # noqa: E402
from core.preview import label  # noqa: E402

STYLES = ("animation", "ink", "oil", "watercolor")
CROP = (500, 0, 448)  # y, x, side of the background crop of portrait_2 at 1024x1497: curtain and a shoulder


def photos() -> dict[str, np.ndarray]:
    portrait = load_image(ROOT / "examples" / "portrait_2.jpg")
    return {"portrait_2 1024x1497": cv2.resize(portrait, (1024, 1497), interpolation=cv2.INTER_CUBIC),
            "portrait_2 640x480": cv2.resize(portrait, (640, 480), interpolation=cv2.INTER_AREA),
            "astronaut 512x512": load_image(ROOT / "examples" / "astronaut.jpg")}


@contextmanager
def tiled_background():
    """`stylize(mode="full")` as it was: the background in tiles at the photo's own size."""
    new = engine.stylize_background
    engine.stylize_background = lambda image, runner, strength=1.0, matrices=(): engine.stylize_tiles(image, runner,
                                                                                                      strength)
    try:
        yield
    finally:
        engine.stylize_background = new


def full_before(image, style):
    with tiled_background():
        return engine.stylize(image, style, mode="full").image


def fit(image: np.ndarray, height: int) -> np.ndarray:
    return cv2.resize(image, (round(image.shape[1] * height / image.shape[0]), height), interpolation=cv2.INTER_AREA)


def grid(args) -> int:
    shots = photos()
    portrait, astronaut = shots["portrait_2 1024x1497"], shots["astronaut 512x512"]
    y, x, side = CROP
    rows = []
    for name in STYLES:
        style = load_style(ROOT / "styles" / name)
        p_before, p_after = full_before(portrait, style), engine.stylize(portrait, style, mode="full").image
        a_before, a_after = full_before(astronaut, style), engine.stylize(astronaut, style, mode="full").image
        cells = [(fit(p_before, side), f"{name}: before (tiles)"), (fit(p_after, side), "after (guided)"),
                 (p_before[y:y + side, x:x + side], "before, full-size crop"),
                 (p_after[y:y + side, x:x + side], "after, full-size crop"),
                 (fit(a_before, side), "astronaut before"), (fit(a_after, side), "astronaut after")]
        rows.append(np.concatenate([label(c, t) for c, t in cells], 1))
    save_image(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out}")
    return 0


def bench(args) -> int:
    print("| style | photo | face ms | full ms before | ratio before | full ms after | ratio after |")
    print("|---|---|---|---|---|---|---|")
    for name in STYLES:
        style = load_style(ROOT / "styles" / name)
        for title, image in photos().items():
            runs = [lambda: engine.stylize(image, style, mode="face"), lambda: full_before(image, style),
                    lambda: engine.stylize(image, style, mode="full")]
            times = [[] for _ in runs]
            for run in runs:
                run()  # warm-up
            for _ in range(args.repeats):
                for run, t in zip(runs, times):
                    t0 = time.perf_counter()
                    run()
                    t.append((time.perf_counter() - t0) * 1000)
            face, before, after = (float(np.median(t)) for t in times)
            print(f"| {name} | {title} | {face:.1f} | {before:.1f} | {before / face:.2f} | {after:.1f} | "
                  f"{after / face:.2f} |", flush=True)
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, {model}; load average {os.getloadavg()[0]:.2f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grid")
    g.add_argument("--out", default=str(ROOT / "docs" / "whole_image_grid.jpg"))
    b = sub.add_parser("bench")
    b.add_argument("--repeats", type=int, default=12)
    args = ap.parse_args()
    return grid(args) if args.command == "grid" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
