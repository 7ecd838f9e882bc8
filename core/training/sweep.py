"""Many configurations in one go, resumable: finished runs are kept and skipped.

Each configuration's run id depends only on its settings and data
(:func:`core.training.runner.run_id_for`), so running the same sweep again,
after an interruption or not, trains only the configurations whose run folder
is missing. Partial folders left by a dead process are removed first. Frozen
backbone statistics for the union of all configurations' images are computed
once, before the first run, so every configuration reuses them, and one
:class:`core.training.head_fit.CachedHeadTrainer` (its traced loops) trains
every configuration's head.

With ``seeds=N`` each configuration is trained N times, with training seeds
``cfg.seed, cfg.seed + 1, ...``: each (configuration, seed) is its own run with
its own id, and every run records the ``seed_group`` it shares with the other
seeds of its configuration. With a :class:`core.runs.executors.RayExecutor` every
(configuration, seed) is one Ray task of one CPU
(:func:`core.training.remote.train_run_files`); the frozen feature pass runs
first, in shards on the cluster's actors (:mod:`core.models.feature_shards`,
into the same feature cache), then the driver writes each run folder as its
task finishes, so an interrupted sweep resumes the same way.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import pandas as pd

from ..mixing import MixSpec, build_mix
from ..common.paths import cache_dir, runs_dir
from ..common.progress import ProgressFn
from .config import TrainConfig
from .runner import (RunResult, check_training_data, is_finished, remove_stale_partials, run_id_for, train_run,
                     write_published_run)

if TYPE_CHECKING:
    from ..runs.executors import LocalExecutor, RayExecutor


@dataclass(frozen=True, eq=False)
class SweepItem:
    """One (configuration, training seed) of a sweep with its data, settings and run id."""

    spec: MixSpec
    train: pd.DataFrame
    run_id: str
    cfg: TrainConfig

    @property
    def name(self) -> str:
        return self.spec.name


def seed_configs(cfg: TrainConfig, seeds: int = 1) -> list[TrainConfig]:
    """``cfg`` with training seeds ``cfg.seed, cfg.seed + 1, ..., cfg.seed + seeds - 1``.

    Raises
    ------
    ValueError
        ``seeds`` is not a positive integer.
    """
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer (runs per configuration), received {seeds!r}")
    return [dataclasses.replace(cfg, seed=cfg.seed + k) for k in range(seeds)]


def plan_sweep(specs: Sequence[MixSpec], datasets: Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame],
               evaluation: pd.DataFrame, cfg: TrainConfig, seeds: int = 1) -> list[SweepItem]:
    """Build each configuration's training manifest and each (configuration, seed)'s run id (nothing is trained).

    Raises
    ------
    ValueError
        Two configurations with the same name, or ``seeds`` not a positive integer.
    """
    cfgs = seed_configs(cfg, seeds)
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
        items += [SweepItem(spec, train, run_id_for(spec.name, c, train, evaluation), c) for c in cfgs]
    return items


def sweep_status(items: Sequence[SweepItem], artifacts: Path) -> pd.DataFrame:
    """One row per (configuration, seed): name, seed, run id, sizes and whether its run is finished."""
    return pd.DataFrame([{"configuration": it.name, "seed": it.cfg.seed, "run_id": it.run_id,
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
              feature_progress: ProgressFn | None = None, split_rule: dict | None = None, seeds: int = 1,
              executor: "LocalExecutor | RayExecutor | None" = None) -> list[RunResult]:
    """Train every (configuration, seed) whose run is not finished yet.

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
    seeds : int
        Runs per configuration, with training seeds ``cfg.seed, cfg.seed + 1, ...``.
    executor : LocalExecutor or RayExecutor, optional
        Where the runs train (default: this process, one after another). On Ray
        the features are computed first, in shards by Ray actors, then each run
        is one task of one CPU.

    Returns
    -------
    list of RunResult
        In the order of ``specs``, each configuration's seeds in turn; ``skipped``
        marks runs that were already finished.
    """
    artifacts = Path(artifacts)
    remove_stale_partials(artifacts)
    items = plan_sweep(specs, datasets, evaluation, cfg, seeds)
    todo = [it for it in items if not is_finished(runs_dir(artifacts) / it.run_id)]
    channels = None
    if todo and cfg.feature_cache:
        channels = _cache_features(todo, evaluation, cfg, artifacts, feature_progress or progress, executor)
    tracker = _SweepProgress(progress, len(todo), cfg.total_epochs)

    def info(it: SweepItem) -> dict:
        return {"sweep": sweep, "configuration": it.spec.to_dict(), "evaluation": evaluation_info or {},
                **(split_rule or {})}

    if executor is not None and not executor.is_local:
        results = _run_remote(items, todo, evaluation, artifacts, [info(it) for it in todo], channels, tracker,
                              executor, lambda it: train_run(it.train, evaluation, it.cfg, artifacts, it.name,
                                                             info(it)))
    else:
        results = _run_here(items, todo, evaluation, artifacts, info, channels, tracker)
    if progress is not None and todo:
        progress(len(todo) * cfg.total_epochs, len(todo) * cfg.total_epochs, "sweep finished")
    return results


def _cache_features(todo: Sequence[SweepItem], evaluation: pd.DataFrame, cfg: TrainConfig, artifacts: Path,
                    report: ProgressFn | None, executor: "LocalExecutor | RayExecutor | None" = None) -> int:
    """Frozen-backbone moments of every image the runs to do need (each once, here or in shards on Ray);
    returns the feature channels."""
    from .features import compute_moments
    from .model import load_backbone_for

    paths = {p for it in todo for p in it.train["path"]}
    if cfg.phase2_epochs == 0:  # such runs predict their (labelled) evaluation rows from moments too
        paths |= set(evaluation.loc[evaluation["label"].notna(), "path"])

    def features(done: int, total: int, message: str = "") -> None:
        if report is not None:
            report(done, total, f"frozen-backbone features of {total} unique images (once per image): {message}")

    backbone = load_backbone_for(cfg)
    compute_moments(sorted(paths), backbone, cache_dir(artifacts) / "features", cfg.cache_batch_size, features,
                    cfg.precision, executor)
    return int(backbone.model.output_shape[-1])


def _run_here(items, todo, evaluation, artifacts, info, channels, tracker) -> list[RunResult]:
    """Train the runs in this process, one after another, with one head trainer per seed."""
    from .head_fit import CachedHeadTrainer

    trainers: dict[int, CachedHeadTrainer] = {}
    todo_ids = [it.run_id for it in todo]
    results = []
    for it in items:
        trainer = None
        if it.run_id in todo_ids:
            tracker.start(todo_ids.index(it.run_id))
            if channels is not None:  # one traced head loop per seed, on the backbone's feature channels
                if it.cfg.seed not in trainers:
                    trainers[it.cfg.seed] = CachedHeadTrainer(it.cfg, channels)
                trainer = trainers[it.cfg.seed]
        results.append(train_run(it.train, evaluation, it.cfg, artifacts, it.name, info(it), tracker.epochs,
                                 tracker.images, trainer))
    return results


def train_one(spec: MixSpec, train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig, artifacts: str | Path,
              data_info: dict | None = None, progress: ProgressFn | None = None,
              executor: "LocalExecutor | RayExecutor | None" = None) -> RunResult:
    """One configuration's run (``python -m core train``): :func:`train_run` here, or one task on Ray.

    On Ray the frozen feature pass runs first in shards on the cluster's actors
    (into the artifacts' feature cache, which must be on a shared file system),
    then one task trains; this process writes the run folder. ``data_info`` is recorded as :func:`train_run` records it, so the run
    folder is the same wherever it trained.
    """
    if executor is None or executor.is_local:
        return train_run(train, evaluation, cfg, artifacts, spec.name, data_info, progress)
    artifacts = Path(artifacts)
    remove_stale_partials(artifacts)
    train, evaluation = check_training_data(train, evaluation)
    item = SweepItem(spec, train, run_id_for(spec.name, cfg, train, evaluation), cfg)
    todo = [] if is_finished(runs_dir(artifacts) / item.run_id) else [item]
    channels = None
    if todo and cfg.feature_cache:  # the images train_run would compute, in shards on the cluster
        channels = _cache_features(todo, evaluation, cfg, artifacts, progress, executor)
    return _run_remote([item], todo, evaluation, artifacts, [data_info or {}], channels,
                       _SweepProgress(progress, len(todo), cfg.total_epochs), executor,
                       lambda it: train_run(it.train, evaluation, it.cfg, artifacts, it.name, data_info))[0]


def _run_remote(items, todo, evaluation, artifacts, infos, channels, tracker, executor, kept) -> list[RunResult]:
    """One task per run to do (``infos``: their data_info); this process writes each run folder as its task
    finishes. ``kept(item)`` is the result of a run already finished."""
    from .remote import train_run_files

    done: dict[str, RunResult] = {}
    tasks = [(it.train, evaluation, it.cfg, str(artifacts), it.name, inf, channels) for it, inf in zip(todo, infos)]
    for k, (index, (run_id, files)) in enumerate(executor.map(train_run_files, tasks, num_cpus=1)):
        if run_id != todo[index].run_id:
            raise RuntimeError(f"a task trained run {run_id!r}; expected {todo[index].run_id!r}")
        done[run_id] = write_published_run(artifacts, run_id, files)
        tracker.start(k)
        tracker.epochs(tracker.per, tracker.per, f"{todo[index].name} (seed {todo[index].cfg.seed}) finished on "
                                       f"{executor.describe()}")
    return [done[it.run_id] if it.run_id in done else kept(it) for it in items]
