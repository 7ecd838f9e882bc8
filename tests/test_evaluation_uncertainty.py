"""Intervals: Wilson, cluster-robust score interval over persons, std CIs."""
from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import uncertainty as u


def test_wilson_known_values() -> None:
    lo, hi = u.wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert u.wilson_interval(0, 20)[0] == 0.0 and u.wilson_interval(20, 20)[1] == 1.0
    assert all(np.isnan(u.wilson_interval(0, 0)))
    with pytest.raises(ValueError):
        u.wilson_interval(11, 10)


def _group(n_persons: int, frames: int, accs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    correct, persons = [], []
    for p in range(n_persons):
        k = round(accs[p % len(accs)] * frames)
        correct += [True] * k + [False] * (frames - k)
        persons += [f"p{p}"] * frames
    return np.array(correct), np.array(persons)


def test_two_person_group_is_much_wider_than_200_person_group_with_same_frames() -> None:
    rng = np.random.default_rng(0)
    c2, p2 = _group(2, 200, [0.45, 0.55])      # 400 frames of 2 people
    c200, p200 = _group(200, 2, [0.5])         # 400 frames of 200 people
    few = u.accuracy_interval(c2, p2, n_boot=2000, rng=rng)
    many = u.accuracy_interval(c200, p200, n_boot=2000, rng=rng)
    assert few.estimate == many.estimate == pytest.approx(0.5)
    assert few.low_n and not many.low_n
    assert (few.high - few.low) > 4 * (many.high - many.low)
    # even when both people score the same, two people say little about a group
    same = u.accuracy_interval(*_group(2, 200, [0.5]), n_boot=2000, rng=rng)
    assert (same.high - same.low) > 4 * (many.high - many.low)
    assert few.method == many.method == u.METHOD_CLUSTER


def test_without_persons_wilson_is_used() -> None:
    c, _ = _group(10, 10, [0.3, 0.7])
    iv = u.accuracy_interval(c, None, n_boot=100)
    assert iv.method == u.METHOD_WILSON and (iv.low, iv.high) == pytest.approx(u.wilson_interval(c.sum(), c.size))
    assert iv.n_persons is None
    nan_persons = u.accuracy_interval(c, np.array([None] * c.size), n_boot=100)
    assert nan_persons.method == u.METHOD_WILSON


def test_cluster_interval_is_wider_than_wilson_when_persons_differ() -> None:
    c, p = _group(20, 30, [0.1, 0.9])
    iv = u.accuracy_interval(c, p, n_boot=2000, rng=np.random.default_rng(1))
    w_lo, w_hi = u.wilson_interval(c.sum(), c.size)
    assert (iv.high - iv.low) > 1.5 * (w_hi - w_lo)


def test_spread_and_its_interval() -> None:
    s = u.spread(np.array([0.589, 0.345, 0.453]))
    assert s["std"] == pytest.approx(np.std([0.589, 0.345, 0.453], ddof=1))
    assert s["gap"] == pytest.approx(0.244) and s["ratio"] == pytest.approx(0.345 / 0.589)
    assert np.isnan(u.spread(np.array([0.5]))["std"])
    rng = np.random.default_rng(2)
    reps = np.column_stack([rng.binomial(n, p, 2000) / n for n, p in ((163, .589), (588, .345), (64, .453))])
    ci = u.spread_intervals(reps, 0.95, s)
    for key in ("std", "gap", "ratio"):
        assert ci[f"{key}_ci_low"] < s[key] < ci[f"{key}_ci_high"]
    assert ci["std_ci_low"] >= 0


def test_cluster_interval_matches_its_formula() -> None:
    from scipy.stats import t

    k, n = np.array([3.0, 10.0, 4.0, 0.0]), np.array([10.0, 20.0, 5.0, 2.0])
    est, lo, hi, var = u.accuracy_bounds(k, n)
    big_n, p = n.sum(), k.sum() / n.sum()
    v3 = (((k - p * n) / (1 - n / big_n)) ** 2).sum() / big_n ** 2  # CR3
    df = big_n ** 2 / (n ** 2).sum() - 1  # Kish
    pt = (k.sum() + 0.5) / (big_n + 1)
    half = t.ppf(0.975, df) * np.sqrt(v3) / (pt * (1 - pt))
    logit = np.log(pt / (1 - pt))
    assert est == pytest.approx(p) and var == pytest.approx(v3)
    assert (lo, hi) == pytest.approx((1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))))
    assert (lo, hi) == pytest.approx((0.0896, 0.8811), abs=1e-4)  # pinned (4 persons, Kish df 1.2: wide)
    # vectorised rows give the same answer as one call per row
    rows = u.accuracy_bounds(np.stack([k, k[::-1]]), np.stack([n, n[::-1]]))
    assert rows[1][1] == pytest.approx(u.accuracy_bounds(k[::-1], n[::-1])[1])
    # the public API: one id per frame
    correct = np.concatenate([np.r_[np.ones(int(a)), np.zeros(int(b - a))] for a, b in zip(k, n)]).astype(bool)
    ids = np.repeat(["a", "b", "c", "d"], n.astype(int))
    iv = u.accuracy_interval(correct, ids)
    assert (iv.low, iv.high) == pytest.approx((lo, hi)) and iv.n_persons == 4 and iv.low_n


def test_one_cluster_gives_the_whole_range() -> None:
    iv = u.accuracy_interval(np.array([True, False, True]), np.array(["a", "a", "a"]))
    assert (iv.low, iv.high) == (0.0, 1.0) and iv.low_n
