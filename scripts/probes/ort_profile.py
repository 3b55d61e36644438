"""Where a style graph spends its time in ONNX Runtime (issue 15): per op type and the slowest nodes, from ORT's
own profiler, batch B at the package's resolution, 2 threads.

    python scripts/probes/ort_profile.py styles/animation/model.onnx 1 30
"""
import collections
import json
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, ".")
from core.package import load_style  # noqa: E402
from core.aligned import template_mesh  # noqa: E402

path, batch, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
opts = ort.SessionOptions()
opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
opts.enable_profiling = True
session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
package = load_style(path.rsplit("/", 1)[0])
size = package.config.resolution
mesh = template_mesh(package.config.template, size)
feeds = {"image": np.random.default_rng(0).uniform(-1, 1, (batch, 3, size, size)).astype(np.float32),
         "landmarks": np.repeat(mesh[None], batch, 0).astype(np.float32),
         "alpha": np.ones(batch, np.float32)}
for _ in range(runs):
    session.run(None, feeds)
events = json.load(open(session.end_profiling()))
by_type, by_node = collections.Counter(), collections.Counter()
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        by_type[e["args"]["op_name"]] += e["dur"]
        by_node[e["name"][:-12]] += e["dur"]
total = sum(by_type.values())
print(f"total kernel time {total / runs / 1000:.2f} ms per run")
for op, t in by_type.most_common(15):
    print(f"  {op:20s} {t / runs / 1000:7.2f} ms  {100 * t / total:5.1f} %")
print("slowest nodes:")
for node, t in by_node.most_common(25):
    print(f"  {node[:70]:70s} {t / runs / 1000:7.2f} ms")
