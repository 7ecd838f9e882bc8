"""Split rules: the person-disjoint EiLA split on the real annotations, and on small tables."""
from __future__ import annotations

import pandas as pd
import pytest

from core.data.datasets import (SEED_CODE_SPLIT_RULE, apply_split_rule, load_eila_annotations, load_eila_crops,
                           person_disjoint_split, split_rule_name)


@pytest.fixture(scope="module")
def seed_rows(eila_dir):
    return load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv")


@pytest.fixture(scope="module")
def disjoint_rows(eila_dir):
    return load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv",
                                 split_rule="person-disjoint", split_seed=0)


def test_real_person_disjoint_keeps_every_row(seed_rows, disjoint_rows):
    assert len(disjoint_rows) == len(seed_rows) == 8087
    assert set(disjoint_rows["sample_id"]) == set(seed_rows["sample_id"])
    assert disjoint_rows.attrs["split_rule"] == {"rule": "person-disjoint", "seed": 0}
    assert seed_rows.attrs["split_rule"] == {"rule": "seed", "seed": None}


def test_real_person_disjoint_no_person_in_two_splits(seed_rows, disjoint_rows):
    assert disjoint_rows.groupby("person")["split"].nunique().max() == 1
    assert seed_rows.groupby("person")["split"].nunique().max() > 1  # the seed's rule does leak


def test_real_person_disjoint_is_stratified_by_race(disjoint_rows):
    persons = disjoint_rows.groupby(["race", "split"])["person"].nunique().unstack(fill_value=0)
    assert set(persons.index) == {"Black", "White", "Mixed"}
    assert (persons["test"] >= 2).all(), persons
    assert (persons["validation"] >= 1).all(), persons
    assert (persons["train"] >= 1).all(), persons


def test_real_person_disjoint_sizes_near_the_seeds(disjoint_rows):
    sizes = disjoint_rows["split"].value_counts()
    assert abs(sizes["test"] - 902) <= 0.05 * 902, sizes.to_dict()
    assert abs(sizes["validation"] - 1462) <= 0.05 * 1462, sizes.to_dict()
    assert abs(sizes["train"] - 5723) <= 0.05 * 5723, sizes.to_dict()


def test_real_person_disjoint_deterministic_for_a_seed(eila_dir, disjoint_rows):
    again = load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv",
                                  split_rule="person-disjoint", split_seed=0)
    assert (again["split"] == disjoint_rows["split"]).all()
    other = load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv",
                                  split_rule="person-disjoint", split_seed=1)
    assert (other["split"] != disjoint_rows["split"]).any()
    assert other.groupby("person")["split"].nunique().max() == 1


def test_real_crops_person_disjoint(eila_dir):
    crops = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv", split_rule="person-disjoint")
    assert crops.groupby("person")["split"].nunique().max() == 1
    assert set(crops["split"]) == {"train", "validation", "test"}
    assert crops.attrs["split_rule"]["rule"] == "person-disjoint"


def test_apply_split_rule_recomputes_and_needs_what_the_rule_needs(seed_rows):
    again = apply_split_rule(seed_rows, "person-disjoint", seed=0)
    assert again.groupby("person")["split"].nunique().max() == 1
    back = apply_split_rule(again, "seed")
    assert (back["split"] == seed_rows["split"]).all()
    with pytest.raises(ValueError, match="n_annotators"):
        apply_split_rule(seed_rows.drop(columns=["n_annotators"]), "seed")
    with pytest.raises(ValueError, match="split_rule must be one of"):
        apply_split_rule(seed_rows, "by-vibes")


def _toy(n_persons: int = 12) -> pd.DataFrame:
    rows = []
    for p in range(n_persons):
        for k in range(3 + p % 5):
            rows.append({"person": f"p{p}", "race": "A" if p % 2 else "B"})
    return pd.DataFrame(rows)


def test_person_disjoint_split_small_table():
    df = _toy()
    split = person_disjoint_split(df, seed=3)
    assert len(split) == len(df)
    both = df.assign(split=split)
    assert both.groupby("person")["split"].nunique().max() == 1
    persons = both.groupby(["race", "split"])["person"].nunique().unstack(fill_value=0)
    assert (persons["test"] >= 2).all() and (persons["validation"] >= 1).all() and (persons["train"] >= 1).all()
    assert (person_disjoint_split(df, seed=3) == split).all()


def test_person_disjoint_split_bad_input():
    with pytest.raises(ValueError, match="person id on every row"):
        person_disjoint_split(pd.DataFrame({"person": ["a", None], "race": ["A", "A"]}))
    with pytest.raises(ValueError, match="no column 'race'"):
        person_disjoint_split(pd.DataFrame({"person": ["a", "b"]}))
    with pytest.warns(UserWarning, match="1 person"):
        out = person_disjoint_split(pd.DataFrame({"person": ["a", "a"], "race": ["A", "A"]}))
    assert set(out) == {"train"}  # a lone person stays in train


def test_split_rule_names():
    assert split_rule_name(SEED_CODE_SPLIT_RULE) == "seed"
    assert split_rule_name({1: "test"}) == "custom"
    assert split_rule_name("person-disjoint") == "person-disjoint"


def test_register_cli_records_the_split_rule(eila_dir, tmp_path, capsys):
    import json

    from core.cli import main

    rc = main(["register", "--name", "EiLA-pd", "--format", "eila-annotations", "--path",
               str(eila_dir / "annotations.csv"), "--demographics", str(eila_dir / "demographics.csv"),
               "--split-rule", "person-disjoint", "--split-seed", "3", "--artifacts", str(tmp_path)])
    assert rc == 0
    info = json.loads((tmp_path / "datasets" / "eila-pd" / "info.json").read_text())
    assert info["source"]["split_rule"] == "person-disjoint" and info["source"]["split_seed"] == "3"
    assert main(["register", "--name", "F", "--format", "folder", "--path", str(eila_dir / "faces"),
                 "--split-rule", "person-disjoint", "--artifacts", str(tmp_path)]) == 2
    assert "eila-* formats" in capsys.readouterr().err
