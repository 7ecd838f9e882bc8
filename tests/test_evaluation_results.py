"""core.evaluation.results: evaluation sets, results from predictions, runs and the published tables, the
interval-respecting Pareto status and the results tables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _evaluation_data import make_run, synthetic_predictions
from core.common._errors import DataFormatError
from core.evaluation.results import (CHANCE, ConfigResult, EvalSet, filter_seen, pareto_front, pareto_status,
                                     reference_results, result_from_predictions, results_table, run_results,
                                     split_rule_of, tradeoff_table)
from core.evaluation.uncertainty import wilson_interval


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    art = tmp_path_factory.mktemp("res") / "artifacts"
    a = make_run(art, "run-a", synthetic_predictions(seed=1, skill=0.4), "baseline")
    b = make_run(art, "run-b", synthetic_predictions(seed=2, skill=0.7), "mixed")
    return art, a, b


def _six() -> pd.DataFrame:
    """White 3 of 3 right, Black 1 of 3: overall 4 of 6."""
    return pd.DataFrame({"sample_id": list("abcdef"), "true": ["happy", "sad", "angry", "happy", "sad", "angry"],
                         "pred": ["happy", "sad", "angry", "sad", "happy", "angry"],
                         "race": ["White"] * 3 + ["Black"] * 3, "seen_person": [True, False, None, True, False, False]})


def test_eval_set_labels_and_family() -> None:
    s = EvalSet("EiLA", "test", "race", 902, split_rule="person-disjoint")
    assert s.label == "EiLA · test split · split rule person-disjoint · 902 frames · groups by race"
    assert s.family == EvalSet("EiLA", "test", "race")
    published = EvalSet("EiLA", "test", "race", 815, published=True, persons="unseen")
    assert published.label == ("EiLA test split as published by Chen (2024), TScIT 41 · 815 frames · persons unseen "
                               "in training only · groups by race")


def test_result_from_a_six_row_table() -> None:
    r = result_from_predictions("x", _six(), "race", n_boot=100)
    lo, hi = wilson_interval(4, 6)  # no persons: frames are independent
    assert r.overall["accuracy"] == pytest.approx(4 / 6) and r.overall["n_samples"] == 6
    assert (r.overall["ci_low"], r.overall["ci_high"]) == pytest.approx((lo, hi))
    assert (lo, hi) == pytest.approx((0.3000, 0.9032), abs=1e-4)
    assert r.overall["n_persons"] is None and r.overall["ci_method"].startswith("Wilson")
    assert r.report.table.loc["White", "accuracy"] == 1.0
    assert r.report.table.loc["Black", "accuracy"] == pytest.approx(1 / 3)
    assert r.report.summary["std"] == pytest.approx(np.std([1.0, 1 / 3], ddof=1))
    assert r.better_than_chance and r.kind == "run" and len(r.predictions) == 6


def test_results_keep_only_persons_unseen_or_seen_in_training() -> None:
    unseen = result_from_predictions("x", _six(), persons="unseen", n_boot=50)  # rows b, e, f: 2 of 3 right
    assert unseen.overall["n_samples"] == 3 and unseen.overall["accuracy"] == pytest.approx(2 / 3)
    assert unseen.persons == "unseen"
    rows, note = filter_seen(_six(), "seen")
    assert rows["sample_id"].tolist() == ["a", "d"] and note == ""
    rows, note = filter_seen(_six().drop(columns=["seen_person"]), "unseen")
    assert rows.empty and note == "no seen_person values: leakage was not checked for this run"
    empty = result_from_predictions("x", _six().assign(seen_person=None), persons="seen", n_boot=50)
    assert empty.report is None and empty.overall["n_samples"] == 0 and "leakage was not checked" in empty.note
    rows, note = filter_seen(_six().assign(seen_person=True), "unseen")
    assert rows.empty and note == "no evaluation rows of persons unseen in training"
    assert filter_seen(_six(), "all")[0] is not None
    with pytest.raises(ValueError, match=r"persons must be one of \['all', 'unseen', 'seen'\], received 'some'"):
        filter_seen(_six(), "some")


def test_bad_predictions_name_the_configuration() -> None:
    with pytest.raises(DataFormatError, match=r"^x: missing column\(s\) \['pred'\]"):
        result_from_predictions("x", _six().drop(columns=["pred"]))


def test_better_than_chance_uses_the_interval_when_there_is_one() -> None:
    def res(**overall) -> ConfigResult:
        return ConfigResult("x", "run", "", overall, None)

    assert CHANCE == pytest.approx(0.142857, abs=1e-6)
    assert res(accuracy=0.5, ci_low=0.15).better_than_chance
    assert not res(accuracy=0.5, ci_low=0.14).better_than_chance
    assert res(accuracy=0.15, ci_low=np.nan).better_than_chance      # no interval: the estimate decides
    assert not res(accuracy=np.nan).better_than_chance
    assert res(accuracy=0.1).marks == ["not better than chance"]


def test_split_rule_of_training_and_evaluation_configs() -> None:
    assert split_rule_of({"data": {"split_rule": "person-disjoint"}}) == "person-disjoint"
    assert split_rule_of({"split_rule": "seed"}) == "seed"
    assert split_rule_of({"data": {}}) == ""


def test_formatted_results_table_of_six_rows() -> None:
    disp = results_table([result_from_predictions("x", _six(), n_boot=100)], formatted=True)
    row = disp.loc["x"]
    assert row["n frames (persons)"] == "6 (no person ids)" and row["accuracy % [CI]"] == "66.7 [30.0, 90.3]"
    assert row["weighted F1"] == "0.667" and row["loss"] == "n/a" and row["marks"] == ""
    assert row["% acc White [CI]"].startswith("100.0 [") and row["% acc White [CI]"].endswith("(3 frames) ⚠")
    assert row["% std raw [CI]"].startswith("47.1 [")  # sd of 100% and 33.3%, ddof=1
    assert results_table([]).empty


def test_pareto_front_on_point_estimates() -> None:
    assert pareto_front([0.4, 0.3, 0.35, 0.2], [0.1, 0.05, 0.12, 0.2]).tolist() == [True, True, False, False]
    assert pareto_front([0.4, np.nan], [0.1, 0.0]).tolist() == [True, False]


def test_empty_tradeoff_table_has_the_columns() -> None:
    t = tradeoff_table([])
    assert t.empty and t.index.name == "configuration" and "status" in t.columns


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


def test_results_table_of_two_runs(two_runs) -> None:
    _, a, b = two_runs
    res = run_results([a, b], "race", n_boot=200)
    t = results_table(res)
    assert [n.split(" · ")[:2] for n in t.index] == [["baseline", "run-a"], ["mixed", "run-b"]]
    t.index = ["baseline", "mixed"]
    assert {"acc[Mixed]", "n[Mixed]", "persons[Mixed]", "flag[Mixed]", "std", "std_ci_low"} <= set(t.columns)
    assert t["flag[Mixed]"].all() and not t["flag[White]"].any()
    disp = results_table(res, formatted=True).set_axis(["baseline", "mixed"])
    cell = disp.loc["baseline", "% acc Mixed [CI]"]
    assert "⚠" in cell and "2 persons" in cell and "frames" in cell
    no_race = result_from_predictions("x", synthetic_predictions().drop(columns=["race"]), "race", n_boot=50)
    assert no_race.report is None and "race" in no_race.note


def test_reference_results_use_wilson_from_table4_sizes() -> None:
    res = {r.name: r for r in reference_results(n_boot=300)}
    mixed = res["EiLA only"].report.table.loc["Mixed"]
    lo, hi = wilson_interval(0.266 * 64, 64)
    assert mixed["ci_low"] == pytest.approx(lo) and mixed["ci_high"] == pytest.approx(hi)
    assert mixed["n_samples"] == 64 and "Wilson" in mixed["ci_method"]
    s = res["FER2013 only"].report.summary
    assert s["std"] == pytest.approx(0.1223, abs=5e-4) and s["std_published"] == 0.122
    assert s["std_ci_low"] < s["std"] < s["std_ci_high"]
    assert reference_results("gender")[0].report is None
