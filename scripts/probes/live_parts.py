"""Where a live camera frame's server time goes (issue 15, development): decode, track, background, faces,
encode, over the live report's fake camera clip, with ONNX Runtime at THREADS intra-op threads.

    python scripts/probes/live_parts.py styles/animation 2 240
"""
import sys
import json
import time

import cv2
import numpy as np

sys.path.insert(0, ".")
from core.images import load_image  # noqa: E402
from studio import live  # noqa: E402

style, threads, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else "face"
import os  # noqa: E402
os.environ["PORTRAIT_THREADS"] = str(threads)
import core.engine  # noqa: E402
core.engine.STREAM_THREADS = threads  # read when the session builds its stylizer
frames = live.moving_face_frames(load_image("examples/astronaut.jpg"), frames=60)
session = live.LiveSession()
session.update(live.LiveSettings.parse(json.dumps({"style": style, "mode": mode})))
jpegs = [live.HEADER.pack(0.0) + cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR),
                                              [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for f in frames]
cpu0 = None
parts = {k: [] for k in ("decode", "track", "background", "faces", "encode", "total")}
for i in range(count):
    t0 = time.perf_counter()
    stamp, rgb = live.decode_frame(jpegs[i % len(jpegs)])
    t1 = time.perf_counter()
    r = session.stylizer(rgb, i / 30.0)
    t2 = time.perf_counter()
    live.encode_frame(stamp, 0.0, r.image)
    t3 = time.perf_counter()
    if i == 30:
        cpu0, wall0 = time.process_time(), time.perf_counter()
    if i >= 30:
        parts["decode"].append((t1 - t0) * 1e3); parts["encode"].append((t3 - t2) * 1e3)
        for k in ("track", "background", "faces"):
            parts[k].append(r.timings[k])
        parts["total"].append((t3 - t0) * 1e3)
cpu = (time.process_time() - cpu0) / (count - 31) * 1e3
wall = (time.perf_counter() - wall0) / (count - 31) * 1e3
print(style, mode, "threads", threads, f"cpu {cpu:.1f} ms/frame, wall {wall:.1f};", " ".join(f"{k} {np.mean(v):.1f}" for k, v in parts.items()), "ms (mean)")
