"""The ``relu-regions`` command line: one subcommand per experiment, plus ``reproduce``, ``demo`` and
``norms``. Each private module here adds its subcommands with ``register(subparsers)``; a subcommand's
parser sets ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

_COMMAND_MODULES = ("relu_regions.cli._experiments", "relu_regions.cli._norms")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relu-regions",
        description="Exact linear regions and generalization intervals of ReLU networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
