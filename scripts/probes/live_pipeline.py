"""Does overlapping a frame's tracking with the previous frame's rendering raise the live camera's throughput
(issue 15, development)? The live report's fake camera clip through `LiveSession`, serially and in two stages
(track in this thread, render in a worker), COUNT frames each, alternated twice; MODE face (default) or full.

    python scripts/probes/live_pipeline.py animation 240 [full]
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import cv2

sys.path.insert(0, ".")
from core.images import load_image  # noqa: E402
from studio import live  # noqa: E402

style, count = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "face"
frames = live.moving_face_frames(load_image("examples/astronaut.jpg"), frames=60)
jpegs = [live.HEADER.pack(0.0) + cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR),
                                              [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for f in frames]


def session():
    s = live.LiveSession()
    s.update(live.LiveSettings.parse(json.dumps({"style": style, "mode": mode})))
    for j in jpegs[:10]:
        s.process(j)
    return s


def serial():
    s = session()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(count):
        s.process(jpegs[i % len(jpegs)])
    return (time.perf_counter() - t0) / count * 1e3, (time.process_time() - c0) / count * 1e3


def staged():
    s = session()
    pool = ThreadPoolExecutor(1)
    pending = None
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(count):
        tracked = s.track(jpegs[i % len(jpegs)])
        if pending is not None:
            pending.result()
        pending = pool.submit(s.render, tracked)
    pending.result()
    return (time.perf_counter() - t0) / count * 1e3, (time.process_time() - c0) / count * 1e3


for _ in range(2):
    for name, fn in (("serial", serial), ("two stages", staged)):
        wall, cpu = fn()
        print(f"{style} {mode} {name}: {wall:.1f} ms per frame ({1000 / wall:.1f} FPS), CPU {cpu:.1f} ms per frame", flush=True)
