"""Provenance cards and like-with-like grouping."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _evaluation_data import make_run, make_training_run as _training_run, synthetic_predictions
from core.evaluation.findings import set_findings
from core.evaluation.plots import group_accuracy_figure, tradeoff_figure
from core.evaluation.provenance import provenance, settings_text
from core.evaluation.results import CHANCE, reference_results, results_table, run_results
from core.evaluation.sets import group_by_set, set_front
from core.data.registry import register_dataset


LEAK = {"checked": True, "reason": None, "train_splits": ["train", "validation"], "eval_split": "test",
        "groups": [{"attribute": "race", "group": "Black", "frames": 24, "persons": 4, "persons_seen": 2,
                    "frames_seen": 12, "clips": 2, "clips_seen": 1, "videos": 1},
                   {"attribute": "race", "group": "White", "frames": 36, "persons": 6, "persons_seen": 0,
                    "frames_seen": 0, "clips": 3, "clips_seen": 0, "videos": 2}]}


def test_provenance_of_a_training_run_names_weights_data_leakage_and_versions(tmp_path):
    art = tmp_path / "artifacts"
    register_dataset(synthetic_predictions().assign(path="x.png", label="happy")[
        ["sample_id", "path", "dataset", "split", "label"]], "Demo", "manifest", {}, art, synthetic=True)
    run = _training_run(art, "fer2013-50-demo-0123456789", "FER2013 + 50% Demo", leakage=LEAK)
    p = provenance(run)
    assert p.weights == "random initialisation" and p.random_weights and p.synthetic
    assert "FER2013 train 30" in p.training_data and "50% of Demo" in p.training_data
    assert (p.evaluation_dataset, p.evaluation_split, p.n_evaluated) == ("Demo", "test", 72)
    assert "Black: 2 of 4 persons, 50% of its frames" in p.seen_persons and p.versions["code"] == "abc1234"
    assert any("random initialisation" in w for w in p.warnings) and any("Black 2 of 4" in w for w in p.warnings)
    rows = dict(p.rows())
    assert rows["weights"] == "random initialisation" and "input size = 32" in rows["settings"]
    assert p.display_name.startswith("FER2013 + 50% Demo · 012345 · ")
    absent = provenance(_training_run(art, "imagenet-run-abcdef0123", "ImageNet run", weights="imagenet"))
    assert absent.weights == "ImageNet" and not absent.random_weights and "not audited" in absent.seen_persons


def test_settings_are_said_in_words():
    text = settings_text({"n_boot": 200, "confidence": 0.95, "min_persons": 5, "person_column": "person_id",
                          "unit": "person", "attributes": ["race", "skin_tone"], "input_size": 32})
    assert text == ("bootstrap replicates = 200, confidence = 95%, min persons per group = 5, person column = "
                    "person_id, resampling unit = person, group attributes = race/skin tone, input size = 32")
    assert settings_text({}) == "not recorded"


def test_provenance_marks_evaluations_on_rows_the_model_trained_on(tmp_path):
    art = tmp_path / "artifacts"
    ev = art / "runs" / "eval-fer"
    make_run(art, "eval-fer", synthetic_predictions(), "fer on FER2013")
    cfg = json.loads((ev / "config.json").read_text())
    (ev / "config.json").write_text(json.dumps({**cfg, "model": "fer", "model_name": "fer",
                                                "dataset": {"name": "FER2013"}, "split": "train"}))
    p = provenance(ev)
    assert p.weights.startswith("fer") and p.row_overlap.startswith("YES")
    assert any("rows the model trained on" in w for w in p.warnings)
    (ev / "config.json").write_text(json.dumps({**cfg, "model": "fer", "model_name": "fer",
                                                "dataset": {"name": "FER2013"}, "split": "test"}))
    assert provenance(ev).row_overlap.startswith("none by split")
    res = run_results([ev], "race", n_boot=50)[0]
    assert "trained on these rows" not in res.marks


def test_evaluating_a_run_on_its_own_training_rows_is_marked_by_sample_id(tmp_path):
    import pandas as pd

    from core.runs.layout import TRAINING_ROWS

    art = tmp_path / "artifacts"
    model_run = _training_run(art, "mix-eeeeee0005", "Mix")
    preds = synthetic_predictions(seed=9)
    pd.DataFrame({"sample_id": preds["sample_id"].head(10), "dataset": "Demo", "split": "train"}).to_parquet(
        model_run / TRAINING_ROWS)
    ev = make_run(art, "eval-on-train", preds, "Mix on its own rows")
    cfg = json.loads((ev / "config.json").read_text())
    (ev / "config.json").write_text(json.dumps({**cfg, "model": str(model_run), "dataset": {"name": "Demo"},
                                                "split": "train"}))
    p = provenance(ev)
    assert p.row_overlap.startswith("YES: 10 of 72 evaluated rows") and p.weights.startswith("random")
    assert "trained on these rows" in run_results([ev], "race", n_boot=50)[0].marks
    assert any("rows the model trained on: 10 of 72" in w for w in p.warnings)


def test_results_are_grouped_by_evaluation_set_and_chance_is_off_the_front(tmp_path):
    art = tmp_path / "artifacts"
    good = _training_run(art, "good-aaaaaa0001", "Same name")
    twin = _training_run(art, "good-bbbbbb0002", "Same name")
    chance = art / "runs" / "chance-cccccc0003"
    make_run(art, chance.name, synthetic_predictions(seed=5, skill=0.0), "chance level")
    cfg = json.loads((chance / "config.json").read_text())
    (chance / "config.json").write_text(json.dumps({**cfg, "dataset": {"name": "Demo"}, "split": "test"}))
    other = _training_run(art, "other-dddddd0004", "Other set", eval_split="validation")
    results = run_results([good, twin, chance, other], "race", n_boot=100) + reference_results("race", n_boot=100)
    sets = group_by_set(results)
    assert [s.label.split(" · ")[:2] for s in sets] == [["Demo", "test split"], ["Demo", "validation split"],
                                                       ["EiLA test split as published by Chen (2024), TScIT 41",
                                                        "815 frames"]]
    demo = list(sets.values())[0]
    assert len(demo) == 3 and len({r.name for r in demo}) == 3  # same configuration name, distinct display names
    low = next(r for r in demo if r.name.startswith("chance level"))
    assert not low.better_than_chance and low.overall["ci_low"] <= CHANCE and "not better than chance" in low.marks
    front = set_front(demo)
    assert not front[demo.index(low)] and front.any()
    with pytest.raises(ValueError, match="different evaluation sets"):
        set_front(results)
    with pytest.raises(ValueError, match="different evaluation sets"):
        tradeoff_figure(results)
    fig = tradeoff_figure(demo)
    assert any(t.name == "runs: not better than chance (off the front)" for t in fig.data)
    bars = group_accuracy_figure(demo)
    assert len(set(bars.data[0].x)) == 3  # two "Same name" runs: two distinct labelled bars
    table = results_table(demo, formatted=True)
    assert table.loc[low.name, "marks"].startswith("not better than chance")
    assert "random weights" in table.loc[demo[0].name, "marks"]
    ref_table = results_table(list(sets.values())[2], formatted=True)
    assert (ref_table["n frames (persons)"] == "815 (persons not published)").all()
    words = " ".join(set_findings(demo))
    assert "Random weights: 2 of 3" in words and "not better than chance" in words and "lowest race group" in words
    assert np.isfinite(demo[0].overall["accuracy"])
