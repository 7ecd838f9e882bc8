"""``python -m core run SPEC.json``: run the command a :class:`~core.runs.spec.RunSpec` file describes.

The spec's options go through that command's own parser (:meth:`RunSpec.parse`),
so a spec runs exactly as the same flags typed on the command line would.
"""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="run spec JSON file: {\"kind\": COMMAND, \"config\": {option: value}, "
                                "\"training\": {...} for train and sweep} (see core/runs/spec.py)")


def run(args: argparse.Namespace) -> int:
    import importlib

    from ..cli import COMMANDS
    from .spec import RunSpec

    spec = RunSpec.load(args.spec)
    status = getattr(args, "status_file", None)
    parsed = spec.parse(["--status-file", status] if status else [])
    return int(importlib.import_module(COMMANDS[spec.kind][0]).run(parsed) or 0)
