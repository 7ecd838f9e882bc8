"""What a run (or background job) does: a typed :class:`RunSpec`, saved as JSON, run by ``python -m core run``.

A spec names a command (its ``kind``) and that command's options by their
argparse destination (``{"eval_dataset": "EiLA", "only": ["SFEW"]}``); training
commands carry their settings as a :class:`~core.training.config.TrainConfig`.
The command's own parser is the one authority on options: a spec is checked
against it on construction and :meth:`RunSpec.to_argv` gives the flags it parses.
Imports neither training nor evaluation at module level (they are loaded when a
spec of theirs is built).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from ..common._errors import DataFormatError
from ..common._io import atomic_write_text

if TYPE_CHECKING:
    from ..training.config import TrainConfig

#: Commands of ``python -m core`` that the app starts as jobs or that make runs.
RUN_KINDS: tuple[str, ...] = ("train", "sweep", "evaluate", "clusters", "prepare-eila", "estimate-pose",
                              "demo-study")
#: Kinds whose training settings are a TrainConfig (``RunSpec.training``), not config keys.
TRAINING_KINDS: tuple[str, ...] = ("train", "sweep")
_SPEC_KEYS: tuple[str, ...] = ("kind", "config", "training")
_SCALARS = (str, int, float, bool, type(None))


@lru_cache(maxsize=None)
def _options(kind: str) -> dict[str, argparse.Action]:
    """The command's options by destination, less ``--status-file`` (set by the job) and training settings."""
    from ..cli import command_parser

    skip = {"help", "status_file"}
    if kind in TRAINING_KINDS:
        from ..training._cli import TRAINING_DESTS

        skip |= TRAINING_DESTS
    return {a.dest: a for a in command_parser(kind)._actions if a.dest not in skip}


def _flag(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


def _is_list(action: argparse.Action) -> bool:
    return isinstance(action, argparse._AppendAction) or action.nargs in ("+", "*") or isinstance(action.nargs, int) \
        and action.nargs > 1


def _check_one(kind: str, dest: str, action: argparse.Action, v: Any) -> None:
    where = f"{kind} option {dest!r} ({_flag(action)})"
    if isinstance(v, bool) or not isinstance(v, _SCALARS):
        raise ValueError(f"{where}: expected a string or number, received {v!r}")
    expected = {int: ("an integer", int), float: ("a number", (int, float)), None: ("a string", str)}.get(action.type)
    if expected is not None and not isinstance(v, expected[1]):
        raise ValueError(f"{where}: expected {expected[0]}, received {v!r}")
    if action.choices is not None and v not in action.choices:
        raise ValueError(f"{where}: expected one of {list(action.choices)}, received {v!r}")


def _checked(kind: str, config: Any) -> dict[str, Any]:
    """JSON-ready copy of ``config`` checked against ``kind``'s parser (lists as tuples, paths as str)."""
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a mapping of option -> value, received {type(config).__name__}")
    options = _options(kind)
    if kind in TRAINING_KINDS:
        from ..training._cli import TRAINING_DESTS

        misplaced = sorted(set(config) & TRAINING_DESTS)
        if misplaced:
            raise ValueError(f"training settings {misplaced} go in the spec's TrainConfig (training), not in config")
    unknown = sorted(str(k) for k in set(config) - set(options))
    if unknown:
        raise ValueError(f"unknown {kind} option(s) {unknown}; expected some of {sorted(options)}")
    out: dict[str, Any] = {}
    for dest, v in config.items():
        action = options[dest]
        v = str(v) if isinstance(v, Path) else v
        if v is None:
            continue
        if action.nargs == 0:
            if not isinstance(v, bool):
                raise ValueError(f"{kind} option {dest!r} ({_flag(action)}) is a switch: expected true or false, "
                                 f"received {v!r}")
        elif _is_list(action):
            if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
                raise ValueError(f"{kind} option {dest!r} ({_flag(action)}): expected a list, received {v!r}")
            v = tuple(str(x) if isinstance(x, Path) else x for x in v)
            for x in v:
                _check_one(kind, dest, action, x)
        else:
            _check_one(kind, dest, action, v)
        out[dest] = v
    missing = sorted(a.dest for a in options.values() if a.required and a.dest not in out)
    if missing:
        raise ValueError(f"{kind} needs option(s) {missing} in config; received {sorted(out)}")
    return out


@dataclass(frozen=True)
class RunSpec:
    """One command of ``python -m core`` with its options, validated on construction.

    Parameters
    ----------
    kind : str
        One of :data:`RUN_KINDS`.
    config : mapping
        The command's options by argparse destination (``"eval_dataset"`` for
        ``--eval-dataset``): strings, numbers, ``True``/``False`` for switches,
        lists for repeatable or multi-value options; ``None`` leaves the default.
        Stored read-only, lists as tuples.
    training : TrainConfig or mapping, optional
        Required for ``train`` and ``sweep`` (a mapping is read with
        :meth:`TrainConfig.from_dict`), refused for the other kinds.

    Raises
    ------
    ValueError
        An unknown kind or option, a value of the wrong type or not among the
        option's choices, a required option missing, training settings missing
        or misplaced.
    """

    kind: str
    config: Mapping[str, Any] = field(default_factory=dict)
    training: "TrainConfig | None" = None

    def __post_init__(self) -> None:
        if self.kind not in RUN_KINDS:
            raise ValueError(f"kind must be one of {list(RUN_KINDS)}, received {self.kind!r}")
        object.__setattr__(self, "config", MappingProxyType(_checked(self.kind, self.config)))
        if self.kind in TRAINING_KINDS:
            from ..training.config import TrainConfig

            if isinstance(self.training, Mapping):
                object.__setattr__(self, "training", TrainConfig.from_dict(self.training))
            if not isinstance(self.training, TrainConfig):
                raise ValueError(f"a {self.kind} spec needs its training settings as a TrainConfig, received "
                                 f"{self.training!r}")
        elif self.training is not None:
            raise ValueError(f"only {list(TRAINING_KINDS)} specs take training settings; a {self.kind} spec "
                             f"received {self.training!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"kind", "config"[, "training"]}`` (lists as lists)."""
        out: dict[str, Any] = {"kind": self.kind,
                               "config": {k: list(v) if isinstance(v, tuple) else v for k, v in self.config.items()}}
        if self.training is not None:
            out["training"] = self.training.to_dict()
        return out

    def to_json(self) -> str:
        """The spec as indented JSON (read back by :meth:`from_json`)."""
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` atomically; returns the path."""
        return atomic_write_text(self.to_json() + "\n", path)

    @classmethod
    def from_dict(cls, data: Any, source: str | Path | None = None) -> "RunSpec":
        """Build from :meth:`to_dict` output.

        Raises
        ------
        DataFormatError
            (a ``ValueError``) naming ``source`` when ``data`` is not a spec.
        """
        if not isinstance(data, Mapping) or "kind" not in data:
            raise DataFormatError(f"expected a run spec object {{\"kind\": ..., \"config\": {{...}}}}, received "
                                  f"{type(data).__name__}" + (f" with keys {sorted(data)}" if isinstance(data, Mapping)
                                                              else ""), source)
        unknown = sorted(set(data) - set(_SPEC_KEYS))
        if unknown:
            raise DataFormatError(f"unknown key(s) {unknown}; expected some of {list(_SPEC_KEYS)}", source)
        try:
            return cls(data["kind"], data.get("config") or {}, data.get("training"))
        except ValueError as exc:
            raise DataFormatError(str(exc), source) from None

    @classmethod
    def from_json(cls, text: str, source: str | Path | None = None) -> "RunSpec":
        """Parse :meth:`to_json` output; invalid JSON raises :class:`DataFormatError` naming ``source``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON ({exc}); expected a run spec {{\"kind\": ..., \"config\": "
                                  "{...}}", source) from None
        return cls.from_dict(data, source)

    @classmethod
    def load(cls, path: str | Path) -> "RunSpec":
        """Read a spec file written by :meth:`save` (errors name the file)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataFormatError("no such file; expected a run spec JSON file", path) from None
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"not a text file ({exc}); expected a run spec JSON file", path) from None
        return cls.from_json(text, path)

    def to_argv(self) -> list[str]:
        """The command's flags (without the command name), parsed by its own parser.

        Training settings come from :func:`core.training._cli.training_argv`.
        """
        options = _options(self.kind)
        argv: list[str] = []
        for dest, v in self.config.items():
            action, flag = options[dest], _flag(options[dest])
            if action.nargs == 0:
                argv += [flag] if v != action.default else []
            elif isinstance(action, argparse._AppendAction):
                argv += [f"{flag}={x}" for x in v]
            elif _is_list(action):
                argv += [flag, *map(str, v)]
            else:
                argv.append(f"{flag}={repr(v) if isinstance(v, float) else v}")
        if self.training is not None:
            from ..training._cli import training_argv

            argv += training_argv(self.training)
        return argv

    def parse(self, extra: list[str] | None = None) -> argparse.Namespace:
        """:meth:`to_argv` (plus ``extra``, e.g. ``--status-file``) parsed by the command's parser."""
        from ..cli import command_parser

        return command_parser(self.kind).parse_args(self.to_argv() + list(extra or []))
