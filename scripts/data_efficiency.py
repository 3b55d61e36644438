"""Data-efficiency study: style quality against the number of artworks, with and without TPS alignment.

    python scripts/data_efficiency.py --task painter --counts 10 25 50 100 --steps 1500 --size 128
    python scripts/data_efficiency.py --task anime   --counts 10 25 50 100 --steps 1500 --size 128
    python scripts/data_efficiency.py --report       # table + plot from every finished run

painter: a known ground truth. Artworks are the `animation` painter (toon shading + landmark-driven geometric
  exaggeration) applied to one half of Flickr-Suits-XL; the model is scored on held-out photos of the other half
  against the painter's own output on them (LPIPS, VGG16 + LPIPS heads; lower is better).
anime: selfie2anime (research use only). Artworks are anime faces, photos are selfies; held-out selfies are
  stylized and scored by KID on VGG16 relu5_3 features against held-out anime faces (lower is better).
Each (task, count, tps) run writes <out>/<task>/<count>-<tps|notps>/result.json (default out: runs/efficiency);
--set applies JSON TrainConfig keys over the script's settings (TrainConfig defaults plus the flags).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.export import load_generator  # noqa: E402
from studio.data import build_photo_pool, build_style_set  # noqa: E402
from studio.train import TrainConfig, hardware, train  # noqa: E402

SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))
OUT = ROOT / "runs" / "efficiency"
TEST = 48  # held-out photos scored per run


def stylize_aligned(package, images: np.ndarray, points: np.ndarray, size: int, keep_shape: float = 0.0) -> np.ndarray:
    """Run a package's generator on aligned faces (N,S,S,3) with canonical points (N,73,2) px, at the engine's
    per-face alpha and warp sources (`core.aligned.prepare_aligned`: the style's default alpha, damped for turned
    heads and closed eyes, and `keep_shape`)."""
    from core import topology
    from core.aligned import canonical_mesh, prepare_aligned, to_unit
    from core.images import images_to_unit, unit_to_images

    gen = load_generator(package)
    config = package.config
    warps = [prepare_aligned(m, config.alpha_default, keep_shape, config.template, size)
             for m in canonical_mesh(points, size, np.float64)]  # float64, as the engine's aligned landmarks
    alphas = torch.tensor([w.alpha for w in warps], dtype=torch.float32)
    sources = np.stack([topology.to_canonical(w.sources) for w in warps])
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 8):
            p = to_unit(torch.from_numpy(sources[i:i + 8]).float(), size)
            out.append(unit_to_images(gen(torch.from_numpy(images_to_unit(images[i:i + 8])), p, alphas[i:i + 8])))
    return np.concatenate(out)


def datasets(task: str, size: int):
    """(artworks StyleSet, training PhotoPool, test photos PhotoPool, reference images for scoring)."""
    if task == "painter":
        from studio.painters import paint

        arts = build_style_set(ROOT / "runs" / "artworks" / "animation", size)
        pool = build_photo_pool(ROOT / "runs" / "artworks" / "photos", size, limit=300 + TEST)
        test = pool.subset(range(300, len(pool)))
        pool = pool.subset(range(300))
        truth = np.stack([paint("animation", img, face=pts) for img, pts in zip(test.images, test.points)])
        return arts, pool, test, truth
    s2a = SHARED / "data" / "selfie2anime"
    arts = build_style_set(s2a / "anime", size)
    photos = build_photo_pool(s2a / "photos", size)
    test = photos.subset(range(len(photos) - TEST, len(photos)))
    pool = photos.subset(range(len(photos) - TEST))
    reference = arts.images[-100:]  # held out: training draws artworks from the front only
    return arts.subset(range(len(arts) - 100)), pool, test, reference


def score(task: str, outputs: np.ndarray, reference: np.ndarray) -> dict:
    from studio.metrics import LPIPS, kid, lpips_scores, vgg_embeddings

    if task == "painter":
        values = lpips_scores(LPIPS(), outputs, reference)
        return {"metric": "LPIPS", "value": float(values.mean()), "std": float(values.std()),
                "per_face": [round(float(v), 5) for v in values]}
    mean, std = kid(vgg_embeddings(outputs), vgg_embeddings(reference), subsets=50, subset_size=min(len(outputs), 40))
    return {"metric": "KID (VGG16 relu5_3)", "value": mean, "std": std}


def run(args) -> None:
    arts, pool, test, reference = datasets(args.task, args.size)
    extra = json.loads(args.set) if args.set else {}
    for count in args.counts:
        for tps in (True, False):
            folder = args.out / args.task / f"{count:03d}-{'tps' if tps else 'notps'}"
            if (folder / "result.json").exists():
                continue
            config = TrainConfig.from_dict(dict(steps=args.steps, size=args.size, batch=args.batch, no_tps=not tps,
                                                perceptual_size=args.size, checkpoint_every=max(args.steps // 4, 1),
                                                preview_every=args.steps, holdout=4, threads=args.threads))
            config = TrainConfig.from_dict(extra, config)
            t0 = time.perf_counter()
            result = train(config, styles=[], photos="", out=folder / "package", run_dir=folder / "run",
                           name=f"eff-{count}-{int(tps)}", style_set=arts.subset(range(min(count, len(arts)))),
                           photo_pool=pool, resume=(folder / "run").exists(), overwrite=True)
            outputs = stylize_aligned(result.package, test.images, test.points, args.size)
            record = {"task": args.task, "count": count, "tps": tps, "steps": args.steps, "size": args.size,
                      "scoring": "engine alpha (turn and eye damping)",
                      "batch": args.batch, "set": extra, "wall_s": round(time.perf_counter() - t0, 1),
                      "s_per_step": round(result.wall_s / max(result.steps, 1), 3), "hardware": hardware(),
                      **score(args.task, outputs, reference)}
            (folder / "result.json").write_text(json.dumps(record, indent=2) + "\n")
            print(json.dumps(record), flush=True)


def example_grid(task: str, out: Path, count: int, path: Path, rows: int = 6) -> None:
    """Held-out test faces: photo | reference (painter: its ground truth) | TPS arm | no-TPS arm, at `count`."""
    from core.images import save_image
    from core.package import load_style

    _, _, test, reference = datasets(task, json.loads((out / task / f"{count:03d}-tps" / "result.json")
                                                      .read_text())["size"])
    pick = np.linspace(0, len(test) - 1, rows).round().astype(int)
    columns = [test.images[pick], reference[pick] if task == "painter" else reference[:rows]]
    for arm in ("tps", "notps"):
        package = load_style(out / task / f"{count:03d}-{arm}" / "package")
        columns.append(stylize_aligned(package, test.images[pick], test.points[pick], test.size))
    s = test.size
    grid = np.full((rows * (s + 2), len(columns) * (s + 2), 3), 255, np.uint8)
    for c, images in enumerate(columns):
        for r, image in enumerate(images):
            grid[r * (s + 2):r * (s + 2) + s, c * (s + 2):c * (s + 2) + s] = image
    save_image(path, grid)
    print("wrote", path)


def rescore(task: str, out: Path, keep_shape: float = 0.0) -> None:
    """Score every finished run of `task` again from its package (after a change to the scoring); with
    keep_shape > 0 the scores go to the record's `keep_shape` entry and the main ones stay."""
    folders = sorted((out / task).glob("*/result.json"))
    if not folders:
        return
    size = json.loads(folders[0].read_text())["size"]
    _, _, test, reference = datasets(task, size)
    from core.package import load_style

    for path in folders:
        record = json.loads(path.read_text())
        outputs = stylize_aligned(load_style(path.parent / "package"), test.images, test.points, size, keep_shape)
        scores = score(task, outputs, reference)
        if keep_shape:
            record.setdefault("keep_shape", {})[str(keep_shape)] = scores
        else:
            record.update(scores, scoring="engine alpha (turn and eye damping)")
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(path.parent.name, scores["value"], flush=True)


def report(out: Path, plot: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*/*/result.json"))]
    if not rows:
        print("no finished runs under", out)
        return
    tasks = sorted({r["task"] for r in rows})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for tps in (True, False):
            pts = sorted((r["count"], r["value"], r["std"]) for r in rows if r["task"] == task and r["tps"] == tps)
            if pts:
                c, v, s = map(np.array, zip(*pts))
                ax.errorbar(c, v, yerr=s, marker="o", capsize=3, label="TPS alignment" if tps else "no TPS")
            kept = sorted((r["count"], r["keep_shape"]["1.0"]["value"]) for r in rows
                          if r["task"] == task and r["tps"] == tps and "1.0" in r.get("keep_shape", {}))
            if tps and kept:
                c, v = map(np.array, zip(*kept))
                ax.plot(c, v, "o--", color="C0", alpha=0.6, label="TPS, keep_shape 1")
        ax.set_xscale("log")
        ax.set_xlabel("artworks")
        ax.set_ylabel(next(r["metric"] for r in rows if r["task"] == task) + " (lower is better)")
        ax.set_title(task)
        ax.legend()
    fig.tight_layout()
    fig.savefig(plot, dpi=110)
    paired_differences(rows)
    for r in rows:
        kept = r.get("keep_shape", {}).get("1.0") if r["tps"] else None
        kept = f"{kept['value']:.4f}" if kept else "-"
        print(f"| {r['task']} | {r['count']} | {'on' if r['tps'] else 'off'} | {r['value']:.4f} ± {r['std']:.4f} | "
              f"{kept} | {r['steps']} | {r['size']} | {r['s_per_step']} | {r['wall_s']} | {r['hardware']} |")


def paired_differences(rows: list[dict]) -> None:
    """Per count: TPS minus no-TPS LPIPS on the same test faces (mean and standard error of the paired
    differences), for the engine's default and for keep_shape 1. Negative: TPS closer to the ground truth."""
    arms = {(r["count"], r["tps"]): r for r in rows if r["task"] == "painter"}
    for count in sorted({c for c, _ in arms}):
        on, off = arms.get((count, True)), arms.get((count, False))
        if not (on and off and "per_face" in on and "per_face" in off):
            continue
        base = np.array(off["per_face"])
        for label, tps in (("keep_shape 0", on), ("keep_shape 1", on.get("keep_shape", {}).get("1.0"))):
            if tps and "per_face" in tps:
                d = np.array(tps["per_face"]) - base
                print(f"painter {count:3d} artworks, TPS ({label}) - no TPS: {d.mean():+.4f} "
                      f"+- {d.std(ddof=1) / np.sqrt(len(d)):.4f} (paired, {len(d)} faces)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=("painter", "anime"))
    ap.add_argument("--counts", type=int, nargs="+", default=[10, 25, 50, 100])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--set", help='JSON of TrainConfig keys, e.g. \'{"lr": 5e-4, "weights": {"cycle": 2}}\'')
    ap.add_argument("--out", type=Path, default=OUT, help="folder of the runs (default runs/efficiency)")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "data_efficiency.png")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--grid", type=Path, help="with --task: write photo | reference | TPS | no-TPS for test faces")
    ap.add_argument("--grid-count", type=int, default=100, help="the artwork count whose runs the grid shows")
    ap.add_argument("--rescore", action="store_true", help="with --task: score the finished runs again")
    ap.add_argument("--keep-shape", type=float, default=0.0, help="with --rescore: score at this keep_shape "
                    "(0: faces take the template's shape, the engine's default; 1: they keep their own)")
    args = ap.parse_args()
    if args.report:
        report(args.out, args.plot)
    elif args.task and args.rescore:
        rescore(args.task, args.out, args.keep_shape)
    elif args.task and args.grid:
        example_grid(args.task, args.out, args.grid_count, args.grid)
    elif args.task:
        run(args)
    else:
        ap.error("give --task or --report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
