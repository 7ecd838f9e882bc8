"""Paired comparison of two runs: McNemar and the paired bootstrap over persons."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from _evaluation_data import synthetic_predictions
from core.common._errors import DataFormatError
from core.evaluation.compare import OUTCOMES, align_pair, compare_runs, mcnemar, paired_bootstrap


def test_mcnemar_known_cases() -> None:
    a = np.array([False] * 10 + [True] * 5)
    b = np.array([True] * 10 + [True] * 5)
    r = mcnemar(a, b)
    assert (r["only_a"], r["only_b"], r["method"]) == (0, 10, "exact binomial")
    assert r["p_value"] == pytest.approx(2 * 0.5 ** 10)
    assert mcnemar(np.array([True, False]), np.array([False, True]))["p_value"] == 1.0
    big_a = np.array([True] * 10 + [False] * 30 + [True] * 50)
    big_b = np.array([False] * 10 + [True] * 30 + [True] * 50)
    r = mcnemar(big_a, big_b)
    assert r["method"].startswith("chi-square")
    assert r["statistic"] == pytest.approx((30 - 10 - 1) ** 2 / 40)
    assert r["p_value"] == pytest.approx(chi2.sf(9.025, 1))
    assert mcnemar(a, a)["p_value"] == 1.0


def _pair(correct_a: list[bool], correct_b: list[bool], persons: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(persons)
    base = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "true": ["happy"] * n, "person": persons})
    a = base.assign(pred=["happy" if c else "sad" for c in correct_a])
    b = base.assign(pred=["happy" if c else "sad" for c in correct_b])
    return a, b


def test_paired_bootstrap_identical_runs() -> None:
    a, _ = _pair([True, False] * 20, [True, False] * 20, [f"p{i % 8}" for i in range(40)])
    r = paired_bootstrap(a, a, n_boot=500)
    # no discordant frame: the residuals are floored at one frame, so the interval is small but not a point
    assert r["diff"] == 0 and r["p_value"] == 1.0
    assert r["ci_low"] == pytest.approx(-r["ci_high"]) and 0 < r["ci_high"] < 0.2


def test_paired_bootstrap_respects_persons_where_mcnemar_does_not() -> None:
    # B fixes all 100 frames of one person out of two: many discordant frames, one person of evidence
    persons = ["p1"] * 100 + ["p2"] * 100
    a, b = _pair([False] * 100 + [True] * 100, [True] * 100 + [True] * 100, persons)
    r = paired_bootstrap(a, b, n_boot=2000)
    assert r["diff"] == pytest.approx(0.5) and r["n_persons"] == 2
    assert r["ci_low"] <= 0.0 and r["ci_high"] == pytest.approx(1.0)
    assert mcnemar(a["pred"] == "happy", b["pred"] == "happy")["p_value"] < 1e-20
    # the same frames spread over 200 different people: clear evidence
    a2, b2 = _pair([False] * 100 + [True] * 100, [True] * 200, [f"q{i}" for i in range(200)])
    r2 = paired_bootstrap(a2, b2, n_boot=2000)
    assert r2["ci_low"] > 0.3 and r2["p_value"] < 0.01
    assert paired_bootstrap(a2, b2, person=False, n_boot=200)["method"].startswith("paired t interval over samples")


def test_align_pair_and_compare_runs() -> None:
    a = synthetic_predictions(seed=1, skill=0.4)
    b = synthetic_predictions(seed=2, skill=0.8)
    m = align_pair(a, b)
    assert set(m["outcome"]) <= set(OUTCOMES) and len(m) == len(a)
    assert ((m["outcome"] == "only B right") == (~m["correct_a"] & m["correct_b"])).all()
    c = compare_runs(a, b, "race", n_boot=300)
    assert sum(c["outcomes"].values()) == len(a)
    assert c["overall"]["diff"] == pytest.approx(b["correct"].mean() - a["correct"].mean())
    assert set(c["groups"]["group"]) == {"White", "Black", "Mixed"}
    assert "mcnemar_p_value" in c["overall"]
    with pytest.raises(DataFormatError, match="no sample_id in common"):
        align_pair(a, b.assign(sample_id=b["sample_id"] + "x"))
    with pytest.raises(DataFormatError, match="different true labels"):
        align_pair(a, b.assign(true=np.where(b["true"] == "happy", "sad", "happy")))


def test_paired_p_value_agrees_with_the_interval() -> None:
    from core.evaluation.compare import paired_difference

    rng = np.random.default_rng(4)
    for _ in range(20):
        persons = np.repeat([f"p{i}" for i in range(8)], rng.integers(3, 40, 8))
        ca = rng.random(persons.size) < 0.5
        cb = np.where(rng.random(persons.size) < 0.7, ca, rng.random(persons.size) < 0.65)
        r = paired_difference(ca, cb, persons)
        assert r["ci_low"] <= r["diff"] <= r["ci_high"] and r["n_clusters"] == 8
        assert (r["p_value"] < 0.05) == (r["ci_low"] > 0 or r["ci_high"] < 0)


def test_compare_aligned_is_compare_runs_on_an_aligned_table() -> None:
    from core.evaluation.compare import compare_aligned

    a, b = synthetic_predictions(seed=1, skill=0.4), synthetic_predictions(seed=2, skill=0.7)
    once = compare_aligned(align_pair(a, b), "race", n_boot=200)
    twice = compare_runs(a, b, "race", n_boot=200)
    assert once["overall"] == twice["overall"] and once["outcomes"] == twice["outcomes"]
    pd.testing.assert_frame_equal(once["groups"], twice["groups"])
    with pytest.raises(DataFormatError, match="align_pair"):
        compare_aligned(a, "race")
