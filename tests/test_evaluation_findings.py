"""core.evaluation.findings: key findings in words, from hand-made results of one evaluation set."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.evaluation.fairness import GroupReport
from core.evaluation.findings import group_finding, interval, pct, separability_finding, set_findings
from core.evaluation.results import ConfigResult, result_from_predictions


def _report(rows: dict[str, tuple[float, float, float, int, float]], flagged: list[str] | None = None) -> GroupReport:
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["accuracy", "ci_low", "ci_high", "n_samples", "n_persons"])
    table.index.name = "group"
    worst, best = table["accuracy"].idxmin(), table["accuracy"].idxmax()
    summary = {"attribute": "race", "worst_group": worst, "best_group": best, "flagged_groups": flagged or []}
    return GroupReport("race", table, summary, np.zeros((0, len(table))))


def _result(name: str, acc: float, lo: float, hi: float, report: GroupReport | None = None) -> ConfigResult:
    return ConfigResult(name, "run", "", {"accuracy": acc, "ci_low": lo, "ci_high": hi}, report)


def test_percentages_and_intervals() -> None:
    assert pct(0.4523) == "45.2%" and pct(0.4523, 0) == "45%" and pct(1) == "100.0%"
    assert pct(None) == "n/a" and pct("x") == "n/a" and pct(math.nan) == "n/a"
    assert interval(0.31, 0.452) == "[31.0%, 45.2%]"
    assert interval(None, 0.4) == "" and interval(0.1, math.inf) == ""


def test_group_finding_wording_follows_the_intervals() -> None:
    apart = _report({"White": (0.60, 0.55, 0.65, 1200, 10), "Black": (0.40, 0.35, 0.45, 300, 4)})
    text = group_finding(_result("run", 0.55, 0.5, 0.6, apart))
    assert text == ("run: the lowest race group is Black at 40.0% [35.0%, 45.0%], 300 frames of 4 persons, "
                    "20.0 points below White (60.0% [55.0%, 65.0%], 1,200 frames of 10 persons). "
                    "Their intervals do not overlap.")
    below = _report({"White": (0.60, 0.50, 0.70, 100, math.nan), "Black": (0.40, 0.30, 0.55, 100, math.nan)})
    text = group_finding(_result("run", 0.5, 0.4, 0.6, below))
    assert "100 frames, 20.0 points" in text and "persons" not in text.split(".")[0]  # no person counts
    assert text.endswith("Black's interval lies below White's accuracy, but the two intervals overlap: the size "
                         "of the gap is uncertain.")
    overlap = _report({"White": (0.50, 0.40, 0.60, 50, 5), "Mixed": (0.45, 0.30, 0.62, 20, 2)}, flagged=["Mixed"])
    text = group_finding(_result("run", 0.5, 0.4, 0.6, overlap))
    assert "5.0 points below White" in text
    assert text.endswith("Their intervals overlap: these data cannot tell the two groups apart. Few persons in "
                         "Mixed: those intervals are unreliable.")


def test_no_group_finding_without_two_groups() -> None:
    assert group_finding(_result("run", 0.5, 0.4, 0.6)) is None
    assert group_finding(_result("run", 0.5, 0.4, 0.6, _report({"White": (0.5, 0.4, 0.6, 10, 2)}))) is None


def test_separability_by_intervals_or_a_paired_comparison() -> None:
    good, bad = _result("good", 0.60, 0.55, 0.65), _result("bad", 0.40, 0.35, 0.45)
    spread = "Overall accuracy ranges from 40.0% (bad) to 60.0% (good)."
    assert separability_finding([bad, good]) == (
        spread + " Their intervals do not overlap: the best and the worst configuration can be told apart.")
    close = _result("close", 0.58, 0.50, 0.62)
    assert separability_finding([good, close]).endswith("cannot be told apart on overall accuracy.")
    paired = {("close", "good"): {"ci_low": -0.01, "ci_high": 0.05}}
    assert separability_finding([good, close], paired).endswith(
        "A paired comparison on the same frames does not separate them (difference interval -1.0 points to "
        "5.0 points).")
    paired = {("good", "close"): {"ci_low": 0.01, "ci_high": 0.05}}
    assert "separates them" in separability_finding([good, close], paired)
    no_ci = _result("no ci", 0.3, math.nan, math.nan)
    assert separability_finding([good, no_ci]).endswith("Without intervals these configurations cannot be compared.")
    chance = _result("chance", 0.10, 0.05, 0.15)  # left out: beating a chance-level model says nothing
    assert separability_finding([good, chance]) == ""


def test_set_findings_name_chance_level_results_and_skip_their_group_gaps() -> None:
    groups = _report({"White": (0.60, 0.55, 0.65, 100, 10), "Black": (0.40, 0.35, 0.45, 100, 10)})
    chance = _result("chance", 0.14, 0.10, 0.18, groups)
    words = set_findings([chance, _result("good", 0.6, 0.55, 0.65, groups)])
    assert words[0] == ("chance is not better than chance: accuracy 14.0% [10.0%, 18.0%] includes (or is below) "
                        "14.3%; it is left off the Pareto front.")
    assert sum("the lowest race group" in w for w in words) == 1 and words[1].startswith("good: the lowest")


def test_set_findings_add_the_largest_recall_gap_from_predictions() -> None:
    rows = []
    for race, right in (("White", 9), ("Black", 3)):  # 'happy' recall 90% vs 30%, 10 frames each
        rows += [{"sample_id": f"{race}{i}", "true": "happy", "pred": "happy" if i < right else "sad", "race": race}
                 for i in range(10)]
    res = result_from_predictions("run", pd.DataFrame(rows), "race", n_boot=50)
    gap = [w for w in set_findings([res]) if "recall gap" in w]
    assert gap == ["run: the largest per-emotion recall gap is happy, 60.0 points (White 90% vs Black 30%; cells "
                   "with at least 5 frames)."]
