"""``python -m core train``: train one configuration (a registered dataset, optionally mixed with another).

Also holds the options shared with ``python -m core sweep`` (:mod:`core.training._sweep_cli`).
Nothing here imports TensorFlow at module level.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..paths import default_artifacts_dir
from .._precision import PRECISIONS
from .config import CLASS_WEIGHTS, OPTIMIZERS, PHASE2_MODES, TrainConfig

_DEFAULTS = TrainConfig()
#: CLI option -> TrainConfig field
_OPTIONS: dict[str, str] = {
    "backbone": "backbone", "weights": "weights", "input_size": "input_size", "batch_size": "batch_size",
    "epochs1": "phase1_epochs", "epochs2": "phase2_epochs", "lr1": "phase1_learning_rate",
    "lr2": "phase2_learning_rate", "unfreeze_layers": "unfreeze_layers", "dropout": "dropout",
    "class_weight": "class_weight", "seed": "seed", "optimizer": "optimizer", "phase2_mode": "phase2_mode",
    "phase2_memory_gb": "phase2_memory_gb", "patience": "early_stopping_patience", "precision": "precision",
}


def add_training_options(p: argparse.ArgumentParser) -> None:
    """Options of :class:`TrainConfig` (defaults: the seed's recipe)."""
    g = p.add_argument_group("training (defaults: the seed's recipe)")
    g.add_argument("--backbone", default=_DEFAULTS.backbone, choices=["resnet50v2", "resnet50"])
    g.add_argument("--weights", default=_DEFAULTS.weights,
                   help="'imagenet' (downloaded by Keras; when it cannot be, the command stops and asks for one of "
                        "the others), 'random', or a Keras weights file")
    g.add_argument("--input-size", type=int, default=_DEFAULTS.input_size, help="backbone input side in pixels")
    g.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    g.add_argument("--epochs1", type=int, default=_DEFAULTS.phase1_epochs, help="phase 1 epochs (backbone frozen)")
    g.add_argument("--epochs2", type=int, default=_DEFAULTS.phase2_epochs,
                   help="phase 2 epochs (last layers trainable; 0 skips phase 2)")
    g.add_argument("--lr1", type=float, default=_DEFAULTS.phase1_learning_rate)
    g.add_argument("--lr2", type=float, default=_DEFAULTS.phase2_learning_rate)
    g.add_argument("--unfreeze-layers", type=int, default=_DEFAULTS.unfreeze_layers)
    g.add_argument("--patience", type=int, default=_DEFAULTS.early_stopping_patience, help="early stopping patience")
    g.add_argument("--dropout", type=float, default=_DEFAULTS.dropout)
    g.add_argument("--class-weight", default=_DEFAULTS.class_weight, choices=list(CLASS_WEIGHTS))
    g.add_argument("--optimizer", default=_DEFAULTS.optimizer, choices=list(OPTIMIZERS))
    g.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    g.add_argument("--no-feature-cache", action="store_true",
                   help="run the backbone on every image every epoch (the seed's way; slow)")
    g.add_argument("--phase2-mode", default=_DEFAULTS.phase2_mode, choices=list(PHASE2_MODES))
    g.add_argument("--phase2-memory-gb", type=float, default=_DEFAULTS.phase2_memory_gb)
    p.add_argument("--split-rule", default=None, choices=["seed", "seed-prose", "person-disjoint"],
                   help="split of the EiLA datasets used (default: as registered). 'seed' is the seed's "
                        "annotator-count rule (reproduces its tables; 4 of 7 Black test persons are also in "
                        "training); 'person-disjoint' puts every person in one split")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the person-disjoint split")
    g.add_argument("--precision", default=_DEFAULTS.precision, choices=list(PRECISIONS),
                   help="frozen backbone passes (cached moments, evaluation): float32 (default, the published "
                        "numbers) or bfloat16 (several times faster; agreement in the README)")
    p.add_argument("--eval-dataset", default="EiLA", help="registered dataset evaluated on (default: EiLA)")
    p.add_argument("--eval-split", default="test", help="its split evaluated on (default: test)")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


#: Destinations of the options :func:`add_training_options` adds for :class:`TrainConfig` settings.
TRAINING_DESTS: frozenset[str] = frozenset(_OPTIONS) | {"no_feature_cache"}


def training_argv(cfg: TrainConfig) -> list[str]:
    """The options that make :func:`config_from_args` return ``cfg``: the inverse of it, for every setting.

    Parameters
    ----------
    cfg : TrainConfig

    Returns
    -------
    list of str
        ``--option=value`` for every training option, and ``--no-feature-cache`` when it is off.

    Raises
    ------
    ValueError
        When ``cfg`` differs from the defaults in a setting that has no command-line option.
    """
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"training settings must be a TrainConfig, received {type(cfg).__name__}")
    exposed = set(_OPTIONS.values()) | {"feature_cache", "loss"}
    fixed = sorted(f for f in cfg.to_dict() if f not in exposed and getattr(cfg, f) != getattr(_DEFAULTS, f))
    if fixed:
        defaults, received = ({f: getattr(c, f) for f in fixed} for c in (_DEFAULTS, cfg))
        raise ValueError(f"training setting(s) {fixed} have no command-line option; expected their defaults "
                         f"{defaults}, received {received}")
    argv = [f"--{opt.replace('_', '-')}={_option_text(getattr(cfg, field))}" for opt, field in _OPTIONS.items()]
    return argv + ([] if cfg.feature_cache else ["--no-feature-cache"])


def _option_text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def config_from_args(args: argparse.Namespace, check_weights: bool = True) -> TrainConfig:
    """The validated config; bad values raise ``ValueError`` naming the setting.

    With ``check_weights`` the chosen backbone weights are checked up front
    (:func:`core.backbones.require_weights`): ImageNet weights that cannot be
    downloaded raise :class:`~core.WeightsUnavailableError` naming ``--weights random``
    and ``--weights FILE``, before any data is loaded; nothing falls back silently.
    """
    from ..backbones import require_weights

    kwargs: dict[str, Any] = {field: getattr(args, opt) for opt, field in _OPTIONS.items()}
    kwargs["feature_cache"] = not args.no_feature_cache
    cfg = TrainConfig(**kwargs)
    if check_weights:
        require_weights(cfg.backbone, cfg.weights)
    return cfg


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
    from .._io import check_writable
    from ..paths import cache_dir, runs_dir
    from .runner import remove_stale_partials

    check_writable(runs_dir(artifacts), TRAIN_FREE_BYTES, flag="--artifacts")
    check_writable(cache_dir(artifacts), flag="--artifacts")
    remove_stale_partials(artifacts)


def registered(name: str, flag: str, artifacts: Path):
    """A registered dataset's info; an unknown name raises naming the option it came from."""
    from .._errors import DataFormatError
    from ..registry import get_dataset

    try:
        return get_dataset(name, artifacts)
    except DataFormatError as exc:
        raise DataFormatError(f"{flag} {name!r}: {exc}") from None


def evaluation_from_args(args: argparse.Namespace, artifacts: Path, load=None):
    """(evaluation manifest, description) from ``--eval-dataset/--eval-split`` (through ``load`` when given)."""
    from ..mixing import evaluation_manifest
    from ..registry import load_dataset

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


def reporter(args: argparse.Namespace, desc: str):
    """tqdm on the terminal, the status file for background jobs."""
    from ..progress import progress_for_cli

    return progress_for_cli(getattr(args, "status_file", None), desc)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (the app's Cancel) into SystemExit, so a run removes its partial folder on the way out."""
    import signal
    import sys
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def run(args: argparse.Namespace) -> int:
    from ..mixing import MixSpec, build_mix, evaluation_overlap
    from .runner import train_run

    artifacts = artifacts_from_args(args)
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
    result = train_run(train, evaluation, cfg, artifacts, spec.name,
                       {"configuration": spec.to_dict(), "evaluation": eval_info, **load.record()},
                       reporter(args, spec.name))
    m = result.metrics
    state = "already finished (kept, not retrained)" if result.skipped else "finished"
    print(f"{spec.name}: {state}: {result.path}")
    if m:
        print(f"accuracy {m.get('accuracy', float('nan')):.3f}  weighted F1 {m.get('weighted_f1', float('nan')):.3f}"
              f"  loss {m.get('loss') or float('nan'):.3f}  on {eval_info['dataset']}/{eval_info['split']}")
    return 0
