"""A tiny real sweep on shared data: every file a run writes, resume after interruption, CLI, bad models."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from core import EMOTIONS, ModelFileError
from core.models.classifier import load_classifier, predict_manifest
from core.cli import main
from core.data.datasets import load_eila_crops, load_folder
from core.mixing import MixSpec
from core.common.paths import runs_dir
from core.data.registry import register_dataset
from core.training import TrainConfig
from core.runs.layout import RECORD_FILES, RUN_FILES, TRAINING_ROWS, read_history
from core.training.runner import partial_runs
from core.training.sweep import run_sweep

pytestmark = pytest.mark.slow  # trains models

CFG = TrainConfig(weights="random", input_size=32, phase1_epochs=2, phase2_epochs=1, batch_size=8,
                  class_weight="balanced")


@pytest.fixture(scope="module")
def data(fer2013_dir, eila_dir):
    """FER2013 slice (base), EiLA crops (extra) and held-out EiLA crops as the evaluation 'test' split."""
    fer = load_folder(fer2013_dir, "FER2013").groupby(["split", "label"]).head(3).reset_index(drop=True)
    eila = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv")
    eila = eila.groupby(["split", "label"]).head(6).reset_index(drop=True)
    held = eila.groupby("label").head(2).index
    test = eila.loc[held].assign(split="test")
    eila = pd.concat([eila.drop(index=held), test], ignore_index=True)
    return {"FER2013": fer, "EiLA": eila}, eila[eila["split"] == "test"].reset_index(drop=True)


@pytest.fixture(scope="module")
def sweep_artifacts(data, tmp_path_factory):
    """Run a 2-configuration sweep that is interrupted in its 2nd run, then resumed."""
    import core.training.loop as loop

    datasets, evaluation = data
    artifacts = tmp_path_factory.mktemp("sweep") / "artifacts"
    specs = [MixSpec("FER2013 only", "FER2013"), MixSpec("FER2013 + 50% EiLA", "FER2013", "EiLA", 0.5)]
    original = loop.fit_run
    calls = []

    def interrupting(*args, **kwargs):
        calls.append(args[5])
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated Ctrl-C in the 2nd configuration")
        return original(*args, **kwargs)

    loop.fit_run = interrupting
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(specs, datasets, evaluation, CFG, artifacts, "test", {"dataset": "EiLA", "split": "test"})
    finally:
        loop.fit_run = original
    first = sorted(p for p in runs_dir(artifacts).iterdir())
    # a run killed hard leaves a partial folder behind, owned by a process that no longer exists
    stale = runs_dir(artifacts) / ".partial-fer2013-50-eila-0000000000-999999999"
    stale.mkdir()
    (stale / "history.csv").write_text("epoch,phase,loss\n1,1,2.0\n")
    mtime = (first[0] / "model.keras").stat().st_mtime_ns
    results = run_sweep(specs, datasets, evaluation, CFG, artifacts, "test", {"dataset": "EiLA", "split": "test"})
    return {"artifacts": artifacts, "first": first, "calls": calls, "results": results, "mtime": mtime,
            "stale": stale, "evaluation": evaluation, "specs": specs}


def test_interrupted_sweep_resumes_keeping_finished_runs(sweep_artifacts):
    s = sweep_artifacts
    assert s["calls"] == ["FER2013 only", "FER2013 + 50% EiLA"]
    assert len(s["first"]) == 1 and s["first"][0].name.startswith("fer2013-only-")  # no partial left behind
    r1, r2 = s["results"]
    assert r1.skipped and r1.path == s["first"][0]
    assert (r1.path / "model.keras").stat().st_mtime_ns == s["mtime"]  # kept, not retrained
    assert not r2.skipped and r2.path.name.startswith("fer2013-50-eila-")
    assert not s["stale"].exists() and partial_runs(s["artifacts"]) == []
    for r in (r1, r2):  # the sweep computed every image's features once, before the runs, which only read them
        assert json.loads((r.path / "config.json").read_text())["feature_cache"]["n_computed"] == 0


def test_every_run_file(sweep_artifacts, data):
    s = sweep_artifacts
    run = s["results"][1].path
    assert sorted(p.name for p in run.iterdir()) == sorted((*RUN_FILES, *RECORD_FILES, TRAINING_ROWS))
    assert all(not (p.stat().st_mode & stat.S_IWUSR) for p in run.iterdir())  # immutable
    rows = pd.read_parquet(run / TRAINING_ROWS)
    assert set(rows["split"]) == {"train", "validation"} and not set(rows["sample_id"]) & set(
        s["evaluation"]["sample_id"])

    cfg = json.loads((run / "config.json").read_text())
    assert cfg["classes"] == list(EMOTIONS) and cfg["input_size"] == 32 and cfg["channels"] == 3
    assert cfg["input_scale"] == "0-255" and cfg["training"] == CFG.to_dict()
    assert cfg["backbone"]["weights_used"] == "random" and cfg["name"] == "FER2013 + 50% EiLA"
    assert cfg["data"]["configuration"]["fraction"] == 0.5 and cfg["data"]["sweep"] == "test"
    eila_train = data[0]["EiLA"].query("split == 'train'")["label"].value_counts()
    assert cfg["data"]["n_train"] == 21 + sum(n // 2 for n in eila_train)  # 3 per class + floor(0.5 * n) of EiLA
    assert cfg["feature_cache"]["used"] and cfg["phase2"]["mode"] == "cached"

    hist = read_history(run)
    assert hist["epoch"].tolist() == [1, 2, 3] and hist["phase"].tolist() == [1, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(hist.columns)
    assert hist["learning_rate"].tolist() == pytest.approx([1e-4, 1e-4, 1e-5])
    assert hist[["loss", "val_loss"]].notna().all().all()

    preds = pd.read_parquet(run / "predictions.parquet")
    ev = s["evaluation"]
    assert preds["sample_id"].tolist() == ev["sample_id"].tolist()
    assert {"true", "pred", "confidence", "correct", "race", "gender", "person"} <= set(preds.columns)
    probs = preds[[f"prob_{e}" for e in EMOTIONS]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    leak = json.loads((run / "leakage.json").read_text())  # between the mixed train+validation rows and the test rows
    assert leak["checked"] is True and leak["train_splits"] == ["train", "validation"] and leak["eval_split"] == "test"
    seen = set(pd.read_parquet(run / "training_identities.parquet")["person"].dropna())
    assert preds["seen_person"].tolist() == preds["person"].isin(seen).tolist()
    race = {g["group"]: g for g in leak["groups"] if g["attribute"] == "race"}
    for group, g in race.items():
        rows = preds[preds["race"] == group]
        assert g["frames"] == len(rows) and g["frames_seen"] == int(rows["seen_person"].sum())

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(preds["correct"].mean())
    assert {"weighted_f1", "loss", "groups"} <= set(metrics) and "race" in metrics["groups"]

    versions = json.loads((run / "versions.json").read_text())
    assert {"python", "tensorflow", "keras"} <= set(versions) and versions["weights_used"] == "random"

    clf = load_classifier(run)  # model.keras in safe mode, 0-255 input, normalisation inside
    assert clf.classes == EMOTIONS and clf.input_size == 32 and clf.channels == 3 and clf.input_scale == "0-255"
    again = predict_manifest(clf, ev.head(4))
    np.testing.assert_allclose(again[[f"prob_{e}" for e in EMOTIONS]].to_numpy(), probs[:4], atol=1e-5)


def test_a_run_trained_in_a_sweep_after_another_equals_the_run_trained_alone(sweep_artifacts, data, tmp_path):
    # the resumed sweep trained "FER2013 + 50% EiLA" alone; here it follows "FER2013 only" and reuses its
    # head trainer (traced loops, reset weights, optimizer and dropout seeds) after clear_session
    s = sweep_artifacts
    datasets, evaluation = data
    results = run_sweep(s["specs"], datasets, evaluation, CFG, tmp_path / "artifacts", "test",
                        {"dataset": "EiLA", "split": "test"})
    assert [r.skipped for r in results] == [False, False] and results[1].run_id == s["results"][1].run_id
    alone, in_sweep = read_history(s["results"][1].path), read_history(results[1].path)
    cols = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(in_sweep[cols].to_numpy(), alone[cols].to_numpy(), rtol=1e-5, atol=1e-6)
    p_alone = pd.read_parquet(s["results"][1].path / "predictions.parquet")
    p_sweep = pd.read_parquet(results[1].path / "predictions.parquet")
    probs = [f"prob_{e}" for e in EMOTIONS]
    np.testing.assert_allclose(p_sweep[probs].to_numpy(), p_alone[probs].to_numpy(), rtol=1e-4, atol=1e-6)


def test_phase1_only_runs_predict_from_cached_moments_checked_through_the_model(data, tmp_path):
    from core.training.runner import _evaluate, train_run

    datasets, evaluation = data
    cfg = CFG.replace(phase2_epochs=0)
    result = train_run(datasets["FER2013"], evaluation, cfg, tmp_path / "artifacts", "FER2013 only")
    config = json.loads((result.path / "config.json").read_text())
    how = config["predictions"]
    assert how["from"] == "cached moments" and how["rows"] == len(evaluation)
    assert how["checked_through_model_rows"] == min(8, len(evaluation)) and how["checked_max_abs_diff"] <= 1e-4
    probs = [f"prob_{e}" for e in EMOTIONS]
    stored = pd.read_parquet(result.path / "predictions.parquet")
    direct = predict_manifest(load_classifier(result.path), evaluation)  # every row through model.keras
    np.testing.assert_allclose(stored[probs].to_numpy(), direct[probs].to_numpy(), rtol=1e-4, atol=1e-6)
    assert stored["seen_person"].notna().all()  # the run adds whether each test person was in training
    assert stored.drop(columns=probs + ["confidence", "nll", "seen_person"]).equals(
        direct.drop(columns=probs + ["confidence", "nll"]))

    # probabilities that do not come from this model are refused, naming the model file
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "model.keras").write_bytes((result.path / "model.keras").read_bytes())
    uniform = np.full((len(evaluation), len(EMOTIONS)), 1 / len(EMOTIONS))
    with pytest.raises(RuntimeError, match=r"copy/model.keras: its predictions on \d+ evaluation rows differ"):
        _evaluate(copy, evaluation, cfg, None, copy / "predictions.parquet", uniform)
    assert not (copy / "predictions.parquet").exists()


def test_bfloat16_runs_predict_from_bfloat16_moments_checked_through_the_model_in_bfloat16(data, tmp_path):
    import hashlib

    from core.training.runner import data_fingerprint, run_id_for, train_run

    datasets, evaluation = data
    cfg = CFG.replace(phase2_epochs=0, precision="bfloat16")
    result = train_run(datasets["FER2013"], evaluation, cfg, tmp_path / "artifacts", "FER2013 bf16")
    config = json.loads((result.path / "config.json").read_text())
    assert config["training"]["precision"] == "bfloat16" and config["backbone"]["precision"] == "bfloat16"
    assert config["feature_cache"]["namespace"].endswith("-bnmoments-bf16ov")
    assert config["feature_cache"]["engine"]["runtime"].startswith("openvino")
    how = config["predictions"]
    assert how["from"] == "cached moments" and how["precision"] == "bfloat16"
    assert how["checked_max_abs_diff"] <= 1e-4  # the saved model with its backbone in bfloat16 agrees exactly
    probs = [f"prob_{e}" for e in EMOTIONS]
    stored = pd.read_parquet(result.path / "predictions.parquet")
    direct = predict_manifest(load_classifier(result.path), evaluation, precision="bfloat16")
    np.testing.assert_allclose(stored[probs].to_numpy(), direct[probs].to_numpy(), rtol=1e-4, atol=1e-5)
    # a float32 run keeps the id it had before the precision setting existed; bfloat16 gets its own
    f32 = CFG.replace(phase2_epochs=0)
    settings = f32.to_dict()
    del settings["precision"]
    h = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    train = datasets["FER2013"][datasets["FER2013"]["split"].isin(["train", "validation"])].reset_index(drop=True)
    h.update(data_fingerprint(train, evaluation).encode())
    assert run_id_for("x", f32, train, evaluation) == f"x-{h.hexdigest()[:10]}"
    assert run_id_for("x", cfg, train, evaluation) != run_id_for("x", f32, train, evaluation)
    with pytest.raises(ValueError, match="precision must be one of"):
        CFG.replace(precision="float16")


def test_cli_train_keeps_finished_run_and_sweep_plan(sweep_artifacts, data, capsys, monkeypatch):
    s = sweep_artifacts
    datasets, evaluation = data
    artifacts = s["artifacts"]
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(artifacts))
    register_dataset(datasets["FER2013"], "FER2013", "folder", {}, artifacts)
    register_dataset(datasets["EiLA"], "EiLA", "eila-crops", {}, artifacts)
    common = ["--weights", "random", "--input-size", "32", "--epochs1", "2", "--epochs2", "1", "--batch-size", "8",
              "--class-weight", "balanced", "--artifacts", str(artifacts)]
    assert main(["train", "--base", "FER2013", "--extra", "EiLA", "--fraction", "0.5", *common]) == 0
    out = capsys.readouterr().out
    assert "already finished" in out and s["results"][1].path.name in out
    assert main(["sweep", "--mix", "FER2013", "--mix", "FER2013+EiLA:50%", "--mix", "FER2013+EiLA:0.25", "--plan",
                 *common]) == 0
    out = capsys.readouterr().out
    lines = [ln.split() for ln in out.splitlines() if "FER2013" in ln and ln.split()[-1] in ("True", "False")]
    assert [ln[-1] for ln in lines] == ["True", "True", "False"]  # finished, finished, not yet
    assert main(["sweep", "--preset", "table3", "--plan", *common]) == 2  # no SFEW registered
    assert "SFEW" in capsys.readouterr().err
    assert main(["train", "--base", "FER2013", "--input-size", "8", "--artifacts", str(artifacts)]) == 2
    capsys.readouterr()
    assert main(["sweep", "--mix", "FER2013+EiLA:0.5", "--eval-split", "validation", *common]) == 2
    assert "train on EiLA's validation rows" in capsys.readouterr().err  # the mix trains on them: refused
    import core.models.backbones as bb  # ImageNet weights that cannot be downloaded: stop, name the alternatives

    monkeypatch.setattr(bb, "imagenet_weights_status", lambda name, timeout=4.0: (False, "URLError: offline"))
    for argv in (["train", "--base", "FER2013"], ["sweep", "--mix", "FER2013"]):
        assert main([*argv, *common, "--weights", "imagenet"]) == 2
        err = capsys.readouterr().err
        assert "--weights random" in err and "--weights FILE" in err and err.count("\n") == 1, err


def test_bad_model_files_are_clear_errors(tmp_path):
    import keras

    junk = tmp_path / "junk.keras"
    junk.write_bytes(os.urandom(256))
    with pytest.raises(ModelFileError, match="junk.keras.*not a loadable Keras model"):
        load_classifier(junk)
    text = tmp_path / "notes.h5"
    text.write_text("this is not a model")
    with pytest.raises(ModelFileError, match="notes.h5"):
        load_classifier(text)
    inp = keras.Input((32, 32, 3))
    five = keras.Model(inp, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inp)))
    five.save(tmp_path / "five.keras")
    with pytest.raises(ModelFileError, match="five.keras.*7 outputs"):
        load_classifier(tmp_path / "five.keras")
    with pytest.raises(ModelFileError, match="not a run folder"):
        load_classifier(tmp_path)
    with pytest.raises(ModelFileError, match="expected a .keras or .h5"):
        load_classifier(tmp_path / "missing.onnx")
