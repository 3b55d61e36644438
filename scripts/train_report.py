"""Measure the trainer and show that it learns (docs/training.md).

  bench: seconds per step and peak memory (RSS) of the default configuration at --size/--batch for --steps
         steps on this machine (artworks and photos from ../shared/data/selfie2anime, else painted astronauts).
  run:   train on anime faces from ../shared/data/selfie2anime/anime with photos from .../photos, 16 photos held
         out, and save the held-out grid (photo | stylized) to --grid. Research-only data: the run's outputs,
         package included, stay under runs/ (gitignored); never copy them into styles/.

  .venv/bin/python scripts/train_report.py bench --size 256 --batch 8 --steps 10
  nice -n 10 .venv/bin/python scripts/train_report.py run --minutes 25 --grid docs/training_anime_grid.jpg
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.images import save_image  # noqa: E402
from studio.data import build_photo_pool, build_style_set  # noqa: E402
from studio.progress import Progress, TqdmCallback  # noqa: E402
from studio.train import TrainConfig, Trainer, train  # noqa: E402

SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
ANIME = SHARED / "data" / "selfie2anime"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def anime_sets(size: int, artworks: int, photos: int, cache: str):
    files = sorted((ANIME / "anime").glob("*.jpg"))[:artworks]
    style = build_style_set(files, size, missing="exclude", cache_dir=cache)
    pool = build_photo_pool(ANIME / "photos", size, cache_dir=cache, limit=photos)
    return style, pool


def bench(args: argparse.Namespace) -> None:
    from accelerate import Accelerator

    torch.set_num_threads(args.threads)
    config = TrainConfig(size=args.size, batch=args.batch, perceptual_size=args.perceptual_size,
                         cache_dir=args.cache, warmup_steps=0)  # time full GAN steps, not the warm-up
    style, pool = anime_sets(args.size, 24, 32, args.cache)
    acc = Accelerator(cpu=True)
    trainer = Trainer(config, acc, style, pool)
    rss_before = peak_rss_mb()
    times = []
    for step in range(args.steps + 1):  # step 0 warms up (allocations, warp bases)
        t0 = time.perf_counter()
        trainer.step(step, 0)
        times.append(time.perf_counter() - t0)
    report = {"size": args.size, "batch": args.batch, "threads": torch.get_num_threads(),
              "perceptual_size": args.perceptual_size, "steps_timed": args.steps,
              "s_per_step_median": round(float(np.median(times[1:])), 2),
              "s_per_step_mean": round(float(np.mean(times[1:])), 2), "first_step_s": round(times[0], 2),
              "peak_rss_mb": round(peak_rss_mb()), "peak_rss_before_steps_mb": round(rss_before),
              "load_avg_1min": os.getloadavg()[0]}
    print(json.dumps(report))


class Deadline(TqdmCallback):
    """Stops training (via the cancel event) once the wall-clock budget is spent."""

    def __init__(self, event: threading.Event, seconds: float) -> None:
        super().__init__(mininterval=30)
        self.event, self.end = event, time.monotonic() + seconds

    def on_step(self, progress: Progress) -> None:
        super().on_step(progress)
        if time.monotonic() > self.end:
            self.event.set()


def run(args: argparse.Namespace) -> None:
    from core.errors import TrainingCancelled

    torch.set_num_threads(args.threads)
    config = TrainConfig.preset("gan")  # the GAN recipe these reports measured (the old quick)
    config = TrainConfig.from_dict({"steps": args.steps, "size": args.size, "batch": args.batch,
                                    "perceptual_size": args.size, "holdout": 16, "checkpoint_every": 200,
                                    "preview_every": 200, "cache_dir": args.cache, "threads": args.threads,
                                    "artwork_license": "selfie2anime: research use only, not redistributable"},
                                   config)
    if args.set:
        config = TrainConfig.from_dict(json.loads(args.set), config)
    style, pool = anime_sets(args.size, args.artworks, args.photos, args.cache)
    print(style.report())
    print(pool.summary())
    run_dir, out = Path(args.run_dir), Path(args.run_dir) / "package"
    event = threading.Event()
    kwargs = dict(styles=str(ANIME / "anime"), photos=str(ANIME / "photos"), out=out, run_dir=run_dir,
                  style_set=style, photo_pool=pool, name="anime-research", overwrite=True)
    try:
        result = train(config, callback=Deadline(event, args.minutes * 60), cancel=event, resume=args.resume,
                       **kwargs)
    except TrainingCancelled as exc:  # the time budget ran out: finish at the checkpoint it saved
        print(exc)
        last = max(int(p.name.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*"))
        result = train(TrainConfig.from_dict({"steps": last}, config), resume=True, **kwargs)
    save_image(args.grid, result.preview)
    print(f"{result.steps} steps in {result.wall_s / 60:.1f} min; grid of held-out photos: {args.grid}")
    print(f"final losses {result.losses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--size", type=int, default=256)
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--perceptual-size", type=int, default=256)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--cache", default=str(ROOT / "cache"))
    r = sub.add_parser("run")
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--batch", type=int, default=4)
    r.add_argument("--steps", type=int, default=100000, help="upper bound; --minutes usually stops it first")
    r.add_argument("--minutes", type=float, default=25)
    r.add_argument("--artworks", type=int, default=72, help="first N anime files (about 70%% have landmarks)")
    r.add_argument("--photos", type=int, default=300)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--cache", default=str(ROOT / "cache"))
    r.add_argument("--run-dir", default=str(ROOT / "runs" / "anime_report"))
    r.add_argument("--grid", default=str(ROOT / "docs" / "training_anime_grid.jpg"))
    r.add_argument("--resume", action="store_true")
    r.add_argument("--set", help='JSON of TrainConfig keys over the defaults, e.g. \'{"weights": {"cycle": 2}}\'')
    args = parser.parse_args()
    bench(args) if args.cmd == "bench" else run(args)


if __name__ == "__main__":
    main()
