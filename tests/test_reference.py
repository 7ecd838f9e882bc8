"""The seed's published results: stored exactly, read-only, internally consistent."""
from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import reference as ref
from core.evaluation.uncertainty import spread


def test_citation_and_sizes() -> None:
    assert ref.CITATION == ("Chen, Y. (2024). Investigating Cross-cultural Generalizability of Facial Emotion "
                            "Recognition with Multi-dataset Training. TScIT 41, University of Twente.")
    assert dict(ref.TABLE4_TEST_GROUPS) == {"Black": 163, "White": 588, "Mixed": 64}
    assert sum(ref.TABLE4_TEST_GROUPS.values()) == ref.TABLE4_TOTAL == 815
    assert ref.TABLE3_SIZES["FER2013 + 100% EiLA"] == (33561, 8540)
    assert ref.TABLE3_SIZES["SFEW only"] == (891, 431)
    assert len(ref.configuration_names()) == 11


def test_values_are_fractions_and_exact() -> None:
    t = ref.reference_table()
    acc_cols = ["accuracy", "acc_Black", "acc_White", "acc_Mixed", "std_published"]
    assert ((t[acc_cols] >= 0) & (t[acc_cols] <= 1)).all().all()
    assert t.loc["FER2013 only", ["weighted_f1", "accuracy", "loss"]].tolist() == [0.342, 0.402, 2.274]
    assert t.loc["SFEW + 10% EiLA", ["acc_Black", "acc_White", "acc_Mixed"]].tolist() == [0.454, 0.313, 0.297]
    assert t.loc["EiLA only", "std_published"] == 0.0514


def test_read_only() -> None:
    with pytest.raises(TypeError):
        ref.TABLE5["EiLA only"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        ref.TABLE6["EiLA only"]["Black"] = 0.9  # type: ignore[index]
    t = ref.reference_table()
    t.loc["EiLA only", "accuracy"] = 0.99
    assert ref.reference_table().loc["EiLA only", "accuracy"] == 0.319


def test_table6_std_is_ddof1_std_of_group_accuracies() -> None:
    s = spread(np.array([0.589, 0.345, 0.453]))["std"]
    assert round(100 * s, 1) == 12.2
    for name in ref.configuration_names():
        accs = [ref.TABLE6[name][r] for r in ref.RACES]
        # published accuracies are rounded to 0.1 points, so the recomputed std agrees within 0.05 points
        assert abs(spread(np.array(accs))["std"] - ref.TABLE6[name]["std"]) < 0.0005, name


def test_group_accuracies_weighted_by_table4_reproduce_table5() -> None:
    off = {}
    for name in ref.configuration_names():
        g = ref.reference_group_counts(name)
        off[name] = abs(g["n_correct"].sum() / 815 - ref.TABLE5[name]["accuracy"])
    assert {n for n, d in off.items() if d > 0.001} == {"SFEW + 100% EiLA"}
    assert "SFEW + 100% EiLA" in ref.KNOWN_INCONSISTENCIES[0]


def test_person_counts_stated_in_the_notes_hold_on_the_real_annotations(eila_dir) -> None:
    from core.data.datasets import load_eila_annotations

    df = load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv")
    test = df[df["split"] == "test"]
    assert (len(test), test["person"].nunique()) == (902, 21)
    assert test.loc[test["race"] == "Mixed", "person"].nunique() == 2
    doc = " ".join(ref.__doc__.split())
    assert "21 people, 2 of them in the Mixed group" in doc
