"""Comparing two runs evaluated on the same test samples.

Two complementary tests, shown together wherever configurations are compared:

* :func:`paired_bootstrap`: the accuracy difference (B - A) with a percentile
  interval from resampling *persons* (both runs' outcomes of a person move
  together), so clustered frames are not counted as independent evidence;
* :func:`mcnemar`: McNemar's test on the discordant samples (exact binomial
  when there are fewer than 25, chi-square with continuity correction
  otherwise). It treats samples as independent, so with many frames per
  person its p-value is optimistic; read it next to the paired bootstrap.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2

from .._errors import DataFormatError
from .fairness import PersonArg, person_column, resolve_attribute
from .metrics import check_predictions
from .uncertainty import per_person_counts, percentile_interval

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


def pair_outcomes(pred_a: pd.DataFrame, pred_b: pd.DataFrame) -> pd.DataFrame:
    """Samples of both runs with their ``outcome``: both right / only A right / only B right / both wrong."""
    return align_pair(pred_a, pred_b)


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
    """Accuracy difference B - A on shared samples with a bootstrap over persons (or samples).

    Parameters
    ----------
    pred_a, pred_b : pandas.DataFrame
        Predictions tables of the two runs.
    person : str, None or False
        Person column of run A (``None``: ``person`` when present; ``False``: resample samples).
    n_boot, confidence, seed
        Bootstrap settings.

    Returns
    -------
    dict
        ``accuracy_a, accuracy_b, diff, ci_low, ci_high, p_value`` (two-sided:
        twice the smaller share of replicates on either side of 0, counted as
        ``(k + 1) / (n_boot + 1)`` so it is never reported as 0),
        ``n_samples, n_persons, method``.
    """
    m = align_pair(pred_a, pred_b)
    return _paired_from_aligned(m, person, n_boot, confidence, np.random.default_rng(seed))


def _paired_from_aligned(m: pd.DataFrame, person: PersonArg, n_boot: int, confidence: float,
                         rng: np.random.Generator) -> dict[str, Any]:
    pcol = person_column(m, person)
    ids = m[pcol].astype(object).fillna("__missing").to_numpy() if pcol else np.arange(len(m)).astype(str)
    ka, n = per_person_counts(m["correct_a"].to_numpy(), ids)
    kb, _ = per_person_counts(m["correct_b"].to_numpy(), ids)
    idx = rng.integers(0, ka.size, size=(n_boot, ka.size))
    tot = n[idx].sum(axis=1)
    reps = (kb[idx].sum(axis=1) - ka[idx].sum(axis=1)) / tot
    lo, hi = percentile_interval(reps, confidence)
    acc_a, acc_b = float(m["correct_a"].mean()), float(m["correct_b"].mean())
    n_ok = max(int(np.isfinite(reps).sum()), 1)
    p = min(1.0, 2 * min((int((reps <= 0).sum()) + 1) / (n_ok + 1), (int((reps >= 0).sum()) + 1) / (n_ok + 1)))
    return {"accuracy_a": acc_a, "accuracy_b": acc_b, "diff": acc_b - acc_a, "ci_low": lo, "ci_high": hi,
            "p_value": p, "n_samples": int(len(m)), "n_persons": int(ka.size) if pcol else None,
            "method": "paired bootstrap over persons" if pcol else "paired bootstrap over samples"}


def compare_runs(pred_a: pd.DataFrame, pred_b: pd.DataFrame, attribute: str | None = "race",
                 person: PersonArg = None, n_boot: int = 2000, confidence: float = 0.95,
                 seed: int = 0, min_persons: int = 5, min_samples: int = 30) -> dict[str, Any]:
    """Paired bootstrap and McNemar overall and within each group of ``attribute``.

    Returns
    -------
    dict
        ``overall`` (paired bootstrap merged with McNemar), ``outcomes``
        (count per :data:`OUTCOMES`) and ``groups``: a DataFrame with one row per
        group (``group, n_samples, n_persons, low_n, accuracy_a, accuracy_b,
        diff, ci_low, ci_high, p_value, mcnemar_p, mcnemar_method``), empty
        when the attribute is missing; ``low_n`` flags groups with fewer than
        ``min_persons`` persons (``min_samples`` samples without persons).
    """
    m = align_pair(pred_a, pred_b)
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
                    "bootstrap interval" if math.isfinite(overall["diff"]) else ""}
