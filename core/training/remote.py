"""One (configuration, seed) trained away from the driver, e.g. as a Ray task.

:func:`train_run_files` runs on a worker: it trains the run in a temporary
folder of its own with :func:`core.training.runner.build_run` (the same code a
local run goes through, reading the same content-addressed feature cache under
``<artifacts>/cache``) and returns the finished run's files. The driver writes
them as the immutable run folder (:func:`core.training.runner.write_published_run`),
so run folders are only ever written by the driver, exactly as a local sweep
writes them.

A worker keeps one :class:`~core.training.head_fit.CachedHeadTrainer` per head
setting (the seed among them) across the tasks it runs, as a local sweep does;
the training is the same with or without it.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..common.paths import cache_dir, runs_dir
from .config import TrainConfig

#: Head trainers this worker process has built, by head settings and channels.
_TRAINERS: dict[tuple, Any] = {}


def _trainer(cfg: TrainConfig, channels: int | None) -> Any:
    if not cfg.feature_cache or channels is None:
        return None
    from .head_fit import CachedHeadTrainer, _head_settings

    key = (_head_settings(cfg), int(channels))
    if key not in _TRAINERS:
        _TRAINERS.clear()  # one at a time: a trainer holds a traced loop and a head
        _TRAINERS[key] = CachedHeadTrainer(cfg, int(channels))
    return _TRAINERS[key]


def train_run_files(train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig, artifacts: str,
                    name: str, data_info: dict[str, Any] | None, channels: int | None = None
                    ) -> tuple[str, dict[str, bytes]]:
    """Train one run in a temporary folder and return ``(run_id, {file name: content})``.

    Parameters
    ----------
    train, evaluation : pandas.DataFrame
        Training and evaluation manifests (checked here as :func:`~core.training.runner.train_run` does).
    cfg : TrainConfig
    artifacts : str
        The artifacts folder of the driver: its ``cache/`` is read (and filled
        where features are missing); nothing is written under ``runs/``.
    name : str
        Configuration name.
    data_info : dict, optional
        What :func:`~core.training.runner.train_run` records about the data.
    channels : int, optional
        Channels of the backbone's feature map, to build a reusable head trainer.

    Returns
    -------
    tuple of (str, dict of str to bytes)
    """
    from .runner import build_run, check_training_data, run_id_for

    train, evaluation = check_training_data(train, evaluation)
    run_id = run_id_for(name, cfg, train, evaluation)
    final = runs_dir(Path(artifacts)) / run_id
    with tempfile.TemporaryDirectory(prefix=f"ferbias-run-{run_id}-") as tmp:
        folder = Path(tmp) / "run"
        folder.mkdir()
        build_run(folder, final, train, evaluation, cfg, cache_dir(Path(artifacts)), name, data_info,
                  scratch=Path(tmp) / "scratch", head_trainer=_trainer(cfg, channels))
        return run_id, {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()}
