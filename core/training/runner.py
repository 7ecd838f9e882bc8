"""One training run -> one immutable run folder ``<artifacts>/runs/<run_id>/``.

The folder is built in ``runs/.partial-<run_id>-<pid>/`` (where the app reads
live ``history.csv`` and ``status.json``) and renamed into place only when
complete: config.json, model.keras, history.csv, predictions.parquet,
metrics.json, versions.json (and training_rows.parquet: the rows trained on;
leakage.json and training_identities.parquet: the identity leakage audit).
The run id is the configuration's name plus a digest of every setting and of
the data, so a finished configuration is recognised and never trained or
overwritten again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import atomic_write_json, parquet_problem, pid_alive, read_json
from ..data.labels import EMOTIONS
from ..data.manifest import atomic_write_parquet, validate_manifest
from ..common.paths import cache_dir, runs_dir
from ..common.progress import ProgressFn
from ..runs.ids import make_run_id
from ..runs.layout import PARTIAL_PREFIX, RUN_FILES, TRAINING_ROW_COLUMNS, TRAINING_ROWS
from .config import TrainConfig

if TYPE_CHECKING:
    import numpy as np

    from .head_fit import CachedHeadTrainer

@dataclass
class RunResult:
    """What :func:`train_run` returns."""

    run_id: str
    path: Path
    skipped: bool
    metrics: dict[str, Any] = field(default_factory=dict)


def data_fingerprint(train: pd.DataFrame, evaluation: pd.DataFrame) -> str:
    """SHA-1 of the rows (sample id, path, split, label) of the training and evaluation manifests."""
    h = hashlib.sha1()
    for df in (train, evaluation):
        part = df[["sample_id", "path", "split", "label"]].astype(str).sort_values("sample_id")
        h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        h.update(b"|")
    return h.hexdigest()


def run_id_for(name: str, cfg: TrainConfig, train: pd.DataFrame, evaluation: pd.DataFrame) -> str:
    """``<slug of name>-<10 hex digits>`` from the settings and the data (:func:`core.runs.ids.make_run_id`).

    ``precision="float32"`` is left out of the digest, so runs made before the
    setting existed keep their ids.
    """
    settings = cfg.to_dict()
    if settings.get("precision") == "float32":
        del settings["precision"]
    return make_run_id(name, settings, data_fingerprint(train, evaluation))


def seed_group_for(name: str, cfg: TrainConfig, train: pd.DataFrame, evaluation: pd.DataFrame) -> str:
    """The id shared by runs that differ only in the training seed: the run id the same run has with seed 0.

    Recorded in each run's config.json (``seed_group``) so pages can group a
    configuration's runs across seeds (``--seeds N``); it changes no run id.
    """
    return run_id_for(name, dataclasses.replace(cfg, seed=0), train, evaluation)


def run_problem(run_dir: Path) -> str | None:
    """Why a run folder is not a finished run (a file missing, a JSON or Parquet file unreadable), or None."""
    run_dir = Path(run_dir)
    missing = [f for f in RUN_FILES if not (run_dir / f).is_file()]
    if missing:
        return f"missing {missing}"
    for f in ("config.json", "metrics.json", "versions.json"):
        try:
            read_json(run_dir / f)
        except (OSError, ValueError) as exc:
            return str(exc)
    problem = parquet_problem(run_dir / "predictions.parquet")
    return None if problem is None else f"{run_dir / 'predictions.parquet'}: {problem}"


def is_finished(run_dir: Path) -> bool:
    """True when every file of a run folder exists and its JSON and Parquet files are readable."""
    return run_problem(run_dir) is None


def partial_runs(artifacts: Path) -> list[Path]:
    """Run folders being written (or left by a process that died), newest first."""
    root = runs_dir(artifacts)
    if not root.is_dir():
        return []
    return sorted((d for d in root.iterdir() if d.is_dir() and d.name.startswith(PARTIAL_PREFIX)),
                  key=lambda d: d.stat().st_mtime, reverse=True)


def partial_owner_alive(partial: Path) -> bool:
    """Whether the process that writes a partial run folder is still running."""
    try:
        return pid_alive(int(partial.name.rsplit("-", 1)[-1]))
    except ValueError:
        return False


def scratch_dir(artifacts: Path, partial_name: str) -> Path:
    """Where a run may memory-map its phase-2 activations (removed when the run ends)."""
    return cache_dir(artifacts) / "phase2-scratch" / partial_name


def remove_stale_partials(artifacts: Path) -> list[Path]:
    """Delete partial run folders (and their scratch files) whose process has died; returns them."""
    removed = []
    for d in partial_runs(artifacts):
        if not partial_owner_alive(d):
            shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(scratch_dir(artifacts, d.name), ignore_errors=True)
            removed.append(d)
    return removed


def check_training_data(train: pd.DataFrame, evaluation: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated manifests: labelled train+validation rows, labelled evaluation rows.

    Raises
    ------
    DataFormatError
        Missing train or validation rows, or an evaluation set without labels.
    """
    train = validate_manifest(train, "<training manifest>")
    evaluation = validate_manifest(evaluation, "<evaluation manifest>")
    train = train[train["split"].isin(["train", "validation"]) & train["label"].notna()].reset_index(drop=True)
    for split in ("train", "validation"):
        if not (train["split"] == split).any():
            raise DataFormatError(f"no labelled {split!r} rows; training needs train rows and validation rows "
                                  f"(for val_loss, early stopping and the learning-rate schedule)",
                                  "<training manifest>", "split")
    evaluation = evaluation[evaluation["label"].notna()].reset_index(drop=True)
    if evaluation.empty:
        raise DataFormatError("no labelled rows to evaluate on", "<evaluation manifest>", "label")
    leak = set(evaluation["sample_id"]) & set(train["sample_id"]) | set(evaluation["path"]) & set(train["path"])
    if leak:
        raise DataFormatError(f"{len(leak)} evaluation sample(s) are also in the training data, e.g. "
                              f"{sorted(leak)[:3]}; evaluate on a split that is never mixed in (EiLA's test split)",
                              "<evaluation manifest>")
    return train, evaluation


def versions(weights_used: str, warning: str | None) -> dict[str, Any]:
    """Python, TensorFlow, Keras and other package versions, the platform and the backbone weights used."""
    from ..evaluation.runs import versions as package_versions

    return {**package_versions(), "platform": platform.platform(), "weights_used": weights_used,
            "weights_warning": warning}


def _freeze_files(folder: Path) -> None:
    """Make a finished run's files read-only (0444)."""
    for f in folder.iterdir():
        if f.is_file():
            f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def train_run(train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig, artifacts: str | Path, name: str,
              data_info: dict[str, Any] | None = None, progress: ProgressFn | None = None,
              image_progress: ProgressFn | None = None, head_trainer: "CachedHeadTrainer | None" = None) -> RunResult:
    """Train one configuration and write its run folder.

    Parameters
    ----------
    train : pandas.DataFrame
        Manifest with ``train`` and ``validation`` rows (e.g. from :func:`core.mixing.build_mix`).
    evaluation : pandas.DataFrame
        Manifest of the evaluation set (EiLA's test split in the seed's design).
    cfg : TrainConfig
    artifacts : str or Path
        Artifacts folder; the run goes to ``runs/<run_id>/``, caches to ``cache/``.
    name : str
        Configuration name, e.g. ``"SFEW + 10% EiLA"``.
    data_info : dict, optional
        What the data is (mix spec, evaluation dataset and split), stored in config.json.
    progress : callable, optional
        ``progress(done, total, message)`` over epochs.
    image_progress : callable, optional
        Progress over images while caching features and predicting (default: ``progress``).
    head_trainer : core.training.head_fit.CachedHeadTrainer, optional
        Reused for cached phase 1 when its head settings match ``cfg`` (a sweep
        passes one to every configuration; the training is the same either way).

    Returns
    -------
    RunResult
        ``skipped`` is True when an identical run already existed (nothing was trained).
    """
    artifacts = Path(artifacts)
    train, evaluation = check_training_data(train, evaluation)
    run_id = run_id_for(name, cfg, train, evaluation)
    final = runs_dir(artifacts) / run_id
    if final.exists():
        problem = run_problem(final)
        if problem is not None:
            raise DataFormatError(f"an incomplete or corrupt run folder is in the way ({problem}); expected "
                                  f"{list(RUN_FILES)}. Runs are never overwritten: move or delete it to train this "
                                  "configuration again", final)
        return RunResult(run_id, final, True, _read_metrics(final))
    partial = runs_dir(artifacts) / f"{PARTIAL_PREFIX}{run_id}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        build_run(partial, final, train, evaluation, cfg, cache_dir(artifacts), name, data_info, progress,
                  image_progress, scratch_dir(artifacts, partial.name), head_trainer)
        return publish_run(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def build_run(folder: Path, final: Path, train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig,
              cache_root: Path, name: str, data_info: dict[str, Any] | None = None,
              progress: ProgressFn | None = None, image_progress: ProgressFn | None = None,
              scratch: Path | None = None, head_trainer: "CachedHeadTrainer | None" = None) -> None:
    """Train and write every file of a run into ``folder`` (config.json last); nothing is published.

    ``train`` and ``evaluation`` are checked manifests (:func:`check_training_data`);
    ``final`` is where the run will live (recorded in metrics.json); ``cache_root``
    holds the feature caches. :func:`train_run` calls this in a partial folder and
    then :func:`publish_run`; a Ray task calls it in a folder of its own and sends
    the files to the driver, which publishes them (:mod:`core.training.remote`).
    """
    from .loop import fit_run

    run_id = final.name
    started = time.time()
    atomic_write_json({"run_id": run_id, "name": name, "started": started, "state": "starting",
                       "total_epochs": cfg.total_epochs}, folder / "status.json")
    evaluation = record_identities(train, evaluation, folder, str((data_info or {}).get("evaluation", {})
                                                                  .get("split", "evaluation")))
    outcome = fit_run(train, evaluation, cfg, folder, Path(cache_root), name, progress,
                      image_progress or progress, scratch, head_trainer)
    predictions = _evaluate(folder, evaluation, cfg, image_progress or progress, final / "predictions.parquet",
                            outcome.evaluation_probs)
    atomic_write_json(versions(outcome.backbone["weights_used"], outcome.backbone["warning"]),
                      folder / "versions.json")
    atomic_write_parquet(train[[c for c in TRAINING_ROW_COLUMNS if c in train.columns]],
                         folder / TRAINING_ROWS)  # which rows trained it: later evaluations check overlap
    config = {
        "run_id": run_id, "kind": "training", "name": name, "label": name, "created": time.time(),
        "classes": list(EMOTIONS), "input_size": cfg.input_size, "channels": 3, "input_scale": "0-255",
        "training": cfg.to_dict(), "seed_group": seed_group_for(name, cfg, train, evaluation),
        "data": _data_summary(train, evaluation, data_info),
        "backbone": outcome.backbone, "feature_cache": outcome.cache_stats, "phase2": outcome.phase2,
        "epochs_run": outcome.epochs_run, "predictions": predictions, "timings_s": outcome.timings,
        "duration_s": round(time.time() - started, 1),
    }
    atomic_write_json(config, folder / "config.json")  # last: a folder with config.json is a complete run
    (folder / "status.json").unlink(missing_ok=True)


def publish_run(partial: Path, final: Path) -> RunResult:
    """Freeze a complete partial run folder and rename it into place (atomic); returns its result.

    When a concurrent process finished the same run first, its folder is kept
    and ``partial`` removed (``skipped`` is then True).
    """
    run_id = final.name
    _freeze_files(partial)
    try:
        os.rename(partial, final)
    except OSError:
        if is_finished(final):  # a concurrent process finished the same run first: keep its folder
            shutil.rmtree(partial, ignore_errors=True)
            return RunResult(run_id, final, True, _read_metrics(final))
        raise
    return RunResult(run_id, final, False, _read_metrics(final))


def write_published_run(artifacts: str | Path, run_id: str, files: dict[str, bytes]) -> RunResult:
    """Write a run's files (built elsewhere, e.g. by a Ray task) as a partial folder and publish it.

    Parameters
    ----------
    artifacts : str or Path
    run_id : str
        The run's id (its folder name under ``runs/``).
    files : dict of str to bytes
        File name -> content, as :func:`build_run` wrote them (``config.json`` among them).

    Returns
    -------
    RunResult

    Raises
    ------
    ValueError
        ``files`` lacks a file every run has, or names a path rather than a file.
    """
    missing = [f for f in RUN_FILES if f not in files]
    odd = [f for f in files if Path(f).name != f or f.startswith(".")]
    if missing or odd:
        raise ValueError(f"a run's files must be plain names including {list(RUN_FILES)}; missing {missing}, "
                         f"not plain file names {odd}")
    final = runs_dir(artifacts) / run_id
    if is_finished(final):
        return RunResult(run_id, final, True, _read_metrics(final))
    partial = runs_dir(artifacts) / f"{PARTIAL_PREFIX}{run_id}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for fname in sorted(files, key=lambda f: f == "config.json"):  # config.json last, as build_run writes it
            (partial / fname).write_bytes(files[fname])
        return publish_run(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def record_identities(train: pd.DataFrame, evaluation: pd.DataFrame, folder: Path, eval_split: str) -> pd.DataFrame:
    """Write ``leakage.json`` and ``training_identities.parquet``; returns ``evaluation`` with ``seen_person``."""
    from ..evaluation.leakage import leakage_audit, seen_persons, training_identities, write_leakage

    write_leakage(leakage_audit(train, evaluation, eval_split=eval_split), folder)
    atomic_write_parquet(training_identities(train), folder / "training_identities.parquet")
    return evaluation.assign(seen_person=seen_persons(train, evaluation).to_numpy())


#: Evaluation rows predicted through the saved model to check predictions made from cached moments,
#: and the largest absolute difference in probability allowed between the two.
CHECK_ROWS = 8
CHECK_TOLERANCE = 1e-4


def _evaluate(folder: Path, evaluation: pd.DataFrame, cfg: TrainConfig, progress: ProgressFn | None,
              source: Path, probs: "np.ndarray | None" = None) -> dict[str, Any]:
    """Write predictions.parquet and metrics.json; returns how the predictions were made (for config.json).

    ``probs`` are the evaluation rows' probabilities from cached moments (a run
    without phase 2): the first :data:`CHECK_ROWS` rows are also predicted
    through the saved ``model.keras`` and must agree, else nothing is written.
    Without ``probs`` every row goes through the saved model.
    """
    from ..models.classifier import load_classifier, predict_manifest, predictions_frame
    from ..evaluation import compute_metrics
    from ..evaluation.runs import DEFAULT_ATTRIBUTES

    clf = load_classifier(folder / "model.keras", classes=EMOTIONS, input_size=cfg.input_size, channels=3,
                          input_scale="0-255")
    batch = max(cfg.batch_size, 64)
    if probs is None:
        preds = predict_manifest(clf, evaluation, batch_size=batch, progress=progress, precision=cfg.precision)
        how: dict[str, Any] = {"from": "model.keras", "rows": len(preds), "precision": cfg.precision}
    else:  # the check runs the backbone in the run's precision too: same feature maps, float32 head
        check = predict_manifest(clf, evaluation.head(CHECK_ROWS), batch_size=batch, precision=cfg.precision)
        prob_cols = [f"prob_{e}" for e in EMOTIONS]
        diff = float(abs(check[prob_cols].to_numpy() - probs[:len(check)]).max())
        if not diff <= CHECK_TOLERANCE:
            raise RuntimeError(f"{folder / 'model.keras'}: its predictions on {len(check)} evaluation rows differ "
                               f"from the cached-moment predictions by up to {diff:.2g}; expected equal "
                               f"(<= {CHECK_TOLERANCE:g})")
        preds = predictions_frame(evaluation, probs)
        how = {"from": "cached moments", "precision": cfg.precision, "rows": len(preds),
               "checked_through_model_rows": len(check),
               "checked_max_abs_diff": diff}
    atomic_write_parquet(preds, folder / "predictions.parquet")
    metrics = compute_metrics(preds, attributes=DEFAULT_ATTRIBUTES, person=None, seed=cfg.seed,
                              source=str(source))
    atomic_write_json(metrics, folder / "metrics.json")
    return how


def _data_summary(train: pd.DataFrame, evaluation: pd.DataFrame, info: dict[str, Any] | None) -> dict[str, Any]:
    counts = train.groupby(["dataset", "split"]).size()
    return {**(info or {}),
            "n_train": int((train["split"] == "train").sum()),
            "n_validation": int((train["split"] == "validation").sum()),
            "n_evaluation": int(len(evaluation)),
            "rows_per_dataset_split": {f"{d}/{s}": int(n) for (d, s), n in counts.items()},
            "train_class_counts": {e: int(((train["split"] == "train") & (train["label"] == e)).sum())
                                   for e in EMOTIONS},
            "evaluation_datasets": sorted(evaluation["dataset"].unique().tolist()),
            "fingerprint": data_fingerprint(train, evaluation)}


def _read_metrics(folder: Path) -> dict[str, Any]:
    f = folder / "metrics.json"
    return read_json(f) if f.is_file() else {}
