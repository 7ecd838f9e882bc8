"""Two configurations' seed groups: Welch's t interval over seeds next to the paired test-set interval."""
from __future__ import annotations

import math

import pytest

from core.evaluation.seed_compare import compare_seed_groups, welch_interval

A = [0.40, 0.50, 0.60]  # mean 0.5, sd 0.1
B = [0.70, 0.80, 0.90]  # mean 0.8, sd 0.1
# se = sqrt(0.01/3 + 0.01/3) = 0.081650; Welch df = (2/300)^2 / (2 (1/300)^2 / 2) = 4; t(0.975, 4) = 2.776445
HALF = 2.776445 * math.sqrt(0.02 / 3)


def test_welch_interval_by_hand() -> None:
    w = welch_interval(A, B)
    assert w["diff"] == pytest.approx(0.3) and w["se"] == pytest.approx(math.sqrt(0.02 / 3))
    assert w["df"] == pytest.approx(4.0)
    assert (w["ci_low"], w["ci_high"]) == (pytest.approx(0.3 - HALF, abs=1e-6), pytest.approx(0.3 + HALF, abs=1e-6))
    one = welch_interval([0.5], B)
    assert one["diff"] == pytest.approx(0.3) and math.isnan(one["se"]) and math.isnan(one["ci_low"])
    same = welch_interval([0.5, 0.5], [0.6, 0.6])
    assert same["se"] == 0 and same["ci_low"] == same["ci_high"] == pytest.approx(0.1)


@pytest.mark.parametrize("b, sampling, seed, samp, words", [
    (B, (0.05, 0.55), True, True, "Beyond both seed-to-seed variation and test-set sampling uncertainty: the means over seeds differ by +30.0"),
    (B, (-0.10, 0.70), True, False, "Beyond seed-to-seed variation only (another sample of test persons could reverse it)"),
    ([0.55, 0.65, 0.75], (0.02, 0.28), False, True, "Beyond test-set sampling uncertainty only"),
    ([0.55, 0.65, 0.75], (-0.05, 0.35), False, False, "Within both seed-to-seed variation and test-set sampling uncertainty: the means over seeds differ by +15.0 points, within"),  # 0.15 < half width 0.2267
    (B, None, True, None, "Beyond seed-to-seed variation: the means over seeds differ by +30.0 points, more than the seed-to-seed variation; no paired interval"),
])
def test_verdicts(b, sampling, seed, samp, words) -> None:
    c = compare_seed_groups(A, b, sampling)
    assert c["exceeds_seed"] is seed and c["exceeds_sampling"] is samp
    assert words in c["verdict"] and "With 3 seeds per configuration the across-seed sd is a rough estimate" \
        in c["verdict"]
    assert c["mean_a"] == pytest.approx(0.5) and c["sd_a"] == pytest.approx(0.1) and c["n_b"] == 3


def test_one_seed_has_no_seed_verdict() -> None:
    c = compare_seed_groups([0.5], [0.8], (0.1, 0.5))
    assert c["exceeds_seed"] is None and c["exceeds_sampling"] is True and math.isnan(c["sd_a"])
    assert c["verdict"].startswith("Seed-to-seed variation unknown") and "paired difference is beyond" in c["verdict"]
    assert "Cannot be judged: the means over seeds differ by +30.0 points" in compare_seed_groups([0.5], [0.8])["verdict"]
    many = compare_seed_groups([0.4, 0.5, 0.6, 0.5], [0.7, 0.8, 0.9, 0.8], (0.1, 0.5))
    assert "rough" not in many["verdict"]


@pytest.mark.parametrize("args, match", [
    (([], B), r"values_a must be a non-empty list of finite numbers, received \[\]"),
    (("0.5", B), "values_a must be a sequence of accuracies"),
    ((A, [0.5, float("nan")]), "values_b must be a non-empty list of finite numbers"),
    ((A, B, (0.3, 0.1)), r"sampling_interval must have low <= high, received \(0.3, 0.1\)"),
    ((A, B, "ab"), "sampling_interval must be"),
    ((A, B, None, 1.5), r"confidence must be a number in \(0, 1\), received 1.5"),
])
def test_input_checks(args, match) -> None:
    with pytest.raises(ValueError, match=match):
        compare_seed_groups(*args)


def test_seed_spread_figure_has_every_seed_and_the_mean_per_group() -> None:
    import pandas as pd

    from core.common.palette import group_colours
    from core.evaluation.seed_plots import seed_spread_figure

    spread = pd.DataFrame([
        {"seed_group": "a", "configuration": "SFEW only", "group": "Dark", "n_seeds": 3, "seeds": [0, 1, 2],
         "values": A, "mean": 0.5, "sd": 0.1},
        {"seed_group": "a", "configuration": "SFEW only", "group": "Light", "n_seeds": 3, "seeds": [0, 1, 2],
         "values": B, "mean": 0.8, "sd": 0.1},
        {"seed_group": "b", "configuration": "FER2013 only", "group": "Dark", "n_seeds": 1, "seeds": [0],
         "values": [0.3], "mean": 0.3, "sd": float("nan")}])
    fig = seed_spread_figure(spread, "race")
    points = [t for t in fig.data if t.marker.symbol != "diamond"]
    means = [t for t in fig.data if t.marker.symbol == "diamond"]
    assert [t.name for t in means] == ["Dark", "Light"] and len(points) == 2
    assert sorted(points[0].y) == pytest.approx([30, 40, 50, 60]) and len(points[1].y) == 3
    assert list(means[0].y) == pytest.approx([50, 30]) and list(means[0].error_y.array) == pytest.approx([10, 0])
    assert means[0].marker.color == group_colours("race", ["Dark"])["Dark"]
    assert list(fig.layout.xaxis.ticktext) == ["SFEW only", "FER2013 only"]
    with pytest.raises(ValueError, match="without columns"):
        seed_spread_figure(spread.drop(columns=["values"]))
