"""Profile training steps with torch.profiler: where a step's time goes, per recipe, on synthetic data.

    .venv/bin/python scripts/profile_step.py --preset quick --size 128 --batch 4 [--set '{"style_crop": 64}']

Prints the top operators by self CPU time and the share of convolutions (VGG16) and grid sampling (TPS
warps), on the synthetic sets of `python -m studio bench --train`."""
import argparse
import json
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio.bench import synthetic_sets  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", default="{}", help="TrainConfig overrides (JSON)")
    args = ap.parse_args()
    from accelerate import Accelerator

    from studio.train import Trainer, TrainConfig

    torch.set_num_threads(args.threads)
    config = TrainConfig.from_dict({**json.loads(args.set), "size": args.size, "batch": args.batch,
                                    "perceptual_size": args.size, "vgg_download": False},
                                   TrainConfig.preset(args.preset))
    style, photos = synthetic_sets(args.size)
    trainer = Trainer(config, Accelerator(cpu=True), style, photos)
    start = config.warmup_steps
    trainer.step(start, 0)  # warm
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(args.steps):
            with record_function("step"):
                trainer.step(start + 1 + i, 0)
    events = prof.key_averages()
    total = sum(e.cpu_time_total for e in events if e.key == "step")
    print(f"{args.preset} {args.size}px b{args.batch}: {total / args.steps / 1e6:.3f} s/step (profiled, "
          f"{args.threads} threads)")
    conv = sum(e.self_cpu_time_total for e in events if "conv" in e.key or "mkldnn" in e.key)
    grid = sum(e.self_cpu_time_total for e in events if "grid_sampler" in e.key)
    print(f"  convolutions (forward and backward; VGG16 holds nearly all): {conv / total:.1%} of the step")
    print(f"  grid_sample (TPS warps): {grid / total:.1%}")
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))
    return 0


if __name__ == "__main__":
    sys.exit(main())
