"""Two ONNX graphs of one style against each other (issue 15): median ms at batch 1 and 2, interleaved in one
process (both sessions alive, so both are slowed alike), and the largest output difference. Each session is made as
the runtime makes it for its package (core.runtime.onnx_session with the package's `nchwc` setting).

    python scripts/probes/graph_speed.py OLD/model.onnx NEW/model.onnx [THREADS]   # ORT intra-op threads, default 2
"""
import sys
import time

import numpy as np

sys.path.insert(0, ".")
from core.aligned import template_mesh  # noqa: E402
from core.package import load_style  # noqa: E402
from core.runtime import onnx_session  # noqa: E402


THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2


def session(path: str):
    nchwc = load_style(path.rsplit("/", 1)[0]).config.onnx.get("fp32", {}).get("nchwc", True)
    return onnx_session(path, THREADS, nchwc)


old, new = session(sys.argv[1]), session(sys.argv[2])
package = load_style(sys.argv[2].rsplit("/", 1)[0])
size = package.config.resolution
mesh = template_mesh(package.config.template, size)
for batch in (1, 2):
    feeds = {"image": np.random.default_rng(0).uniform(-1, 1, (batch, 3, size, size)).astype(np.float32),
             "landmarks": np.repeat(mesh[None], batch, 0).astype(np.float32), "alpha": np.ones(batch, np.float32)}
    times = ([], [])
    for _ in range(3):
        old.run(None, feeds), new.run(None, feeds)
    for _ in range(30):
        for i, s in enumerate((old, new)):
            t0 = time.perf_counter()
            s.run(None, feeds)
            times[i].append((time.perf_counter() - t0) * 1000)
    a, b = np.median(times[0]), np.median(times[1])
    diff = np.abs(old.run(None, feeds)[0] - new.run(None, feeds)[0]).max()
    print(f"batch {batch}: old {a:.1f} ms, new {b:.1f} ms, ratio {b / a:.2f}, max difference {diff:.1e}")
