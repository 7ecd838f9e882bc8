"""Command line: ``python -m core <command> ...``.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so
``python -m core --help`` does not load TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ._errors import FerBiasError

#: command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "register": ("core.registry_cli", "load a dataset from files and register it under artifacts/datasets"),
    "demo": ("core.demo_cli", "generate the synthetic demo dataset"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="FER Bias Lab command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; errors in inputs exit with code 2 and a one-line message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except FerBiasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
