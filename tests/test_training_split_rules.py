"""A tiny sweep under both EiLA split rules (real crops, random weights, 32 px): leakage recorded per run,
evaluations of a trained run checked against its training identities, and Trade-offs side by side."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.data.datasets import load_eila_crops, load_folder
from core.evaluation.runs import list_runs
from core.data.registry import register_dataset
from core.training.split_rules import SplitRuleLoader, resplit

pytestmark = pytest.mark.slow  # trains models

REPO = Path(__file__).resolve().parent.parent
COMMON = ["--weights", "random", "--input-size", "32", "--epochs1", "2", "--epochs2", "0", "--batch-size", "8",
          "--class-weight", "balanced"]


def tiny_eila(eila_dir: Path) -> pd.DataFrame:
    """Two crops per person (all 73 persons of the crops), a held-out 'test' split of frames like the seed's:
    frames held out regardless of person, so test persons also appear in training."""
    crops = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv")
    tiny = crops.groupby("person").head(2).reset_index(drop=True)
    held = tiny.groupby("person").head(1).groupby("race").head(8).index  # one frame of 8 persons per race
    tiny.loc[held, "split"] = "test"
    return tiny


@pytest.fixture(scope="module")
def two_rule_artifacts(eila_dir: Path, fer2013_dir: Path, tmp_path_factory) -> Path:
    art = tmp_path_factory.mktemp("rules") / "artifacts"
    (art / "datasets").mkdir(parents=True)
    (art / "datasets" / ".demo-removed").touch()
    fer = load_folder(fer2013_dir, "FER2013").groupby(["split", "label"]).head(2).reset_index(drop=True)
    register_dataset(fer, "FER2013", "folder", {}, art)
    register_dataset(tiny_eila(eila_dir), "EiLA", "eila-crops", {}, art)
    mixes = ["--mix", "FER2013+EiLA:1"]
    assert main(["sweep", *mixes, *COMMON, "--artifacts", str(art)]) == 0
    assert main(["sweep", *mixes, *COMMON, "--split-rule", "person-disjoint", "--artifacts", str(art)]) == 0
    return art


def _runs(art: Path) -> dict[str, Path]:
    return {json.loads((r.path / "config.json").read_text())["data"]["split_rule"]: r.path for r in list_runs(art)}


def test_each_run_records_its_split_rule_and_leakage(two_rule_artifacts: Path) -> None:
    runs = _runs(two_rule_artifacts)
    assert set(runs) == {"seed", "person-disjoint"}
    seed = json.loads((runs["seed"] / "leakage.json").read_text())
    disjoint = json.loads((runs["person-disjoint"] / "leakage.json").read_text())
    assert seed["checked"] and disjoint["checked"]
    assert sum(g["persons_seen"] for g in seed["groups"] if g["attribute"] == "race") > 0  # frames held out leak
    assert all(g["persons_seen"] == 0 for g in disjoint["groups"])
    preds = pd.read_parquet(runs["person-disjoint"] / "predictions.parquet")
    assert not preds["seen_person"].any() and preds["seen_person"].notna().all()
    cfg = json.loads((runs["person-disjoint"] / "config.json").read_text())
    assert cfg["data"]["split_seed"] == 0 and cfg["data"]["evaluation"]["split_rule"] == "person-disjoint"


def test_evaluating_a_trained_run_checks_its_training_identities(two_rule_artifacts: Path, tmp_path: Path) -> None:
    run = _runs(two_rule_artifacts)["seed"]
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(run), "--data", "EiLA", "--split", "test", "--out", str(out),
                 "--n-boot", "50", "--artifacts", str(two_rule_artifacts)]) == 0
    audit = json.loads((out / "leakage.json").read_text())
    assert audit["checked"] is True
    assert audit == json.loads((run / "leakage.json").read_text()) | {"eval_split": "test"}
    preds = pd.read_parquet(out / "predictions.parquet")
    assert preds["seen_person"].notna().all() and preds["seen_person"].any()


def test_tradeoffs_shows_both_split_rules_side_by_side(two_rule_artifacts: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(two_rule_artifacts))
    at = AppTest.from_file(str(REPO / "pages" / "tradeoffs.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("different EiLA split rules" in i.value for i in at.info)
    # the two rules test different frames: two evaluation sets, each with its bars and its own front, in two
    # columns side by side; the published numbers are a set of their own (two more charts, full width)
    assert len(at.get("plotly_chart")) == 6
    side = [c for c in at.columns if c.get("plotly_chart")]
    assert len(side) == 2 and all(len(c.get("plotly_chart")) == 2 for c in side)
    titles = [c.get("subheader")[0].value for c in side]
    assert any("seed (annotator count; leaks persons)" in t for t in titles)
    assert any("person-disjoint" in t for t in titles)
    tables = [d.value for d in at.dataframe if "split rule" in d.value.columns]
    rules = {rule for t in tables for rule in t["split rule"]}
    assert {"seed (annotator count; leaks persons)", "person-disjoint"} <= rules
    assert all(t["split rule"].nunique() == 1 for t in tables)  # one table per evaluation set
    assert any("Identity leakage" in w.value for w in at.warning)
    at.radio(key="to_persons").set_value("unseen").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "unseen in training only" in {p for d in at.dataframe if "persons" in d.value.columns
                                         for p in d.value["persons"]}
    at.selectbox(key="to_unit").select("clip").run()
    assert not at.exception, [e.value for e in at.exception]


def test_resplit_keeps_or_recomputes(eila_dir: Path) -> None:
    tiny = tiny_eila(eila_dir)
    same, applied = resplit(tiny, {}, None)
    assert same is tiny and applied == {"split_rule": "seed", "split_seed": None}
    new, applied = resplit(tiny, {}, "person-disjoint", seed=2)
    assert applied == {"split_rule": "person-disjoint", "split_seed": 2}
    assert new.groupby("person")["split"].nunique().max() == 1
    with pytest.raises(ValueError, match="no annotator counts"):
        resplit(new, {"split_rule": "person-disjoint", "split_seed": "2"}, "seed")
    other = pd.DataFrame({"dataset": ["FER2013"], "split": ["train"]})
    assert resplit(other, {}, "person-disjoint") == (other, None)
    load = SplitRuleLoader(lambda n: tiny if n == "EiLA" else other, lambda n: {}, "person-disjoint")
    load("EiLA"), load("FER2013")
    assert load.record() == {"split_rule": "person-disjoint", "split_seed": 0}


def test_report_splits_unseen_persons_and_warns(two_rule_artifacts: Path) -> None:
    from core.evaluation.report import build_report

    runs = _runs(two_rule_artifacts)
    bundle = build_report([runs["seed"], runs["person-disjoint"]], include_reference=False, n_boot=50)
    assert ">Identity leakage</h2>" in bundle.html
    assert "(unseen persons only)" in bundle.html  # only the seed run evaluates on seen persons
    groups = bundle.tables["groups"]
    assert any(c.endswith("(unseen persons only)") for c in groups["configuration"])
    assert sum(c.endswith("(unseen persons only)") for c in set(groups["configuration"])) == 1
    leak = bundle.tables["leakage"]
    assert {"attribute", "group", "persons_seen", "frames_seen", "clips", "configuration"} <= set(leak.columns)
    assert "split rule" in bundle.html


def test_misclassified_filters_seen_persons(two_rule_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(two_rule_artifacts))
    at = AppTest.from_file(str(REPO / "pages" / "misclassified.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="mc_run").select(str(_runs(two_rule_artifacts)["seed"])).run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key="mc_seen").set_value("unseen").run()
    assert not at.exception, [e.value for e in at.exception]
