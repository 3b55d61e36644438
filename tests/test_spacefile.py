"""The container recipe (Spacefile, Dockerfile syntax) read as a Docker build would: no daemon runs here
(docs/hosting.md), so these check what it copies, installs and runs against the tree it would be built from."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Spacefile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Spacefile").read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def copied() -> set[str]:
    """Repository paths the image copies (COPY sources, flags dropped)."""
    paths = set()
    for word, rest in instructions():
        if word == "COPY":
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            paths.update(a.rstrip("/") for a in args[:-1])
    return paths


def local_imports(files) -> set[str]:
    """Top-level names imported by the files that are this repository's own modules or packages."""
    names = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if (ROOT / n).is_dir() or (ROOT / f"{n}.py").is_file()}


def test_every_copied_path_exists():
    absent = sorted(p for p in copied() if not (ROOT / p).exists())
    assert copied() and not absent, f"Spacefile copies {absent}, which the repository does not have"


def test_the_app_and_what_it_imports_and_reads_are_in_the_image():
    files = [ROOT / "app.py", *(ROOT / "core").rglob("*.py"), *(ROOT / "studio").rglob("*.py")]
    have = copied()
    missing = {f"{n}" if (ROOT / n).is_dir() else f"{n}.py" for n in local_imports(files)} - have
    assert not missing, f"the image would fail to import {sorted(missing)}: add a COPY line to Spacefile"
    assert {"app.py", "styles", "examples"} <= have  # the bundled styles and examples; studio/photos is in studio


def test_installs_the_hashed_lock_the_tests_ran_against():
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert "--require-hashes -r requirements.lock" in runs
    assert any(word == "COPY" and "requirements.lock" in rest for word, rest in instructions())


def test_runs_as_a_non_root_user_on_port_7860_with_a_healthcheck():
    steps = instructions()
    words = [w for w, _ in steps]
    assert steps[0][0] == "FROM" and re.match(r"python:3\.11(-slim)?\b", steps[0][1])
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "7860") in steps and "HEALTHCHECK" in words
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "GRADIO_SERVER_PORT=7860" in env and "GRADIO_SERVER_NAME=0.0.0.0" in env
    assert steps[-1] == ("CMD", '["python", "app.py"]')
