"""Two copies of one style package against each other through `studio bench`'s own figures (issue 15): the clip
(two stages), the still pipeline at 640x480, face and whole-image mode at 1024x1024, in one process, the copies
alternated round by round so the machine's drift falls on both.

    python scripts/probes/pipeline_ab.py OLD_PACKAGE NEW_PACKAGE [ROUNDS]
"""
import sys

import numpy as np

sys.path.insert(0, ".")
from core.package import load_style  # noqa: E402
from studio.bench import bench_photo, video_figures, whole_image_figures  # noqa: E402

packages = {"old": load_style(sys.argv[1]), "new": load_style(sys.argv[2])}
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
photo = bench_photo(None)
keys = ("video_640x480_ms", "still_640x480_ms", "video_ratio", "whole_image_face_ms", "whole_image_full_ms",
        "whole_image_ratio")
rows = {tag: [] for tag in packages}
for r in range(rounds):
    for tag in (("old", "new") if r % 2 == 0 else ("new", "old")):
        figures = {**video_figures(packages[tag], 10), **whole_image_figures(photo, packages[tag], 10)}
        rows[tag].append([figures[k] for k in keys])
        print(r, tag, dict(zip(keys, rows[tag][-1])), flush=True)
for tag, values in rows.items():
    print(tag, {k: np.round(v, 3).tolist() for k, v in zip(keys, np.array(values).T)})
old, new = np.array(rows["old"]).mean(0), np.array(rows["new"]).mean(0)
print("mean ratio new / old:", {k: round(float(n / o), 3) for k, n, o in zip(keys, new, old)})
