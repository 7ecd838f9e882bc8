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
