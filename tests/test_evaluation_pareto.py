"""Pareto status that respects intervals: beaten only on point estimates is 'indistinguishable'."""
from __future__ import annotations

import numpy as np
import pytest

from _evaluation_data import synthetic_predictions
from core.evaluation.results import pareto_status, result_from_predictions, tradeoff_table


def test_pareto_status_needs_non_overlapping_intervals_on_both_axes() -> None:
    acc = [0.60, 0.58, 0.40, 0.59]
    acc_lo, acc_hi = [0.55, 0.53, 0.35, 0.54], [0.65, 0.63, 0.45, 0.64]
    std = [0.05, 0.06, 0.20, 0.04]
    std_lo, std_hi = [0.00, 0.01, 0.15, 0.00], [0.10, 0.11, 0.25, 0.09]
    status = pareto_status(acc, acc_lo, acc_hi, std, std_lo, std_hi).tolist()
    # 0 and 3 trade off; 1 is beaten by 0 on point estimates only; 2 is beaten clearly on both axes
    assert status == ["front", "indistinguishable", "dominated", "front"]
    # one axis overlapping is enough to stay indistinguishable
    assert pareto_status([0.6, 0.4], [0.55, 0.35], [0.65, 0.45], [0.05, 0.10], [0.0, 0.02], [0.10, 0.2]).tolist() == [
        "front", "indistinguishable"]
    assert pareto_status([0.6, np.nan], [0.5, np.nan], [0.7, np.nan], [0.1, 0.1], [0, 0], [0.2, 0.2]).tolist() == [
        "front", "n/a"]
    with pytest.raises(ValueError, match="same length"):
        pareto_status([0.5], [0.4], [0.6], [0.1, 0.2], [0.0], [0.3])


def test_tradeoff_table_ranks_on_the_corrected_std() -> None:
    res = [result_from_predictions(f"run{i}", synthetic_predictions(seed=i, skill=s), "race", n_boot=50)
           for i, s in enumerate((0.3, 0.5, 0.8))]
    t = tradeoff_table(res)
    assert list(t.index) == ["run0", "run1", "run2"] and set(t["std_kind"]) == {"corrected"}
    for name, r in zip(t.index, res):
        assert t.loc[name, "std"] == pytest.approx(r.report.summary["std_corrected"])
        assert t.loc[name, "std_raw"] == pytest.approx(r.report.summary["std"])
    assert set(t["status"]) <= {"front", "indistinguishable", "dominated"}
    assert (t["status"] == "front").any()
