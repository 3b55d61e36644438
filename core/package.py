"""Style packages: the unit that is trained, loaded, exported, pushed and pulled.

Why one module of this length: save, load and the validation of every file a package holds (schema, bounded JSON,
ONNX inputs and shapes, mobile spec, preview, card) must agree field by field, so they are read together.

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
Everything in a package may come from a stranger on the Hub, so every file is read bounded in size and nesting,
every field is type-checked, and a package `validate_package` accepts runs: its ONNX graphs answer one tiny input.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import struct
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core import __version__, topology
from core.config import MODEL_FIELDS, NAME_RE
from core.errors import StyleNotFoundError, StylePackageError
from core.texture_bank import TEXTURE_ATLAS, TEXTURE_GRAPH, texture_problem

logger = logging.getLogger(__name__)

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
ONNX_INPUTS = ("image", "landmarks", "alpha")
ONNX_OUTPUT = "stylized"
REFINER_GRAPH = "refiner.onnx"  # a style's refiner (GeneratorConfig.refiner): stylized (B,3,R,R) -> the same, refined;
REFINER_INPUTS = ("image",)  # its own graph so that live frames can leave it out (docs/engine.md, "The refiner")
STYLIZE_MODES = ("face", "full")  # faces only, or the whole picture with the faces on top

# Limits on what a package file may hold (the files the project writes stay far below them).
MAX_JSON_BYTES = 4 * 1024 * 1024  # any JSON file of a package (attribution.json lists every training photo)
MAX_JSON_DEPTH = 32  # nesting levels of a JSON file; the project's files use 4
MAX_INT_DIGITS = 30  # digits of one JSON integer (Python refuses more than 4300 with a bare ValueError)
MAX_TEXT = {"title": 200, "description": 10_000, "version": 64, "license": 64, "software_version": 64}
MAX_TAGS, MAX_TAG_CHARS = 32, 64
MAX_CARD_BYTES = 1024 * 1024
MAX_PREVIEW_BYTES = 32 * 1024 * 1024
MAX_PREVIEW_SIDE, MAX_PREVIEW_PIXELS = 8192, 4096 * 4096
MIN_TEMPLATE_SPAN = 0.4  # normalized units each way (the crop is 2 wide): a face template spans about 1.1 x 1.3
MIN_TEMPLATE_GAP = 1e-3  # between any two template points (duplicates make the TPS system singular)
MAX_TPS_CONDITION = 1e10  # condition number of the template's TPS system; face templates are near 2e4
TRAINING_COUNTS = ("steps", "artworks", "photos")  # training facts the app shows: non-negative integers
ONNX_METRICS = ("bytes", "max_abs_error", "mean_abs_error", "p999_abs_error", "median_ms_cpu_2threads")
MOBILE_FORMAT = "portrait-studio-mobile"
MOBILE_KEYS = ("format", "format_version", "style", "version", "files", "inputs", "outputs", "landmark_indices",
               "alignment")
MOBILE_OPTIONAL = ("keep_shape", "mode", "refiner")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PULL_PREFIX = ".pull-"  # work folders of a Hub pull inside the styles folder: .pull-<pid>-<random>
PULL_RE = re.compile(r"^\.pull-(?:(\d{1,10})-)?")  # group 1: the owner's pid (absent in older names)
REMOVED_RE = re.compile(r"^\..+\.removed-(\d{1,10})$")  # studio.hub.remove_local_style's trash, by pid
# write_package's build folder and install_dir's replaced package: `.<style>.new-<pid>-*`, `.<style>.old-<pid>-*`
REPLACE_RE = re.compile(r"^\..+\.(?:new|old)-(\d{1,10})-[^.]*$")
STALE_UNKNOWN_S = 10 * 60  # a leftover whose owner cannot be told is removed after this long
STALE_ALIVE_S = 24 * 3600  # ... and one whose owner pid is alive (or reused) after this long


# --- small checks ------------------------------------------------------------------------------------------------
def is_int(value) -> bool:
    """A JSON integer (bools are not numbers here, although Python says True == 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite JSON number (int or float, not bool, not NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_text(value, max_chars: int, multiline: bool = False) -> bool:
    """A string of at most `max_chars` characters without control characters (newlines and tabs if multiline)."""
    allowed = "\n\r\t" if multiline else ""
    return (isinstance(value, str) and len(value) <= max_chars
            and not any(ord(c) < 32 and c not in allowed or ord(c) == 127 for c in value))


def short(value, limit: int = 60) -> str:
    """repr() cut to `limit` characters, for quoting untrusted values in messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def field_problem(key: str, value, spec: tuple) -> str | None:
    """Why `value` does not fit a (kind, ...) spec from MODEL_FIELDS, or None."""
    kind = spec[0]
    if kind == "bool":
        ok, want = isinstance(value, bool), "true or false"
    elif kind == "int":
        ok, want = is_int(value) and spec[1] <= value <= spec[2], f"an integer from {spec[1]} to {spec[2]}"
    elif kind == "number":
        ok, want = is_number(value) and spec[1] <= value <= spec[2], f"a finite number in [{spec[1]}, {spec[2]}]"
    else:
        ok, want = isinstance(value, str) and value in spec[1], f"one of {list(spec[1])}"
    return None if ok else f"'{key}' is {short(value)}; it must be {want}"


def json_depth(value) -> int:
    """Nesting depth of a parsed JSON value (0 for a scalar), computed without recursion."""
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            depth = max(depth, level)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return depth


def _bounded_int(text: str) -> int:
    """json's parse_int hook: refuse integers longer than MAX_INT_DIGITS before converting them."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS} are allowed)")
    return int(text)


def read_bounded(file: Path, max_bytes: int) -> bytes:
    """The bytes of a package file, refused (not read) when it is over `max_bytes`."""
    try:
        with open(file, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise StylePackageError(f"{file} is missing; re-export the style") from None
    except OSError as exc:
        raise StylePackageError(f"{file} cannot be read ({exc.strerror or exc}); check the file") from None
    if len(data) > max_bytes:
        raise StylePackageError(f"{file} is larger than the {max_bytes:,}-byte limit for that file; it is not a "
                                "file Portrait Studio wrote, re-export the style")
    return data


def read_json(file: Path, max_bytes: int = MAX_JSON_BYTES):
    """Parse a package JSON file bounded in size, nesting and integer length; StylePackageError on any failure."""
    data = read_bounded(file, max_bytes)
    too_deep = StylePackageError(f"{file} is nested too deep (more than {MAX_JSON_DEPTH} levels); it is not a "
                                 "file Portrait Studio wrote, re-export the style")
    try:
        value = json.loads(data.decode("utf-8"), parse_int=_bounded_int)
    except RecursionError:
        raise too_deep from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise StylePackageError(f"{file} is not valid JSON ({exc}); re-export the style") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    return value


def template_problem(points: list) -> str | None:
    """Why a landmark template cannot drive the TPS warp (bunched or duplicate points, singular system), or None."""
    import numpy as np

    p = np.asarray(points, dtype=np.float64)
    span = p.max(0) - p.min(0)
    if span.min() < MIN_TEMPLATE_SPAN:
        return (f"its points span only {span[0]:.3f} x {span[1]:.3f} (normalized units, the crop is 2 x 2); a face "
                f"template spans at least {MIN_TEMPLATE_SPAN} each way")
    gaps = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1)) + np.eye(len(p)) * 1e9
    i, j = np.unravel_index(int(np.argmin(gaps)), gaps.shape)
    if gaps[i, j] < MIN_TEMPLATE_GAP:
        return f"points {min(i, j)} and {max(i, j)} coincide (closer than {MIN_TEMPLATE_GAP})"
    condition = np.linalg.cond(tps_system(p))
    if not np.isfinite(condition) or condition > MAX_TPS_CONDITION:
        return f"its thin-plate-spline system is singular (condition number {condition:.1e})"
    return None


def tps_system(points):
    """The TPS matrix [[K, P], [P^T, 0]] of control points (N, 2), K = r^2 log r^2 (as core.tps, in numpy)."""
    import numpy as np

    n = len(points)
    r2 = ((points[:, None] - points[None]) ** 2).sum(-1)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = r2 * np.log(np.maximum(r2, 1e-300))
    system[:n, n], system[n, :n] = 1, 1
    system[:n, n + 1:], system[n + 1:, :n] = points, points.T
    return system


def model_problem(model: dict) -> str | None:
    """Why a 'model' (generator config) object does not fit MODEL_FIELDS, or None; absent keys take defaults."""
    unknown = sorted(str(k) for k in model if k not in MODEL_FIELDS)
    if unknown:
        return f"unknown keys {unknown} in 'model'; remove them or update Portrait Studio"
    for key, value in model.items():
        problem = field_problem(f"model.{key}", value, MODEL_FIELDS[key])
        if problem:
            return problem
    return None


def onnx_report_problem(report: dict) -> str | None:
    """Why the 'onnx' object (per-variant size, error and speed figures, and whether ONNX Runtime's NCHWc layout
    suits the graph) is malformed, or None."""
    for variant, figures in report.items():
        if variant not in ONNX_FILES:
            return f"'onnx' has an unknown variant {short(variant)}; expected some of {sorted(ONNX_FILES)}"
        if not isinstance(figures, dict):
            return f"'onnx.{variant}' must be a JSON object"
        for key in ONNX_METRICS:
            if key in figures and not (is_number(figures[key]) and figures[key] >= 0):
                return f"'onnx.{variant}.{key}' is {short(figures[key])}; it must be a finite number >= 0"
        if "nchwc" in figures and not isinstance(figures["nchwc"], bool):
            return f"'onnx.{variant}.nchwc' is {short(figures['nchwc'])}; it must be true or false"
        if "file" in figures and figures["file"] != ONNX_FILES[variant]:
            return f"'onnx.{variant}.file' is {short(figures['file'])}; it must be {ONNX_FILES[variant]!r}"
    return None


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
    texture: dict = field(default_factory=dict)  # {} or core.texture_bank's {"count", "radius", "sigma"}: the
    # artworks' detail moved onto the output (texture.jpg + texture.onnx); packages before it have none
    software_version: str = __version__
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict, source: str = CONFIG_FILE) -> "StyleConfig":
        if not isinstance(data, dict):
            raise StylePackageError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - names)
        if unknown:
            raise StylePackageError(f"{source}: unknown keys {unknown}; remove them or update Portrait Studio")
        if "name" not in data:
            raise StylePackageError(f"{source}: missing 'name'")
        config = cls(**data)
        config.validate(source)
        return config

    def validate(self, source: str = CONFIG_FILE) -> None:
        """Type and range checks of every field, with messages that name the key and the fix."""
        problem = self.problem()
        if problem:
            raise StylePackageError(f"{source}: {problem}")

    def problem(self) -> str | None:
        """The first field that is of the wrong type or out of range, described, or None."""
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            return f"'name' {short(self.name)} must be 1-64 lowercase letters, digits, '-' or '_'"
        if not is_int(self.format_version) or self.format_version != FORMAT_VERSION:
            return (f"format_version {short(self.format_version)} is not supported (expected {FORMAT_VERSION}); "
                    "update Portrait Studio or re-export the style")
        if not is_int(self.resolution) or self.resolution % 8 or not 64 <= self.resolution <= 1024:
            return f"'resolution' {short(self.resolution)} must be a multiple of 8 between 64 and 1024"
        t = self.template
        if (not isinstance(t, list) or len(t) != topology.NUM_CANONICAL
                or not all(isinstance(p, list) and len(p) == 2 for p in t)
                or not all(is_number(v) and -2 <= v <= 2 for p in t for v in p)):
            return f"'template' must be {topology.NUM_CANONICAL} [x, y] pairs of finite numbers in [-2, 2]"
        why = template_problem(t)
        if why:
            return f"'template' is degenerate: {why}; re-export the style from its trained weights"
        for key in ("model", "training", "provenance", "onnx"):
            value = getattr(self, key)
            if not isinstance(value, dict):
                return f"'{key}' must be a JSON object"
            if json_depth(value) > MAX_JSON_DEPTH - 1:
                return f"'{key}' is nested too deep (more than {MAX_JSON_DEPTH - 1} levels)"
        for key, limit in MAX_TEXT.items():
            if not is_text(getattr(self, key), limit, multiline=key == "description"):
                return (f"'{key}' is {short(getattr(self, key))}; it must be a string of at most {limit} characters "
                        "without control characters")
        if not is_number(self.alpha_default) or not 0 <= self.alpha_default <= 3:
            return f"'alpha_default' {short(self.alpha_default)} must be a number in [0, 3]"
        if not is_number(self.keep_shape) or not 0 <= self.keep_shape <= 1:
            return f"'keep_shape' {short(self.keep_shape)} must be a number in [0, 1]"
        if not isinstance(self.mode_default, str) or self.mode_default not in STYLIZE_MODES:
            return f"'mode_default' {short(self.mode_default)} must be one of {list(STYLIZE_MODES)}"
        if (not isinstance(self.tags, list) or len(self.tags) > MAX_TAGS
                or not all(is_text(x, MAX_TAG_CHARS) and x for x in self.tags)):
            return (f"'tags' must be a list of at most {MAX_TAGS} strings of 1-{MAX_TAG_CHARS} characters, got "
                    f"{short(self.tags)}")
        for key in TRAINING_COUNTS:
            value = self.training.get(key)
            if value is not None and not (is_int(value) and 0 <= value <= 10 ** 12):
                return f"'training.{key}' is {short(value)}; it must be a non-negative integer"
        return (model_problem(self.model) or onnx_report_problem(self.onnx)
                or texture_problem(self.texture, self.resolution))

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
    """Parse (bounded) and validate style.json in a package folder."""
    file = Path(path) / CONFIG_FILE
    if not file.is_file():
        raise StylePackageError(f"{file} is missing: a style package needs {CONFIG_FILE}")
    return StyleConfig.from_dict(read_json(file), source=str(file))


def check_files(path: Path) -> None:
    """Refuse pickles, links, folders and unexpected files; require every package file."""
    for f in sorted(path.rglob("*")):
        if f.is_symlink():
            raise StylePackageError(f"{f} is a symbolic link; packages must hold plain files only")
        if f.is_dir():
            raise StylePackageError(f"{f} is a folder; packages are flat, remove it")
        if not f.is_file():
            raise StylePackageError(f"{f} is not a plain file (a pipe, socket or device); remove it")
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
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
            ok = shapes.get("template") == (topology.NUM_CANONICAL, 2)
            template = f.get_tensor("template") if ok else None
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise StylePackageError(f"{file} is not a readable safetensors file ({exc}); re-export the style") from None
    if "template" not in shapes:
        raise StylePackageError(f"{file} has no 'template' tensor; it was not written by save_style")
    if template is None or not np.allclose(template, np.array(config.template), atol=1e-5):
        raise StylePackageError(f"{file}: the landmark template in the weights does not match {CONFIG_FILE}; "
                                "the files come from different styles, re-export the package")
    expected = expected_shapes(config)
    if expected is not None and shapes != expected:
        diff = sorted(set(shapes.items()) ^ set(expected.items()))[:4]
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
        with torch.device("meta"):
            gen = Generator(GeneratorConfig.from_dict(config.model))
    except Exception as exc:  # whatever the generator refuses, the package is what is wrong
        raise StylePackageError(f"{CONFIG_FILE}: bad 'model' config ({type(exc).__name__}: {exc}); re-export the "
                                "style") from None
    return {k: tuple(v.shape) for k, v in gen.state_dict().items()}


def mobile_problem(spec, config: StyleConfig) -> str | None:
    """Why mobile.json (as `core.export.mobile_spec` writes it) does not describe this style, or None."""
    if not isinstance(spec, dict):
        return f"expected a JSON object, got {type(spec).__name__}"
    missing = [k for k in MOBILE_KEYS if k not in spec]
    unknown = sorted(str(k) for k in spec if k not in MOBILE_KEYS + MOBILE_OPTIONAL)
    if missing or unknown:
        return f"missing keys {missing} / unknown keys {unknown}"
    if spec["format"] != MOBILE_FORMAT or not is_int(spec["format_version"]) or spec["format_version"] != 1:
        return f"'format' must be {MOBILE_FORMAT!r} with 'format_version' 1"
    if not is_text(spec["style"], 64):
        return "'style' must be the style's name, a short string"  # a hand-renamed copy may keep the old one
    if not is_text(spec["version"], MAX_TEXT["version"]):
        return f"'version' must be a string of at most {MAX_TEXT['version']} characters"
    if spec["files"] != dict(ONNX_FILES):
        return f"'files' must be {dict(ONNX_FILES)}"
    r = config.resolution
    ports = {"inputs": {"image": ["batch", 3, r, r], "landmarks": ["batch", topology.NUM_MESH_POINTS, 2],
                        "alpha": ["batch"]}, "outputs": {ONNX_OUTPUT: ["batch", 3, r, r]}}
    for side, shapes in ports.items():
        value = spec[side]
        if not isinstance(value, dict) or sorted(value) != sorted(shapes):
            return f"'{side}' must describe exactly {sorted(shapes)}"
        for name, shape in shapes.items():
            port = value[name]
            if not isinstance(port, dict) or port.get("shape") != shape or port.get("dtype") != "float32":
                return (f"'{side}.{name}' must have shape {shape} and dtype float32 ({CONFIG_FILE} says resolution "
                        f"{r})")
    if spec["landmark_indices"] != list(topology.CANONICAL_INDICES):
        return f"'landmark_indices' must be the {topology.NUM_CANONICAL} canonical Face Mesh indices"
    alignment = spec["alignment"]
    if not isinstance(alignment, dict) or not is_int(alignment.get("size")) or alignment["size"] != r:
        return f"'alignment.size' must be {r}, the resolution in {CONFIG_FILE}"
    keep = spec.get("keep_shape", {"default": 0})
    if not isinstance(keep, dict) or not is_number(keep.get("default")) or not 0 <= keep["default"] <= 1:
        return "'keep_shape.default' must be a number in [0, 1]"
    mode = spec.get("mode", {"default": "face"})
    if not isinstance(mode, dict) or not isinstance(mode.get("default"), str) or mode["default"] not in STYLIZE_MODES:
        return f"'mode.default' must be one of {list(STYLIZE_MODES)}"
    refiner = spec.get("refiner")
    if refiner is not None and (not isinstance(refiner, dict) or refiner.get("file") != REFINER_GRAPH
                                or not config.model.get("refiner")):
        return f"'refiner' must be {{'file': {REFINER_GRAPH!r}, ...}} and only in a style whose model has a refiner"
    return None


def check_mobile(path: Path, config: StyleConfig) -> None:
    """mobile.json is bounded JSON that describes this very style (name, resolution, files, tensors)."""
    file = path / MOBILE_FILE
    problem = mobile_problem(read_json(file), config)
    if problem:
        raise StylePackageError(f"{file}: {problem}; re-export the style (save_style writes it)")


def png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first 24 bytes of a PNG file (signature and IHDR chunk), or None if not a PNG."""
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_preview(path: Path) -> None:
    """preview.png is a PNG of bounded size and pixel count that decodes completely."""
    from PIL import Image

    file = path / PREVIEW_FILE
    size = png_size(read_bounded(file, MAX_PREVIEW_BYTES)[:24])
    if size is None:
        raise StylePackageError(f"{file} is not a PNG image; re-export the style (save_style writes it)")
    w, h = size
    if not (1 <= w <= MAX_PREVIEW_SIDE and 1 <= h <= MAX_PREVIEW_SIDE) or w * h > MAX_PREVIEW_PIXELS:
        raise StylePackageError(f"{file} claims {w} x {h} pixels; a preview may have at most {MAX_PREVIEW_SIDE} per "
                                f"side and {MAX_PREVIEW_PIXELS:,} in all. Save a smaller preview")
    try:
        with Image.open(file) as image:
            image.load()
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        raise StylePackageError(f"{file} is a damaged PNG ({type(exc).__name__}: {exc}); re-export the style") \
            from None


def check_card(path: Path) -> None:
    """README.md (the model card) is UTF-8 text of bounded size."""
    file = path / CARD_FILE
    try:
        read_bounded(file, MAX_CARD_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StylePackageError(f"{file} is not UTF-8 text ({exc}); re-export the style or fix the model card") \
            from None


def check_other_json(path: Path) -> None:
    """Every other JSON file of the package (attribution.json, ...) is bounded, valid JSON."""
    for file in sorted(path.glob("*.json")):
        if file.name not in (CONFIG_FILE, MOBILE_FILE):
            read_json(file)


def onnx_tensors(nodes, graphs=()):
    """Every TensorProto in ONNX nodes and graphs: initializers, sparse tensors, attributes, subgraphs."""
    stack = [*graphs, *nodes]
    while stack:
        item = stack.pop()
        if hasattr(item, "initializer"):  # a GraphProto
            yield from item.initializer
            for sparse in item.sparse_initializer:
                yield from (sparse.values, sparse.indices)
            stack.extend(item.node)
            continue
        for attr in item.attribute:  # a NodeProto
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield from (attr.sparse_tensor.values, attr.sparse_tensor.indices)
            for sparse in attr.sparse_tensors:
                yield from (sparse.values, sparse.indices)
            if attr.HasField("g"):
                stack.append(attr.g)
            stack.extend(attr.graphs)


def check_onnx_file(file: Path, config: StyleConfig) -> None:
    """The ONNX file parses, has the documented inputs and output at the config's resolution and no external data."""
    model = check_self_contained(file, ONNX_INPUTS, (ONNX_OUTPUT,))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    if dims[-2:] != [config.resolution, config.resolution]:
        raise StylePackageError(f"{file} takes {dims[-2:]} images but {CONFIG_FILE} says resolution "
                                f"{config.resolution}; re-export the style")


def check_self_contained(file: Path, inputs: tuple, outputs: tuple | None):
    """The ONNX file parses, has these input (and output, unless None) names and keeps no data in external files:
    its ModelProto."""
    import onnx

    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception as exc:
        raise StylePackageError(f"{file} is not a valid ONNX model ({exc}); re-export the style") from None
    names = tuple(i.name for i in model.graph.input)
    out_names = tuple(o.name for o in model.graph.output)
    if names != inputs or (outputs is not None and out_names != outputs) or len(out_names) != 1:
        want = f"{inputs} -> {outputs}" if outputs else f"{inputs} -> one output"
        raise StylePackageError(f"{file} has inputs {names} and outputs {out_names}; expected {want}. Re-export the "
                                "style")
    functions = [n for f in model.functions for n in f.node]
    for tensor in onnx_tensors(functions, [model.graph]):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            where = next((e.value for e in tensor.external_data if e.key == "location"), "?")
            raise StylePackageError(f"{file}: tensor {short(tensor.name)} keeps its data in an external file "
                                    f"({short(where)}); style packages must be self-contained, re-export the style "
                                    "(save_style writes every weight inside the ONNX file)")
    return model


def probe_inputs(config: StyleConfig, batch: int = 1) -> dict:
    """The smallest input the graph takes: a grey face with the template's landmarks, alpha at its default."""
    import numpy as np

    from core.aligned import template_mesh

    r = config.resolution
    landmarks = np.repeat(template_mesh(np.asarray(config.template, np.float32), r)[None], batch, 0)
    return {"image": np.zeros((batch, 3, r, r), np.float32), "landmarks": landmarks,
            "alpha": np.full((batch,), config.alpha_default, np.float32)}


def answer_once(file: Path, feeds: dict, size: int):
    """The outputs of one inference of an ONNX file in a quick one-off session; a graph that does not load or run is
    a package error."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = 1, 1, 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # a one-off run: load fast
    try:
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"]).run(None, feeds)
    except Exception as exc:  # onnxruntime raises its own classes (Fail, InvalidArgument, ...)
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise StylePackageError(f"{file} does not run in ONNX Runtime on a {size}x{size} face ({detail}); re-export "
                                "the style") from None


def check_onnx_runs(file: Path, config: StyleConfig) -> None:
    """One batch-1 inference: the graph loads in ONNX Runtime and answers (1, 3, R, R) finite floats."""
    check_answer(file, answer_once(file, probe_inputs(config), config.resolution), config.resolution)


def check_answer(file: Path, out: list, r: int) -> None:
    """A graph's answer to one (1, 3, r, r) face is one (1, 3, r, r) array of finite floats."""
    import numpy as np

    shape = tuple(getattr(out[0], "shape", ())) if len(out) == 1 else f"{len(out)} outputs"
    if shape != (1, 3, r, r):
        raise StylePackageError(f"{file} answers a (1, 3, {r}, {r}) face with an output of shape {shape}; expected "
                                f"(1, 3, {r}, {r}). The graph is not a Portrait Studio export, re-export the style")
    if not np.issubdtype(out[0].dtype, np.floating) or not np.isfinite(out[0]).all():
        raise StylePackageError(f"{file} answers a test face with {out[0].dtype} values that are not all finite; "
                                "the weights are broken, re-export the style")


_VERIFIED_ONNX: set = set()  # file identities (device, inode, size, times, resolution) that passed verify_onnx


def verify_onnx(file: Path, config: StyleConfig) -> None:
    """check_onnx_file and check_onnx_runs, once per file version (a rename keeps it verified)."""
    st = Path(file).stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, config.resolution)
    if key in _VERIFIED_ONNX:
        return
    check_onnx_file(file, config)
    check_onnx_runs(file, config)
    _VERIFIED_ONNX.add(key)


def check_onnx(path: Path, config: StyleConfig) -> None:
    """Each ONNX variant is self-contained, has the documented inputs and output and answers one tiny input; so does
    the refiner's graph where the style has one."""
    for name in ONNX_FILES.values():
        verify_onnx(path / name, config)
    if config.model.get("refiner"):
        verify_refiner(path / REFINER_GRAPH, config)


def verify_refiner(file: Path, config: StyleConfig) -> None:
    """refiner.onnx is self-contained, takes ("image",) and answers a grey (1, 3, R, R) face with the same shape:
    once per file version, like `verify_onnx`."""
    import numpy as np

    st = Path(file).stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, config.resolution, REFINER_GRAPH)
    if key in _VERIFIED_ONNX:
        return
    r = config.resolution
    check_self_contained(file, REFINER_INPUTS, None)
    check_answer(file, answer_once(file, {"image": np.zeros((1, 3, r, r), np.float32)}, r), r)
    _VERIFIED_ONNX.add(key)


def validate_package(path: str | Path, check_models: bool = True) -> StylePackage:
    """Validate a package folder completely and return it; raise StylePackageError naming the file and fix.

    check_models=False skips the ONNX graphs (a quick listing); the runtime verifies a graph before first use."""
    path = Path(path)
    if not path.is_dir():
        raise StyleNotFoundError(f"{path} is not a style package folder (it does not exist or is a file)")
    check_files(path)
    config = read_config(path)
    check_weights(path, config)
    check_mobile(path, config)
    check_preview(path)
    check_card(path)
    check_other_json(path)
    check_texture_files(path, config)
    check_refiner_file(path, config)
    if check_models:
        check_onnx(path, config)
    return StylePackage(path=path, config=config)


def check_texture_files(path: Path, config: StyleConfig) -> None:
    """A style with a texture has its atlas and its graph; the atlas's size is checked when it is read."""
    if not config.texture:
        return
    missing = [n for n in (TEXTURE_ATLAS, TEXTURE_GRAPH) if not (path / n).is_file()]
    if missing:
        raise StylePackageError(f"{path} has a 'texture' in {CONFIG_FILE} but no {', '.join(missing)}; re-export it "
                                "or remove 'texture' from style.json")


def check_refiner_file(path: Path, config: StyleConfig) -> None:
    """A style whose model has a refiner carries its graph: the generator graphs end before it (the live camera
    runs them alone), stills and video files run refiner.onnx after them."""
    if config.model.get("refiner") and not (path / REFINER_GRAPH).is_file():
        raise StylePackageError(f"{path} has a refiner in {CONFIG_FILE}'s model but no {REFINER_GRAPH}; re-export "
                                "its graphs (scripts/refresh_graphs.py) or pull the style again")


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
    return Path(os.environ.get("PORTRAIT_STYLES", Path(__file__).resolve().parents[1] / "styles"))


def list_local_styles(styles_dir: str | Path | None = None) -> list[StylePackage]:
    """Valid packages in a styles folder, sorted by name; invalid folders are skipped (see `scan_styles`)."""
    return [p for p in scan_styles(styles_dir)[0]]


def scan_styles(styles_dir: str | Path | None = None) -> tuple[list[StylePackage], dict[str, str]]:
    """(valid packages, {folder: why it was skipped}) for every sub-folder of the styles folder.

    One broken folder never hides the others: whatever it raises is reported for it and logged."""
    root = Path(styles_dir) if styles_dir else default_styles_dir()
    good, bad = [], {}
    if not root.is_dir():
        return good, bad
    clean_leftovers(root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        try:
            good.append(validate_package(sub, check_models=False))
        except StylePackageError as exc:
            bad[sub.name] = str(exc)
        except Exception as exc:  # a bug or an OS error on one package must not take the others down
            bad[sub.name] = f"{sub} cannot be read ({type(exc).__name__}: {exc}); fix or remove that folder"
        if sub.name in bad:
            logger.warning("skipped style folder %s: %s", sub, bad[sub.name])
    return good, bad


# --- leftovers of interrupted work -------------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (True when that cannot be told, e.g. on Windows)."""
    if pid == os.getpid() or os.name == "nt":  # os.kill on Windows would terminate the process
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def leftover_owner(name: str) -> int | None | bool:
    """The pid in a work folder's name (`.pull-<pid>-*`, `.<style>.removed-<pid>`, `.<style>.new-<pid>-*`,
    `.<style>.old-<pid>-*`), None if it names none, False if the folder is not a work folder at all."""
    match = PULL_RE.match(name) or REMOVED_RE.match(name) or REPLACE_RE.match(name)
    if match is None:
        return False
    return int(match.group(1)) if match.group(1) else None


def is_stale(folder: Path, now: float | None = None) -> bool:
    """A work folder left by a killed process: its owner is dead, or it is too old to be in use."""
    owner = leftover_owner(folder.name)
    if owner is False:
        return False
    try:
        age = (time.time() if now is None else now) - folder.lstat().st_mtime
    except OSError:
        return False
    if owner is None:
        return age > STALE_UNKNOWN_S
    return not pid_alive(owner) or age > STALE_ALIVE_S


def clean_leftovers(root: Path) -> list[Path]:
    """Delete stale work folders (a pull or removal killed midway) from a styles folder; returns what went."""
    removed = []
    try:
        candidates = [p for p in Path(root).iterdir() if p.name.startswith(".") and p.is_dir() and not p.is_symlink()]
    except OSError:
        return removed
    for folder in candidates:
        if is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                logger.info("removed %s, left by an interrupted pull or removal", folder)
                removed.append(folder)
    return removed


# --- writing -----------------------------------------------------------------------------------------------------
def write_package(directory: str | Path, files: dict[str, bytes], overwrite: bool = False) -> StylePackage:
    """Write a complete package atomically: build it in a sibling temp folder, validate, then rename into place.

    An existing package is replaced only with overwrite=True, and only after the new one validated.
    """
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise StylePackageError(f"{directory} already exists; choose another --out or pass overwrite")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.new-{os.getpid()}-", dir=directory.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        validate_package(tmp)
        install_dir(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return validate_package(directory)


def rename_style(path: Path, name: str) -> None:
    """Give the package in `path` another style name: rewrite 'name' in style.json and 'style' in mobile.json."""
    if not NAME_RE.match(name):
        raise StylePackageError(f"{name!r} is not a style name (1-64 lowercase letters, digits, '-' or '_')")
    for file, key in ((path / CONFIG_FILE, "name"), (path / MOBILE_FILE, "style")):
        data = read_json(file)
        if not isinstance(data, dict):
            raise StylePackageError(f"{file}: expected a JSON object, got {type(data).__name__}")
        data[key] = name
        file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def install_dir(src: Path, dst: Path) -> None:
    """Move a validated folder to `dst`, replacing an existing one with two renames (old kept until done)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}-{next(tempfile._get_candidate_names())}")
        dst.rename(old)
    try:
        src.rename(dst)
    except OSError:
        if old is not None:
            old.rename(dst)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
