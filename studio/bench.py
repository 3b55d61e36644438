"""`python -m studio bench`: generator and full-pipeline latency, parameters, MACs and the peak RSS of an
inference-only child process (onnxruntime + mediapipe; the child checks that torch was never imported)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BENCH_SIZE = 512
PHOTO_SIZE = 1024


def bench_photo(path: str | None) -> np.ndarray:
    """A 1024x1024 photo with one face: the given file or the first bundled example, centre-cropped."""
    import cv2

    from core.images import load_image

    if path is None:
        candidates = sorted(EXAMPLES.glob("*.jpg")) + sorted(EXAMPLES.glob("*.png"))
        if not candidates:
            raise FileNotFoundError(f"no example photo in {EXAMPLES}; pass --photo")
        path = str(candidates[0])
    rgb = load_image(path)
    h, w = rgb.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return cv2.resize(rgb[y:y + side, x:x + side], (PHOTO_SIZE, PHOTO_SIZE), interpolation=cv2.INTER_AREA)


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


VIDEO_SIZE = (640, 480)
VIDEO_FRAMES = 60


def video_figures(style, repeats: int) -> dict:
    """Per-frame ms at 640x480 for a moving face as video files and the camera run it: `FrameStylizer` (tracking,
    One Euro, key-frame reuse) with a frame tracked while the previous one renders (`FramePipeline`, on
    STREAM_THREADS), then in one stage (two threads) and without reuse, against the still-photo pipeline
    (`stylize`, full detection) on the same frames in the same run, and their ratios (goal <= 0.5). Clip figures
    are wall time over the clip divided by its frames."""
    from core.engine import STREAM_THREADS, FramePipeline, FrameStylizer, stylize
    from core.images import load_image
    from core.reuse import REUSE_AGE
    from studio.live import moving_face_frames

    frames = moving_face_frames(load_image(EXAMPLES / "astronaut.jpg"), VIDEO_SIZE, VIDEO_FRAMES)
    clock = iter(range(10 ** 9))
    still_ms = median_ms(lambda: stylize(frames[next(clock) % len(frames)], style, mode="face", max_side=None),
                         max(repeats, 20))
    n = len(frames)

    def per_frame(reuse: int, staged: bool) -> tuple[float, dict, FrameStylizer]:
        stylizer = FrameStylizer(style, mode="face", reuse=reuse, threads=STREAM_THREADS if staged else None)
        for i in range(n):  # the first loop warms up; then two loops are timed
            stylizer(frames[i], i / 30)
        stages: dict = {}

        def keep(result) -> None:  # the stage timings only: 120 frames held at once would be the peak RSS
            for k, v in (result.timings if result is not None else {}).items():
                stages.setdefault(k, []).append(v)

        t0 = time.perf_counter()
        if staged:
            with FramePipeline(stylizer) as pipeline:
                for i in range(n, 3 * n):
                    keep(pipeline.push(frames[i % n], i / 30))
                keep(pipeline.finish())
        else:
            for i in range(n, 3 * n):
                keep(stylizer(frames[i % n], i / 30))
        ms = (time.perf_counter() - t0) * 1000 / (2 * n)
        return ms, {k: round(float(np.median(v)), 2) for k, v in stages.items()}, stylizer

    plain_ms, _, _ = per_frame(0, True)
    serial_ms, _, _ = per_frame(REUSE_AGE, False)
    video_ms, stages, stylizer = per_frame(REUSE_AGE, True)
    tracker, keys = stylizer.tracker, stylizer.keyframes
    return {"video_640x480_ms": round(video_ms, 2), "video_one_stage_640x480_ms": round(serial_ms, 2),
            "video_no_reuse_640x480_ms": round(plain_ms, 2),
            "still_640x480_ms": round(still_ms, 2), "video_ratio": round(video_ms / still_ms, 3),
            "video_one_stage_ratio": round(serial_ms / still_ms, 3),
            "video_no_reuse_ratio": round(plain_ms / still_ms, 3), "video_stages_ms": stages,
            "video_tracker": {"frames": tracker.frames, "detections": tracker.detections,
                              "tracked": tracker.tracked, "losses": tracker.losses},
            "video_generator_calls": {"generated": keys.generated, "carried": keys.carried}}


WHOLE_IMAGE_GOAL = 1.5  # whole-image ("full") mode at most this many times face mode on the same photo


def whole_image_figures(photo: np.ndarray, style, repeats: int) -> dict:
    """Median ms of `stylize` in face mode and in whole-image mode (with and without restyling the faces'
    surroundings) on the same photo, interleaved in the same run (load from elsewhere falls on all alike), and
    full / face, the whole-image ratio (goal <= WHOLE_IMAGE_GOAL)."""
    from core.engine import stylize

    modes = {"face": {"mode": "face"}, "full": {"mode": "full"}, "flat": {"mode": "full", "surround": False}}
    times = {name: [] for name in modes}
    for options in modes.values():
        stylize(photo, style, **options)  # warm-up
    for _ in range(repeats):
        for name, options in modes.items():
            t0 = time.perf_counter()
            stylize(photo, style, **options)
            times[name].append((time.perf_counter() - t0) * 1000)
    face, full, flat = (float(np.median(times[name])) for name in modes)
    return {"whole_image_face_ms": round(face, 2), "whole_image_full_ms": round(full, 2),
            "whole_image_ratio": round(full / face, 3), "whole_image_no_surround_ms": round(flat, 2),
            "whole_image_no_surround_ratio": round(flat / face, 3)}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Unlike getrusage's ru_maxrss it is not inherited from the
    parent across fork and exec, so a light child of a heavy parent reports its own peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def face_figures(style, repeats: int) -> dict:
    """Median ms of one aligned face through the generator graph alone ("generator_median_ms", the figure the
    1.3x capacity rule compares), and through every stage a photo gets, refiner and texture included
    ("face_stages_median_ms", for a style that has either; None otherwise)."""
    from core.aligned import template_mesh
    from core.runtime import get_runner

    r = style.config.resolution
    face = np.random.default_rng(0).integers(0, 255, (1, r, r, 3), dtype=np.uint8)
    mesh = template_mesh(style.config.template, r)[None]
    graph = get_runner(style, texture=False, refine=False)
    staged = bool(style.config.texture or style.config.model.get("refiner"))
    stages = get_runner(style) if staged else None
    return {"generator_median_ms": round(median_ms(lambda: graph(face, mesh, 1.0), repeats), 2),
            "face_stages_median_ms": round(median_ms(lambda: stages(face, mesh, 1.0), repeats), 2) if staged else None}


def run_child(args) -> int:
    """Inference-only measurements; prints one JSON object. Run as `python -m studio.bench --style PATH`, which
    imports no torch (the `python -m studio` parser loads the trainer's modules)."""
    from core.engine import stylize
    from core.package import load_style

    style = load_style(args.style)
    r = style.config.resolution
    photo = bench_photo(args.photo)
    first = stylize(photo, style)
    pipeline_ms = median_ms(lambda: stylize(photo, style), args.repeats)
    still_rss = peak_rss_mb()  # a stylize process; the video figures below add a one-thread runner of their own
    print(json.dumps({
        "resolution": r, **face_figures(style, args.repeats),
        "pipeline_median_ms_1024": round(pipeline_ms, 2), "pipeline_faces": len(first.faces),
        "pipeline_stages_ms": {k: round(v, 2) for k, v in first.timings.items()},
        **video_figures(style, args.repeats),
        **whole_image_figures(photo, style, args.repeats),
        "inference_peak_rss_mb": round(still_rss, 1), "bench_peak_rss_mb": round(peak_rss_mb(), 1),
        "torch_imported": "torch" in sys.modules}))
    return 0


def model_stats(generator, size: int) -> dict:
    """Parameters and multiply-accumulates of one forward pass at size x size."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from core import topology

    image = torch.zeros(1, 3, size, size)
    points = generator.template[None].expand(1, topology.NUM_CANONICAL, 2)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        generator(image, points, 1.0)
    return {"parameters": sum(p.numel() for p in generator.parameters()),
            "macs": int(counter.get_total_flops() // 2)}


def run_bench(args) -> int:
    """Build or load the style, run the child process, print a summary and one JSON line last."""
    from core.export import load_generator, save_style
    from core.generator import Generator
    from core.package import StyleConfig, load_style

    with tempfile.TemporaryDirectory() as tmp:
        if args.style:
            style = load_style(args.style)
            generator = load_generator(style)
        else:
            generator = Generator()
            style = save_style(Path(tmp) / "bench", generator, StyleConfig(name="bench", resolution=BENCH_SIZE),
                               preview=np.zeros((8, 8, 3), np.uint8))
        stats = model_stats(generator, style.config.resolution)
        cmd = [sys.executable, "-m", "studio.bench", "--style", str(style.path),
               "--repeats", str(args.repeats)] + (["--photo", args.photo] if args.photo else [])
        env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=str(ROOT))
        child = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
    result = {"style": style.name if args.style else "default (random init)", **stats, **result,
              "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
              "onnxruntime_threads": 2}
    stages = result.get("face_stages_median_ms")
    with_stages = f" ({stages} ms through its refiner and/or texture too)" if stages else ""
    print(f"generator {result['resolution']}x{result['resolution']}: {result['generator_median_ms']} ms median"
          f"{with_stages} | "
          f"pipeline 1024x1024: {result['pipeline_median_ms_1024']} ms | peak RSS "
          f"{result['inference_peak_rss_mb']} MB | {stats['parameters'] / 1e6:.3f} M params, "
          f"{stats['macs'] / 1e9:.2f} GMACs", file=sys.stderr)
    print(f"video 640x480 with tracking, key-frame reuse and two stages: {result['video_640x480_ms']} ms per frame, "
          f"still pipeline {result['still_640x480_ms']} ms: ratio {result['video_ratio']} (goal <= 0.5); one stage "
          f"{result['video_one_stage_640x480_ms']} ms, ratio {result['video_one_stage_ratio']}; without reuse "
          f"{result['video_no_reuse_640x480_ms']} ms, ratio {result['video_no_reuse_ratio']}; generator calls "
          f"{result['video_generator_calls']}", file=sys.stderr)
    print(f"whole image 1024x1024: full mode {result['whole_image_full_ms']} ms, face mode "
          f"{result['whole_image_face_ms']} ms: ratio {result['whole_image_ratio']} (goal <= {WHOLE_IMAGE_GOAL}); "
          f"without restyling the face's surroundings {result['whole_image_no_surround_ms']} ms, ratio "
          f"{result['whole_image_no_surround_ratio']}",
          file=sys.stderr)
    print(json.dumps(result))
    return 0


MEMORY_SIDE = 7000  # the huge-input case: a 7000x7000 RGBA PNG (decoded full size it is 196 MB of RGBA)


def huge_rgba_png(path: Path, side: int = MEMORY_SIDE) -> Path:
    """A side x side RGBA PNG: the bundled example photo scaled into the middle of a transparent canvas."""
    from PIL import Image

    photo = Image.fromarray(bench_photo(None)).convert("RGBA").resize((side // 2, side // 2))
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    canvas.paste(photo, (side // 4, side // 4))
    canvas.save(path)
    return path


# Runs `python -m studio ARGS` and reports its own peak RSS (VmHWM: not the forking parent's, as wait4's would be)
CLI_RSS_WRAPPER = """import sys
from studio.bench import peak_rss_mb
from studio.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(f"bench: peak_rss_mb={peak_rss_mb():.1f} torch_imported={'torch' in sys.modules}", file=sys.stderr)
sys.exit(code)
"""


def cli_peak_rss(args: list[str], env: dict) -> tuple[int, float, bool, str]:
    """Run `python -m studio *args` in a child; (exit code, its peak RSS in MB, whether it imported torch, stderr)."""
    child = subprocess.run([sys.executable, "-c", CLI_RSS_WRAPPER, *args], capture_output=True, text=True, env=env,
                           cwd=ROOT)
    found = re.findall(r"^bench: peak_rss_mb=(\S+) torch_imported=(\S+)$", child.stderr, re.M)
    rss, torch_imported = found[-1] if found else ("nan", "False")
    return child.returncode, float(rss), torch_imported == "True", child.stderr


def run_memory_bench(args) -> int:
    """Peak RSS of `python -m studio stylize` on one photo and on a 7000x7000 RGBA PNG (the CLI imports no
    torch; images are decoded small, see core.images); prints one JSON line last."""
    from core.export import save_style
    from core.generator import Generator
    from core.package import StyleConfig

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        style = args.style or str(save_style(tmp / "bench", Generator(), StyleConfig(name="bench",
                                             resolution=BENCH_SIZE), preview=np.zeros((8, 8, 3), np.uint8)).path)
        photo = args.photo or str(sorted(EXAMPLES.glob("*.jpg"))[0])
        huge = huge_rgba_png(tmp / "huge.png")
        result = {"style": style, "png_bytes": huge.stat().st_size}
        env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=str(ROOT), GLOG_minloglevel="2")
        for key, image in (("photo", photo), (f"rgba_png_{MEMORY_SIDE}", str(huge))):
            code, rss, torch_imported, err = cli_peak_rss(["stylize", image, "--style", style, "--out",
                                                           str(tmp / "out")], env)
            if code != 0:
                print(err, file=sys.stderr)
                return code
            result[f"stylize_{key}_peak_rss_mb"] = round(rss, 1)
            result[f"stylize_{key}_torch_imported"] = torch_imported
            print(f"python -m studio stylize ({key}): peak RSS {rss:.0f} MB", file=sys.stderr)
    result.update(cpu=platform.processor() or platform.machine(), cpu_count=os.cpu_count())
    print(json.dumps(result))
    return 0


LEGACY_RECIPE = {"generator": {"head": "rgb"}, "warmup_steps": 0}  # the TrainConfig defaults


def _paint_recipe() -> dict:
    from studio.train import TrainConfig

    return TrainConfig.preset("quick").to_dict()  # all of it: size, batch and perceptual_size are set per row


PAINT_RECIPE = None  # filled on first use: importing the trainer here would load torch for `bench` alone


def synthetic_sets(size: int, count: int = 16, seed: int = 0):
    """A StyleSet and a PhotoPool of random images with landmarks near the mean photo face (timing only)."""
    from core.aligned import to_pixels
    from core.generator import default_template
    from studio.data import PhotoPool, StyleSet

    rng = np.random.default_rng(seed)
    template = default_template().numpy()
    def faces(cls):
        pts = to_pixels(template[None] + rng.normal(0, 0.02, (count,) + template.shape), size)
        images = rng.integers(0, 255, (count, size, size, 3), dtype=np.uint8)
        return cls(images=images, points=pts.astype(np.float32), size=size, records=[])
    return faces(StyleSet), faces(PhotoPool)


def train_step_seconds(overrides: dict, size: int, batch: int, steps: int, warm: int = 2) -> float:
    """Median seconds of one optimizer step of the trainer built from TrainConfig defaults + overrides."""
    from accelerate import Accelerator

    from studio.train import Trainer, TrainConfig

    config = TrainConfig.from_dict({**overrides, "size": size, "batch": batch, "perceptual_size": size,
                                    "vgg_download": False})
    style, photos = synthetic_sets(size)
    trainer = Trainer(config, Accelerator(cpu=True), style, photos)
    start = config.warmup_steps  # time the main phase, not the warm-up
    times = []
    for i in range(warm + steps):
        t0 = time.perf_counter()
        trainer.step(start + i, 0)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[warm:]))


def run_train_bench(args) -> int:
    """Training s/step of the painting-head recipe (preset "quick") and of the TrainConfig defaults (VGG content,
    GAN, cycle; the recipe of every bundled style), in the same run."""
    import torch

    from studio.losses import vgg_path

    global PAINT_RECIPE
    torch.set_num_threads(2)
    PAINT_RECIPE = _paint_recipe()
    rows = {}
    for size, batch in ((128, 4), (256, 8)):
        legacy = train_step_seconds(LEGACY_RECIPE, size, batch, args.steps)
        current = train_step_seconds(PAINT_RECIPE, size, batch, args.steps)
        rows[f"{size}px_b{batch}"] = {"paint_s_per_step": round(current, 3), "default_s_per_step": round(legacy, 3),
                                      "speedup": round(legacy / current, 2)}
        print(f"{size} px, batch {batch}: preset quick {current:.3f} s/step, default recipe {legacy:.3f} s/step "
              f"({legacy / current:.1f}x)", file=sys.stderr)
    result = {"train": rows, "torch_threads": 2, "vgg": str(vgg_path()) if vgg_path().is_file() else "unavailable",
              "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="inference-only child of `python -m studio bench`")
    parser.add_argument("--style", required=True)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--photo")
    sys.exit(run_child(parser.parse_args()))
