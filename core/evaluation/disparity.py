"""Disparity between group accuracies that sampling noise cannot fake.

The seed's %Std is the standard deviation (ddof=1) of the observed group
accuracies. Each observed accuracy carries sampling noise (variance ``v_g``),
so that std is biased upward: with no true difference between three EiLA-like
groups of 7 / 2 / 12 persons it averages 0.06-0.11, and a bootstrap interval
of it excluded 0 in 43 % of draws. Here the groups are treated as a
random-effects meta-analysis of ``G`` estimates ``a_g`` with sampling
variances ``v_g``:

* ``v_g``: the larger of the group's own cluster-robust (CR1) variance and a
  **pooled** one, ``s_b^2 * sum(n_i^2) / N_g^2 + (p_g (1 - p_g) - s_b^2) / N_g``,
  where ``s_b^2`` is the between-person variance of accuracy estimated by
  one-way ANOVA moments over persons of *all* groups. A group of 2 persons
  cannot estimate its own variance (1 degree of freedom); pooling borrows the
  other groups' persons, and the maximum keeps a truly more heterogeneous group
  honest. Without persons (frames as clusters) ``v_g`` is binomial; when no
  group has two persons, ``s_b^2`` is unknown and taken at its maximum.
* ``std_corrected``: the **Paule-Mandel** between-group sd ``tau`` (the value
  at which the generalised Q statistic equals its expectation ``G - 1``), with
  a **Q-profile** interval (Viechtbauer 2007): the ``tau`` for which
  ``Q(tau^2)`` lies between the chi-square(G-1) quantiles. The lower limit is 0
  exactly when the test of homogeneity does not reject at the chosen level.
  When the groups agree more closely than their noise predicts (``Q(0)`` below
  its lower quantile) the Q-profile has no upper limit, and the upper limit is
  the largest sd ``G`` accuracies can have (0.577 for 3 groups), not 0.
* ``gap_corrected`` (max - min) and ``ratio_corrected`` (min / max): of the
  empirical-Bayes (shrunken) group means at ``tau``. Intervals follow from the
  tau interval by Popoviciu's bounds on the range of ``G`` values with sample
  sd ``s``: ``2 s sqrt((G-1)/G) <= range <= s sqrt(2 (G-1))``, so the gap
  interval is ``[2 sqrt((G-1)/G) tau_low, sqrt(2 (G-1)) tau_high]`` and holds
  whenever the tau interval does; the ratio interval is
  ``1 - gap_interval / max`` with ``max`` the largest shrunken mean (the
  uncertainty of that maximum is not propagated; the bench measures it).

``bench/calibration.py`` measures false claims (interval excludes 0 with no
true difference) and coverage of a true std of 0.15.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import chi2

METHOD = ("random-effects between-group sd (Paule-Mandel) with Q-profile interval; sampling variances from "
          "persons pooled across groups")
_TAU2_GRID = np.concatenate([[0.0], np.geomspace(1e-7, 1.0, 700)])


def sampling_variances(k: Sequence[np.ndarray], n: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group accuracies and sampling variances from per-cluster counts, vectorised over leading axes.

    Parameters
    ----------
    k, n : sequence of numpy.ndarray
        One ``(..., P_g)`` array per group: correct frames and frames of each
        cluster (person). Clusters of one frame each mean "no persons".

    Returns
    -------
    tuple of numpy.ndarray
        ``(accuracy, variance)``, each ``(..., G)``.
    """
    if len(k) != len(n) or not k:
        raise ValueError(f"expected one k and one n array per group, received {len(k)} and {len(n)}")
    ks = [np.asarray(x, dtype=float) for x in k]
    ns = [np.asarray(x, dtype=float) for x in n]
    big = [x.sum(-1) for x in ns]
    acc = [np.asarray(kk.sum(-1) / nn) for kk, nn in zip(ks, big)]
    num, den = 0.0, 0.0
    for kk, nn, p, tot in zip(ks, ns, acc, big):
        m = nn.shape[-1]
        ybar = np.divide(kk, nn, out=np.zeros_like(kk), where=nn > 0)
        ss = (nn * (ybar - p[..., None]) ** 2).sum(-1)
        num = num + ss - (m - 1) * p * (1 - p)
        den = den + (tot - (nn * nn).sum(-1) / tot) - (m - 1)
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    # no group has two clusters: the between-cluster variance is unknown, so take its largest value
    # (each group then weighs as one observation; with one-frame clusters it does not matter)
    s_b2 = np.where(den > 0, np.maximum(np.divide(num, np.where(den > 0, den, 1.0)), 0.0), np.inf)
    var = []
    for kk, nn, p, tot in zip(ks, ns, acc, big):
        m = nn.shape[-1]
        pt = (kk.sum(-1) + 0.5) / (tot + 1.0)  # never 0 or 1: a perfect group still has sampling noise
        sb = np.minimum(s_b2, pt * (1 - pt))
        pooled = sb * (nn * nn).sum(-1) / tot ** 2 + (pt * (1 - pt) - sb) / tot
        if m >= 2:
            e = kk - p[..., None] * nn
            own = m / (m - 1) * (e * e).sum(-1) / tot ** 2
            pooled = np.maximum(pooled, own)
        var.append(pooled)
    return np.stack(acc, -1), np.stack(var, -1)


def _q(a: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Generalised Q at each tau^2: ``(..., T)`` from ``a, v`` of shape ``(..., G)``."""
    w = 1.0 / (v[..., None, :] + tau2[:, None])
    mw = (w * a[..., None, :]).sum(-1) / w.sum(-1)
    return (w * (a[..., None, :] - mw[..., None]) ** 2).sum(-1)


def _invert(q: np.ndarray, target: float) -> np.ndarray:
    """Smallest tau^2 on the grid where the decreasing ``q`` reaches ``target`` (linear interpolation)."""
    grid = _TAU2_GRID
    below = q <= target
    first = np.where(below.any(-1), below.argmax(-1), grid.size - 1)
    prev = np.maximum(first - 1, 0)
    q1 = np.take_along_axis(q, first[..., None], -1)[..., 0]
    q0 = np.take_along_axis(q, prev[..., None], -1)[..., 0]
    g1, g0 = grid[first], grid[prev]
    frac = np.divide(q0 - target, q0 - q1, out=np.zeros_like(q0), where=q0 > q1)
    out = np.where(first == 0, 0.0, g0 + np.clip(frac, 0, 1) * (g1 - g0))
    return np.where(below.any(-1), out, grid[-1])


def tau_interval(accuracy: np.ndarray, variance: np.ndarray,
                 confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paule-Mandel between-group sd and its Q-profile interval, vectorised over leading axes.

    Parameters
    ----------
    accuracy, variance : numpy.ndarray
        ``(..., G)`` group estimates and their sampling variances (``G >= 2``).
    confidence : float

    Returns
    -------
    tuple of numpy.ndarray
        ``(tau, tau_low, tau_high)``.
    """
    a, v = np.asarray(accuracy, dtype=float), np.maximum(np.asarray(variance, dtype=float), 1e-12)
    g = a.shape[-1]
    if g < 2:
        raise ValueError(f"a between-group sd needs at least 2 groups, received {g}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), received {confidence}")
    q = _q(a, v, _TAU2_GRID)
    hi_c, lo_c = chi2.ppf([(1 + confidence) / 2, (1 - confidence) / 2], g - 1)
    tau, low, high = (np.sqrt(_invert(q, c)) for c in (g - 1, hi_c, lo_c))
    # Q(0) below its lower quantile: the groups agree more closely than their sampling noise predicts and no
    # tau reaches that quantile, so the Q-profile has no upper limit ({0} in Viechtbauer 2007). Reporting
    # [0, 0] would claim certainty of no disparity; the upper limit is then the largest sd that G accuracies
    # in [0, 1] can have.
    cap = math.sqrt((g // 2) * ((g + 1) // 2) / (g * (g - 1)))
    high = np.where(q[..., 0] < lo_c, cap, np.minimum(high, cap))
    return tau, np.minimum(low, cap), high


def shrunken_means(accuracy: np.ndarray, variance: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Empirical-Bayes group means at between-group sd ``tau``: each ``a_g`` pulled toward the weighted mean."""
    a, v = np.asarray(accuracy, dtype=float), np.maximum(np.asarray(variance, dtype=float), 1e-12)
    t2 = np.asarray(tau, dtype=float)[..., None] ** 2
    w = 1.0 / (v + t2)
    mw = (w * a).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    return mw + t2 / (t2 + v) * (a - mw)


def corrected_spread_arrays(accuracy: np.ndarray, variance: np.ndarray,
                            confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Corrected std, gap and ratio with intervals, vectorised over leading axes (see the module docstring)."""
    a, v = np.asarray(accuracy, dtype=float), np.asarray(variance, dtype=float)
    g = a.shape[-1]
    tau, lo, hi = tau_interval(a, v, confidence)
    m = shrunken_means(a, v, tau)
    c_lo, c_hi = 2 * math.sqrt((g - 1) / g), math.sqrt(2 * (g - 1))
    gap_lo, gap_hi = np.minimum(c_lo * lo, 1.0), np.minimum(c_hi * hi, 1.0)
    gap = np.clip(m.max(-1) - m.min(-1), gap_lo, gap_hi)
    top = np.maximum(m.max(-1), 1e-12)
    ratio = np.clip(1 - gap / top, 0.0, 1.0)
    return {"std_corrected": tau, "std_corrected_ci_low": lo, "std_corrected_ci_high": hi,
            "gap_corrected": gap, "gap_corrected_ci_low": gap_lo, "gap_corrected_ci_high": gap_hi,
            "ratio_corrected": ratio, "ratio_corrected_ci_low": np.clip(1 - gap_hi / top, 0.0, 1.0),
            "ratio_corrected_ci_high": np.clip(1 - gap_lo / top, 0.0, 1.0)}


def corrected_spread(k: Sequence[np.ndarray], n: Sequence[np.ndarray], confidence: float = 0.95) -> dict[str, float]:
    """Disparity of groups corrected for sampling noise, from per-person counts of each group.

    Parameters
    ----------
    k, n : sequence of numpy.ndarray
        One 1-D array per group: correct frames and frames of each person
        (each frame its own entry when there are no persons).
    confidence : float

    Returns
    -------
    dict
        ``std_corrected``, ``gap_corrected``, ``ratio_corrected``, each with
        ``_ci_low`` / ``_ci_high``, and ``disparity_method``; NaN with fewer than 2 groups.
    """
    keys = ("std_corrected", "gap_corrected", "ratio_corrected")
    if len(k) < 2:
        out: dict[str, float] = {}
        for key in keys:
            out[key] = out[f"{key}_ci_low"] = out[f"{key}_ci_high"] = math.nan
        out["disparity_method"] = METHOD
        return out
    acc, var = sampling_variances(k, n)
    res = corrected_spread_arrays(acc, var, confidence)
    out = {key: float(val) for key, val in res.items()}
    out["disparity_method"] = METHOD
    return out
