"""The `python -m studio` command line: one parser, subcommands registered by the modules that
implement them (each module's `register_cli(subparsers)` adds its parsers and sets `func`).

Modules are imported lazily: `main` imports only the module of the chosen command, and lists the others from
the static `COMMANDS` table, so `stylize` and `--help` never import the trainer (and torch)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Iterable

from core.errors import PortraitStudioError

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = [
    "studio.commands",
    "studio.hub",
    "studio.hub_photos",
    "studio.train",
    "studio.texture",
    "studio.refine",
    "studio.weights",
]

# Every subcommand: (module that registers it, its one-line help), in `--help` order. tests/test_cli.py checks
# that this table matches what the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "align": ("studio.commands", "preview the landmark TPS alignment of a photo and an artwork"),
    "template": ("studio.commands", "mean landmark geometry of a folder of artworks"),
    "stylize": ("studio.commands", "stylize photos and video files with a style package"),
    "bench": ("studio.commands", "speed and memory benchmark (prints one JSON line last)"),
    "push": ("studio.hub", "publish a style package to the Hugging Face Hub"),
    "pull": ("studio.hub", "download and install a style from the Hub"),
    "list": ("studio.hub", "search published styles on the Hub"),
    "remove": ("studio.hub", "delete an installed style"),
    "push-photos": ("studio.hub_photos", "publish a photo pool to the Hub as a dataset"),
    "train": ("studio.train", "train a style from a folder of artworks and a photo pool"),
    "texture": ("studio.texture", "give a style the fine detail of its artworks (texture transfer)"),
    "refine": ("studio.refine", "give a style a refiner trained on its artworks"),
    "weights": ("studio.weights", "fetch the VGG16/LPIPS weights the trainer needs (when ../shared is absent)"),
}

DESCRIPTION = """\
Portrait Studio: real-time portrait stylization with landmark-driven thin-plate-spline alignment.

Typical session:
  python -m studio align photo.jpg artwork.png --out preview.png   # check the TPS alignment
  python -m studio train --styles my_art/ --photos photos/ --out styles/my_style
  python -m studio stylize selfie.jpg clip.mp4 --style my_style --out out/
  python -m studio push styles/my_style --repo you/my_style
"""


def build_parser(modules: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; with `modules`, only those are imported and the other commands are listed by name and
    help from COMMANDS (they parse no arguments)."""
    modules = COMMAND_MODULES if modules is None else list(modules)
    parser = argparse.ArgumentParser(
        prog="python -m studio", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        if name in modules:
            importlib.import_module(name).register_cli(sub)
        else:
            for command, (module, help_text) in COMMANDS.items():
                if module == name:
                    sub.add_parser(command, help=help_text, add_help=False)
    return parser


def command_module(argv: list[str]) -> list[str]:
    """The module to import for a command line: the chosen command's, or none for `--help` and unknown names."""
    first = argv[0] if argv else ""
    return [COMMANDS[first][0]] if first in COMMANDS else []


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging quiet
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_module(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (PortraitStudioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
