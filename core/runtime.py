"""Run a style package: ONNX Runtime by default (no torch import), torch optional. Runners are cached
per package file and variant, and are safe for concurrent calls (ORT sessions are thread-safe).
A graph is verified before its first use (no external data, documented inputs, one tiny inference with the right
output shape) and every answer's shape is checked, so a broken package fails with a message, not a traceback."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from core.errors import StylePackageError
from core.images import images_to_unit, unit_to_images
from core.package import ONNX_INPUTS, StylePackage, verify_onnx

_CACHE: dict[tuple, "Runner"] = {}
_LOCK = threading.Lock()


class Runner:
    """Stylize aligned faces: images (B,S,S,3) uint8, mesh landmarks (B,478,2) in aligned pixels, alpha (B,)."""

    backend = "base"

    def __init__(self, package: StylePackage):
        self.package = package
        self.resolution = package.config.resolution

    def __call__(self, images: np.ndarray, landmarks: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        b = images.shape[0]
        if images.shape[1:] != (self.resolution, self.resolution, 3):
            raise ValueError(f"style {self.package.name!r} takes {self.resolution}x{self.resolution} aligned faces, "
                             f"got {images.shape[1:]}")
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(b, -1, 2)
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float32), (b,)).copy()
        return unit_to_images(self.checked(self.run(images_to_unit(images), landmarks, alpha), b))

    def checked(self, out, batch: int) -> np.ndarray:
        """The model's answer if it is (batch, 3, S, S) floats; a graph that answers otherwise is broken."""
        expected = (batch, 3, self.resolution, self.resolution)
        shape = tuple(getattr(out, "shape", ()))
        if shape != expected or not np.issubdtype(out.dtype, np.floating):
            raise StylePackageError(f"style {self.package.name!r} ({self.backend}, {self.package.path}) answered "
                                    f"{shape} {getattr(out, 'dtype', type(out).__name__)} instead of {expected} "
                                    "floats; the package is broken, re-export or re-pull it")
        return out

    def run(self, image: np.ndarray, landmarks: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxRunner(Runner):
    backend = "onnx"

    def __init__(self, package: StylePackage, variant: str = "fp32", threads: int | None = None):
        import onnxruntime as ort

        super().__init__(package)
        file = package.onnx_path(variant)
        verify_onnx(file, package.config)  # once per file version: external data, inputs, one tiny inference
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("PORTRAIT_THREADS", "2"))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.variant = variant
        try:
            self.session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception classes
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise StylePackageError(f"{file} cannot be loaded by ONNX Runtime ({detail}); re-export or re-pull the "
                                    "style") from None

    def run(self, image, landmarks, alpha):
        return self.session.run(None, dict(zip(ONNX_INPUTS, (image, landmarks, alpha))))[0]


class TorchRunner(Runner):
    backend = "torch"

    def __init__(self, package: StylePackage, device: str = "cpu"):
        import torch

        from core.export import OnnxStyleModel, load_generator

        super().__init__(package)
        self.torch = torch
        self.device = device
        self.model = OnnxStyleModel(load_generator(package, device), self.resolution).to(device).eval()
        self._lock = threading.Lock()  # the generator caches warp bases lazily

    def run(self, image, landmarks, alpha):
        t = self.torch
        with self._lock, t.inference_mode():
            out = self.model(t.from_numpy(image).to(self.device), t.from_numpy(landmarks).to(self.device),
                             t.from_numpy(alpha).to(self.device))
        return out.float().cpu().numpy()


def get_runner(package: StylePackage, backend: str = "onnx", variant: str = "fp32") -> Runner:
    """A cached runner; a package rewritten on disk (new mtime) gets a fresh one."""
    if backend not in ("onnx", "torch"):
        raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")
    file = package.onnx_path(variant) if backend == "onnx" else package.weights_path
    key = (str(Path(file).resolve()), file.stat().st_mtime_ns, backend, variant)
    with _LOCK:
        runner = _CACHE.get(key)
        if runner is None:
            runner = OnnxRunner(package, variant) if backend == "onnx" else TorchRunner(package)
            for old in [k for k in _CACHE if k[0] == key[0]]:
                del _CACHE[old]
            _CACHE[key] = runner
    return runner


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
