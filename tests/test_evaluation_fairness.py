"""Per-group reports for race, gender, skin tone and intersections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _evaluation_data import synthetic_predictions
from core.common._errors import DataFormatError
from core.evaluation.uncertainty import METHOD_CLUSTER, METHOD_WILSON
from core.evaluation.fairness import group_report, group_report_from_counts


@pytest.fixture(scope="module")
def preds() -> pd.DataFrame:
    return synthetic_predictions({"White": 8, "Black": 6, "Mixed": 2}, frames=8, seed=5)


def test_group_report_rows_and_summary(preds: pd.DataFrame) -> None:
    rep = group_report(preds, "race", n_boot=300)
    table, summary = rep.table, rep.summary
    assert list(table.columns[:6]) == ["accuracy", "ci_low", "ci_high", "weighted_f1", "n_samples", "n_persons"]
    manual = preds.assign(ok=preds["true"] == preds["pred"]).groupby("race").agg(
        acc=("ok", "mean"), n=("ok", "size"), persons=("person", "nunique"))
    for g, row in table.iterrows():
        assert row["accuracy"] == pytest.approx(manual.loc[g, "acc"])
        assert row["n_samples"] == manual.loc[g, "n"] and row["n_persons"] == manual.loc[g, "persons"]
        assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    assert table.loc["Mixed", "low_n"] and table.loc["Mixed", "ci_method"] == METHOD_CLUSTER  # 2 < 5 persons
    assert table.loc["White", "ci_method"] == METHOD_CLUSTER and not table.loc["White", "low_n"]
    assert summary["std"] == pytest.approx(np.std(table["accuracy"], ddof=1))
    assert summary["gap"] == pytest.approx(table["accuracy"].max() - table["accuracy"].min())
    assert summary["ratio"] == pytest.approx(table["accuracy"].min() / table["accuracy"].max())
    assert summary["std_ci_low"] <= summary["std"] <= summary["std_ci_high"]
    assert summary["std_raw"] == summary["std"]
    for key in ("std", "gap", "ratio"):  # corrected for sampling noise, each inside its own interval
        c = summary[f"{key}_corrected"]
        assert summary[f"{key}_corrected_ci_low"] <= c <= summary[f"{key}_corrected_ci_high"]
    assert summary["std_corrected"] <= summary["std"]
    assert summary["flagged_groups"] == ["Mixed"] and summary["person_column"] == "person"
    assert rep.replicates.shape == (300, 3)


def test_persons_can_be_ignored(preds: pd.DataFrame) -> None:
    rep = group_report(preds, "race", person=False, n_boot=100)
    assert set(rep.table["ci_method"]) == {METHOD_WILSON}
    assert rep.table["n_persons"].isna().all()
    with pytest.raises(DataFormatError, match="no person column 'who'"):
        group_report(preds, "race", person="who")


def test_gender_intersection_and_skin_tone(preds: pd.DataFrame) -> None:
    g = group_report(preds, "gender", n_boot=100).table
    assert set(g.index) == {"Male", "Female"} and g["n_samples"].sum() == len(preds)
    inter = group_report(preds, "race x gender", n_boot=100).table
    assert "Black / Female" in inter.index and inter["n_samples"].sum() == len(preds)
    tone = group_report(preds, "skin_tone", n_boot=100).table
    assert set(tone.index) <= {"very light", "light", "intermediate", "tan", "brown", "dark"}
    assert tone["n_samples"].sum() == len(preds)


def test_missing_attribute_values_are_counted_not_grouped(preds: pd.DataFrame) -> None:
    df = preds.copy()
    df.loc[:4, "race"] = None
    rep = group_report(df, "race", n_boot=50)
    assert rep.summary["n_missing"] == 5 and rep.table["n_samples"].sum() == len(df) - 5
    with pytest.raises(DataFormatError, match="no column 'religion'"):
        group_report(df, "religion")


def test_report_from_counts_matches_table6() -> None:
    counts = pd.DataFrame({"n_samples": [163, 588, 64], "accuracy": [0.589, 0.345, 0.453]},
                          index=pd.Index(["Black", "White", "Mixed"], name="group"))
    rep = group_report_from_counts(counts, n_boot=500)
    assert round(100 * rep.summary["std"], 1) == 12.2
    assert set(rep.table["ci_method"]) == {METHOD_WILSON}
