"""Re-export a trained style package at another resolution with the bundled-style card text.

    .venv/bin/python scripts/reexport_style.py runs/bundled2/pkg/oil styles/oil 256 "Oil paint"
"""
import sys, json, numpy as np
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.package import load_style
from core.export import load_generator, save_style
from core.package import StyleConfig
src, dst, res = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = load_style(src)
gen = load_generator(p)
cfg = StyleConfig.from_dict(json.loads((p.path / "style.json").read_text()))
cfg.resolution = res
cfg.license = "apache-2.0"
cfg.title = sys.argv[4]
cfg.description = (f"{sys.argv[4]}: a bundled Portrait Studio style, PREVIEW QUALITY. Trained with the project's own trainer "
    f"for {cfg.training.get('steps')} steps at {cfg.training.get('resolution')} px on a 2-core CPU (no GPU was available), "
    f"from {cfg.training.get('artworks')} procedural artworks (studio/painters.py, painter '{p.name}') of public-domain, "
    "CC0 and US-government photos, and exported at " + str(res) + " px. It takes on the painter's palette, contrast and "
    "(for animation) cartoon geometry, but not yet its fine texture or clean line art, and shows seams on some head "
    "outlines; retrain with `--preset full` on a GPU for a production style.")
cfg.training = {**cfg.training, "exported_resolution": res}
extra = {n: (p.path / n).read_bytes() for n in ["attribution.json"] if (p.path / n).exists()}
from PIL import Image
preview = np.asarray(Image.open(p.preview_path).convert("RGB"))
save_style(dst, gen, cfg, preview, overwrite=True, extra_files=extra)
print("ok", dst)
