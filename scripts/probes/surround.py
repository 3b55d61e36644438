"""Whole-image mode around the face (issue 13/15): capture on probe faces (photos half, not held out) with the
square around each face restyled at nearly the crop's resolution (core.background.SURROUND, crop sides; 0 = off),
or with the face crop pasted over the reduced background at another feather (`feather:F`, surround off), against
the tiled full-resolution background (`tiled`), in one run.

    python scripts/probes/surround.py animation styles/animation 16 0 feather:0.03 feather:0.01 1.3 1.6 2.0 tiled
"""
import sys

import numpy as np

sys.path.insert(0, ".")
sys.path.insert(0, "scripts")
import capture as C  # noqa: E402
import core.background as B  # noqa: E402
import core.engine as E  # noqa: E402
import core.masks as M  # noqa: E402
from core.alignment import feather_mask  # noqa: E402
from core.package import load_style  # noqa: E402
from probes.common import scored_faces  # noqa: E402
from studio.metrics import LPIPS  # noqa: E402

style, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
faces, photos, truth, _ = scored_faces(style, n)
metric, package = LPIPS(), load_style(path)
background, paste = E.stylize_background, E.paste_mask
flat = lambda image, runner, strength=1.0, matrices=(): background(image, runner, strength)  # noqa: E731
for variant in sys.argv[4:]:
    E.stylize_background, E.paste_mask = background, paste
    if variant == "tiled":
        E.stylize_background = lambda image, runner, strength=1.0, matrices=(): B.stylize_tiles(image, runner, strength)
    elif variant.startswith("feather:"):
        feather = float(variant.split(":")[1])
        E.stylize_background = flat
        E.paste_mask = lambda oval, size, whole, f=feather: (np.maximum(M.head_mask(oval, size), feather_mask(size, f))
                                                              if whole else M.head_mask(oval, size))
    elif float(variant) == 0:
        E.stylize_background = flat
    else:
        B.surround_box.__defaults__ = (float(variant),)
    outs = C.style_outputs(package, faces)
    s = C.capture_scores(metric, photos, outs, truth)
    print(f"{style} {variant:8s} {C.summary(s)}", flush=True)
    C.save_image(f"runs/probes/surround_{style}_{variant.replace(':', '_')}.jpg", np.concatenate(
        [photos[:6].reshape(-1, 256, 3), outs[:6].reshape(-1, 256, 3), truth[:6].reshape(-1, 256, 3)], 1))
