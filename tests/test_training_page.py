"""The Train or load page: plan and start a sweep, live progress and runs, load models (good and bad)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.labels import EMOTIONS
from core.common.paths import runs_dir
from core.data.registry import register_dataset
from core.runs.spec import RunSpec
from core.training.config import TrainConfig
from tests._jobs import job_folder

PAGE = "pages/train_or_load.py"
REPO = Path(__file__).resolve().parent.parent


def _manifest(name: str, per_class: int, splits=("train", "validation")) -> pd.DataFrame:
    rows = [{"sample_id": f"{name}:{s}/{e}/{i}", "path": f"/nowhere/{name}/{s}/{e}/{i}.png", "dataset": name,
             "split": s, "label": e} for s in splits for e in EMOTIONS for i in range(per_class)]
    return pd.DataFrame(rows)


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first dataframe shown with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _app(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(artifacts))
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / PAGE), default_timeout=120)


def _table3_datasets(artifacts: Path, monkeypatch: pytest.MonkeyPatch, eila: pd.DataFrame) -> list:
    """Register EiLA, FER2013 and SFEW; jobs started by the page are recorded in the returned list."""
    import core.runs.jobs

    register_dataset(eila, "EiLA", "manifest", {}, artifacts)
    register_dataset(_manifest("FER2013", 20), "FER2013", "manifest", {}, artifacts)
    register_dataset(_manifest("SFEW", 5), "SFEW", "manifest", {}, artifacts)
    started: list = []
    monkeypatch.setattr(core.runs.jobs, "start_job", lambda spec, arts, env=None: started.append(spec) or arts / "jobs" / "j1")
    return started


def test_empty_artifacts(artifacts, monkeypatch):
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    assert any("No dataset is registered" in i.value for i in at.info)


@pytest.mark.slow
def test_plan_and_start_table3_sweep(artifacts, monkeypatch):
    started = _table3_datasets(artifacts, monkeypatch, _manifest("EiLA", 10, ("train", "validation", "test")))
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    plan = _table(at, "run_id")
    assert len(plan) == 11 and plan.loc[plan["configuration"] == "SFEW + 10% EiLA", "train"].item() == 35 + 7
    assert at.selectbox(key="tl_precision").value == "float32"  # training default: the published numbers
    at.number_input(key="tl_size").set_value(64)
    at.selectbox(key="tl_precision").set_value("bfloat16").run()
    at.session_state["imagenet_status"] = {"resnet50v2": (False, "URLError: offline")}  # what offline finds
    at.run()
    assert not at.exception and any("cannot be downloaded here" in w.value for w in at.warning)
    assert next(b for b in at.button if b.key == "tl_start").disabled  # asks, never falls back on its own
    at.button(key="tl_use_random").click().run()
    assert at.selectbox(key="tl_weights").value == "random"
    assert not next(b for b in at.button if b.key == "tl_start").disabled
    at.selectbox(key="tl_eval_split").set_value("validation").run()  # EiLA validation is mixed into training
    assert any("Refused" in e.value and "EiLA's validation rows" in e.value for e in at.error)
    assert all(b.key != "tl_start" for b in at.button)
    at.selectbox(key="tl_eval_split").set_value("test").run()
    at.button(key="tl_start").click().run()
    assert not at.exception
    spec = started[0]
    assert spec.kind == "sweep" and spec.config["preset"] == "table3" and len(spec.config["only"]) == 11
    assert (spec.config["eval_dataset"], spec.config["eval_split"]) == ("EiLA", "test")
    assert (spec.training.input_size, spec.training.precision, spec.training.weights) == (64, "bfloat16", "random")
    args = spec.parse()  # what the job runs: the sweep command's own parser reads it
    assert (args.input_size, args.precision, args.weights, args.eila, len(args.only)) == (64, "bfloat16", "random",
                                                                                         "EiLA", 11)

    at.radio(key="tl_mode").set_value("Custom mixes").run()
    assert not at.exception and len(_table(at, "run_id")) == 1


def test_missing_evaluation_split_says_how_to_get_it(artifacts, monkeypatch):
    register_dataset(_manifest("EiLA", 4), "EiLA", "manifest", {}, artifacts)  # crops without a test split
    register_dataset(_manifest("FER2013", 4), "FER2013", "manifest", {}, artifacts)
    register_dataset(_manifest("SFEW", 4), "SFEW", "manifest", {}, artifacts)
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    assert any("no labelled rows in split 'test'" in e.value for e in at.error)
    assert any("Prepare EiLA videos" in i.value for i in at.info)
    assert all(b.key != "tl_start" for b in at.button)  # nothing to start


def test_live_progress_runs_and_model_loading(artifacts, monkeypatch, tmp_path):
    # a running sweep job (this process stands in for it) with a partial run writing history.csv
    job = job_folder(artifacts, RunSpec("sweep", {"preset": "table3"}, TrainConfig()), pid=os.getpid(),
                     progress={"done": 3, "total": 50, "message": "phase 1 epoch 3/50", "elapsed_s": 30.0})
    live = runs_dir(artifacts) / f".partial-sfew-only-0123456789-{os.getpid()}"
    live.mkdir(parents=True)
    hist = pd.DataFrame({"epoch": [1, 2, 3], "phase": [1, 1, 1], "loss": [1.9, 1.7, 1.6],
                         "accuracy": [0.2, 0.3, 0.35], "val_loss": [1.9, 1.8, 1.75], "val_accuracy": [0.2, 0.25, 0.3]})
    hist.to_csv(live / "history.csv", index=False)
    done = runs_dir(artifacts) / "eila-only-abcdef0123"
    done.mkdir()
    hist.assign(phase=[1, 2, 2]).to_csv(done / "history.csv", index=False)
    (done / "config.json").write_text(json.dumps({"kind": "training", "name": "EiLA only", "created": time.time(),
                                                  "epochs_run": 3, "input_size": 224,
                                                  "backbone": {"weights_used": "random"}}))
    (done / "metrics.json").write_text(json.dumps({"accuracy": 0.31, "weighted_f1": 0.27, "loss": 2.7}))
    (done / "model.keras").write_bytes(b"")
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    assert any("epochs 3/50" in p.proto.text for p in at.get("progress"))
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(charts) >= 4  # live loss/accuracy and the finished run's curves
    runs = _table(at, "weighted F1")
    assert [n.split(" · ")[0] for n in runs["run"]] == ["EiLA only"] and runs["accuracy"].item() == 0.31
    assert runs["weights"].item() == "random initialisation"
    assert any("randomly initialised" in w.value for w in at.warning)
    assert any(e.label.startswith("Provenance: EiLA only") for e in at.expander)

    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip archive")
    at.text_input(key="tl_model_spec").set_value(str(bad)).run()
    at.button(key="tl_model_load").click().run()
    assert not at.exception
    assert any("broken.keras" in e.value and "not a loadable Keras model" in e.value for e in at.error)

    at.text_input(key="tl_model_spec").set_value("fer").run()
    at.button(key="tl_model_load").click().run()
    assert not at.exception
    assert any("Loaded fer" in s.value and "64x64x1" in s.value for s in at.success)


def test_single_dataset_defaults_to_custom_mixes(artifacts, monkeypatch):
    register_dataset(_manifest("Faces", 4, ("train", "validation", "test")), "Faces", "manifest", {}, artifacts)
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception and not at.error
    assert at.radio(key="tl_mode").value == "Custom mixes"
    plan = _table(at, "run_id")
    assert plan["configuration"].tolist() == ["Faces only"] and plan["train"].item() == 28
    at.radio(key="tl_mode").set_value("Table 3 preset (11 configurations)").run()
    assert not at.exception and any("three different datasets" in i.value for i in at.info)


def test_runs_tab_lists_evaluations_and_renames_trashes_restores(artifacts, monkeypatch):
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from _evaluation_data import make_run, make_training_run, synthetic_predictions

    from core.evaluation.identity import trashed_runs
    from core.evaluation.runs import read_run

    trained = make_training_run(artifacts, "same-aaaaaa0001", "Same name")
    make_run(artifacts, "eval-20260101-000000-bbbbbb", synthetic_predictions(), "fer on Synthetic")
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    runs = _table(at, "trained on")
    assert set(runs["kind"]) == {"training", "evaluation"} and len(runs) == 2
    assert set(runs["weights"]) == {"random initialisation", "file synthetic (weights as its author trained them)"}
    at.selectbox(key="tl_run_pick").set_value(str(trained)).run()
    at.text_input(key="tl_run_label").input("my baseline")
    at.text_area(key="tl_run_notes").input("first try")
    at.button(key="FormSubmitter:tl_run_edit-Save label and notes").click().run()
    assert not at.exception
    info = read_run(trained)
    assert info.label == "my baseline" and info.notes == "first try"
    assert any(n.startswith("my baseline · aaaaaa") for n in _table(at, "trained on")["run"])
    at.selectbox(key="tl_run_pick").set_value(str(trained)).run()
    at.button(key="tl_run_delete").click().run()
    assert not at.exception and not trained.exists() and len(trashed_runs(artifacts)) == 1
    at.button(key="tl_restore_0").click().run()
    assert not at.exception and trained.is_dir() and not trashed_runs(artifacts)
    assert read_run(trained).label == "my baseline"  # label.json travels with the folder


def test_table3_sweep_with_the_person_disjoint_split(artifacts, monkeypatch):
    eila = _manifest("EiLA", 12, ("train", "validation", "test"))
    eila["person"] = [f"EiLA:v/{i % 24}" for i in range(len(eila))]
    eila["race"] = ["Black" if i % 24 < 12 else "White" for i in range(len(eila))]
    started = _table3_datasets(artifacts, monkeypatch, eila)
    at = _app(artifacts, monkeypatch).run()
    seed_plan = _table(at, "run_id")
    at.radio(key="tl_split_rule").set_value("person-disjoint").run()
    assert not at.exception, [e.value for e in at.exception]
    plan = _table(at, "run_id")
    assert len(plan) == 11 and set(plan["run_id"]).isdisjoint(seed_plan["run_id"])  # other data, other runs
    at.selectbox(key="tl_weights").set_value("random").run()  # weights are chosen up front (no ImageNet offline)
    at.button(key="tl_start").click().run()
    assert (started[0].config["split_rule"], started[0].config["split_seed"]) == ("person-disjoint", 0)


def test_preset_needs_fitting_datasets_and_the_mix_editor_previews_sizes_per_class(artifacts, monkeypatch):
    register_dataset(_manifest("EiLA crops", 10), "EiLA crops", "manifest", {}, artifacts)  # no FER2013 or SFEW
    register_dataset(_manifest("Faces", 4, ("train", "validation", "test")), "Faces", "manifest", {}, artifacts)
    at = _app(artifacts, monkeypatch).run()
    assert not at.exception
    assert at.radio(key="tl_mode").value == "Custom mixes"  # not EiLA crops in two preset slots
    at.multiselect(key="tl_mix_bases").set_value(["Faces"])
    at.selectbox(key="tl_mix_extra").set_value("EiLA crops").run()
    at.multiselect(key="tl_mix_percents").set_value([0, 10, 50]).run()
    assert not at.exception
    plan = _table(at, "run_id")
    assert plan["configuration"].tolist() == ["Faces only", "Faces + 10% EiLA crops", "Faces + 50% EiLA crops"]
    preview = next(d.value for d in at.dataframe if "happy" in d.value.columns)
    # 4 rows per class and split of Faces (train + validation) plus floor(f x 10) per class and split of the extra
    assert preview.loc["Faces only", "happy"] == 8 and preview.loc["Faces + 10% EiLA crops", "happy"] == 8 + 2
    assert preview.loc["Faces + 50% EiLA crops", "train"] == 28 + 35


def test_training_seeds_and_where_the_work_runs_go_into_the_sweep_job(artifacts, monkeypatch):
    started = _table3_datasets(artifacts, monkeypatch, _manifest("EiLA", 4, ("train", "validation", "test")))
    at = _app(artifacts, monkeypatch).run()
    at.multiselect(key="tl_only").set_value(["SFEW only", "FER2013 only"])
    at.selectbox(key="tl_weights").set_value("random")
    at.number_input(key="tl_seeds").set_value(3).run()
    assert not at.exception
    plan = _table(at, "run_id")
    assert sorted(plan["seed"]) == [0, 0, 1, 1, 2, 2] and plan["run_id"].nunique() == 6
    assert any("6 runs (2 configuration(s) x 3 training seeds): 6 to train" in c.value for c in at.caption)
    at.radio(key="tl_executor").set_value("ray").run()
    at.text_input(key="tl_address").set_value("host:70000").run()  # not a port: nothing can start
    assert any("Cluster address" in e.value for e in at.error)
    assert next(b for b in at.button if b.key == "tl_start").disabled
    at.text_input(key="tl_address").set_value("127.0.0.1:6379").run()
    at.button(key="tl_start").click().run()
    assert not at.exception
    spec = started[0]
    assert (spec.config["seeds"], spec.config["executor"], spec.config["address"]) == (3, "ray", "127.0.0.1:6379")
    args = spec.parse()  # the sweep command's own parser reads it
    assert (args.seeds, args.executor, args.address, len(args.only)) == (3, "ray", "127.0.0.1:6379", 2)


def test_one_training_seed_leaves_the_sweep_job_as_before(artifacts, monkeypatch):
    started = _table3_datasets(artifacts, monkeypatch, _manifest("EiLA", 4, ("train", "validation", "test")))
    at = _app(artifacts, monkeypatch).run()
    at.multiselect(key="tl_only").set_value(["SFEW only"])
    at.selectbox(key="tl_weights").set_value("random").run()
    at.button(key="tl_start").click().run()
    assert not at.exception
    assert not {"seeds", "executor", "address"} & set(started[0].config) and started[0].parse().seeds == 1
