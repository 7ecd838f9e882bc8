"""Identity leakage audit: the real EiLA numbers through the CLI, and small tables."""
from __future__ import annotations

import json

import pandas as pd

from core.cli import main
from core.evaluation import (leakage_audit, leakage_table, leakage_warnings, mostly_seen_groups, read_leakage,
                             seen_persons, write_leakage)
from core.evaluation.leakage import LEAKAGE_FIELDS, unchecked


def _groups(audit):
    return {(g["attribute"], g["group"]): g for g in audit["groups"]}


def test_real_eila_leakage_cli_reproduces_the_finding(eila_dir, tmp_path, capsys):
    rc = main(["leakage", "--data", str(eila_dir / "annotations.csv"), "--format", "eila-annotations",
               "--demographics", str(eila_dir / "demographics.csv"), "--out", str(tmp_path)])
    assert rc == 0
    audit = json.loads((tmp_path / "leakage.json").read_text())
    assert audit["checked"] is True and audit["reason"] is None
    assert audit["train_splits"] == ["train", "validation"] and audit["eval_split"] == "test"
    g = _groups(audit)
    black, white, mixed = g[("race", "Black")], g[("race", "White")], g[("race", "Mixed")]
    assert (black["persons_seen"], black["persons"]) == (4, 7)
    assert round(100 * black["frames_seen"] / black["frames"], 1) == 78.5 and black["frames"] == 219
    assert black["clips"] == 1 and black["videos"] == 1 and black["clips_seen"] == 0
    assert (white["persons_seen"], white["persons"]) == (1, 12)
    assert round(100 * white["frames_seen"] / white["frames"], 1) == 2.3
    assert (mixed["persons_seen"], mixed["persons"], mixed["frames_seen"]) == (0, 2, 0)
    assert g[("all", "all")]["frames"] == 902 and g[("all", "all")]["persons"] == 21
    csv = pd.read_csv(tmp_path / "leakage.csv")
    assert list(csv.columns[:9]) == ["attribute", "group", *LEAKAGE_FIELDS]
    assert {"race", "gender"} <= set(csv["attribute"])
    out = capsys.readouterr().out
    assert "Black: 4 of 7 persons seen in training (78.5 % of 219 frames); 1 clip, 1 video (ONE clip)" in out
    assert "warning: race Black" in out and "warning: race White" not in out


def test_real_eila_leakage_cli_person_disjoint_sees_nobody(eila_dir, tmp_path):
    rc = main(["leakage", "--data", str(eila_dir / "annotations.csv"), "--format", "eila-annotations",
               "--demographics", str(eila_dir / "demographics.csv"), "--split-rule", "person-disjoint",
               "--attributes", "race", "--out", str(tmp_path)])
    assert rc == 0
    audit = json.loads((tmp_path / "leakage.json").read_text())
    assert audit["checked"] and all(g["persons_seen"] == 0 and g["frames_seen"] == 0 for g in audit["groups"])


def test_leakage_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["leakage", "--data", str(tmp_path / "nope"), "--format", "folder", "--out", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err
    m = _frame().assign(sample_id=lambda d: [f"s{i}" for i in range(len(d))], path="x.png", label="happy")
    m.to_parquet(tmp_path / "m.parquet")
    assert main(["leakage", "--data", str(tmp_path / "m.parquet"), "--train-splits", "test",
                 "--out", str(tmp_path / "o")]) == 2
    assert "exclude the evaluation split" in capsys.readouterr().err


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "dataset": "D", "split": ["train"] * 4 + ["test"] * 5,
        "person": ["a", "a", "b", "c", "a", "a", "d", "e", "e"],
        "race": ["X", "X", "Y", "Y", "X", "X", "Y", "Y", "Y"],
        "video": ["v1", "v1", "v1", "v2", "v3", "v3", "v3", "v2", "v2"],
        "clip": ["1", "2", "1", "1", "1", "1", "2", "2", "2"],
    })


def test_leakage_audit_counts_small_table():
    df = _frame()
    audit = leakage_audit(df[df.split == "train"], df[df.split == "test"], ["race"])
    g = _groups(audit)
    assert g[("race", "X")] | {} == {"attribute": "race", "group": "X", "frames": 2, "persons": 1,
                                     "persons_seen": 1, "frames_seen": 2, "clips": 1, "clips_seen": 0,
                                     "videos": 1, "frames_no_person": 0}
    y = g[("race", "Y")]
    assert (y["frames"], y["persons"], y["persons_seen"], y["frames_seen"]) == (3, 2, 0, 0)
    assert (y["clips"], y["clips_seen"], y["videos"]) == (2, 0, 2)
    assert [m["group"] for m in mostly_seen_groups(audit)] == ["X"]
    assert len(leakage_warnings(audit, "run")) == 1 and leakage_warnings(audit)[0].startswith("race X 1 of 1 persons (100.0 % of 2 frames, ONE clip) seen")
    assert leakage_warnings(audit, attribute="gender") == []
    seen = seen_persons(df[df.split == "train"], df[df.split == "test"])
    assert seen.tolist() == [True, True, False, False, False]


def test_leakage_missing_person_ids_is_not_zero():
    df = _frame()
    ev = df[df.split == "test"].assign(person=None)
    audit = leakage_audit(df[df.split == "train"], ev, ["race"])
    assert audit["checked"] is False and "no person ids" in audit["reason"]
    assert all(g["persons_seen"] is None and g["frames_seen"] is None for g in audit["groups"])
    assert seen_persons(df[df.split == "train"], ev).isna().all()
    tr = df[df.split == "train"].assign(person=[None, "a", "b", "c"])
    audit = leakage_audit(tr, df[df.split == "test"], ["race"])
    assert audit["checked"] is False and "1 training row" in audit["reason"]
    assert mostly_seen_groups(audit) == [] and leakage_warnings(audit) == []
    loaded = leakage_audit(None, df[df.split == "test"], ["race"])
    assert loaded["checked"] is False and "not known" in loaded["reason"]
    assert all(g["clips_seen"] is None and g["clips"] is not None for g in loaded["groups"])


def test_leakage_partial_person_ids_counted_neither_way():
    df = _frame()
    ev = df[df.split == "test"].copy()
    ev.loc[ev.index[0], "person"] = None
    audit = leakage_audit(df[df.split == "train"], ev, ["race"])
    assert audit["checked"] is True and "1 evaluation frame" in audit["reason"]
    x = _groups(audit)[("race", "X")]
    assert x["frames_no_person"] == 1 and x["frames_seen"] == 1


def test_write_and_read_leakage(tmp_path):
    df = _frame()
    audit = leakage_audit(df[df.split == "train"], df[df.split == "test"])
    files = write_leakage(audit, tmp_path, csv=True)
    assert [f.name for f in files] == ["leakage.json", "leakage.csv"]
    assert read_leakage(tmp_path) == audit
    assert read_leakage(tmp_path / "none") is None
    table = leakage_table(audit)
    assert table["persons"].dtype == "Int64" and len(table) == len(audit["groups"])
    u = unchecked("a loaded model", ["train"], "test")
    assert u == {"checked": False, "reason": "a loaded model", "train_splits": ["train"], "eval_split": "test",
                 "groups": []}
