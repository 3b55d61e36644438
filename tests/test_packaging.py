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


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A hashed lock file: normalized name -> (pinned version, its sha256 hashes)."""
    import re

    pins: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
            name = re.sub(r"[-_.]+", "-", match[1]).lower()
            pins[name] = (match[2], [])
        elif name and (match := re.match(r"^\s+--hash=sha256:([0-9a-f]{64})", line)):
            pins[name][1].append(match[1])
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return pins


def test_locks_pin_every_requirement_with_hashes():
    """requirements.lock satisfies requirements.txt and requirements-test.lock also requirements-test.txt, at the same
    versions, every pin with hashes: after editing a requirements file, run `bash scripts/lock.sh`."""
    from packaging.requirements import Requirement

    runtime, test = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-test.lock")
    for lock, files in ((runtime, ["requirements.txt"]), (test, ["requirements.txt", "requirements-test.txt"])):
        for file in files:
            for line in requirement_lines(ROOT / file):
                req = Requirement(line)
                key = req.name.lower().replace("_", "-").replace(".", "-")
                assert key in lock, f"{file} needs {req.name}, which the lock does not pin: bash scripts/lock.sh"
                assert req.specifier.contains(lock[key][0], prereleases=True), \
                    f"{req.name}=={lock[key][0]} is locked, outside {file}'s {line!r}: bash scripts/lock.sh"
    assert all(hashes for _, hashes in [*runtime.values(), *test.values()])
    assert {k: v for k, v in test.items() if k in runtime} == runtime
    assert {"torch", "torchvision", "segno", "pandas"} <= set(runtime) and "pytest" in test and "pytest" not in runtime
