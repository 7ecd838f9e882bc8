"""Confidence intervals that respect how the test data were sampled.

Frames of one person are not independent: EiLA's test split has 902 frames of
21 people and its Mixed group is 2 people. Intervals therefore come from a
**cluster bootstrap over persons** whenever a person column exists: persons are
resampled with replacement (within each group, independently across groups)
and the accuracy of a replicate is its pooled correct frames over its pooled
frames. Without person ids, intervals are **Wilson score intervals** treating
samples as independent (the only option for published counts).

A percentile bootstrap over very few persons cannot see between-person
variation (with one person every replicate is identical), so for a group with
fewer than ``min_persons`` persons the interval is widened to at least the
Wilson interval that counts each *person* as one observation, and its
bootstrap replicates (used for the CI of the std) are drawn from the Jeffreys
posterior ``Beta(p*P + 0.5, (1-p)*P + 0.5)`` with ``P`` persons. Such groups are
flagged ``low_n``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

METHOD_CLUSTER = "cluster bootstrap over persons"
METHOD_CLUSTER_WIDENED = "cluster bootstrap over persons, widened to person-level Wilson (few persons)"
METHOD_WILSON = "Wilson (samples treated as independent)"


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), received {confidence}")
    return float(norm.ppf(0.5 + confidence / 2))


def wilson_interval(k: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``.

    Parameters
    ----------
    k : float
        Successes (may be fractional, e.g. ``p * n`` rebuilt from a rounded percentage).
    n : float
        Trials; ``n <= 0`` gives ``(nan, nan)``.
    confidence : float
        Coverage, e.g. 0.95.

    Returns
    -------
    tuple of float
        ``(low, high)`` within [0, 1].
    """
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"successes must be within [0, n={n}], received {k}")
    z = _z(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (NaN replicates ignored)."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(r, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def per_person_counts(correct: np.ndarray, persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct frames and frames per person, in order of first appearance."""
    s = pd.DataFrame({"p": pd.Series(persons, dtype=object).astype(str), "c": np.asarray(correct, dtype=float)})
    g = s.groupby("p", sort=False)["c"]
    return g.sum().to_numpy(dtype=float), g.size().to_numpy(dtype=float)


def cluster_bootstrap(k: np.ndarray, n: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Pooled-ratio replicates ``sum(k[idx]) / sum(n[idx])`` over persons resampled with replacement."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if k.size == 0:
        return np.full(n_boot, np.nan)
    idx = rng.integers(0, k.size, size=(n_boot, k.size))
    return k[idx].sum(axis=1) / n[idx].sum(axis=1)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its interval and the bootstrap replicates behind it."""

    estimate: float
    low: float
    high: float
    method: str
    n_samples: int
    n_persons: int | None
    low_n: bool
    replicates: np.ndarray = field(repr=False, compare=False)


def accuracy_interval(correct: np.ndarray, persons: np.ndarray | None = None, n_boot: int = 1000,
                      confidence: float = 0.95, min_persons: int = 5, min_samples: int = 30,
                      rng: np.random.Generator | None = None) -> Interval:
    """Accuracy with a confidence interval that fits the sampling design.

    Parameters
    ----------
    correct : numpy.ndarray of bool
        One entry per sample.
    persons : numpy.ndarray, optional
        Person id per sample; ``None`` (or all missing) gives a Wilson interval.
        Missing ids within a person column are treated as one person each.
    n_boot : int
        Bootstrap replicates (also drawn for Wilson, binomially, for std CIs).
    confidence : float
        Coverage of the interval.
    min_persons : int
        With person ids, fewer persons than this widens the interval and sets ``low_n``.
    min_samples : int
        Without person ids, fewer samples than this sets ``low_n``.
    rng : numpy.random.Generator, optional

    Returns
    -------
    Interval
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, received {n_boot}")
    rng = rng or np.random.default_rng(0)
    c = np.asarray(correct, dtype=bool)
    n = int(c.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, "no samples", 0, 0, True, np.full(n_boot, np.nan))
    p = float(c.mean())
    if persons is None or pd.isna(pd.Series(persons, dtype=object)).all():
        lo, hi = wilson_interval(c.sum(), n, confidence)
        reps = rng.binomial(n, p, size=n_boot) / n
        return Interval(p, lo, hi, METHOD_WILSON, n, None, n < min_samples, reps)
    ids = pd.Series(persons, dtype=object)
    ids = ids.where(ids.notna(), pd.Series([f"__missing_{i}" for i in range(n)], dtype=object))
    k_p, n_p = per_person_counts(c, ids.to_numpy())
    n_persons = int(k_p.size)
    reps = cluster_bootstrap(k_p, n_p, n_boot, rng)
    lo, hi = percentile_interval(reps, confidence)
    if n_persons >= min_persons:
        return Interval(p, lo, hi, METHOD_CLUSTER, n, n_persons, False, reps)
    w_lo, w_hi = wilson_interval(p * n_persons, n_persons, confidence)
    reps = rng.beta(p * n_persons + 0.5, (1 - p) * n_persons + 0.5, size=n_boot)
    return Interval(p, min(lo, w_lo), max(hi, w_hi), METHOD_CLUSTER_WIDENED, n, n_persons, True, reps)


def count_interval(n_correct: float, n_samples: int, n_boot: int = 1000, confidence: float = 0.95,
                   min_samples: int = 30, rng: np.random.Generator | None = None) -> Interval:
    """Wilson interval and binomial replicates from counts alone (published results)."""
    rng = rng or np.random.default_rng(0)
    if n_samples <= 0:
        return Interval(math.nan, math.nan, math.nan, "no samples", 0, None, True, np.full(n_boot, np.nan))
    p = float(n_correct) / n_samples
    lo, hi = wilson_interval(n_correct, n_samples, confidence)
    reps = rng.binomial(n_samples, p, size=n_boot) / n_samples
    return Interval(p, lo, hi, METHOD_WILSON, int(n_samples), None, n_samples < min_samples, reps)


def spread(accuracies: np.ndarray) -> dict[str, float]:
    """Disparity of group accuracies: ``std`` (ddof=1, the seed's %Std as a fraction), ``gap`` (max - min)
    and ``ratio`` (min / max); NaN where undefined (fewer than 2 groups, max of 0)."""
    a = np.asarray(accuracies, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return {"std": math.nan, "gap": math.nan, "ratio": math.nan}
    mx = float(a.max())
    return {"std": float(np.std(a, ddof=1)), "gap": float(mx - a.min()),
            "ratio": float(a.min() / mx) if mx > 0 else math.nan}


def spread_intervals(replicates: np.ndarray, confidence: float = 0.95,
                     estimate: dict[str, float] | None = None) -> dict[str, float]:
    """Bootstrap CIs of std, gap and ratio from an ``(n_boot, n_groups)`` matrix of group-accuracy replicates.

    Noise in resampled group accuracies inflates their spread, so replicates of
    the std and gap sit above the observed value (ratio below it), most for
    groups with few persons. When ``estimate`` (the observed :func:`spread`) is
    given, each percentile interval is shifted by the bootstrap estimate of that
    bias (mean of replicates minus observed value) and clipped to the valid
    range; without it the plain percentile interval is returned.
    """
    r = np.asarray(replicates, dtype=float)
    out: dict[str, float] = {}
    if r.ndim != 2 or r.shape[1] < 2:
        for key in ("std", "gap", "ratio"):
            out[f"{key}_ci_low"] = out[f"{key}_ci_high"] = math.nan
        return out
    mx, mn = r.max(axis=1), r.min(axis=1)
    stats = {"std": r.std(axis=1, ddof=1), "gap": mx - mn,
             "ratio": np.divide(mn, mx, out=np.full_like(mx, np.nan), where=mx > 0)}
    bounds = {"std": (0.0, math.inf), "gap": (0.0, 1.0), "ratio": (0.0, 1.0)}
    for key, vals in stats.items():
        lo, hi = percentile_interval(vals, confidence)
        obs = None if estimate is None else estimate.get(key)
        if obs is not None and math.isfinite(obs) and np.isfinite(vals).any():
            bias = float(np.nanmean(vals)) - obs
            lo, hi = lo - bias, hi - bias
        lo_b, hi_b = bounds[key]
        out[f"{key}_ci_low"] = float(min(max(lo, lo_b), hi_b)) if math.isfinite(lo) else math.nan
        out[f"{key}_ci_high"] = float(min(max(hi, lo_b), hi_b)) if math.isfinite(hi) else math.nan
    return out
