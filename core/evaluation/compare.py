"""Comparing two runs evaluated on the same test samples.

Two complementary tests, shown together wherever configurations are compared:

* :func:`paired_bootstrap`: the accuracy difference (B - A) with a
  cluster-robust t interval over *persons* (CR3 variance, Kish df; see
  :func:`core.evaluation.uncertainty.ratio_bounds`; both runs' outcomes of a
  person move together through per-person totals ``k_i(B) - k_i(A)``), so
  clustered frames are not counted as independent evidence, and the matching
  t test of "no difference". The
  name is kept from the percentile bootstrap it replaced, which under-covered
  with few persons; ``bench/calibration.py`` measures the coverage (>= 93 %
  from 2 to 20 persons). Frames without a person id are each their own person
  (:mod:`core.common._clusters`); without a person column, frames are the clusters;
* :func:`mcnemar`: McNemar's test on the discordant samples (exact binomial
  when there are fewer than 25, chi-square with continuity correction
  otherwise). It treats samples as independent, so with many frames per
  person its p-value is optimistic; read it next to the paired interval over persons.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2
from scipy.stats import t as t_dist

from ..common._errors import DataFormatError
from ..attributes import resolve_attribute
from .validation import PersonArg, check_predictions, person_column
from ..common._clusters import fill_missing_ids
from .uncertainty import per_person_counts, ratio_bounds

OUTCOMES: tuple[str, ...] = ("both right", "only A right", "only B right", "both wrong")
EXACT_BELOW = 25


def align_pair(pred_a: pd.DataFrame, pred_b: pd.DataFrame, source_a: str = "run A",
               source_b: str = "run B") -> pd.DataFrame:
    """Join two predictions tables on ``sample_id``.

    Returns
    -------
    pandas.DataFrame
        Run A's columns, plus ``pred_b``, ``confidence_b``, ``correct_a``,
        ``correct_b`` and ``outcome`` (one of :data:`OUTCOMES`), for the samples in both.

    Raises
    ------
    DataFormatError
        No ``sample_id`` column, no shared sample, or different true labels for a shared sample.
    """
    a, b = check_predictions(pred_a, source_a), check_predictions(pred_b, source_b)
    for df, src in ((a, source_a), (b, source_b)):
        if "sample_id" not in df.columns:
            raise DataFormatError("no 'sample_id' column; runs are paired by sample_id", src)
    keep_b = b[["sample_id", "true", "pred", "correct"] + (["confidence"] if "confidence" in b.columns else [])]
    keep_b = keep_b.rename(columns={"true": "true_b", "pred": "pred_b", "correct": "correct_b",
                                    "confidence": "confidence_b"})
    m = a.rename(columns={"correct": "correct_a"}).merge(keep_b, on="sample_id", how="inner")
    if m.empty:
        raise DataFormatError(f"no sample_id in common with {source_b}; compare runs evaluated on the same test set",
                              source_a)
    bad = m["true"] != m["true_b"]
    if bad.any():
        raise DataFormatError(f"{int(bad.sum())} shared samples have different true labels in {source_b}, e.g. "
                              f"{m.loc[bad, 'sample_id'].iloc[0]!r}", source_a)
    ca, cb = m["correct_a"].to_numpy(bool), m["correct_b"].to_numpy(bool)
    m["outcome"] = np.select([ca & cb, ca & ~cb, ~ca & cb], list(OUTCOMES[:3]), OUTCOMES[3])
    return m.drop(columns=["true_b"])


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray, exact: bool | None = None) -> dict[str, Any]:
    """McNemar's test of equal accuracy for paired outcomes.

    Parameters
    ----------
    correct_a, correct_b : numpy.ndarray of bool
        Whether each run got each sample right (same order).
    exact : bool, optional
        Exact two-sided binomial test on the discordant pairs; by default when
        there are fewer than 25 of them.

    Returns
    -------
    dict
        ``only_a`` (A right, B wrong), ``only_b``, ``n_discordant``,
        ``statistic`` (chi-square, or ``only_b`` for the exact test),
        ``p_value``, ``method``.
    """
    ca, cb = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if ca.shape != cb.shape:
        raise ValueError(f"correct_a and correct_b must have the same length, received {ca.size} and {cb.size}")
    only_a, only_b = int((ca & ~cb).sum()), int((~ca & cb).sum())
    n = only_a + only_b
    use_exact = n < EXACT_BELOW if exact is None else exact
    if n == 0:
        stat, p, method = 0.0, 1.0, "no discordant samples"
    elif use_exact:
        stat, p, method = float(only_b), float(binomtest(only_b, n, 0.5).pvalue), "exact binomial"
    else:
        stat = (abs(only_a - only_b) - 1) ** 2 / n
        p, method = float(chi2.sf(stat, 1)), "chi-square with continuity correction"
    return {"only_a": only_a, "only_b": only_b, "n_discordant": n, "statistic": float(stat),
            "p_value": min(1.0, p), "method": method}


def paired_bootstrap(pred_a: pd.DataFrame, pred_b: pd.DataFrame, person: PersonArg = None, n_boot: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Accuracy difference B - A on shared samples with an interval over persons (or samples).

    Parameters
    ----------
    pred_a, pred_b : pandas.DataFrame
        Predictions tables of the two runs.
    person : str, None or False
        Person column of run A (``None``: ``person`` when present; ``False``: samples are independent).
    n_boot, seed
        Kept for compatibility; the interval is closed-form (:func:`paired_difference`).
    confidence : float

    Returns
    -------
    dict
        ``accuracy_a, accuracy_b, diff, ci_low, ci_high, p_value`` (two-sided
        cluster-robust t test of no difference, Kish df), ``n_samples,
        n_persons, n_missing_persons, method``.
    """
    m = align_pair(pred_a, pred_b)
    return _paired_from_aligned(m, person, n_boot, confidence, np.random.default_rng(seed))


def paired_difference(correct_a: np.ndarray, correct_b: np.ndarray, clusters: np.ndarray | None,
                      confidence: float = 0.95) -> dict[str, float]:
    """Difference of accuracies B - A on the same frames, its cluster-robust t interval and t-test p-value.

    Parameters
    ----------
    correct_a, correct_b : numpy.ndarray of bool
        Outcomes of both runs on the same frames (same order).
    clusters : numpy.ndarray or None
        Cluster id per frame (persons; or clips / videos); ``None``: each frame its own cluster.
    confidence : float

    Returns
    -------
    dict
        ``diff, ci_low, ci_high, p_value, n_clusters``. The residual sum of
        squares is floored at one frame, so runs that agree on every frame get a
        small but non-zero interval.
    """
    ca, cb = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    ids = np.arange(ca.size).astype(str) if clusters is None else np.asarray(clusters, dtype=object)
    ka, n = per_person_counts(ca, ids)
    kb, _ = per_person_counts(cb, ids)
    if ka.size < 2:
        return {"diff": float(cb.mean() - ca.mean()), "ci_low": -1.0, "ci_high": 1.0, "p_value": 1.0,
                "n_clusters": int(ka.size)}
    diff, lo, hi, var, df = ratio_bounds(kb - ka, n, confidence, bounds=(-1.0, 1.0), min_ss=1.0)
    p = float(2 * t_dist.sf(abs(float(diff)) / math.sqrt(float(var)), float(df)))
    return {"diff": float(diff), "ci_low": float(lo), "ci_high": float(hi), "p_value": min(1.0, p),
            "n_clusters": int(ka.size)}


def _paired_from_aligned(m: pd.DataFrame, person: PersonArg, n_boot: int, confidence: float,
                         rng: np.random.Generator) -> dict[str, Any]:
    pcol = person_column(m, person)
    ids, n_missing = fill_missing_ids(m[pcol] if pcol else None, len(m), "person")
    r = paired_difference(m["correct_a"].to_numpy(), m["correct_b"].to_numpy(), ids, confidence)
    acc_a, acc_b = float(m["correct_a"].mean()), float(m["correct_b"].mean())
    return {"accuracy_a": acc_a, "accuracy_b": acc_b, "diff": acc_b - acc_a, "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "p_value": r["p_value"], "n_samples": int(len(m)),
            "n_persons": r["n_clusters"] if ids is not None else None, "n_missing_persons": n_missing if pcol else 0,
            "method": "paired cluster-robust t interval over persons (CR3, Kish df)" if ids is not None else
            "paired t interval over samples (treated as independent)"}


def compare_runs(pred_a: pd.DataFrame, pred_b: pd.DataFrame, attribute: str | None = "race",
                 person: PersonArg = None, n_boot: int = 2000, confidence: float = 0.95,
                 seed: int = 0, min_persons: int = 5, min_samples: int = 30) -> dict[str, Any]:
    """Paired interval over persons and McNemar overall and within each group of ``attribute``.

    Returns
    -------
    dict
        ``overall`` (paired interval merged with McNemar), ``outcomes``
        (count per :data:`OUTCOMES`) and ``groups``: a DataFrame with one row per
        group (``group, n_samples, n_persons, low_n, accuracy_a, accuracy_b,
        diff, ci_low, ci_high, p_value, mcnemar_p, mcnemar_method``), empty
        when the attribute is missing; ``low_n`` flags groups with fewer than
        ``min_persons`` persons (``min_samples`` samples without persons).
    """
    return compare_aligned(align_pair(pred_a, pred_b), attribute, person, n_boot, confidence, seed, min_persons,
                           min_samples)


def compare_aligned(m: pd.DataFrame, attribute: str | None = "race", person: PersonArg = None,
                    n_boot: int = 2000, confidence: float = 0.95, seed: int = 0, min_persons: int = 5,
                    min_samples: int = 30) -> dict[str, Any]:
    """:func:`compare_runs` on a table :func:`align_pair` already made (the pages align once for both the
    comparison and the gallery of outcomes)."""
    missing = [c for c in ("correct_a", "correct_b", "outcome") if c not in m.columns]
    if missing:
        raise DataFormatError(f"expected a table from align_pair (correct_a, correct_b, outcome); it has no "
                              f"{', '.join(missing)} (columns: {list(m.columns)[:12]})", "paired comparison")
    rng = np.random.default_rng(seed)
    overall = _paired_from_aligned(m, person, n_boot, confidence, rng)
    mc = mcnemar(m["correct_a"], m["correct_b"])
    overall.update({f"mcnemar_{k}": v for k, v in mc.items()})
    rows: list[dict[str, Any]] = []
    if attribute:
        try:
            groups = resolve_attribute(m, attribute)
        except DataFormatError:
            groups = pd.Series([None] * len(m), dtype=object)
        for g in sorted(groups.dropna().unique()):
            sub = m[(groups == g).to_numpy()]
            r = _paired_from_aligned(sub, person, n_boot, confidence, rng)
            mg = mcnemar(sub["correct_a"], sub["correct_b"])
            low = (r["n_persons"] < min_persons) if r["n_persons"] is not None else (r["n_samples"] < min_samples)
            rows.append({"group": g, "n_samples": r["n_samples"], "n_persons": r["n_persons"], "low_n": bool(low),
                         **{k: r[k] for k in ("accuracy_a", "accuracy_b", "diff", "ci_low", "ci_high", "p_value")},
                         "mcnemar_p": mg["p_value"], "mcnemar_method": mg["method"]})
    counts = m["outcome"].value_counts()
    return {"overall": overall, "outcomes": {o: int(counts.get(o, 0)) for o in OUTCOMES},
            "groups": pd.DataFrame(rows, columns=["group", "n_samples", "n_persons", "low_n", "accuracy_a",
                                                  "accuracy_b", "diff", "ci_low", "ci_high", "p_value", "mcnemar_p",
                                                  "mcnemar_method"]),
            "attribute": attribute, "confidence": confidence, "n_boot": n_boot,
            "note": "McNemar treats samples as independent; with several frames per person prefer the paired "
                    "interval over persons" if math.isfinite(overall["diff"]) else ""}
