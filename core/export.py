"""Write style packages from a torch generator: ONNX export (fp32, fp16, int8) with parity checks,
mobile spec, model card and preview, assembled atomically by `core.package.write_package`."""

from __future__ import annotations

import io
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core import topology
from core.aligned import template_mesh
from core.config import CARD_TAGS, PROJECT_TAG
from core.errors import StylePackageError
from core.generator import Generator, GeneratorConfig
from core.package import (CARD_FILE, CONFIG_FILE, MOBILE_FILE, ONNX_FILES, ONNX_INPUTS, ONNX_OUTPUT, PREVIEW_FILE,
                          REFINER_GRAPH, REFINER_INPUTS, WEIGHTS_FILE, StyleConfig, StylePackage, write_package)
from core.runtime import onnx_session
from core.templates import PHOTO_TEMPLATE

OPSET = 17
PARITY_TOL = 1e-3  # mean abs error of the fp32 graph vs torch, output in [-1, 1]
PARITY_MAX = 2 / 255  # and for 99.9% of the values: under one 8-bit level, which is all the engine keeps. A
# quantizing head (soft palette, edge masks) turns float noise at a colour boundary into up to ~1e-2 at a few
# dozen of 400k values (docs/training.md); a wrong graph is off everywhere


class OnnxStyleModel(nn.Module):
    """The exported graph: aligned face (B,3,R,R) in [-1,1], MediaPipe mesh landmarks (B,478,2) in pixels of the
    aligned face, alpha (B,) -> stylized face (B,3,R,R) in [-1,1], before any refiner (that is refiner.onnx, which
    the live camera leaves out)."""

    def __init__(self, generator: Generator, resolution: int):
        super().__init__()
        self.generator = generator
        self.resolution = resolution
        self.register_buffer("index", torch.tensor(topology.CANONICAL_INDICES, dtype=torch.long), persistent=False)

    def forward(self, image: torch.Tensor, landmarks: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        points = landmarks.index_select(1, self.index) * (2.0 / self.resolution) - 1.0
        out = self.generator(image, points, alpha, refine=False)  # the refiner is refiner.onnx
        config = self.generator.config
        if not (config.global_warp or config.local_warp):  # keep the documented inputs in a warp-free graph
            out = out + 0.0 * (landmarks.sum() + alpha.sum())
        return out


def export_onnx(generator: Generator, resolution: int, path: str | Path) -> Path:
    """Trace the generator to an opset-17 ONNX file with a dynamic batch axis."""
    model = OnnxStyleModel(generator, resolution).eval()
    generator.prepare(resolution, resolution)
    image, landmarks, alpha = example_inputs(generator, resolution)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # static sizes are intended
        torch.onnx.export(
            model, (image, landmarks, alpha), str(path), dynamo=False, opset_version=OPSET,
            input_names=list(ONNX_INPUTS), output_names=[ONNX_OUTPUT],
            dynamic_axes={"image": {0: "batch"}, "landmarks": {0: "batch"}, "alpha": {0: "batch"},
                          ONNX_OUTPUT: {0: "batch"}})
    return Path(path)


def export_refiner(generator: Generator, resolution: int, path: str | Path) -> Path:
    """Trace the generator's refiner to refiner.onnx: image (B,3,R,R) in [-1,1] -> the same, refined."""
    image = torch.rand(1, 3, resolution, resolution, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        torch.onnx.export(generator.refiner.eval(), (image,), str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(REFINER_INPUTS), output_names=[ONNX_OUTPUT],
                          dynamic_axes={"image": {0: "batch"}, ONNX_OUTPUT: {0: "batch"}})
    return Path(path)


def check_refiner_graph(generator: Generator, resolution: int, file: Path) -> None:
    """refiner.onnx against the torch refiner on two stylized random faces; refuses a graph that differs."""
    image, landmarks, alpha = example_inputs(generator, resolution, batch=2, seed=2)
    with torch.no_grad():
        painted = OnnxStyleModel(generator, resolution).eval()(image, landmarks, alpha)
        ref = generator.refiner(painted).numpy()
    err = np.abs(onnx_session(file, 2).run(None, {"image": painted.numpy()})[0] - ref)
    if err.mean() > PARITY_TOL or np.quantile(err, 0.999) > PARITY_MAX:
        raise StylePackageError(f"ONNX refiner differs from torch by {err.mean():.2e} on average, "
                                f"{np.quantile(err, 0.999):.2e} at the 99.9th percentile; the package was not written")


def example_inputs(generator: Generator, resolution: int, batch: int = 1, seed: int = 0):
    """Random faces with landmarks near the style template (mesh layout, aligned-frame pixels)."""
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, resolution, resolution, generator=g) * 2 - 1
    template = generator.template.detach().cpu().float().numpy()
    mesh = torch.from_numpy(template_mesh(template, resolution)).repeat(batch, 1, 1)
    noise = torch.randn(batch, topology.NUM_CANONICAL, 2, generator=g) * resolution * 0.02
    mesh[:, topology.CANONICAL_INDICES] += noise
    alpha = torch.ones(batch)
    return image, mesh, alpha


def to_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights and activations, fp32 inputs and outputs (keep_io_types) for drop-in use; grid sampling stays
    fp32. A graph with the painting head gets only its convolutions in fp16 (`conv_fp16`): the library converter
    changed that graph's output by 0.047 on average even with every op blocked (docs/training.md)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    if any("/art/" in n.name for n in model.graph.node):
        onnx.save(conv_fp16(model), str(dst))
        return dst
    model = convert_float_to_float16(model, keep_io_types=True, op_block_list=["GridSample", "Resize"])
    onnx.save(model, str(dst))
    return dst


def conv_fp16(model):
    """Each Conv with fp16 weights and activations between two Casts; everything else as it was (ModelProto)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Conv" or any(i not in inits for i in node.input[1:]):
            nodes.append(node)
            continue
        for name in node.input[1:]:  # weight and bias initializers to fp16 (each used by this conv only)
            t = inits[name]
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype("float16"), name))
        x16, y16 = node.input[0] + "__fp16_" + node.name, node.output[0] + "__fp16"
        nodes.append(helper.make_node("Cast", [node.input[0]], [x16], to=TensorProto.FLOAT16,
                                      name=node.name + "_cast_in"))
        conv = onnx.NodeProto()
        conv.CopyFrom(node)
        conv.input[0], conv.output[0] = x16, y16
        nodes.append(conv)
        nodes.append(helper.make_node("Cast", [y16], [node.output[0]], to=TensorProto.FLOAT, name=node.name + "_cast_out"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def to_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantization of weights (no calibration data needed)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs a pre-processing hint on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return dst


def onnx_report(generator: Generator, resolution: int, folder: Path, repeats: int = 5) -> dict:
    """Max abs error vs torch and median latency (batch 1, 2 threads) for each ONNX variant, and `nchwc`: whether
    the runtime keeps ORT's NCHWc layout transformer. It helps a decoder CNN and costs a graph without one (an inert
    decoder leaves only the head's narrow convolutions: 0.82-0.89x the time without it, docs/engine.md). A refiner
    is its own graph (refiner.onnx), which always keeps it (62 against 69 ms at 256 px)."""
    image, landmarks, alpha = example_inputs(generator, resolution, batch=2, seed=1)
    with torch.no_grad():
        ref = OnnxStyleModel(generator, resolution).eval()(image, landmarks, alpha).numpy()
        nchwc = not generator.inert()
    feeds = {"image": image.numpy(), "landmarks": landmarks.numpy(), "alpha": alpha.numpy()}
    one = {k: v[:1] for k, v in feeds.items()}
    report = {}
    for variant, name in ONNX_FILES.items():
        sess = onnx_session(folder / name, 2, nchwc)
        out = sess.run(None, feeds)[0]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            sess.run(None, one)
            times.append((time.perf_counter() - t0) * 1000)
        report[variant] = {"file": name, "bytes": (folder / name).stat().st_size,
                           "max_abs_error": float(np.abs(out - ref).max()),
                           "mean_abs_error": float(np.abs(out - ref).mean()),
                           "p999_abs_error": float(np.quantile(np.abs(out - ref), 0.999)),
                           "median_ms_cpu_2threads": float(np.median(times)), "nchwc": nchwc}
    fp32 = report["fp32"]
    if fp32["mean_abs_error"] > PARITY_TOL or fp32["p999_abs_error"] > PARITY_MAX:
        raise StylePackageError(f"ONNX fp32 export differs from torch by {fp32['mean_abs_error']:.2e} on average, "
                                f"{fp32['p999_abs_error']:.2e} at the 99.9th percentile (limits {PARITY_TOL}, "
                                f"{PARITY_MAX:.2e}); the package was not written")
    return report


def mobile_spec(config: StyleConfig) -> dict:
    """What a phone app needs to run the ONNX file with its own MediaPipe face-landmark detector."""
    r = config.resolution
    return {
        "format": "portrait-studio-mobile", "format_version": 1, "style": config.name, "version": config.version,
        "files": dict(ONNX_FILES),
        "inputs": {
            "image": {"shape": ["batch", 3, r, r], "dtype": "float32", "layout": "NCHW, RGB",
                      "range": [-1.0, 1.0], "note": "the face aligned with the alignment recipe in the model card"},
            "landmarks": {"shape": ["batch", topology.NUM_MESH_POINTS, 2], "dtype": "float32",
                          "range": [0, r], "note": "MediaPipe Face Mesh (refine_landmarks) x, y in pixels of "
                          "the aligned face; only `landmark_indices` are read"},
            "alpha": {"shape": ["batch"], "dtype": "float32", "range": [0.0, 3.0], "default": config.alpha_default,
                      "note": "geometry strength: 0 keeps the photo's geometry, 1 the style's, >1 exaggerates; "
                      "scale it down for turned heads and closed eyes (core/engine.py geometry_damping)"},
        },
        "keep_shape": {"default": config.keep_shape, "photo_template": PHOTO_TEMPLATE,
                       "note": "feed landmarks p + keep_shape * (P - p) at `landmark_indices`, P = photo_template "
                               "in aligned pixels ((x + 1) * size / 2): 0 gives every face the style's template "
                               "shape, 1 keeps each face's own shape plus the style's average change"},
        "mode": {"default": config.mode_default, "note": "face: stylize the aligned faces only; full: also the "
                 "whole frame in overlapping tiles (landmarks = the template, alpha 0), faces pasted on top"},
        "outputs": {ONNX_OUTPUT: {"shape": ["batch", 3, r, r], "dtype": "float32", "layout": "NCHW, RGB",
                                  "range": [-1.0, 1.0]}},
        **({"refiner": {"file": REFINER_GRAPH, "inputs": {"image": "the output above"}, "outputs": {
            ONNX_OUTPUT: "the same, refined"}, "note": "optional: the style's refiner, for photos and video; "
            "leave it out where a frame's budget is tight (the live camera does)"}} if config.model.get("refiner")
           else {}),
        "landmark_indices": list(topology.CANONICAL_INDICES),
        "alignment": {
            "recipe": "FFHQ-style similarity transform (core/alignment.py)",
            "right_eye_indices": topology.GROUPS["right_eye"], "left_eye_indices": topology.GROUPS["left_eye"],
            "mouth_corner_indices": [61, 291], "margin": 1.0, "size": r,
            "steps": ["e0, e1 = mean of right_eye / left_eye points; eye_avg = (e0 + e1) / 2; "
                      "eye_to_eye = e1 - e0; mouth_avg = mean of the mouth corners; eye_to_mouth = mouth_avg - eye_avg",
                      "x = eye_to_eye - rot90(eye_to_mouth), rot90(v) = (-v.y, v.x); x /= |x|; "
                      "x *= max(2.0 * |eye_to_eye|, 1.8 * |eye_to_mouth|) * margin; y = rot90(x)",
                      "c = eye_avg + 0.1 * eye_to_mouth; the quad c - x - y, c - x + y, c + x + y, c + x - y "
                      "maps to the corners of the size x size crop"],
        },
    }


CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ description }}

![before and after](preview.png)

A real-time portrait style for Portrait Studio, an implementation of
*Realtime Data-Efficient Portrait Stylization Based On Geometric Alignment* (arXiv 2211.15549). A light
encoder-decoder warps its features with thin-plate splines from the photo's facial landmarks to this style's
landmark template, so the face takes the style's geometry as well as its texture.

## Use

```bash
python -m studio stylize selfie.jpg --style {{ name }} --out out/
```

{% if keep_shape %}Faces keep {{ (keep_shape * 100)|round|int }} % of their own shape (`keep_shape`): the warp
applies the style's average change to each face instead of giving every face the template's shape.
{% endif %}{% if mode == "full" %}This style recolours the whole picture: by default it stylizes the background too (`--mode full`),
with the faces aligned on top; `--mode face` changes the faces only.{% else %}By default only the faces change
(`--mode face`); `--mode full` stylizes the whole picture with the faces aligned on top.{% endif %}

## Files

| file | what |
|---|---|
{% for row in files %}| `{{ row[0] }}` | {{ row[1] }} |
{% endfor %}

## ONNX model

Inputs (batch first, NCHW, RGB):

- `image` float32 `[B, 3, {{ r }}, {{ r }}]` in [-1, 1]: the face aligned as described below;
- `landmarks` float32 `[B, 478, 2]`: MediaPipe Face Mesh points (with iris refinement) in pixels of the aligned
  face; the graph reads indices {{ indices }};
- `alpha` float32 `[B]`: geometry strength (0 photo geometry, 1 style geometry, >1 exaggerated; default {{ alpha }}).

Output: `stylized` float32 `[B, 3, {{ r }}, {{ r }}]` in [-1, 1].

Alignment: a similarity transform that puts the eye centres and the mouth centre where the FFHQ recipe puts them
(`core/alignment.py`); paste the output back with the inverse transform and a feathered mask.

| variant | size | max abs error vs torch | median ms (CPU, 2 threads) |
|---|---|---|---|
{% for v, m in onnx.items() %}| {{ v }} | {{ "%.1f"|format(m.bytes / 1e6) }} MB | {{ "%.2e"|format(m.max_abs_error) }} | {{ "%.1f"|format(m.median_ms_cpu_2threads) }} |
{% endfor %}

## Training

{% for k, v in training.items() %}- {{ k }}: {{ v }}
{% endfor %}

## Data provenance and license

{% for k, v in provenance.items() %}- **{{ k }}**: {{ v }}
{% endfor %}
Style license: `{{ license }}`. Portrait Studio version {{ software_version }}.
"""


def render_card(config: StyleConfig) -> str:
    """The model card (README.md) with the Hub's YAML metadata."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(library_name=PROJECT_TAG, license=config.license, pipeline_tag="image-to-image",
                         tags=sorted(set(CARD_TAGS) | set(config.tags)))
    files = [(CONFIG_FILE, "configuration: template, model config, training summary, provenance"),
             (WEIGHTS_FILE, "generator weights (safetensors)"),
             *[(n, f"ONNX graph, {v}") for v, n in ONNX_FILES.items()],
             (MOBILE_FILE, "machine-readable spec for phone apps"), (PREVIEW_FILE, "before/after preview")]
    if config.model.get("refiner"):
        files += [(REFINER_GRAPH, "refiner graph: the generator's output -> the same with what the artworks have and "
                   "the painting lacks (studio/refine.py); photos and video run it, the live camera leaves it out")]
    if config.texture:
        files += [("texture.jpg", f"texture: the {config.texture['count']} aligned artworks whose fine detail "
                   "(strokes, paper) is moved onto each output"),
                  ("texture.onnx", "texture graph: the generator's output, the bank built from texture.jpg -> "
                   "the output with the artworks' detail (core/texture.py)")]
    onnx = {v: type("M", (), m) for v, m in config.onnx.items()}
    card = ModelCard.from_template(
        data, template_str=CARD_TEMPLATE, title=config.display_name, name=config.name,
        description=config.description or f"The {config.display_name} portrait style.", files=files,
        r=config.resolution, indices=list(topology.CANONICAL_INDICES), alpha=config.alpha_default,
        mode=config.mode_default, keep_shape=config.keep_shape, onnx=onnx,
        training=config.training, provenance=config.provenance, license=config.license,
        software_version=config.software_version)
    return str(card)


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def save_style(directory: str | Path, generator: Generator, config: StyleConfig, preview: np.ndarray,
               overwrite: bool = False, extra_files: dict[str, bytes] | None = None) -> StylePackage:
    """Export and write a complete, validated package; refuses to write one whose ONNX parity check fails.
    `extra_files` (name -> bytes, allowed package file types only) are written alongside, e.g. attribution.json."""
    from safetensors.torch import save

    generator = generator.eval().cpu()
    config.model = generator.config.to_dict()
    config.template = [[float(x), float(y)] for x, y in generator.template.detach().cpu().tolist()]
    config.validate()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config.onnx = export_graphs(generator, config.resolution, tmp)
        state = {k: v.detach().contiguous() for k, v in generator.state_dict().items()}
        files = graph_files(generator, tmp, {})
    files[WEIGHTS_FILE] = save(state, metadata={"format": "pt", "style": config.name})
    files[CONFIG_FILE] = config.to_json().encode()
    files[MOBILE_FILE] = (json.dumps(mobile_spec(config), indent=2) + "\n").encode()
    files[PREVIEW_FILE] = png_bytes(preview)
    files[CARD_FILE] = render_card(config).encode()
    files.update(extra_files or {})
    return write_package(directory, files, overwrite=overwrite)


def export_graphs(generator: Generator, resolution: int, folder: Path) -> dict:
    """The three ONNX variants written into `folder` (and refiner.onnx where the generator has a refiner), checked
    against torch: their report for style.json."""
    export_onnx(generator, resolution, folder / ONNX_FILES["fp32"])
    to_fp16(folder / ONNX_FILES["fp32"], folder / ONNX_FILES["fp16"])
    to_int8(folder / ONNX_FILES["fp32"], folder / ONNX_FILES["int8"])
    if generator.config.refiner:
        check_refiner_graph(generator, resolution, export_refiner(generator, resolution, folder / REFINER_GRAPH))
    return onnx_report(generator, resolution, folder)


def graph_files(generator: Generator, folder: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` (a package's, name -> bytes) with the graphs `export_graphs` wrote into `folder`; a refiner graph the
    generator no longer has is dropped."""
    files = {k: v for k, v in files.items() if k != REFINER_GRAPH}
    names = [*ONNX_FILES.values(), *([REFINER_GRAPH] if generator.config.refiner else [])]
    return {**files, **{name: (folder / name).read_bytes() for name in names}}


def refresh_graphs(package: StylePackage) -> StylePackage:
    """Re-export a package's ONNX graphs from its own weights (the same outputs, e.g. a leaner graph after an
    exporter change) and rewrite style.json's ONNX report, mobile.json and the card; every other file is kept byte
    for byte."""
    generator = load_generator(package).eval()
    config = StyleConfig.from_dict(json.loads((package.path / CONFIG_FILE).read_text()))
    files = {f.name: f.read_bytes() for f in package.path.iterdir() if f.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        config.onnx = export_graphs(generator, config.resolution, Path(tmp))
        files = graph_files(generator, Path(tmp), files)
    files[CONFIG_FILE] = config.to_json().encode()
    files[MOBILE_FILE] = (json.dumps(mobile_spec(config), indent=2) + "\n").encode()
    files[CARD_FILE] = render_card(config).encode()
    return write_package(package.path, files, overwrite=True)


def replace_generator(package: StylePackage, generator: Generator, training: dict | None = None,
                      description: str | None = None) -> StylePackage:
    """Write `generator` (same template, e.g. with a refiner added) into a package: weights, graphs, style.json's
    model and ONNX report, `training` merged into style.json's "training", the description when given, and the
    card; every other file (preview, texture, attribution) is kept byte for byte."""
    from safetensors.torch import save

    generator = generator.eval().cpu()
    config = StyleConfig.from_dict(json.loads((package.path / CONFIG_FILE).read_text()))
    config.model = generator.config.to_dict()
    config.training = {**config.training, **(training or {})}
    config.description = config.description if description is None else description
    config.validate()
    files = {f.name: f.read_bytes() for f in package.path.iterdir() if f.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        config.onnx = export_graphs(generator, config.resolution, Path(tmp))
        files = graph_files(generator, Path(tmp), files)
    state = {k: v.detach().contiguous() for k, v in generator.state_dict().items()}
    files[WEIGHTS_FILE] = save(state, metadata={"format": "pt", "style": config.name})
    files[CONFIG_FILE] = config.to_json().encode()
    files[MOBILE_FILE] = (json.dumps(mobile_spec(config), indent=2) + "\n").encode()
    files[CARD_FILE] = render_card(config).encode()
    return write_package(package.path, files, overwrite=True)


def load_generator(package: StylePackage, map_location: str = "cpu") -> Generator:
    """Build the torch generator of a validated package (strict: every tensor must match)."""
    from safetensors.torch import load_file

    gen = Generator(GeneratorConfig.from_dict(package.config.model))
    state = load_file(str(package.weights_path), device=map_location)
    try:
        gen.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise StylePackageError(f"{package.weights_path} does not match its config: {exc}") from None
    return gen.eval()


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def add_texture(package: StylePackage, crops: np.ndarray, radius: int | None = None,
                sigma: float | None = None) -> StylePackage:
    """Give a package a texture from its artworks (N, S, S, 3) uint8, aligned at the package's resolution like
    the engine's crops: the atlas (texture.jpg), the graph (texture.onnx) and style.json's "texture", written
    atomically over the package. The card says that the package now carries its artworks' detail."""
    from core.texture import RADIUS, SIGMA, export_texture
    from core.texture_bank import ATLAS_QUALITY, TEXTURE_ATLAS, TEXTURE_GRAPH, TEXTURE_MAX, make_atlas

    size = package.config.resolution
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[1:] != (size, size, 3) or crops.dtype != np.uint8 or not len(crops):
        raise ValueError(f"texture artworks must be (N, {size}, {size}, 3) uint8 aligned crops, got "
                         f"{crops.shape} {crops.dtype}")
    crops = crops[np.linspace(0, len(crops) - 1, min(len(crops), TEXTURE_MAX)).round().astype(int)]
    radius = RADIUS if radius is None else int(radius)
    sigma = SIGMA if sigma is None else float(sigma)
    config = StyleConfig.from_dict(json.loads(package.config.to_json()))
    config.texture = {"count": int(len(crops)), "radius": radius, "sigma": sigma}
    config.validate()
    files = {f.name: f.read_bytes() for f in package.path.iterdir() if f.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        export_texture(Path(tmp) / TEXTURE_GRAPH, size, len(crops), radius, sigma)
        files[TEXTURE_GRAPH] = (Path(tmp) / TEXTURE_GRAPH).read_bytes()
    files[TEXTURE_ATLAS] = jpeg_bytes(make_atlas(crops), ATLAS_QUALITY)
    files[CONFIG_FILE] = config.to_json().encode()
    files[CARD_FILE] = render_card(config).encode()
    return write_package(package.path, files, overwrite=True)
