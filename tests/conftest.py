"""Shared fixtures: paths to ../shared data (tests using it skip when it is absent) and test images."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the ../shared data (set PORTRAIT_SHARED)")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's public-domain astronaut photo (512x512 RGB uint8, one face)."""
    from skimage import data

    return data.astronaut()


def make_tiny_style(folder: Path, name: str = "tiny", resolution: int = 64, channels: int = 4, seed: int = 0,
                    template: np.ndarray | None = None):
    """A real style package from a freshly initialised tiny generator (style template: `template`, default the
    photo template), through the same save path trained styles use."""
    import torch

    from core.export import save_style
    from core.generator import Generator, GeneratorConfig
    from core.package import StyleConfig

    torch.manual_seed(seed)
    generator = Generator(GeneratorConfig(channels=channels, blocks=1),
                          None if template is None else torch.as_tensor(template, dtype=torch.float32))
    with torch.no_grad():  # a visible, deterministic effect: push the output towards a colour cast
        generator.to_rgb[0].bias.add_(torch.tensor([0.6, -0.3, 0.2]).repeat_interleave(4))
    preview = np.zeros((resolution, 2 * resolution, 3), np.uint8)
    return save_style(folder / name, generator, StyleConfig(name=name, resolution=resolution,
                                                             description="test style"), preview)


@pytest.fixture(scope="session")
def tiny_style(tmp_path_factory):
    """A tiny valid style package (64x64, random weights) shared by the session's tests."""
    return make_tiny_style(tmp_path_factory.mktemp("styles"))


@pytest.fixture
def styles_dir(tmp_path, tiny_style, monkeypatch) -> Path:
    """PORTRAIT_STYLES pointing at a folder holding one tiny style."""
    root = tmp_path / "styles"
    root.mkdir()
    shutil.copytree(tiny_style.path, root / tiny_style.name)
    monkeypatch.setenv("PORTRAIT_STYLES", str(root))
    return root


# Modules whose tests drive a browser, train or encode video: marked `slow`, so the inner loop of a change can run
# `pytest -m "not slow"` (README). The README's test command and CI run everything.
SLOW_MODULES = {"test_app.py": "headless Chromium", "test_train.py": "training runs", "test_video.py": "video files",
                "test_live.py": "live sessions"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
