"""pyproject.toml declares what the requirements files install (they stay what a Hugging Face Space installs)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file, without comments, blanks or `-r` includes."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def test_pyproject_matches_the_requirements_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["dependencies"] == requirement_lines(ROOT / "requirements.txt")
    assert project["optional-dependencies"]["test"] == requirement_lines(ROOT / "requirements-test.txt")
    assert project["scripts"]["portrait-studio"] == "studio.cli:main"
