"""Seed spread: runs grouped by seed_group, each seed's metric, mean and sd."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.evaluation.runs import RunInfo
import pandas as pd

from core.evaluation.seeds import (GROUP_SPREAD_COLUMNS, SPREAD_COLUMNS, TABLE_QUANTITIES, group_seed_spread,
                                   seed_sd_table, seed_siblings, seed_spread, seed_table_view)


def _run(group: str | None, seed: int, accuracy: float | None, name: str = "SFEW only") -> RunInfo:
    config = {"training": {"seed": seed}, **({"seed_group": group} if group else {})}
    return RunInfo(run_id=f"{group}-{seed}", path=Path("."), kind="training", label=name, created=0.0, config=config,
                   metrics=None if accuracy is None else {"accuracy": accuracy}, has_predictions=True,
                   has_model=True, configuration=name)


def test_seed_spread_groups_runs_across_seeds() -> None:
    runs = [_run("a", 2, 0.5), _run("a", 0, 0.4), _run("a", 1, 0.6), _run("b", 0, 0.3, "FER2013 only"),
            _run(None, 0, 0.9), _run("c", 0, None)]
    table = seed_spread(runs)
    assert list(table.columns) == list(SPREAD_COLUMNS)
    assert table["configuration"].tolist() == ["FER2013 only", "SFEW only"]  # no group, no metric: left out
    a = table.iloc[1]
    assert a["seeds"] == [0, 1, 2] and a["values"] == [0.4, 0.6, 0.5] and a["n_seeds"] == 3
    assert a["mean"] == pytest.approx(0.5) and a["sd"] == pytest.approx(0.1)
    assert (a["min"], a["max"]) == (0.4, 0.6)
    assert math.isnan(table.iloc[0]["sd"])  # one seed: no spread


def test_seed_spread_checks_metric() -> None:
    with pytest.raises(ValueError, match="received"):
        seed_spread([], metric="")
    assert seed_spread([]).empty


def _grouped(group: str, seed: int, overall: float, f1: float, accs: dict[str, float],
             name: str = "SFEW only", std: float | None = None) -> RunInfo:
    metrics = {"accuracy": overall, "weighted_f1": f1, "groups": {"race": {g: {"accuracy": a} for g, a in accs.items()}},
               "fairness": {"race": {"std": std}} if std is not None else {}}
    return RunInfo(run_id=f"{group}-{seed}", path=Path(f"/r/{group}-{seed}"), kind="training", label=name,
                   created=0.0, config={"training": {"seed": seed}, "seed_group": group}, metrics=metrics,
                   has_predictions=True, has_model=True, configuration=name)


def test_group_seed_spread_gives_each_group_every_seed_mean_and_sd() -> None:
    runs = [_grouped("a", 1, 0.6, 0.5, {"Light": 0.7, "Dark": 0.5}), _grouped("a", 0, 0.5, 0.4, {"Light": 0.8,
                                                                                                "Dark": 0.3}),
            _grouped("a", 2, 0.7, 0.6, {"Light": 0.9}), _grouped("b", 0, 0.4, 0.3, {"Dark": 0.2}, "FER2013 only")]
    table = group_seed_spread(runs, "race")
    assert list(table.columns) == list(GROUP_SPREAD_COLUMNS)
    assert list(zip(table["configuration"], table["group"])) == [("FER2013 only", "Dark"), ("SFEW only", "Dark"),
                                                                 ("SFEW only", "Light")]
    light = table.iloc[2]
    assert light["seeds"] == [0, 1, 2] and light["values"] == [0.8, 0.7, 0.9] and light["n_seeds"] == 3
    assert light["mean"] == pytest.approx(0.8) and light["sd"] == pytest.approx(0.1)
    dark = table.iloc[1]  # seed 2 has no Dark group: left out of that row only
    assert dark["seeds"] == [0, 1] and dark["mean"] == pytest.approx(0.4)
    assert dark["sd"] == pytest.approx(math.sqrt(0.02))  # (0.3 - 0.4)^2 + (0.5 - 0.4)^2 over 1
    assert math.isnan(table.iloc[0]["sd"])
    assert group_seed_spread(runs, "gender").empty
    with pytest.raises(ValueError, match="attribute must be a non-empty string, received ''"):
        group_seed_spread(runs, "")


def test_seed_sd_table_spreads_accuracy_f1_and_group_std() -> None:
    runs = [_grouped("a", 0, 0.5, 0.40, {"Light": 0.8, "Dark": 0.4}),  # std from groups: sqrt(0.08)
            _grouped("a", 1, 0.6, 0.50, {"Light": 0.9, "Dark": 0.1}, std=0.2),  # stored std wins
            _grouped("a", 2, 0.7, 0.45, {"Light": 0.7}, std=0.3)]
    row = seed_sd_table(runs).iloc[0]
    assert row["n_seeds"] == 3 and row["accuracy_mean"] == pytest.approx(0.6)
    assert row["accuracy_sd"] == pytest.approx(0.1) and row["weighted_f1_sd"] == pytest.approx(0.05)
    stds = [math.sqrt(0.08), 0.2, 0.3]
    assert row["std_mean"] == pytest.approx(sum(stds) / 3)
    assert row["std_sd"] == pytest.approx(float(pd.Series(stds).std(ddof=1)))
    assert {f"{p}_{s}" for p, _ in TABLE_QUANTITIES for s in ("mean", "sd")} <= set(row.index)


def test_seed_siblings_bring_every_seed_of_a_chosen_run() -> None:
    runs = [_grouped("a", 0, 0.5, 0.4, {}), _grouped("a", 1, 0.6, 0.4, {}), _grouped("b", 0, 0.4, 0.3, {}),
            _run(None, 0, 0.9)]
    assert [r.run_id for r in seed_siblings(runs, ["/r/a-1"])] == ["a-0", "a-1"]
    assert [r.run_id for r in seed_siblings(runs, ["b-0", "None-0"])] == ["b-0"]


def test_seed_table_view_in_words_and_percentages() -> None:
    runs = [_grouped("a", s, acc, f1, {"Light": li, "Dark": da}, std=sd) for s, acc, f1, li, da, sd in
            [(0, 0.5, 0.40, 0.8, 0.4, 0.2), (1, 0.6, 0.50, 0.9, 0.1, 0.3), (2, 0.7, 0.45, 0.7, 0.4, 0.4)]]
    runs.append(_grouped("b", 0, 0.3, 0.2, {"Dark": 0.25}, "FER2013 only"))
    view = seed_table_view(seed_sd_table(runs), group_seed_spread(runs), "race")
    assert view.columns.tolist()[:5] == ["configuration", "training seeds", "accuracy % (mean ± across-seed sd)",
                                         "weighted F1 (mean ± sd)", "% std of race accuracies (mean ± sd)"]
    sfew = view.set_index("configuration").loc["SFEW only"]
    assert sfew["training seeds"] == "3 (0, 1, 2)" and sfew["accuracy % (mean ± across-seed sd)"] == "60.0 ± 10.0"
    assert sfew["weighted F1 (mean ± sd)"] == "0.450 ± 0.050" and sfew["% acc Light (mean ± sd)"] == "80.0 ± 10.0"
    assert sfew["% std of race accuracies (mean ± sd)"] == "30.0 ± 10.0"
    fer = view.set_index("configuration").loc["FER2013 only"]
    assert fer["accuracy % (mean ± across-seed sd)"] == "30.0" and fer["% acc Light (mean ± sd)"] == ""


def test_report_spreads_fabricated_seed_runs_and_says_when_there_is_one_seed(tmp_path: Path) -> None:
    from _evaluation_data import make_training_run

    from core.evaluation.report import build_report
    from core.evaluation.runs import list_runs

    art = tmp_path / "artifacts"
    for seed in range(2):
        make_training_run(art, f"a-only-000000000{seed}", "A only", skill=0.5 + 0.1 * seed, seed=seed,
                          seed_group="a-only-0000000000")
    make_training_run(art, "b-only-1111111111", "B only", skill=0.8, seed_group="b-only-1111111111")
    bundle = build_report(list_runs(art), include_reference=False, attributes=["race"], n_boot=200)
    assert "Spread across training seeds" in bundle.html and "2 (0, 1)" in bundle.html
    assert sorted(bundle.tables["seeds"]["n_seeds"]) == [1, 2]
    assert "Across training seeds: mean accuracy A" in bundle.html  # A (2 seeds) against B (1 seed)
    assert "Seed-to-seed variation unknown (a configuration has one training seed)" in bundle.html
    old = tmp_path / "old"
    make_training_run(old, "c-only-2222222222", "C only")  # no seed group: written before --seeds
    html = build_report(list_runs(old), include_reference=False, attributes=["race"], n_boot=200).html
    assert "Every trained configuration in this report has one training seed" in html
    assert 'id="seeds"' not in html
