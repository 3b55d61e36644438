"""Rewrite the ONNX files of installed style packages from their own weights, in place: for a change to the
exported graph that leaves the computed function alone (an op written another way). The weights, the config (but
its ONNX figures), the preview and the attribution are kept; save_style's parity check must pass again.

    .venv/bin/python scripts/reexport_graph.py styles/animation styles/ink styles/oil styles/watercolor
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.export import load_generator, save_style  # noqa: E402
from core.package import StyleConfig, load_style  # noqa: E402

KEPT = ("attribution.json",)  # package files save_style does not write itself

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("styles", nargs="+")
args = ap.parse_args()
for folder in args.styles:
    package = load_style(folder)
    config = StyleConfig.from_dict(json.loads((package.path / "style.json").read_text()))
    old = dict(config.onnx)
    preview = np.asarray(Image.open(package.preview_path).convert("RGB"))
    extra = {name: (package.path / name).read_bytes() for name in KEPT if (package.path / name).is_file()}
    new = save_style(package.path, load_generator(package), config, preview, overwrite=True, extra_files=extra)
    for variant, figures in new.config.onnx.items():
        print(f"{package.name} {variant}: {old.get(variant, {}).get('median_ms_cpu_2threads', 0):.1f} -> "
              f"{figures['median_ms_cpu_2threads']:.1f} ms (export figures), max |torch - onnx| "
              f"{figures['max_abs_error']:.2e}")
