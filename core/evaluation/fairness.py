"""Per-group metrics for any attribute, with honest intervals and disparity summaries.

Attributes (``race``, ``skin_tone``, ``race x gender``...) are resolved by
:func:`core.attributes.resolve_attribute`; groups are listed in
:func:`core.attributes.group_order`.

Group point estimates use fairlearn's :class:`~fairlearn.metrics.MetricFrame`;
intervals come from :mod:`core.evaluation.uncertainty`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count
from sklearn.metrics import accuracy_score, f1_score

from ..common._clusters import fill_missing_ids
from ..common._errors import DataFormatError
from ..attributes import group_order, resolve_attribute
from .disparity import corrected_spread
from .uncertainty import Interval, accuracy_interval, count_interval, per_person_counts, spread, spread_intervals
from .units import clip_ids, require_unit, unit_ids, video_ids
from .validation import PersonArg, check_predictions, person_column


def _n_distinct(y_true: Any, y_pred: Any, person: Any) -> int:
    return int(pd.Series(person, dtype=object).nunique(dropna=True))


@dataclass(frozen=True)
class GroupReport:
    """Per-group metrics of one attribute.

    Attributes
    ----------
    attribute : str
    table : pandas.DataFrame
        One row per group (index ``group``): ``accuracy, ci_low, ci_high,
        weighted_f1, n_samples, n_persons, n_clips, n_videos, low_n, one_clip,
        ci_method`` (``one_clip``: the group's frames come from one clip or
        one video; counts are None where the table has no such ids).
    summary : dict
        ``std`` (ddof=1, the seed's %Std, also as ``std_raw``: biased upward by
        sampling noise) of group accuracies with ``std_ci_low/high``, ``gap``
        and ``ratio`` with CIs; ``std_corrected``, ``gap_corrected`` and
        ``ratio_corrected`` with ``_ci_low/_ci_high`` (corrected for sampling
        noise, :mod:`core.evaluation.disparity`: what the app ranks on),
        best/worst group, flagged groups and settings.
    replicates : numpy.ndarray
        ``(n_boot, n_groups)`` bootstrap replicates of the group accuracies.
    """

    attribute: str
    table: pd.DataFrame
    summary: dict[str, Any]
    replicates: np.ndarray

    def groups_dict(self) -> dict[str, dict[str, Any]]:
        """``{group: {accuracy, ci_low, ci_high, weighted_f1, n_samples, n_persons, low_n, ci_method}}``."""
        return {str(g): {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for g, row in self.table.to_dict(orient="index").items()}


def _summarize(attribute: str, table: pd.DataFrame, reps: np.ndarray, confidence: float,
               extra: dict[str, Any], counts: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"attribute": attribute, "n_groups": int(len(table)),
                               "groups": [str(g) for g in table.index]}
    observed = spread(table["accuracy"].to_numpy())
    summary.update(observed)
    summary.update(spread_intervals(reps, confidence, observed))
    summary["std_raw"] = summary["std"]
    summary.update(corrected_spread([k for k, _ in counts], [n for _, n in counts], confidence))
    if len(table):
        summary["best_group"] = str(table["accuracy"].idxmax())
        summary["worst_group"] = str(table["accuracy"].idxmin())
    summary["flagged_groups"] = [str(g) for g in table.index[table["low_n"].to_numpy(dtype=bool)]]
    if "one_clip" in table.columns:
        summary["one_clip_groups"] = [str(g) for g in table.index[table["one_clip"].to_numpy(dtype=bool)]]
    summary["confidence"] = float(confidence)
    summary.update(extra)
    return summary


def _sources(ids: pd.Series | None, mask: np.ndarray) -> int | None:
    return None if ids is None else int(ids[mask].nunique(dropna=True))


def group_report(predictions: pd.DataFrame, attribute: str = "race", person: PersonArg = None, n_boot: int = 1000,
                 confidence: float = 0.95, min_persons: int = 5, min_samples: int = 30, seed: int = 0,
                 source: str = "<predictions>", unit: str = "person") -> GroupReport:
    """Accuracy per group with confidence intervals, sample and person counts, and disparity summary.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Predictions table (``true``, ``pred`` and the attribute's columns).
    attribute : str
        ``race`` (default), ``gender``, ``skin_tone``, ``skin_tone_tertile``, any
        column, or an intersection such as ``race x gender``.
    person : str, None or False
        Person column for the cluster-robust intervals; ``None`` uses ``person`` when
        present, ``False`` ignores persons (Wilson intervals).
    n_boot : int
        Bootstrap replicates.
    confidence : float
        Coverage of the intervals.
    min_persons : int
        Groups with fewer persons are flagged ``low_n``.
    min_samples : int
        Without persons, groups with fewer samples are flagged.
    seed : int
        Bootstrap seed.
    source : str
        Name used in error messages.
    unit : {"person", "clip", "video"}
        Unit of resampling: intervals resample whole persons (default), clips
        or videos (:mod:`core.evaluation.units`); ``min_persons`` then counts
        those units.

    Returns
    -------
    GroupReport
        ``.table`` one row per group, ``.summary`` the raw std (ddof=1) with CI, gap, ratio,
        and their versions corrected for sampling noise.

    Raises
    ------
    DataFormatError
        Missing columns, unknown labels, or no row with a value for ``attribute``.
    """
    df = check_predictions(predictions, source)
    groups = resolve_attribute(df, attribute, source)
    keep = groups.notna().to_numpy()
    if not keep.any():
        raise DataFormatError(f"no row has a value for {attribute!r}", source, attribute)
    pcol = person_column(df, person)
    require_unit(df, unit, source)
    df, groups = df[keep].reset_index(drop=True), groups[keep].reset_index(drop=True)
    clusters = unit_ids(df, unit, pcol)
    clips, videos = clip_ids(df), video_ids(df)
    metrics: dict[str, Any] = {"accuracy": accuracy_score, "n_samples": count,
                               "weighted_f1": partial(f1_score, average="weighted", zero_division=0)}
    params = {}
    if pcol is not None:
        metrics["n_persons"] = _n_distinct
        params = {"n_persons": {"person": df[pcol].astype(object).to_numpy()}}
    mf = MetricFrame(metrics=metrics, y_true=df["true"].to_numpy(), y_pred=df["pred"].to_numpy(),
                     sensitive_features=groups.rename(attribute), sample_params=params)
    by = mf.by_group
    names = group_order([str(g) for g in by.index])
    rng = np.random.default_rng(seed)
    ids, n_missing_ids = fill_missing_ids(clusters, len(df), unit)
    rows, reps, counts = [], [], []
    for g in names:
        mask = (groups == g).to_numpy()
        correct = df.loc[mask, "correct"].to_numpy()
        iv: Interval = accuracy_interval(correct, None if ids is None else ids[mask], n_boot=n_boot,
                                         confidence=confidence, min_persons=min_persons, min_samples=min_samples,
                                         rng=rng, unit=unit)
        counts.append(per_person_counts(correct, ids[mask]) if ids is not None else
                      (correct.astype(float), np.ones(correct.size)))
        rows.append({"group": g, "accuracy": float(by.loc[g, "accuracy"]), "ci_low": iv.low, "ci_high": iv.high,
                     "weighted_f1": float(by.loc[g, "weighted_f1"]), "n_samples": int(by.loc[g, "n_samples"]),
                     "n_persons": None if pcol is None else int(by.loc[g, "n_persons"]),
                     "n_clips": _sources(clips, mask), "n_videos": _sources(videos, mask), "low_n": bool(iv.low_n),
                     "one_clip": _sources(clips, mask) == 1 or _sources(videos, mask) == 1, "ci_method": iv.method})
        reps.append(iv.replicates)
    table = pd.DataFrame(rows).set_index("group")
    rep_matrix = np.column_stack(reps) if reps else np.zeros((n_boot, 0))
    extra = {"n_missing": int((~keep).sum()), "person_column": pcol, "min_persons": int(min_persons),
             "n_missing_persons": int(n_missing_ids) if clusters is not None else 0,
             "min_samples": int(min_samples), "n_boot": int(n_boot),
             "unit": unit if clusters is not None else None,
             "ci_method": f"cluster-robust logit-t interval over {unit}s per group; raw std CI from a cluster "
                          "bootstrap" if clusters is not None else
                          "Wilson per group; raw std CI from a binomial bootstrap"}
    return GroupReport(attribute, table, _summarize(attribute, table, rep_matrix, confidence, extra, counts),
                       rep_matrix)


def group_report_from_counts(counts: pd.DataFrame, attribute: str = "race", n_boot: int = 1000,
                             confidence: float = 0.95, min_samples: int = 30, seed: int = 0) -> GroupReport:
    """The same report from published counts (no persons): Wilson intervals, binomial bootstrap for the std.

    Parameters
    ----------
    counts : pandas.DataFrame
        Index ``group``; columns ``n_samples`` and either ``n_correct`` or
        ``accuracy`` (a fraction; ``n_correct`` is then ``accuracy * n_samples``).
    attribute, n_boot, confidence, min_samples, seed
        As in :func:`group_report`.

    Returns
    -------
    GroupReport
    """
    if "n_samples" not in counts.columns or not ({"n_correct", "accuracy"} & set(counts.columns)):
        raise DataFormatError(f"expected columns n_samples and n_correct or accuracy, received {list(counts.columns)}",
                              "<counts>")
    rng = np.random.default_rng(seed)
    rows, reps, frames = [], [], []
    for g, row in counts.iterrows():
        n = int(row["n_samples"])
        acc = float(row["accuracy"]) if "accuracy" in counts.columns else float(row["n_correct"]) / n
        iv = count_interval(acc * n, n, n_boot=n_boot, confidence=confidence, min_samples=min_samples, rng=rng)
        rows.append({"group": str(g), "accuracy": acc, "ci_low": iv.low, "ci_high": iv.high,
                     "weighted_f1": float(row["weighted_f1"]) if "weighted_f1" in counts.columns else math.nan,
                     "n_samples": n, "n_persons": None, "low_n": bool(iv.low_n), "ci_method": iv.method})
        reps.append(iv.replicates)
        k = int(round(acc * n))
        frames.append((np.r_[np.ones(k), np.zeros(n - k)], np.ones(n)))
    table = pd.DataFrame(rows).set_index("group")
    extra = {"n_missing": 0, "person_column": None, "min_persons": None, "min_samples": int(min_samples),
             "n_boot": int(n_boot), "ci_method": "Wilson per group from counts; std CI from a binomial bootstrap"}
    return GroupReport(attribute, table, _summarize(attribute, table, np.column_stack(reps), confidence, extra,
                                                    frames), np.column_stack(reps))
