"""Re-export style packages' ONNX graphs from their own weights (`core.export.refresh_graphs`): the outputs stay
the same, the graph takes what the exporter now writes (e.g. an inert decoder's CNN left out, docs/engine.md, or a
refiner moved into its own refiner.onnx). The folders are read without the package check, which refuses what this
repairs; the written package is validated.

    .venv/bin/python scripts/refresh_graphs.py styles/animation styles/ink styles/oil styles/watercolor
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.export import refresh_graphs  # noqa: E402
from core.package import StylePackage, read_config, validate_package  # noqa: E402

for path in sys.argv[1:]:
    package = validate_package(refresh_graphs(StylePackage(path=Path(path), config=read_config(Path(path)))).path)
    fp32 = package.config.onnx["fp32"]
    print(f"{path}: {fp32['bytes']} bytes, max error {fp32['max_abs_error']:.1e}, "
          f"{fp32['median_ms_cpu_2threads']:.1f} ms (batch 1, 2 threads)")
