"""Style packages: the unit that is trained, loaded, exported, pushed and pulled.

A package is a folder written by `save_style` and read by `load_style`:
  style.json              StyleConfig (name, resolution, landmark template, model config, training summary,
                          provenance and license of the training data, software version, ONNX spec)
  generator.safetensors   generator weights (never pickle)
  model.onnx              fp32 graph: aligned face + landmarks + alpha -> stylized face
  model_fp16.onnx         fp16 weights and activations (fp32 inputs/outputs)
  model_int8.onnx         int8 dynamically quantized weights
  mobile.json             the machine-readable spec a phone app needs
  preview.png             before/after grid
  README.md               model card with YAML metadata
This module imports no torch: an inference-only process validates and runs packages without it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core import __version__, topology
from core.errors import StylePackageError, StyleNotFoundError

FORMAT_VERSION = 1
CONFIG_FILE = "style.json"
WEIGHTS_FILE = "generator.safetensors"
ONNX_FILES = {"fp32": "model.onnx", "fp16": "model_fp16.onnx", "int8": "model_int8.onnx"}
MOBILE_FILE = "mobile.json"
PREVIEW_FILE = "preview.png"
CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, *ONNX_FILES.values(), MOBILE_FILE, PREVIEW_FILE, CARD_FILE)
ALLOWED_SUFFIXES = {".json", ".safetensors", ".onnx", ".ort", ".png", ".jpg", ".jpeg", ".md"}
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ONNX_INPUTS = ("image", "landmarks", "alpha")
ONNX_OUTPUT = "stylized"
STYLIZE_MODES = ("face", "full")  # faces only, or the whole picture with the faces on top


@dataclass
class StyleConfig:
    """Everything about a style except its weights; serialised as style.json."""

    name: str
    resolution: int = 256
    template: list = field(default_factory=list)  # (73, 2) canonical landmarks, normalized [-1, 1]
    model: dict = field(default_factory=dict)  # core.generator.GeneratorConfig as a dict
    description: str = ""
    version: str = "1.0.0"
    title: str = ""
    license: str = "other"
    alpha_default: float = 1.0
    mode_default: str = "face"  # "full" for styles that recolour everything (a grey face on a colour photo jars)
    keep_shape: float = 0.0  # 0: every face takes the template's shape; 1: keeps its own plus the style's change
    tags: list = field(default_factory=list)
    training: dict = field(default_factory=dict)  # steps, artworks, wall time, hardware, final losses
    provenance: dict = field(default_factory=dict)  # {"artworks": {...}, "photos": {...}} sources and licenses
    onnx: dict = field(default_factory=dict)  # per-variant size/error/speed figures, filled at export
    software_version: str = __version__
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict, source: str = CONFIG_FILE) -> "StyleConfig":
        if not isinstance(data, dict):
            raise StylePackageError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise StylePackageError(f"{source}: unknown keys {unknown}; remove them or update Portrait Studio")
        if "name" not in data:
            raise StylePackageError(f"{source}: missing 'name'")
        config = cls(**data)
        config.validate(source)
        return config

    def validate(self, source: str = CONFIG_FILE) -> None:
        """Type and range checks with messages that name the key and the fix."""
        def bad(msg: str) -> StylePackageError:
            return StylePackageError(f"{source}: {msg}")

        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise bad(f"'name' {self.name!r} must be 1-64 lowercase letters, digits, '-' or '_'")
        if self.format_version != FORMAT_VERSION:
            raise bad(f"format_version {self.format_version!r} is not supported (expected {FORMAT_VERSION}); "
                      "update Portrait Studio or re-export the style")
        if not isinstance(self.resolution, int) or self.resolution % 8 or not 64 <= self.resolution <= 1024:
            raise bad(f"'resolution' {self.resolution!r} must be a multiple of 8 between 64 and 1024")
        t = self.template
        if (not isinstance(t, list) or len(t) != topology.NUM_CANONICAL
                or not all(isinstance(p, list) and len(p) == 2 for p in t)
                or not all(isinstance(v, (int, float)) and math.isfinite(v) and -2 <= v <= 2 for p in t for v in p)):
            raise bad(f"'template' must be {topology.NUM_CANONICAL} [x, y] pairs of finite numbers in [-2, 2]")
        for key in ("model", "training", "provenance", "onnx"):
            if not isinstance(getattr(self, key), dict):
                raise bad(f"'{key}' must be a JSON object")
        if not isinstance(self.alpha_default, (int, float)) or not 0 <= self.alpha_default <= 3:
            raise bad(f"'alpha_default' {self.alpha_default!r} must be a number in [0, 3]")
        if not isinstance(self.keep_shape, (int, float)) or not 0 <= self.keep_shape <= 1:
            raise bad(f"'keep_shape' {self.keep_shape!r} must be a number in [0, 1]")
        if self.mode_default not in STYLIZE_MODES:
            raise bad(f"'mode_default' {self.mode_default!r} must be one of {list(STYLIZE_MODES)}")
        if not isinstance(self.tags, list) or not all(isinstance(x, str) for x in self.tags):
            raise bad("'tags' must be a list of strings")

    @property
    def display_name(self) -> str:
        return self.title or self.name.replace("_", " ").replace("-", " ").title()


@dataclass
class StylePackage:
    """A validated package on disk."""

    path: Path
    config: StyleConfig

    @property
    def name(self) -> str:
        return self.config.name

    def onnx_path(self, variant: str = "fp32") -> Path:
        if variant not in ONNX_FILES:
            raise ValueError(f"unknown ONNX variant {variant!r}; choose one of {sorted(ONNX_FILES)}")
        return self.path / ONNX_FILES[variant]

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def preview_path(self) -> Path:
        return self.path / PREVIEW_FILE


def read_config(path: Path) -> StyleConfig:
    """Parse and validate style.json in a package folder."""
    file = Path(path) / CONFIG_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StylePackageError(f"{file} is missing: a style package needs {CONFIG_FILE}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StylePackageError(f"{file} is not valid JSON ({exc}); re-export the style") from None
    return StyleConfig.from_dict(data, source=str(file))


def check_files(path: Path) -> None:
    """Refuse pickles and unexpected files; require every package file."""
    for f in sorted(path.rglob("*")):
        if f.is_symlink():
            raise StylePackageError(f"{f} is a symbolic link; packages must hold plain files only")
        if f.is_dir():
            raise StylePackageError(f"{f} is a folder; packages are flat, remove it")
        suffix = f.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise StylePackageError(f"{f} is a pickle-capable file ({suffix}); it is refused because loading it "
                                    "can run code. Weights must be in generator.safetensors")
        if suffix not in ALLOWED_SUFFIXES:
            raise StylePackageError(f"{f} has a file type that is not allowed ({suffix or 'no suffix'}); "
                                    f"allowed: {sorted(ALLOWED_SUFFIXES)}")
    missing = [n for n in REQUIRED_FILES if not (path / n).is_file()]
    if missing:
        raise StylePackageError(f"{path} is missing {', '.join(missing)}; re-export it with `python -m studio train` "
                                "or save_style()")


def check_weights(path: Path, config: StyleConfig) -> None:
    """Read the safetensors header (no torch) and check the template and tensor shapes against the config."""
    import numpy as np
    from safetensors import safe_open

    file = path / WEIGHTS_FILE
    try:
        with safe_open(str(file), framework="numpy") as f:
            keys = set(f.keys())
            template = f.get_tensor("template") if "template" in keys else None
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise StylePackageError(f"{file} is not a readable safetensors file ({exc}); re-export the style") from None
    if template is None:
        raise StylePackageError(f"{file} has no 'template' tensor; it was not written by save_style")
    if template.shape != (topology.NUM_CANONICAL, 2) or not np.allclose(template, np.array(config.template), atol=1e-5):
        raise StylePackageError(f"{file}: the landmark template in the weights does not match {CONFIG_FILE}; "
                                "the files come from different styles, re-export the package")
    expected = expected_shapes(config)
    if expected is not None:
        with safe_open(str(file), framework="numpy") as f:
            actual = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        if actual != expected:
            diff = sorted(set(actual.items()) ^ set(expected.items()))[:4]
            raise StylePackageError(f"{file} does not match the model config in {CONFIG_FILE} (first differences: "
                                    f"{diff}); the weights belong to another configuration, re-export the package")


def expected_shapes(config: StyleConfig) -> dict | None:
    """Tensor shapes the config implies; None when torch is not loaded (inference-only process)."""
    import sys

    if "torch" not in sys.modules:
        return None
    import torch

    from core.generator import Generator, GeneratorConfig

    try:
        gcfg = GeneratorConfig.from_dict(config.model)
    except (TypeError, ValueError) as exc:
        raise StylePackageError(f"{CONFIG_FILE}: bad 'model' config ({exc})") from None
    with torch.device("meta"):
        gen = Generator(gcfg)
    return {k: tuple(v.shape) for k, v in gen.state_dict().items()}


def check_onnx(path: Path, config: StyleConfig) -> None:
    """Each ONNX file parses and has the documented inputs and output."""
    import onnx

    for variant, name in ONNX_FILES.items():
        file = path / name
        try:
            model = onnx.load(str(file), load_external_data=False)
        except Exception as exc:
            raise StylePackageError(f"{file} is not a valid ONNX model ({exc}); re-export the style") from None
        inputs = tuple(i.name for i in model.graph.input)
        outputs = tuple(o.name for o in model.graph.output)
        if inputs != ONNX_INPUTS or outputs != (ONNX_OUTPUT,):
            raise StylePackageError(f"{file} has inputs {inputs} and outputs {outputs}; expected {ONNX_INPUTS} -> "
                                    f"({ONNX_OUTPUT!r},). Re-export the style")
        dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        if dims[-2:] != [config.resolution, config.resolution]:
            raise StylePackageError(f"{file} takes {dims[-2:]} images but {CONFIG_FILE} says resolution "
                                    f"{config.resolution}; re-export the style")


def validate_package(path: str | Path, check_models: bool = True) -> StylePackage:
    """Validate a package folder completely and return it; raise StylePackageError naming the file and fix."""
    path = Path(path)
    if not path.is_dir():
        raise StyleNotFoundError(f"{path} is not a style package folder (it does not exist or is a file)")
    check_files(path)
    config = read_config(path)
    check_weights(path, config)
    if check_models:
        check_onnx(path, config)
    return StylePackage(path=path, config=config)


def load_style(name_or_path: str | Path, styles_dir: str | Path | None = None) -> StylePackage:
    """A package by folder path or by name inside `styles_dir` (default: the repository's styles/)."""
    path = Path(name_or_path)
    if not path.is_dir():
        root = Path(styles_dir) if styles_dir else default_styles_dir()
        candidate = root / str(name_or_path)
        if not candidate.is_dir():
            known = ", ".join(p.name for p in list_local_styles(root)) or "none"
            raise StyleNotFoundError(f"no style {str(name_or_path)!r}: not a folder and not in {root} "
                                     f"(installed: {known}); train one or pull one from the Hub")
        path = candidate
    return validate_package(path)


def default_styles_dir() -> Path:
    import os

    return Path(os.environ.get("PORTRAIT_STYLES", Path(__file__).resolve().parents[1] / "styles"))


def list_local_styles(styles_dir: str | Path | None = None) -> list[StylePackage]:
    """Valid packages in a styles folder, sorted by name; invalid folders are skipped (see `scan_styles`)."""
    return [p for p in scan_styles(styles_dir)[0]]


def scan_styles(styles_dir: str | Path | None = None) -> tuple[list[StylePackage], dict[str, str]]:
    """(valid packages, {folder: error message}) for every sub-folder of the styles folder."""
    root = Path(styles_dir) if styles_dir else default_styles_dir()
    good, bad = [], {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) \
            if root.is_dir() else []:
        try:
            good.append(validate_package(sub, check_models=False))
        except StylePackageError as exc:
            bad[sub.name] = str(exc)
    return good, bad


def write_package(directory: str | Path, files: dict[str, bytes], overwrite: bool = False) -> StylePackage:
    """Write a complete package atomically: build it in a sibling temp folder, validate, then rename into place.

    An existing package is replaced only with overwrite=True, and only after the new one validated.
    """
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise StylePackageError(f"{directory} already exists; choose another --out or pass overwrite")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        validate_package(tmp)
        install_dir(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return validate_package(directory)


def install_dir(src: Path, dst: Path) -> None:
    """Move a validated folder to `dst`, replacing an existing one with two renames (old kept until done)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{next(tempfile._get_candidate_names())}")
        dst.rename(old)
    try:
        src.rename(dst)
    except OSError:
        if old is not None:
            old.rename(dst)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
