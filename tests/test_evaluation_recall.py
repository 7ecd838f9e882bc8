"""Per-emotion recall by group and the largest recall gap, on a hand-made table."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from core import DataFormatError
from core.evaluation.recall import largest_recall_gap, recall_by_group, recall_matrix


def _preds() -> pd.DataFrame:
    rows = []
    # group A: happy 10/10 right, angry 8/10; group B: happy 9/10, angry 2/10; B has 2 sad, both right
    for g, happy, angry in (("A", 10, 8), ("B", 9, 2)):
        rows += [{"true": "happy", "pred": "happy" if i < happy else "sad", "race": g} for i in range(10)]
        rows += [{"true": "angry", "pred": "angry" if i < angry else "fear", "race": g} for i in range(10)]
    rows += [{"true": "sad", "pred": "sad", "race": "B"}] * 2 + [{"true": "sad", "pred": "happy", "race": "A"}] * 6
    return pd.DataFrame(rows).assign(sample_id=lambda d: [f"s{i}" for i in range(len(d))])


def test_recall_by_group_counts_every_cell():
    t = recall_by_group(_preds(), "race").set_index(["emotion", "group"])
    assert t.loc[("angry", "B"), "recall"] == pytest.approx(0.2) and t.loc[("angry", "B"), "n_samples"] == 10
    assert t.loc[("happy", "A"), "recall"] == 1.0 and t.loc[("sad", "A"), "recall"] == 0.0
    assert math.isnan(t.loc[("fear", "A"), "recall"]) and t.loc[("fear", "A"), "n_samples"] == 0


def test_largest_gap_skips_small_cells():
    t = recall_by_group(_preds(), "race")
    gap = largest_recall_gap(t, min_samples=5)
    assert gap["emotion"] == "angry" and gap["gap"] == pytest.approx(0.6)
    assert (gap["best_group"], gap["worst_group"]) == ("A", "B") and gap["n_emotions"] == 2
    # with every cell allowed, sad (A 0 % of 6, B 100 % of 2) is the largest gap
    loose = largest_recall_gap(t, min_samples=1)
    assert loose["emotion"] == "sad" and loose["gap"] == pytest.approx(1.0)
    assert math.isnan(largest_recall_gap(t, min_samples=50)["gap"])
    with pytest.raises(ValueError, match="min_samples"):
        largest_recall_gap(t, 0)
    m = recall_matrix(t)
    assert m.loc["angry", "B"] == "20% (n=10)" and m.loc["sad", "B"].endswith("⚠") and m.loc["fear", "A"] == ""


def test_missing_attribute_names_the_source():
    with pytest.raises(DataFormatError, match="my.parquet"):
        recall_by_group(_preds().drop(columns="race"), "race", "my.parquet")
