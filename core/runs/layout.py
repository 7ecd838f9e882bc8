"""What a run folder ``<artifacts>/runs/<run_id>/`` holds, and its training history file.

A finished training run holds :data:`RUN_FILES` and :data:`RECORD_FILES` (and
:data:`TRAINING_ROWS` when made after it existed); it is written in a hidden
``.partial-<run_id>-<pid>`` folder (where the app reads the live
``history.csv``) and renamed into place complete (:mod:`core.training.runner`).
Imports nothing of training or evaluation, so both can use it.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..common._io import atomic_write_text

PARTIAL_PREFIX = ".partial-"
RUN_FILES: tuple[str, ...] = ("config.json", "model.keras", "history.csv", "predictions.parquet", "metrics.json",
                              "versions.json")
#: Also written by every run (runs made before they existed are still finished): the identity leakage audit
#: between the run's training and evaluation rows, and who and what clips it trained on (for later evaluations).
RECORD_FILES: tuple[str, ...] = ("leakage.json", "training_identities.parquet")
#: Written by new runs beside RUN_FILES (older runs lack it): the training mix's rows, for overlap checks.
TRAINING_ROWS = "training_rows.parquet"
TRAINING_ROW_COLUMNS: tuple[str, ...] = ("sample_id", "path", "dataset", "split", "person")


def read_history(folder: str | Path) -> pd.DataFrame:
    """A run's (or partial run's) ``history.csv``; empty frame when absent."""
    f = Path(folder) / "history.csv"
    if not f.is_file():
        return pd.DataFrame(columns=["epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_csv(f)


def write_history(rows: list[dict[str, Any]], folder: Path) -> None:
    """Write history rows atomically."""
    atomic_write_text(pd.DataFrame(rows).to_csv(index=False), folder / "history.csv")
