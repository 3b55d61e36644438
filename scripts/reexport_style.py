"""Re-export a trained style package at another resolution with the bundled-style card text.

    .venv/bin/python scripts/reexport_style.py runs/bundled2/pkg/oil styles/oil 256 "Oil paint"
    .venv/bin/python scripts/reexport_style.py runs/bundled2/pkg/ink styles/ink 256 "Ink wash" --mode full --alpha 0
    .venv/bin/python scripts/reexport_style.py runs/bundled2/pkg/animation styles/animation 256 "Animation" --keep-shape 1

--alpha 0 suits painters that keep the photo's geometry (oil, ink, watercolor): their template is only the
artworks' average face, so a warp to it would just pull every face towards that average. --keep-shape 1 suits the
animation painter, which exaggerates each face's own landmarks: faces keep their shape and get its changes.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.export import load_generator, save_style  # noqa: E402
from core.package import STYLIZE_MODES, StyleConfig, load_style  # noqa: E402

PAINTED = ("procedural renderings (studio/painters.py) of public-domain, CC0 and US-government photos; per-image "
           "provenance in the artworks' metadata.json")

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("src")
ap.add_argument("dst")
ap.add_argument("resolution", type=int)
ap.add_argument("title")
ap.add_argument("--mode", choices=STYLIZE_MODES, help="the style's default stylize mode (default: the package's)")
ap.add_argument("--alpha", type=float, help="the style's default geometry strength (default: keep the package's)")
ap.add_argument("--keep-shape", type=float, help="the style's default keep_shape (default: keep the package's)")
ap.add_argument("--anchors", type=int, help="fixed border points per side in the template warp (generator "
                "config `anchors`; the weights do not depend on it)")
ap.add_argument("--artwork-license", default=PAINTED, help="the artworks' license line (default: the painters')")
args = ap.parse_args()
p = load_style(args.src)
gen = load_generator(p)
if args.anchors is not None:
    gen.config.anchors = args.anchors
    gen._warps.clear()
cfg = StyleConfig.from_dict(json.loads((p.path / "style.json").read_text()))
cfg.name = Path(args.dst).name  # the package is named after its folder, as the trainer names it
cfg.resolution = args.resolution
cfg.license = "apache-2.0"
cfg.title = args.title
if args.mode:
    cfg.mode_default = args.mode
if args.alpha is not None:
    cfg.alpha_default = args.alpha
if args.keep_shape is not None:
    cfg.keep_shape = args.keep_shape
minutes = round(float(cfg.training.get("wall_time_s", 0)) / 60)
if cfg.model.get("head") == "art":
    cfg.description = (
        f"{args.title}: a bundled Portrait Studio style. Trained with the project's quick recipe (a painting head "
        f"with a per-image palette{' found by hue before shading' if cfg.model.get('palette_chroma') else ''} and "
        f"outlines over the exact TPS warp, fitted to the artworks' VGG statistics) for "
        f"{cfg.training.get('steps')} steps at {cfg.training.get('resolution')} px in about {minutes} min on a "
        f"2-core CPU, from {cfg.training.get('artworks')} procedural artworks (studio/painters.py, painter "
        f"'{p.name}') of public-domain, CC0 and US-government photos, exported at {args.resolution} px. It paints "
        "the artworks' flat colours, outlines and palette; it does not paint brush strokes or paper texture "
        "(docs/styles.md has its capture score and grids).")
else:
    cfg.description = (
        f"{args.title}: a bundled Portrait Studio style, PREVIEW QUALITY. Trained with the project's own trainer "
        f"for {cfg.training.get('steps')} steps at {cfg.training.get('resolution')} px on a 2-core CPU (no GPU was "
        f"available), from {cfg.training.get('artworks')} procedural artworks (studio/painters.py, painter '{p.name}') "
        f"of public-domain, CC0 and US-government photos, and exported at {args.resolution} px. It takes on the "
        "painter's palette, contrast and (for animation) cartoon geometry, but not yet its fine texture or clean line "
        "art; retrain with `--preset full` on a GPU for a production style.")
cfg.training = {**cfg.training, "exported_resolution": args.resolution}
art = dict(cfg.provenance.get("artworks", {}))
art["license"] = args.artwork_license
meta = Path(str(art.get("source", ""))) / "metadata.json"
if meta.is_file():  # per-artwork licenses of the photos each artwork was painted from
    from collections import Counter
    used = set(str(art.get("files", "")).split(", "))
    rows = [r for r in json.loads(meta.read_text()) if r.get("image_name") in used]
    art["licenses"] = dict(Counter(r.get("license", "unknown") for r in rows))
cfg.provenance = {**cfg.provenance, "artworks": art}
extra = {n: (p.path / n).read_bytes() for n in ["attribution.json"] if (p.path / n).exists()}
preview = np.asarray(Image.open(p.preview_path).convert("RGB"))
save_style(args.dst, gen, cfg, preview, overwrite=True, extra_files=extra)
print("ok", args.dst)
