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
from core.package import ONNX_INPUTS, REFINER_GRAPH, REFINER_INPUTS, StylePackage, verify_onnx, verify_refiner
from core.texture_bank import TEXTURE_ATLAS, TEXTURE_GRAPH, TEXTURE_INPUTS, build_bank, settings, split_atlas

_CACHE: dict[tuple, "Runner"] = {}
_LOCK = threading.Lock()


class Runner:
    """Stylize aligned faces: images (B,S,S,3) uint8, mesh landmarks (B,478,2) in aligned pixels, alpha (B,)."""

    backend = "base"
    refiner = None  # a callable on the generator's output (B,3,S,S) in [-1,1] when the style has a refiner
    texture = None  # and on the refiner's (or the generator's) when it has a texture

    def __init__(self, package: StylePackage):
        self.package = package
        self.resolution = package.config.resolution

    def __call__(self, images: np.ndarray, landmarks: np.ndarray, alpha: float | np.ndarray,
                 texture: bool = True) -> np.ndarray:
        """Stylized faces (B,S,S,3) uint8: the generator, the style's refiner (where it has one and the runner was
        made with refine=True), then its texture; texture=False skips the texture stage (the background pass: the
        texture is matched by place in the face frame, so it belongs to face crops)."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        b = images.shape[0]
        if images.shape[1:] != (self.resolution, self.resolution, 3):
            raise ValueError(f"style {self.package.name!r} takes {self.resolution}x{self.resolution} aligned faces, "
                             f"got {images.shape[1:]}")
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(b, -1, 2)
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float32), (b,)).copy()
        out = self.checked(self.run(images_to_unit(images), landmarks, alpha), b)
        if self.refiner is not None:
            out = self.checked(self.refiner(np.ascontiguousarray(out, dtype=np.float32)), b)
        if texture and self.texture is not None:
            out = self.checked(self.texture(np.ascontiguousarray(out, dtype=np.float32)), b)
        return unit_to_images(out)

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


def texture_bank(package: StylePackage) -> tuple[np.ndarray, np.ndarray]:
    """(guides uint8, details int8) of a package's texture, built from its atlas (`core.texture_bank`)."""
    from core.images import load_image

    count, radius, sigma = settings(package.config.texture)
    file = package.path / TEXTURE_ATLAS
    try:
        crops = split_atlas(load_image(file, max_pixels=None), count, package.config.resolution)
    except ValueError as exc:
        raise StylePackageError(f"{file}: {exc}; re-export the style's texture") from None
    return build_bank(crops, radius, sigma)


def onnx_session(file: Path, threads: int | None = None, nchwc: bool = True):
    """An ONNX Runtime CPU session with the project's thread settings; a graph it cannot load is a package error.
    nchwc=False turns off ORT's NCHWc layout transformer: a graph whose only convolutions are the painting head's
    few narrow ones pays more for its layout reorders than they gain (docs/engine.md, "Layout per graph")."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or int(os.environ.get("PORTRAIT_THREADS", "2"))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    extra = {} if nchwc else {"disabled_optimizers": ["NchwcTransformer"]}
    try:
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"], **extra)
    except Exception as exc:  # onnxruntime's own exception classes
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise StylePackageError(f"{file} cannot be loaded by ONNX Runtime ({detail}); re-export or re-pull the "
                                "style") from None


class OnnxTexture:
    """texture.onnx with the package's bank: (B,3,S,S) float32 in [-1,1] -> the same with the artworks' detail."""

    def __init__(self, package: StylePackage, threads: int | None = None):
        file = package.path / TEXTURE_GRAPH
        self.session = onnx_session(file, threads)
        names = tuple(i.name for i in self.session.get_inputs())
        if names != TEXTURE_INPUTS:
            raise StylePackageError(f"{file} takes inputs {list(names)}, not {list(TEXTURE_INPUTS)}; re-export the "
                                    "style's texture")
        self.guides, self.details = texture_bank(package)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.session.run(None, dict(zip(TEXTURE_INPUTS, (image, self.guides, self.details))))[0]


class OnnxRefiner:
    """refiner.onnx: (B,3,S,S) float32 in [-1,1] -> the same, refined (verified before its first use)."""

    def __init__(self, package: StylePackage, threads: int | None = None):
        file = package.path / REFINER_GRAPH
        verify_refiner(file, package.config)
        self.session = onnx_session(file, threads)  # NCHWc helps its 16-wide convolutions (docs/engine.md)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.session.run(None, {REFINER_INPUTS[0]: image})[0]


class OnnxRunner(Runner):
    backend = "onnx"

    def __init__(self, package: StylePackage, variant: str = "fp32", threads: int | None = None,
                 texture: bool = True, refine: bool = True):
        super().__init__(package)
        file = package.onnx_path(variant)
        verify_onnx(file, package.config)  # once per file version: external data, inputs, one tiny inference
        self.variant = variant
        self.session = onnx_session(file, threads, package.config.onnx.get(variant, {}).get("nchwc", True))
        if refine and package.config.model.get("refiner"):
            self.refiner = OnnxRefiner(package, threads)
        if texture and package.config.texture:
            self.texture = OnnxTexture(package, threads)

    def run(self, image, landmarks, alpha):
        return self.session.run(None, dict(zip(ONNX_INPUTS, (image, landmarks, alpha))))[0]


class TorchRunner(Runner):
    backend = "torch"

    def __init__(self, package: StylePackage, device: str = "cpu", texture: bool = True, refine: bool = True):
        import torch

        from core.export import OnnxStyleModel, load_generator

        super().__init__(package)
        self.torch = torch
        self.device = device
        self.model = OnnxStyleModel(load_generator(package, device), self.resolution).to(device).eval()
        self._lock = threading.Lock()  # the generator caches warp bases lazily
        if refine and self.model.generator.config.refiner:
            refiner = self.model.generator.refiner

            def run_refiner(image: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return refiner(torch.from_numpy(image).to(device)).float().cpu().numpy()

            self.refiner = run_refiner
        if texture and package.config.texture:
            from core.texture import TextureGraph

            _, radius, sigma = settings(package.config.texture)
            graph, bank = TextureGraph(radius, sigma).eval(), [torch.from_numpy(a) for a in texture_bank(package)]

            def run_texture(image: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return graph(torch.from_numpy(image), *bank).numpy()

            self.texture = run_texture

    def run(self, image, landmarks, alpha):
        t = self.torch
        with self._lock, t.inference_mode():
            out = self.model(t.from_numpy(image).to(self.device), t.from_numpy(landmarks).to(self.device),
                             t.from_numpy(alpha).to(self.device))
        return out.float().cpu().numpy()


def get_runner(package: StylePackage, backend: str = "onnx", variant: str = "fp32", texture: bool = True,
               threads: int | None = None, refine: bool = True) -> Runner:
    """A cached runner; a package rewritten on disk (new mtime) gets a fresh one. texture=False and refine=False
    leave out the style's texture and refiner stages (the live camera, where their cost does not fit a frame);
    `threads` sets ONNX Runtime's intra-op threads (None: PORTRAIT_THREADS, default 2)."""
    if backend not in ("onnx", "torch"):
        raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")
    file = package.onnx_path(variant) if backend == "onnx" else package.weights_path
    key = (str(Path(file).resolve()), file.stat().st_mtime_ns, backend, variant, bool(texture), threads, bool(refine))
    with _LOCK:
        runner = _CACHE.get(key)
        if runner is None:
            runner = (OnnxRunner(package, variant, threads=threads, texture=texture, refine=refine)
                      if backend == "onnx" else TorchRunner(package, texture=texture, refine=refine))
            for old in [k for k in _CACHE if k[:2] != key[:2] and k[0] == key[0]]:
                del _CACHE[old]
            _CACHE[key] = runner
    return runner


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
