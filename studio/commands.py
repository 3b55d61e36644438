"""Geometry and inference subcommands: align, template, stylize, bench."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.package import STYLIZE_MODES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("align", help="preview the landmark TPS alignment of a photo and an artwork",
                       description="Detect landmarks in a photo and an artwork, warp each to the other's geometry "
                                   "and save a preview grid (with a faint grid showing the deformation).")
    p.add_argument("photo", help="photo file with a face")
    p.add_argument("artwork", help="artwork file with a face")
    p.add_argument("--out", required=True, help="preview PNG to write")
    p.add_argument("--json", help="also write both landmark sets as JSON")
    p.add_argument("--size", type=int, default=320, help="aligned face size in the preview (default 320)")
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("template", help="mean landmark geometry of a folder of artworks",
                       description="Detect and align every face in a folder and write the mean canonical landmarks "
                                   "(the style template) as JSON, with a picture of all shapes and the mean.")
    p.add_argument("folder", help="folder of artworks")
    p.add_argument("--out", required=True, help="template JSON to write")
    p.add_argument("--preview", help="PNG of every shape (grey), the mean (magenta) and the photo mean (cyan)")
    p.add_argument("--size", type=int, default=256)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("stylize", help="stylize photos and video files with a style package",
                       description="Stylize image files, video files (mp4, mov, webm, mkv, avi) or folders of them; "
                                   "results are written to --out with the same names: images as PNG, videos as "
                                   "H.264 mp4 with their audio (clip.mov -> OUT/clip.mp4). Ctrl-C stops a video "
                                   "cleanly: no partial file is left.")
    p.add_argument("inputs", nargs="+", help="image or video files, or folders")
    p.add_argument("--style", required=True, help="style name (in styles/) or package folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--mode", choices=STYLIZE_MODES,
                   help="face: stylize faces only; full: the whole picture, faces aligned on top "
                        "(default: the style's mode_default)")
    p.add_argument("--alpha", type=float, help="geometry strength (0 photo, 1 style, >1 exaggerated)")
    p.add_argument("--strength", type=float, default=1.0, help="style strength, 0..1 (blend with the original)")
    p.add_argument("--keep-shape", type=float, help="0: faces take the style's template shape; 1: they keep their "
                   "own shape plus the style's average change (default: the style's keep_shape)")
    p.add_argument("--max-side", type=int, default=2048,
                   help="downscale larger images (0 keeps the size); videos keep their size (up to 4K)")
    p.add_argument("--no-smoothing", action="store_true",
                   help="videos: raw tracked landmarks without One Euro smoothing (to compare the flicker)")
    p.add_argument("--no-scores", action="store_true",
                   help="images: skip the per-face scores printed with each result (geometry error in %% of the eye "
                        "distance, likeness 0-1; core/scores.py), one Face Mesh pass per face")
    p.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    p.add_argument("--variant", choices=["fp32", "fp16", "int8"], default="fp32")
    p.set_defaults(func=cmd_stylize)

    p = sub.add_parser("bench", help="speed and memory benchmark (prints one JSON line last)",
                       description="Generator median ms at 512x512 (onnxruntime, 2 intra-op threads), full-pipeline "
                                   "median ms on a 1024x1024 photo with one face, parameters, MACs, and the peak RSS of "
                                   "an inference-only process (onnxruntime + mediapipe, torch not imported).")
    p.add_argument("--style", help="style to measure (default: a freshly initialised default generator)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--photo", help="photo with one face (default: the bundled example)")
    p.add_argument("--train", action="store_true",
                   help="training s/step at 128 px/batch 4 and 256 px/batch 8: the painting-head recipe (preset "
                        "'quick') beside the default recipe (VGG content + GAN + cycle), measured in the same run")
    p.add_argument("--steps", type=int, default=6, help="timed training steps per setting (--train)")
    p.add_argument("--memory", action="store_true",
                   help="peak RSS of `python -m studio stylize` on one photo and on a 7000x7000 RGBA PNG")
    p.set_defaults(func=cmd_bench)


def cmd_align(args) -> int:
    from core.images import save_image
    from core.preview import alignment_preview

    preview = alignment_preview(args.photo, args.artwork, size=args.size, photo_name=args.photo,
                                artwork_name=args.artwork)
    save_image(args.out, preview.image)
    print(f"wrote {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps(preview.to_dict()) + "\n")
        print(f"wrote {args.json}")
    return 0


def image_files(inputs: list[str]) -> list[Path]:
    """Expand folders to their image files (sorted); keep files as given."""
    return split_inputs(inputs)[0]


def split_inputs(inputs: list[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(image and video files, [(skipped file, why)]): folders expand to their files with a supported image or
    video suffix (sorted), the others are reported as skipped; files given by name are kept whatever their suffix
    (a video suffix makes them videos, anything else images)."""
    from studio.video import VIDEO_SUFFIXES

    files, skipped = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            for p in sorted(item.iterdir()):
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    files.append(p)
                elif p.is_file():
                    skipped.append((p, f"unsupported suffix {p.suffix or '(none)'!r}"))
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item} does not exist")
    return files, skipped


SUPPORTED = ", ".join(sorted(IMAGE_SUFFIXES))
SUPPORTED_VIDEO = ".avi, .m4v, .mkv, .mov, .mp4, .webm"  # studio.video.VIDEO_SUFFIXES (not imported: no PyAV here)


def stylize_options(args) -> dict:
    """The stylize flags checked by core.options (OptionError names the flag, its range and the fix)."""
    from core.options import check_alpha, check_keep_shape, check_max_side, check_strength

    return {"alpha": check_alpha(args.alpha, "--alpha"), "strength": check_strength(args.strength, "--strength"),
            "keep_shape": check_keep_shape(args.keep_shape, "--keep-shape"),
            "max_side": check_max_side(args.max_side, "--max-side")}


def cmd_template(args) -> int:
    import numpy as np

    from core import topology
    from core.aligned import to_pixels
    from core.alignment import align_face
    from core.errors import NoFaceError
    from core.images import load_image, save_image
    from core.landmarks import detect_faces
    from core.preview import mean_template, template_preview
    from core.templates import PHOTO_TEMPLATE

    points, missed = [], []
    for f in image_files([args.folder]):
        faces = detect_faces(load_image(f))
        if not faces:
            missed.append(f.name)
            continue
        points.append(topology.to_canonical(align_face(load_image(f), faces[0], size=args.size).points))
    if not points:
        raise NoFaceError(f"no face found in any image of {args.folder}; check the folder or set landmarks by hand")
    template = mean_template(np.stack(points), args.size)
    Path(args.out).write_text(json.dumps({"template": template.round(5).tolist(), "count": len(points),
                                          "missed": missed}) + "\n")
    print(f"{len(points)} faces, {len(missed)} without a face{': ' + ', '.join(missed) if missed else ''}")
    if args.preview:
        ref = to_pixels(PHOTO_TEMPLATE, args.size)
        save_image(args.preview, template_preview(np.stack(points), args.size, reference=ref))
    print(f"wrote {args.out}")
    return 0


def cmd_stylize(args) -> int:
    from core.engine import stylize
    from core.errors import ImageLoadError, OptionError
    from core.images import save_image
    from core.package import load_style

    try:
        options = stylize_options(args)
    except OptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    style = load_style(args.style)
    files, skipped = split_inputs(args.inputs)
    for f, why in skipped:
        print(f"skipped {f}: {why}", file=sys.stderr)
    if not files:
        print(f"error: no image or video to stylize in {', '.join(args.inputs)}"
              + (f" ({len(skipped)} file(s) skipped)" if skipped else "")
              + f"; give image or video files or folders holding {SUPPORTED} or {SUPPORTED_VIDEO} files",
              file=sys.stderr)
        return 1
    from studio.video import VIDEO_SUFFIXES

    videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
    images = [f for f in files if f.suffix.lower() not in VIDEO_SUFFIXES]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    progress = _progress(images, "stylizing")
    for f in progress:
        try:
            result = stylize(f, style, mode=args.mode, backend=args.backend, variant=args.variant,
                             scores=not args.no_scores, **options)
        except ImageLoadError as exc:
            failed += 1
            print(f"skipped {f}: {exc}", file=sys.stderr)
            continue
        save_image(out / (f.stem + ".png"), result.image)
        if len(files) == 1 or result.message or result.scores:
            scores = f"; {result.scores_text}" if result.scores else ""
            print(f"{f.name}: {result.summary}{scores}", file=sys.stderr)
    images_failed = failed
    for f in videos:
        code = _stylize_video_file(f, out / (f.stem + ".mp4"), style, args, options)
        if code == 130:
            return 130
        failed += code
    notes = [f"{failed} failed"] if failed else []
    notes += [f"{len(skipped)} skipped"] if skipped else []
    wrote = f"wrote {len(images) - images_failed} image(s)"
    if videos:
        wrote += f" and {len(videos) - (failed - images_failed)} video(s)"
    print(f"{wrote} to {out}" + (f"; {', '.join(notes)}" if notes else ""))
    return 1 if failed == len(files) else 0


def _stylize_video_file(src: Path, dst: Path, style, args, options: dict) -> int:
    """One clip of `stylize` with a progress bar (frames, fps, ETA): 0 written, 1 failed (the reason printed),
    130 interrupted by Ctrl-C (the partial output removed)."""
    from core.errors import VideoError
    from studio.video import stylize_video

    bar = _VideoBar(src.name)
    try:
        result = stylize_video(src, dst, style, mode=args.mode, alpha=options["alpha"], strength=options["strength"],
                               keep_shape=options["keep_shape"], smoothing=not args.no_smoothing, progress=bar,
                               backend=args.backend, variant=args.variant)
    except (VideoError, FileNotFoundError) as exc:
        bar.close()
        print(f"skipped {src}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print(f"\ninterrupted: {src.name} was not written (no partial file left in {dst.parent})", file=sys.stderr)
        return 130
    bar.close()
    print(f"{src.name} -> {dst}: {result.summary}", file=sys.stderr)
    return 0


class _VideoBar:
    """`progress` for studio.video.stylize_video: a tqdm bar in frames with the rate (frames/s) and ETA, reset when
    a clip without a face starts its whole-image pass; nothing when tqdm is missing."""

    def __init__(self, name: str) -> None:
        self.name, self.bar, self.stage = name, None, None

    def __call__(self, p) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            return
        if self.bar is None:
            self.bar = tqdm(total=p.total, desc=self.name, unit="frame", dynamic_ncols=True)
            self.stage = p.stage
        if p.stage != self.stage:
            self.stage = p.stage
            self.bar.reset(total=p.total)
            self.bar.set_description(f"{self.name} ({p.stage})")
        if p.total > self.bar.total:
            self.bar.total = p.total
        self.bar.update(p.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress(items, desc):
    if len(items) < 3:
        return items
    try:
        from tqdm import tqdm

        return tqdm(items, desc=desc, unit="img")
    except ImportError:
        return items


def cmd_bench(args) -> int:
    from studio.bench import run_bench, run_memory_bench, run_train_bench

    if args.memory:
        return run_memory_bench(args)
    return run_train_bench(args) if args.train else run_bench(args)
