"""Preprocessing audit: stage counts by split x race x gender with Wilson and person-cluster intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import load_eila_annotations
from core.evaluation.uncertainty import wilson_interval
from core.preprocess import (SEED_TEST_SPLIT_REFERENCE, STAGES, audit_slice, compare_audits, compute_audit,
                             reason_counts, retention_table, seed_reference_audit)


def _rows() -> pd.DataFrame:
    """40 rows of 8 persons: Black persons lose half their rows at detection, White persons keep all."""
    recs = []
    for p in range(8):
        race = "Black" if p < 4 else "White"
        for i in range(5):
            reached = 3 if race == "White" or i % 2 == 0 else 1
            recs.append({"split": "test" if i < 3 else "train", "race": race, "gender": "Female" if p % 2 else "Male",
                         "person": f"p{p}", "stage_reached": reached,
                         "reason": None if reached == 3 else "no_face"})
    return pd.DataFrame(recs)


def test_counts_rates_margins_and_intervals():
    audit = compute_audit(_rows(), detector="demo", threshold=0.6, n_boot=300)
    assert set(audit["stage"]) == set(STAGES) and (audit["detector"] == "demo").all()
    black = audit_slice(audit, split="All", race="Black", gender="All").set_index("stage")
    assert black["n_rows"].tolist() == [20] * 4
    assert black.loc[list(STAGES), "n_reached"].tolist() == [20, 20, 12, 12]  # lost at face detection
    assert black.loc["kept", "rate"] == pytest.approx(0.6)
    assert black.loc["face_found", "conditional_rate"] == pytest.approx(0.6)
    assert black.loc["kept", "conditional_rate"] == 1.0
    lo, hi = wilson_interval(12, 20)
    assert black.loc["kept", "wilson_low"] == pytest.approx(lo) and black.loc["kept", "wilson_high"] == pytest.approx(hi)
    assert black.loc["kept", "n_persons"] == 4 and bool(black.loc["kept", "low_n"])  # < 5 persons: flagged
    assert black.loc["kept", "ci_low"] <= lo + 1e-9 and black.loc["kept", "ci_high"] >= hi - 1e-9
    white = audit_slice(audit, split="All", race="White", gender="All").set_index("stage")
    assert white.loc["kept", "rate"] == 1.0
    # margins add up: test + train = All for each race
    kept = audit[(audit["stage"] == "kept") & (audit["gender"] == "All")].set_index(["split", "race"])["n_reached"]
    for race in ("Black", "White", "All"):
        assert kept[("test", race)] + kept[("train", race)] == kept[("All", race)]
    table = retention_table(audit, by="race")
    assert table.set_index("race")["rate"].to_dict() == pytest.approx({"Black": 0.6, "White": 1.0})
    lost = reason_counts(_rows())
    assert lost["n"].sum() == 8 and set(lost["reason"]) == {"no_face"}


def test_compare_detectors_and_seed_reference():
    rows = _rows()
    a = compute_audit(rows, detector="mtcnn", n_boot=50)
    b = compute_audit(rows.assign(stage_reached=3), detector="yunet", n_boot=50)
    both = compare_audits([a, b])
    kept = both[(both["stage"] == "kept") & (both["split"] == "All") & (both["gender"] == "All")]
    by = kept.pivot_table(index="race", columns="detector", values="rate")
    assert by.loc["Black", "mtcnn"] == pytest.approx(0.6) and by.loc["Black", "yunet"] == 1.0
    with pytest.raises(ValueError, match="detector"):
        compare_audits([a.drop(columns="detector")])
    ref = seed_reference_audit().set_index("race")
    assert ref.loc["Black", "rate"] == pytest.approx(163 / 219) and round(ref.loc["Black", "rate"], 2) == 0.74
    assert round(ref.loc["White", "rate"], 2) == 0.96
    assert (ref["wilson_low"] < ref["rate"]).all() and (ref["rate"] < ref["wilson_high"]).all()


def test_real_annotations_test_split_matches_the_seed_row_counts(eila_dir):
    ann = load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv")
    audit = compute_audit(ann.assign(stage_reached=0), detector="none", n_boot=20)
    rows = audit_slice(audit, split="test", gender="All", stage="rows").set_index("race")["n_rows"]
    assert rows["All"] == 902
    assert {r: rows[r] for r in SEED_TEST_SPLIT_REFERENCE} == {r: n for r, (n, _) in SEED_TEST_SPLIT_REFERENCE.items()}
    persons = audit_slice(audit, split="test", race="All", gender="All", stage="rows")["n_persons"].iloc[0]
    assert persons == 21


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="stage_reached"):
        compute_audit(pd.DataFrame({"person": ["a"]}))
    with pytest.raises(ValueError, match="person"):
        compute_audit(pd.DataFrame({"stage_reached": [1]}))
    assert np.isnan(compute_audit(_rows(), n_boot=10)["threshold"]).all()
