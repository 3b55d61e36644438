"""The `python -m studio` command line: one parser, subcommands registered by the modules that
implement them (each module's `register_cli(subparsers)` adds its parsers and sets `func`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.errors import PortraitStudioError

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = [
    "studio.commands",
    "studio.hub",
    "studio.train",
]

DESCRIPTION = """\
Portrait Studio: real-time portrait stylization with landmark-driven thin-plate-spline alignment.

Typical session:
  python -m studio align photo.jpg artwork.png --out preview.png   # check the TPS alignment
  python -m studio train --styles my_art/ --photos photos/ --out styles/my_style
  python -m studio stylize selfie.jpg --style my_style --out out/
  python -m studio push styles/my_style --repo you/my_style
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging quiet
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
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
