"""Is a difference between two configurations larger than seed-to-seed variation and test-set sampling noise?

Two sources of uncertainty stand behind a difference between two trained
configurations:

* **seed-to-seed variation**: retraining the same configuration with another
  training seed (``--seeds N``) moves its accuracy. With the values of
  ``n_A`` and ``n_B`` seeds, the difference of the means ``mean_B - mean_A``
  has the standard error ``sqrt(sd_A**2 / n_A + sd_B**2 / n_B)`` (sd with
  ddof 1). Its interval is Welch's t interval with the Welch-Satterthwaite
  degrees of freedom, *not* a normal (z) interval: with 3 seeds per
  configuration the df is at most 4 and the 95 % t quantile 2.78, not 1.96.
  The sds themselves are rough with 2 or 3 seeds (the verdict says so); a
  seed group with one seed has no sd and no verdict on this side.
* **test-set sampling uncertainty**: the same test frames scored by two
  models, the paired interval over persons of
  :func:`core.evaluation.compare.compare_runs` (one run of each configuration).

:func:`compare_seed_groups` puts both next to each other and says in words
which of the two the difference goes beyond (that interval excludes zero):
both, one, or neither. The seed half judges the difference of the means over
seeds; the sampling half the paired difference of the two runs compared on the
test set (it sees one seed of each). No p-value is claimed from a handful of
seeds.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy.stats import t as t_dist

#: With at most this many seeds in a configuration the verdict calls its sd rough.
ROUGH_SEEDS = 3


def _values(values: Sequence[float], what: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"{what} must be a sequence of accuracies (one per seed), received {values!r}")
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be a non-empty list of finite numbers, received {list(values)!r}")
    return arr


def welch_interval(values_a: Sequence[float], values_b: Sequence[float],
                   confidence: float = 0.95) -> dict[str, float]:
    """Difference of means (B - A) with Welch's t interval over seeds.

    Parameters
    ----------
    values_a, values_b : sequence of float
        One value per training seed of each configuration (at least 2 each for an interval).
    confidence : float
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    dict
        ``diff`` (mean B minus mean A), ``se`` (``sqrt(sd_A**2/n_A + sd_B**2/n_B)``),
        ``df`` (Welch-Satterthwaite), ``ci_low``, ``ci_high``; the last four NaN
        when a configuration has one seed. When both sds are zero, ``se`` is 0,
        ``df`` infinite and the interval the point ``diff``.

    Raises
    ------
    ValueError
        Values that are not non-empty lists of finite numbers, or a confidence outside (0, 1).
    """
    a, b = _values(values_a, "values_a"), _values(values_b, "values_b")
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1), received {confidence!r}")
    diff = float(b.mean() - a.mean())
    nan = float("nan")
    if a.size < 2 or b.size < 2:
        return {"diff": diff, "se": nan, "df": nan, "ci_low": nan, "ci_high": nan}
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return {"diff": diff, "se": 0.0, "df": math.inf, "ci_low": diff, "ci_high": diff}
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(t_dist.ppf((1 + confidence) / 2, df)) * se
    return {"diff": diff, "se": se, "df": float(df), "ci_low": diff - half, "ci_high": diff + half}


def _excludes_zero(lo: float, hi: float) -> bool | None:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return bool(lo > 0 or hi < 0)


def _verdict(seed: bool | None, sampling: bool | None, diff: float, n_min: int) -> str:
    """Both halves in words: the seed means against seed variation, the paired runs against sampling noise."""
    pts = f"{100 * diff:+.1f} points"
    means = f"the means over seeds differ by {pts}, " + ("more than" if seed else "within") + \
        " the seed-to-seed variation"
    pair = "the two runs' paired difference is " + ("beyond" if sampling else "within") + \
        " the test-set sampling uncertainty"
    if seed is None and sampling is None:
        return f"Cannot be judged: the means over seeds differ by {pts}, but a configuration has one training seed " \
               "and there is no paired interval."
    if seed is None:
        return f"Seed-to-seed variation unknown (a configuration has one training seed); {pair}."
    rough = (f" With {n_min} seeds per configuration the across-seed sd is a rough estimate."
             if n_min <= ROUGH_SEEDS else "")
    if sampling is None:
        return f"{'Beyond' if seed else 'Within'} seed-to-seed variation: {means}; no paired interval.{rough}"
    if seed and sampling:
        head = "Beyond both seed-to-seed variation and test-set sampling uncertainty"
    elif seed:
        head = "Beyond seed-to-seed variation only (another sample of test persons could reverse it)"
    elif sampling:
        head = "Beyond test-set sampling uncertainty only (retraining with other seeds could reverse it)"
    else:
        head = "Within both seed-to-seed variation and test-set sampling uncertainty"
    return f"{head}: {means}, and {pair}.{rough}"


def compare_seed_groups(values_a: Sequence[float], values_b: Sequence[float],
                        sampling_interval: tuple[float, float] | None = None,
                        confidence: float = 0.95) -> dict[str, Any]:
    """Difference of two configurations' across-seed means against seed variation and sampling uncertainty.

    Parameters
    ----------
    values_a, values_b : sequence of float
        Accuracy (or any score, as fractions) of each training seed of configuration A and B.
    sampling_interval : (float, float), optional
        The paired interval of the difference B - A on the test set
        (``compare_runs(...)["overall"]`` ``ci_low, ci_high``), None when not available.
    confidence : float
        Level of the seed interval (use the paired interval's level).

    Returns
    -------
    dict
        ``n_a, n_b, mean_a, mean_b, sd_a, sd_b`` (ddof 1, NaN with one seed), the
        :func:`welch_interval` keys (``diff, se, df, ci_low, ci_high``),
        ``sampling_low, sampling_high``, ``exceeds_seed`` and
        ``exceeds_sampling`` (True when that interval excludes zero, None when
        it is unknown) and ``verdict``, a sentence in words.

    Raises
    ------
    ValueError
        As :func:`welch_interval`, or a sampling interval that is not two numbers with low <= high.
    """
    w = welch_interval(values_a, values_b, confidence)
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    lo = hi = float("nan")
    if sampling_interval is not None:
        try:
            lo, hi = (float(v) for v in sampling_interval)
        except (TypeError, ValueError):
            raise ValueError(f"sampling_interval must be (low, high), received {sampling_interval!r}") from None
        if lo > hi:
            raise ValueError(f"sampling_interval must have low <= high, received {sampling_interval!r}")
    seed, sampling = _excludes_zero(w["ci_low"], w["ci_high"]), _excludes_zero(lo, hi)
    sd = lambda v: float(v.std(ddof=1)) if v.size > 1 else float("nan")  # noqa: E731
    return {"n_a": int(a.size), "n_b": int(b.size), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
            "sd_a": sd(a), "sd_b": sd(b), **w, "sampling_low": lo, "sampling_high": hi,
            "exceeds_seed": seed, "exceeds_sampling": sampling,
            "verdict": _verdict(seed, sampling, w["diff"], min(a.size, b.size))}
