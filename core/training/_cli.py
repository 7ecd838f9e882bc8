"""``python -m core train``: train one configuration (a registered dataset, optionally mixed with another).

Also holds the options shared with ``python -m core sweep`` (:mod:`core.training._sweep_cli`), built from
:class:`~core.training.config.TrainConfig`'s field metadata, and their inverse :func:`training_argv`.
Nothing here imports TensorFlow at module level.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..runs.executors import add_executor_options
from ..common.paths import default_artifacts_dir
from .config import TrainConfig


def _options(config: type[TrainConfig]) -> list[dataclasses.Field]:
    """The fields of ``config`` offered on the command line (an ``option`` flag), in declaration order."""
    return [f for f in dataclasses.fields(config) if f.init and f.metadata.get("flag")]


def _dest(f: dataclasses.Field) -> str:
    """The argparse attribute of a field's flag (``--epochs1`` -> ``epochs1``, ``--no-feature-cache`` -> ...)."""
    return f.metadata["flag"][2:].replace("-", "_")


def add_training_options(p: argparse.ArgumentParser, config: type[TrainConfig] = TrainConfig) -> None:
    """Options of :class:`TrainConfig` (defaults: the seed's recipe), one per field declared with ``option``.

    The flag, help text and choices come from the field's metadata, the type and
    default from its default: a tuple takes one or more values, a bool field is a
    switch (``--no-feature-cache`` turns ``feature_cache`` off). ``config`` is a
    TrainConfig subclass with more such fields, if any.
    """
    g = p.add_argument_group("training (defaults: the seed's recipe)")
    for f in _options(config):
        meta, default = f.metadata, f.default
        kwargs: dict[str, Any] = {"help": meta.get("help")}
        if isinstance(default, bool):
            kwargs["action"] = "store_true"
        else:
            kwargs["default"] = default
            if isinstance(default, tuple):
                kwargs.update(nargs="+", type=type(default[0]), metavar=type(default[0]).__name__.upper())
            elif isinstance(default, (int, float)):
                kwargs["type"] = type(default)
            if meta.get("choices"):
                kwargs["choices"] = list(meta["choices"])
        g.add_argument(meta["flag"], **kwargs)
    p.add_argument("--split-rule", default=None, choices=["seed", "seed-prose", "person-disjoint"],
                   help="split of the EiLA datasets used (default: as registered). 'seed' is the seed's "
                        "annotator-count rule (reproduces its tables; 4 of 7 Black test persons are also in "
                        "training); 'person-disjoint' puts every person in one split")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the person-disjoint split")
    p.add_argument("--eval-dataset", default="EiLA", help="registered dataset evaluated on (default: EiLA)")
    p.add_argument("--eval-split", default="test", help="its split evaluated on (default: test)")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


#: Destinations of the options :func:`add_training_options` adds for :class:`TrainConfig` settings.
TRAINING_DESTS: frozenset[str] = frozenset(_dest(f) for f in _options(TrainConfig))


def config_from_args(args: argparse.Namespace, check_weights: bool = True,
                     config: type[TrainConfig] = TrainConfig) -> TrainConfig:
    """The validated config; bad values raise ``ValueError`` naming the setting.

    Every field declared with ``option`` is read from its flag (a ``--no-`` switch
    negated); the others keep their defaults. With ``check_weights`` the chosen
    backbone weights are checked up front (:func:`core.models.backbones.require_weights`):
    ImageNet weights that cannot be downloaded raise
    :class:`~core.WeightsUnavailableError` naming ``--weights random`` and
    ``--weights FILE``, before any data is loaded; nothing falls back silently.
    """
    from ..models.backbones import require_weights

    kwargs: dict[str, Any] = {}
    for f in _options(config):
        value = getattr(args, _dest(f))
        kwargs[f.name] = (not value) if f.metadata["flag"].startswith("--no-") else value
    cfg = config(**kwargs)
    if check_weights:
        require_weights(cfg.backbone, cfg.weights)
    return cfg


def training_argv(cfg: TrainConfig) -> list[str]:
    """The training options that rebuild ``cfg``: the inverse of :func:`config_from_args`.

    Only settings that differ from the defaults are written (an empty list is the
    seed's recipe), in field order, so a command line reads as "the seed's recipe
    except ...".

    Parameters
    ----------
    cfg : TrainConfig
        The configuration (or an instance of a subclass with more ``option`` fields).

    Returns
    -------
    list of str
        E.g. ``["--input-size", "64", "--lr1", "0.001", "--no-feature-cache"]``.

    Raises
    ------
    TypeError
        When ``cfg`` is not a :class:`TrainConfig`.
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a TrainConfig, received {type(cfg).__name__}")
    argv: list[str] = []
    for f in _options(type(cfg)):
        value, flag = getattr(cfg, f.name), f.metadata["flag"]
        if value == f.default:
            continue
        if isinstance(value, bool):
            argv.append(flag)  # a switch differs from its default only when given
        elif isinstance(value, tuple):
            argv += [flag, *(str(v) for v in value)]
        else:
            argv += [flag, repr(value) if isinstance(value, float) else str(value)]
    return argv


def artifacts_from_args(args: argparse.Namespace) -> Path:
    return Path(args.artifacts) if args.artifacts else default_artifacts_dir()


def loader_from_args(args: argparse.Namespace, artifacts: Path):
    """Registered datasets by name, EiLA ones under ``--split-rule`` (:class:`core.training.split_rules.SplitRuleLoader`)."""
    from .split_rules import registered_loader

    return registered_loader(artifacts, getattr(args, "split_rule", None), getattr(args, "split_seed", 0))


#: Free space a training run needs before it starts: a ResNet50 model.keras (~95 MiB), its history,
#: predictions and feature-cache shards, with room to spare.
TRAIN_FREE_BYTES = 256 * 2**20


def check_training_output(artifacts: Path) -> None:
    """Before any long work: remove dead runs' partial folders, and fail if the runs folder is unwritable or full."""
    from ..common._io import check_writable
    from ..common.paths import cache_dir, runs_dir
    from .runner import remove_stale_partials

    check_writable(runs_dir(artifacts), TRAIN_FREE_BYTES, flag="--artifacts")
    check_writable(cache_dir(artifacts), flag="--artifacts")
    remove_stale_partials(artifacts)


def registered(name: str, flag: str, artifacts: Path):
    """A registered dataset's info; an unknown name raises naming the option it came from."""
    from ..common._errors import DataFormatError
    from ..data.registry import get_dataset

    try:
        return get_dataset(name, artifacts)
    except DataFormatError as exc:
        raise DataFormatError(f"{flag} {name!r}: {exc}") from None


def evaluation_from_args(args: argparse.Namespace, artifacts: Path, load=None):
    """(evaluation manifest, description) from ``--eval-dataset/--eval-split`` (through ``load`` when given)."""
    from ..mixing import evaluation_manifest
    from ..data.registry import load_dataset

    info = registered(args.eval_dataset, "--eval-dataset", artifacts)
    source = load(args.eval_dataset) if load is not None else load_dataset(args.eval_dataset, artifacts)
    df = evaluation_manifest(source, args.eval_split, info.path / "manifest.parquet")
    desc = {"dataset": info.name, "split": args.eval_split, "n": int(len(df)), "synthetic": info.synthetic}
    if load is not None and args.eval_dataset in getattr(load, "rules", {}):
        desc.update(load.rules[args.eval_dataset])
    return df, desc


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", required=True, help="registered dataset trained on (its train/validation splits)")
    p.add_argument("--extra", default=None, help="registered dataset mixed in")
    p.add_argument("--fraction", type=float, default=0.0,
                   help="fraction of --extra's train and validation rows per class (e.g. 0.1)")
    p.add_argument("--mix-seed", type=int, default=0, help="seed of the mixing draw")
    p.add_argument("--name", default=None, help="configuration name (default: e.g. 'SFEW + 10%% EiLA')")
    add_training_options(p)
    add_executor_options(p)


def reporter(args: argparse.Namespace, desc: str):
    """tqdm on the terminal, the status file for background jobs."""
    from ..common.progress import progress_for_cli

    return progress_for_cli(getattr(args, "status_file", None), desc)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (the app's Cancel) into SystemExit, so a run removes its partial folder on the way out."""
    import signal
    import sys
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def run(args: argparse.Namespace) -> int:
    from ..runs.executors import executor_from_args
    from ..mixing import MixSpec, build_mix, evaluation_overlap
    from .sweep import train_one

    artifacts = artifacts_from_args(args)
    executor = executor_from_args(args)  # the address is checked before any data is read
    cfg = config_from_args(args)
    spec = MixSpec.parse(args.base if not args.extra else f"{args.base}+{args.extra}:{args.fraction}",
                         seed=args.mix_seed)
    if args.name:
        spec = MixSpec(args.name, spec.base, spec.extra, spec.fraction, spec.seed)
    registered(args.base, "--base", artifacts)  # the training data first: its name is what the user typed
    if args.extra:
        registered(args.extra, "--extra", artifacts)
    overlap = evaluation_overlap([spec], args.eval_dataset, args.eval_split)
    if overlap:
        raise ValueError(overlap)
    load = loader_from_args(args, artifacts)
    evaluation, eval_info = evaluation_from_args(args, artifacts, load)
    train = build_mix(spec, load)
    check_training_output(artifacts)
    exit_cleanly_on_sigterm()
    with executor:
        executor.start()  # connect before any long work: a missing cluster is reported now
        result = train_one(spec, train, evaluation, cfg, artifacts,
                           {"configuration": spec.to_dict(), "evaluation": eval_info, **load.record()},
                           reporter(args, spec.name), executor)
    m = result.metrics
    state = "already finished (kept, not retrained)" if result.skipped else "finished"
    print(f"{spec.name}: {state}: {result.path}")
    if m:
        print(f"accuracy {m.get('accuracy', float('nan')):.3f}  weighted F1 {m.get('weighted_f1', float('nan')):.3f}"
              f"  loss {m.get('loss') or float('nan'):.3f}  on {eval_info['dataset']}/{eval_info['split']}")
    return 0
