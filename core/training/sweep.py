"""Many configurations in one go, resumable: finished runs are kept and skipped.

Each configuration's run id depends only on its settings and data
(:func:`core.training.runner.run_id_for`), so running the same sweep again,
after an interruption or not, trains only the configurations whose run folder
is missing. Partial folders left by a dead process are removed first. Frozen
backbone statistics for the union of all configurations' images are computed
once, before the first run, so every configuration reuses them, and one
:class:`core.training.head_fit.CachedHeadTrainer` (its traced loops) trains
every configuration's head.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pandas as pd

from ..mixing import MixSpec, build_mix
from ..paths import cache_dir, runs_dir
from ..progress import ProgressFn
from .config import TrainConfig
from .runner import RunResult, is_finished, remove_stale_partials, run_id_for, train_run


@dataclass(frozen=True, eq=False)
class SweepItem:
    """One configuration of a sweep with its data and run id."""

    spec: MixSpec
    train: pd.DataFrame
    run_id: str

    @property
    def name(self) -> str:
        return self.spec.name


def plan_sweep(specs: Sequence[MixSpec], datasets: Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame],
               evaluation: pd.DataFrame, cfg: TrainConfig) -> list[SweepItem]:
    """Build each configuration's training manifest and run id (nothing is trained).

    Raises
    ------
    ValueError
        Two configurations with the same name.
    """
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"configuration names must be unique in a sweep, repeated: {dup}")
    cache: dict[str, pd.DataFrame] = {}

    def get(name: str) -> pd.DataFrame:
        if name not in cache:
            cache[name] = datasets[name] if isinstance(datasets, Mapping) else datasets(name)
        return cache[name]

    items = []
    for spec in specs:
        train = build_mix(spec, get)
        items.append(SweepItem(spec, train, run_id_for(spec.name, cfg, train, evaluation)))
    return items


def sweep_status(items: Sequence[SweepItem], artifacts: Path) -> pd.DataFrame:
    """One row per configuration: name, run id, sizes and whether its run is finished."""
    return pd.DataFrame([{"configuration": it.name, "run_id": it.run_id,
                          "train": int((it.train["split"] == "train").sum()),
                          "validation": int((it.train["split"] == "validation").sum()),
                          "finished": is_finished(runs_dir(artifacts) / it.run_id)} for it in items])


class _SweepProgress:
    """Maps one run's progress onto the sweep's overall progress in epochs.

    The total is reached only when :func:`run_sweep` reports the end: after its
    last epoch the last run still predicts on the evaluation set, and a bar that
    showed 100 % then would look finished while work goes on.
    """

    def __init__(self, outer: ProgressFn | None, n_runs: int, epochs_per_run: int) -> None:
        self.outer, self.n_runs, self.per = outer, n_runs, epochs_per_run
        self.index = 0
        self.done = 0

    def start(self, index: int) -> None:
        """The ``index``-th configuration to train begins."""
        self.index, self.done = index, index * self.per

    def epochs(self, done: int, total: int, message: str = "") -> None:
        """Epoch progress of the current run."""
        self.done = self.index * self.per + done
        self._report(f"[{self.index + 1}/{self.n_runs}] {message}")

    def images(self, done: int, total: int, message: str = "") -> None:
        """Image progress (features, predictions): the epoch count stays, the message says what runs."""
        self._report(f"[{self.index + 1}/{self.n_runs}] {message} {done}/{total}")

    def _report(self, message: str) -> None:
        if self.outer is not None:
            total = self.n_runs * self.per
            self.outer(min(self.done, total - 1), total, message)


def run_sweep(specs: Sequence[MixSpec], datasets: Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame],
              evaluation: pd.DataFrame, cfg: TrainConfig, artifacts: str | Path, sweep: str = "custom",
              evaluation_info: dict | None = None, progress: ProgressFn | None = None,
              feature_progress: ProgressFn | None = None, split_rule: dict | None = None) -> list[RunResult]:
    """Train every configuration whose run is not finished yet.

    Parameters
    ----------
    specs : sequence of MixSpec
        Configurations (e.g. :func:`core.mixing.table3_preset`).
    datasets : mapping or callable
        Dataset name -> manifest.
    evaluation : pandas.DataFrame
        Evaluation manifest shared by all configurations.
    cfg : TrainConfig
    artifacts : str or Path
    sweep : str
        Name recorded in each run's config.json.
    evaluation_info : dict, optional
        Description of the evaluation set (dataset, split) for config.json.
    progress : callable, optional
        Overall progress in epochs over the configurations still to train.
    feature_progress : callable, optional
        Progress of the one-off feature computation (images).
    split_rule : dict, optional
        ``{"split_rule": ..., "split_seed": ...}`` of the EiLA data, recorded in
        each run's config.json (see :mod:`core.training.split_rules`).

    Returns
    -------
    list of RunResult
        In the order of ``specs``; ``skipped`` marks runs that were already finished.
    """
    from .features import compute_moments
    from .head_fit import CachedHeadTrainer
    from .model import load_backbone_for

    artifacts = Path(artifacts)
    remove_stale_partials(artifacts)
    items = plan_sweep(specs, datasets, evaluation, cfg)
    todo = [it for it in items if not is_finished(runs_dir(artifacts) / it.run_id)]
    trainer = None
    if todo and cfg.feature_cache:
        paths = {p for it in todo for p in it.train["path"]}
        if cfg.phase2_epochs == 0:  # such runs predict their (labelled) evaluation rows from moments too
            paths |= set(evaluation.loc[evaluation["label"].notna(), "path"])
        paths = sorted(paths)
        report = feature_progress or progress

        def features(done: int, total: int, message: str = "") -> None:
            if report is not None:
                report(done, total, f"frozen-backbone features of {total} unique images (once per image): "
                                    f"{message}")

        backbone = load_backbone_for(cfg)
        compute_moments(paths, backbone, cache_dir(artifacts) / "features", cfg.cache_batch_size, features)
        # one traced head loop for every configuration, on the channels of the backbone's final feature map
        trainer = CachedHeadTrainer(cfg, int(backbone.model.output_shape[-1]))
    tracker = _SweepProgress(progress, len(todo), cfg.total_epochs)
    todo_ids = [it.run_id for it in todo]
    results = []
    for it in items:
        if it.run_id in todo_ids:
            tracker.start(todo_ids.index(it.run_id))
        info = {"sweep": sweep, "configuration": it.spec.to_dict(), "evaluation": evaluation_info or {},
                **(split_rule or {})}
        results.append(train_run(it.train, evaluation, cfg, artifacts, it.name, info, tracker.epochs,
                                 tracker.images, trainer))
    if progress is not None and todo:
        progress(len(todo) * cfg.total_epochs, len(todo) * cfg.total_epochs, "sweep finished")
    return results
