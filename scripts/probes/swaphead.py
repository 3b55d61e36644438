"""Development probe: copy a package with another painting head (a state dict from headall.py) and other defaults.
Usage: swaphead.py SRC DST [--head HEAD.pt] [--mode full] [--alpha A] [--keep-shape K]"""
import argparse, json, sys
import numpy as np, torch
from PIL import Image
sys.path.insert(0, ".")
from core.export import load_generator, save_style
from core.package import StyleConfig, load_style
ap = argparse.ArgumentParser()
ap.add_argument("src"); ap.add_argument("dst"); ap.add_argument("--head"); ap.add_argument("--mode")
ap.add_argument("--alpha", type=float); ap.add_argument("--keep-shape", type=float)
a = ap.parse_args()
p = load_style(a.src); gen = load_generator(p)
if a.head:
    gen.art.load_state_dict(torch.load(a.head))
cfg = StyleConfig.from_dict(json.loads((p.path / "style.json").read_text()))
if a.mode: cfg.mode_default = a.mode
if a.alpha is not None: cfg.alpha_default = a.alpha
if a.keep_shape is not None: cfg.keep_shape = a.keep_shape
save_style(a.dst, gen, cfg, np.asarray(Image.open(p.preview_path).convert("RGB")), overwrite=True)
