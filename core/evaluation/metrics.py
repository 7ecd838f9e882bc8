"""Run-level classification metrics and :func:`compute_metrics`, the one summary of a predictions table.

A *predictions table* is what :func:`core.models.classifier.predict_manifest` returns:
``sample_id, true, pred, prob_<emotion>`` for every emotion of
:data:`core.data.labels.EMOTIONS` (in that order), ``confidence``, ``correct`` and
the manifest's group columns (``race``, ``gender``, ``skin_color``,
``person`` ...). Accuracies are fractions in [0, 1] everywhere.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from ..common._errors import DataFormatError
from ..data.labels import EMOTIONS
from .fairness import group_report
from .uncertainty import accuracy_interval
from .units import require_unit, unit_ids
from .validation import check_predictions, person_column

PROB_COLUMNS: tuple[str, ...] = tuple(f"prob_{e}" for e in EMOTIONS)
#: Keras' clipping constant for categorical cross-entropy.
EPSILON = 1e-7


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Fraction of correct predictions (the seed's Equation 6, as a fraction)."""
    return float(accuracy_score(list(y_true), list(y_pred)))


def weighted_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Support-weighted mean of per-class F1 (the seed's Equations 4-5); classes never seen score 0."""
    return float(f1_score(list(y_true), list(y_pred), average="weighted", zero_division=0))


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred``."""
    return float(f1_score(list(y_true), list(y_pred), average="macro", zero_division=0))


def categorical_cross_entropy(y_true: Sequence[str], proba: np.ndarray,
                              classes: Sequence[str] = EMOTIONS) -> float:
    """Mean categorical cross-entropy as Keras computes it (the seed's Equation 3).

    Parameters
    ----------
    y_true : sequence of str
        True labels, each in ``classes``.
    proba : numpy.ndarray
        ``(n, len(classes))`` predicted probabilities; rows are renormalised to
        sum to 1 and clipped to ``[1e-7, 1 - 1e-7]`` like ``keras.losses``.
    classes : sequence of str
        Column order of ``proba``.

    Returns
    -------
    float
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(y_true), len(classes)):
        raise ValueError(f"proba must have shape ({len(y_true)}, {len(classes)}), received {proba.shape}")
    index = {c: i for i, c in enumerate(classes)}
    idx = np.array([index[t] for t in y_true], dtype=int)
    proba = proba / np.clip(proba.sum(axis=1, keepdims=True), EPSILON, None)
    p_true = np.clip(proba[np.arange(len(idx)), idx], EPSILON, 1 - EPSILON)
    return float(-np.mean(np.log(p_true)))


def per_class_metrics(y_true: Sequence[str], y_pred: Sequence[str],
                      classes: Sequence[str] = EMOTIONS) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (index ``classes``); undefined ratios are 0."""
    p, r, f, s = precision_recall_fscore_support(list(y_true), list(y_pred), labels=list(classes), zero_division=0)
    return pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s.astype(int)},
                        index=pd.Index(list(classes), name="class"))


def confusion(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str] = EMOTIONS) -> pd.DataFrame:
    """Confusion matrix of counts: rows are true classes, columns predicted classes, both in ``classes`` order."""
    m = confusion_matrix(list(y_true), list(y_pred), labels=list(classes))
    return pd.DataFrame(m, index=pd.Index(list(classes), name="true"), columns=pd.Index(list(classes), name="pred"))


def loss_of(df: pd.DataFrame) -> float | None:
    """Cross-entropy of a checked predictions table: from ``prob_*`` columns, else ``nll``, else None."""
    if all(c in df.columns for c in PROB_COLUMNS) and not df[list(PROB_COLUMNS)].isna().any().any():
        return categorical_cross_entropy(df["true"].tolist(), df[list(PROB_COLUMNS)].to_numpy())
    if "nll" in df.columns and df["nll"].notna().all():
        return float(np.mean(np.minimum(df["nll"].to_numpy(dtype=float), -math.log(EPSILON))))
    return None


def clean_for_json(obj: Any) -> Any:
    """Replace NaN/inf floats by None and NumPy scalars by Python ones, recursively."""
    if isinstance(obj, dict):
        return {str(k): clean_for_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_for_json(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    return obj


def compute_metrics(predictions: pd.DataFrame, attributes: Iterable[str] = ("race",),
                    person: str | None | bool = "person", n_boot: int = 1000, confidence: float = 0.95,
                    min_persons: int = 5, seed: int = 0, source: str = "<predictions>",
                    unit: str = "person") -> dict[str, Any]:
    """Every metric of a run, JSON-ready (``metrics.json``).

    Parameters
    ----------
    predictions : pandas.DataFrame
        A predictions table (see the module docstring). Unlabelled rows are ignored.
    attributes : iterable of str
        Group attributes: a column (``race``, ``gender``), ``skin_tone`` (ITA
        category from ``skin_color``), ``skin_tone_tertile`` or an intersection
        such as ``race x gender``. Attributes the table cannot provide are
        listed under ``groups_unavailable`` instead of failing.
    person : str, None or False
        Column identifying individuals (``"person"`` or ``None``: the
        ``person`` column when present; ``False``: ignore persons). When it has values, confidence intervals
        come from a bootstrap over persons, else Wilson intervals.
    n_boot : int
        Bootstrap replicates.
    confidence : float
        Confidence level of every interval.
    min_persons : int
        Groups with fewer distinct persons are flagged ``low_n``.
    seed : int
        Seed of the bootstrap.
    source : str
        Name used in error messages.
    unit : {"person", "clip", "video"}
        Unit of resampling of every interval (see :mod:`core.evaluation.units`).

    Returns
    -------
    dict
        ``n_samples, n_persons, accuracy, accuracy_ci_low, accuracy_ci_high,
        weighted_f1, macro_f1, loss, per_class, confusion, groups, fairness,
        groups_unavailable, settings``; ``groups[<attribute>][<group>]`` has
        ``accuracy, ci_low, ci_high, weighted_f1, n_samples, n_persons, n_clips,
        n_videos, low_n, one_clip, ci_method`` and ``fairness[<attribute>]`` the raw std (ddof=1) of group
        accuracies with its CI, max-min gap and min/max ratio, and
        ``std_corrected`` / ``gap_corrected`` / ``ratio_corrected`` with CIs
        (corrected for sampling noise, :mod:`core.evaluation.disparity`).
    """
    df = check_predictions(predictions, source)
    pcol = person_column(df, None if person == "person" else person)  # the default column may be absent
    require_unit(df, unit, source)
    clusters = unit_ids(df, unit, pcol)
    rng = np.random.default_rng(seed)
    overall = accuracy_interval(df["correct"].to_numpy(), None if clusters is None else clusters.to_numpy(),
                                n_boot=n_boot, confidence=confidence, min_persons=min_persons, rng=rng)
    pcm = per_class_metrics(df["true"], df["pred"])
    cm = confusion(df["true"], df["pred"])
    out: dict[str, Any] = {
        "n_samples": int(len(df)),
        "n_unlabelled": int(len(predictions) - len(df)),
        "n_persons": None if pcol is None else int(df[pcol].nunique()),
        "accuracy": accuracy(df["true"], df["pred"]),
        "accuracy_ci_low": overall.low, "accuracy_ci_high": overall.high, "accuracy_ci_method": overall.method,
        "weighted_f1": weighted_f1(df["true"], df["pred"]),
        "macro_f1": macro_f1(df["true"], df["pred"]),
        "loss": loss_of(df),
        "per_class": {c: {k: (int(v) if k == "support" else float(v)) for k, v in row.items()}
                      for c, row in pcm.to_dict(orient="index").items()},
        "confusion": {"labels": list(EMOTIONS), "matrix": cm.to_numpy().tolist()},
        "groups": {}, "fairness": {}, "groups_unavailable": {},
        "settings": {"n_boot": int(n_boot), "confidence": float(confidence), "min_persons": int(min_persons),
                     "seed": int(seed), "person_column": pcol, "unit": unit},
    }
    for attr in attributes:
        try:
            rep = group_report(df, attr, person=pcol if pcol is not None else False, n_boot=n_boot,
                               confidence=confidence, min_persons=min_persons, seed=seed, source=source, unit=unit)
        except DataFormatError as exc:
            out["groups_unavailable"][attr] = str(exc)
            continue
        out["groups"][attr] = rep.groups_dict()
        out["fairness"][attr] = rep.summary
    return clean_for_json(out)
