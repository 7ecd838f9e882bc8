"""Run folders: listing trained runs and evaluations together, and writing evaluations.

Every run lives in ``<artifacts>/runs/<run_id>/`` with ``config.json``,
``predictions.parquet`` (columns as :func:`core.models.classifier.predict_manifest`)
and ``metrics.json`` (:func:`core.evaluation.metrics.compute_metrics`).
Trained runs also hold ``model.keras`` and ``history.csv``; an evaluation
folder written by :func:`evaluate_model` has ``"kind": "evaluation"`` in its
config and no model file.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import (atomic_write_json, check_writable, read_json, read_parquet_file, refuse_existing_output,
                          replace_folder)
from ..data.manifest import atomic_write_parquet
from ..common.paths import runs_dir
from ..common.progress import ProgressFn
from .metrics import compute_metrics

DEFAULT_ATTRIBUTES: tuple[str, ...] = ("race", "gender", "skin_tone", "race x gender")
_VERSION_PACKAGES = ("numpy", "pandas", "scikit-learn", "fairlearn", "tensorflow", "keras", "fer")


@dataclass(frozen=True)
class RunInfo:
    """One run folder as :func:`list_runs` sees it."""

    run_id: str
    path: Path
    kind: str
    label: str
    created: float
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    has_predictions: bool
    has_model: bool
    notes: str = ""
    configuration: str = ""

    @property
    def display_name(self) -> str:
        """Unique name for selectors, bars, legends and the report: label, short id and date."""
        from .identity import display_name

        return display_name(self.label, self.run_id, self.created)


def code_version() -> str:
    """This code's git commit (short hash, ``+changes`` when the tree is modified), or ``"unknown"``."""
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+changes" if dirty else head or "unknown"


def versions() -> dict[str, str]:
    """Versions of this code (git commit), Python and the packages that influence results."""
    out = {"code": code_version(), "python": platform.python_version()}
    for pkg in _VERSION_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _read_json_or_none(path: Path) -> dict[str, Any] | None:
    try:
        return read_json(path) if path.is_file() else None
    except (json.JSONDecodeError, OSError, UnicodeDecodeError, ValueError):
        return None


def read_run(path: str | Path) -> RunInfo:
    """Describe one run folder.

    Raises
    ------
    DataFormatError
        If the folder has no readable ``config.json``.
    """
    path = Path(path)
    cfg = _read_json_or_none(path / "config.json")
    if cfg is None:
        raise DataFormatError("not a run folder; expected a readable config.json inside", path)
    from .identity import read_meta

    has_model = (path / "model.keras").is_file()
    kind = str(cfg.get("kind") or ("training" if has_model else "evaluation"))
    configuration = str(cfg.get("label") or cfg.get("name") or path.name)
    meta = read_meta(path)  # the user's rename and notes (label.json), never the run's own files
    created = float(cfg.get("created") or path.stat().st_mtime)
    return RunInfo(run_id=path.name, path=path, kind=kind, label=meta["label"] or configuration, created=created,
                   config=cfg, metrics=_read_json_or_none(path / "metrics.json"),
                   has_predictions=(path / "predictions.parquet").is_file(), has_model=has_model,
                   notes=meta["notes"], configuration=configuration)


def list_runs(artifacts: str | Path, with_predictions: bool = False) -> list[RunInfo]:
    """Trained runs and evaluations under ``<artifacts>/runs``, newest first (unreadable folders skipped)."""
    root = runs_dir(Path(artifacts))
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        if d.is_dir() and not d.name.startswith(".") and (d / "config.json").is_file():  # hidden: being written
            try:
                info = read_run(d)
            except DataFormatError:
                continue
            if info.has_predictions or not with_predictions:
                out.append(info)
    return sorted(out, key=lambda r: r.created, reverse=True)


def load_predictions(run: str | Path | RunInfo) -> pd.DataFrame:
    """``predictions.parquet`` of a run folder.

    Raises
    ------
    DataFormatError
        Missing or unreadable file, or a table without ``true``/``pred``.
    """
    path = (run.path if isinstance(run, RunInfo) else Path(run)) / "predictions.parquet"
    df = read_parquet_file(path, "no predictions; evaluate the run first (python -m core evaluate ...)")
    missing = [c for c in ("sample_id", "true", "pred") if c not in df.columns]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; expected a predictions table", path)
    return df


def write_evaluation(predictions: pd.DataFrame, out_dir: str | Path, config: dict[str, Any],
                     attributes: Iterable[str] = DEFAULT_ATTRIBUTES, n_boot: int = 1000,
                     min_persons: int = 5, seed: int = 0, leakage: dict[str, Any] | None = None,
                     unit: str = "person", final_dir: str | Path | None = None) -> dict[str, Any]:
    """Write ``predictions.parquet``, ``metrics.json``, ``config.json`` and ``versions.json`` into ``out_dir``.

    ``leakage`` (an audit from :mod:`core.evaluation.leakage`) is written as
    ``leakage.json``; ``unit`` is the unit of resampling of the intervals.
    ``final_dir`` is where the folder will live when ``out_dir`` is a staging
    copy (messages in the metrics name the final place).

    The metrics are computed before anything is written, so a failure leaves
    an existing folder untouched; each file is written atomically.

    Returns
    -------
    dict
        The metrics.
    """
    out_dir = Path(out_dir)
    metrics = compute_metrics(predictions, attributes=tuple(attributes), n_boot=n_boot, min_persons=min_persons,
                              seed=seed, source=str(Path(final_dir or out_dir) / "predictions.parquet"), unit=unit)
    cfg = {"kind": "evaluation", "created": time.time(), **config,
           "evaluation": {"attributes": list(attributes), "n_boot": n_boot, "min_persons": min_persons, "seed": seed,
                          "unit": unit}}
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(predictions.reset_index(drop=True), out_dir / "predictions.parquet")
    atomic_write_json(metrics, out_dir / "metrics.json")
    atomic_write_json(cfg, out_dir / "config.json")
    atomic_write_json(versions(), out_dir / "versions.json")
    if leakage is not None:
        atomic_write_json(leakage, out_dir / "leakage.json")
    return metrics


def select_split(manifest: pd.DataFrame, split: str = "auto") -> tuple[pd.DataFrame, str]:
    """Rows to evaluate: ``auto`` takes the test split when there is one, else every row.

    Returns
    -------
    tuple
        The rows and a description of what was taken (recorded in config.json).
    """
    if split == "all":
        return manifest, "all"
    if split == "auto":
        test = manifest[manifest["split"] == "test"]
        return (test, "test") if len(test) else (manifest, "all (the dataset has no test split)")
    rows = manifest[manifest["split"] == split]
    if rows.empty:
        raise DataFormatError(f"no rows in split {split!r}; splits present: {sorted(manifest['split'].unique())}",
                              "<manifest>", "split")
    return rows, split


def evaluate_model(model: str | Path, manifest: pd.DataFrame, out_dir: str | Path, dataset: dict[str, Any],
                   split: str = "auto", attributes: Iterable[str] = DEFAULT_ATTRIBUTES, n_boot: int = 1000,
                   min_persons: int = 5, batch_size: int = 64, limit: int | None = None,
                   progress: ProgressFn | None = None, label: str | None = None,
                   unit: str = "person", precision: str = "float32", replace: bool = False) -> dict[str, Any]:
    """Evaluate a classifier on a manifest and write an evaluation run folder.

    ``out_dir`` must be new or empty: a folder holding a run or a dataset is
    refused before anything is predicted, unless ``replace``; the folder is
    written in a hidden sibling and moved into place complete.

    Parameters
    ----------
    model : str or Path
        ``"fer"``, a run folder or a ``.keras``/``.h5`` file (see :func:`core.models.classifier.load_classifier`).
    manifest : pandas.DataFrame
        Validated manifest with image paths.
    out_dir : str or Path
        Run folder to write (``<artifacts>/runs/<id>`` to appear in the app).
    dataset : dict
        What the data were (name, format, path), recorded in ``config.json``.
    split : str
        ``auto``, ``test``, ``validation``, ``train`` or ``all`` (see :func:`select_split`).
    attributes, n_boot, min_persons
        Passed to :func:`compute_metrics`.
    batch_size : int
        Images per forward pass.
    limit : int, optional
        Evaluate only the first ``limit`` rows (quick looks).
    progress : callable, optional
        ``progress(done, total, message)``.
    label : str, optional
        Display name; default ``"<model> on <dataset> (<split>)"``.
    unit : {"person", "clip", "video"}
        Unit of resampling of the intervals (see :mod:`core.evaluation.units`).
    precision : {"float32", "bfloat16"}
        Backbone pass of a classifier trained here (:func:`core.models.classifier.predict_manifest`); recorded.
    replace : bool
        Replace a run already in ``out_dir`` (``--replace``), once the new one is complete.

    ``leakage.json`` records which evaluation persons the model was trained on
    (a run folder trained here) or why that cannot be checked; predictions
    carry ``seen_person``.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Raises
    ------
    ModelFileError, DataFormatError
    OutputError
        ``out_dir`` holds a run or dataset (without ``replace``) or cannot be written.
    """
    from ..models.classifier import load_classifier, predict_manifest

    out_dir = Path(out_dir)
    refuse_existing_output(out_dir, replace)
    check_writable(out_dir.parent, flag="--out")
    rows, split_used = select_split(manifest, split)
    rows = rows[rows["label"].notna()]
    if limit is not None:
        rows = rows.head(int(limit))
    if rows.empty:
        raise DataFormatError("no labelled rows to evaluate", dataset.get("path", "<manifest>"))
    if rows["path"].astype(str).str.contains("#").all():
        raise DataFormatError("rows point at video frames ('<video>#<frame>'), not images; extract face crops "
                              "first (Data page, EiLA preprocessing)", dataset.get("path", "<manifest>"))
    from .leakage import audit_for_model
    from .units import require_unit

    require_unit(rows, unit, str(dataset.get("path", "<manifest>")))
    clf = load_classifier(model)
    rows = rows.reset_index(drop=True)
    leakage, seen = audit_for_model(model, rows, split_used.split(" ")[0])
    preds = predict_manifest(clf, rows.assign(seen_person=seen.to_numpy()), batch_size=batch_size,
                             progress=progress, precision=precision)
    model_name = clf.name
    config = {"label": label or f"{model_name} on {dataset.get('name', 'data')} ({split_used})",
              "model": str(model), "model_name": clf.name, "model_source": clf.source,
              "classes": list(clf.classes), "input_size": clf.input_size, "channels": clf.channels,
              "input_scale": clf.input_scale, "dataset": {k: str(v) for k, v in dataset.items()},
              "synthetic": bool(dataset.get("synthetic", False)),
              "split": split_used, "n_samples": int(len(preds)), "limit": limit, "precision": precision}
    if dataset.get("split_rule"):
        config["split_rule"] = str(dataset["split_rule"])
    staging = out_dir.parent / f".partial-{out_dir.name}-{os.getpid()}"
    try:
        metrics = write_evaluation(preds, staging, config, attributes=attributes, n_boot=n_boot,
                                   min_persons=min_persons, leakage=leakage, unit=unit, final_dir=out_dir)
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # an empty folder given as --out
        replace_folder(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return metrics
