"""The demo study: one command trains offline and shows the demo's planted Dark-group disadvantage."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.data.demo import DemoConfig, ensure_demo
from core.training.demo_study import DemoStudyConfig, finding

pytestmark = pytest.mark.slow  # trains models

SMALL = DemoConfig(n_persons={"Light": 3, "Medium": 3, "Dark": 3}, images_per_person=7, image_size=48)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path, str]:
    """``python -m core demo-study`` with its default settings (the acceptance run), once for this module."""
    import io
    from contextlib import redirect_stdout

    artifacts = tmp_path_factory.mktemp("study") / "artifacts"
    out = artifacts / "runs" / "demo-study"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["demo-study", "--artifacts", str(artifacts), "--out", str(out)]) == 0
    return artifacts, out, buf.getvalue()


def test_the_demo_study_shows_the_planted_bias(study):
    """The acceptance of the recipe, on its defaults (deterministic seeds: the numbers in README)."""
    _, out, printed = study
    m = json.loads((out / "metrics.json").read_text())
    race = m["groups"]["race"]
    assert m["accuracy"] >= 0.45  # far above chance (1/7)
    others = [race["Light"], race["Medium"]]
    assert all(o["accuracy"] - race["Dark"]["accuracy"] >= 0.10 for o in others)
    # Dark's person-level interval lies entirely below both other groups' accuracy; measured margin ~23 points,
    # so a wider interval method (e.g. t-based over persons: 0.584 against 0.805) keeps it
    assert all(race["Dark"]["ci_high"] < o["accuracy"] - 0.10 for o in others)
    assert race["Dark"]["n_persons"] == 14 and race["Light"]["n_persons"] == race["Medium"]["n_persons"] == 22
    assert finding(m)["shown"] and "Planted bias found" in printed and "fer (FER2013-trained)" in printed


def test_the_study_writes_an_evaluate_schema_run_the_pages_read(study):
    from core.models.classifier import load_classifier
    from core.evaluation.runs import list_runs, load_predictions

    artifacts, out, _ = study
    m = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "weighted_f1", "loss", "n_samples", "n_persons", "accuracy_ci_low", "accuracy_ci_high"):
        assert m[key] is not None, key
    for v in m["groups"]["race"].values():
        assert {"accuracy", "n_samples", "n_persons", "ci_low", "ci_high"} <= set(v)
    preds = load_predictions(out)
    assert len(preds) == m["n_samples"] == 812 and set(preds["split"]) == {"test"}
    assert {"path", "race", "person"} <= set(preds.columns)
    assert preds["seen_person"].eq(False).all()  # person-disjoint splits: no test person was trained on
    leak = json.loads((out / "leakage.json").read_text())
    assert leak["checked"] and all(g["persons_seen"] == 0 for g in leak["groups"])
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "training" and cfg["synthetic"] and cfg["weights_used"] == "fer (FER2013-trained)"
    assert cfg["backbone"]["weights_used"] == "fer (FER2013-trained)" and cfg["training"]["epochs"] == 10
    assert json.loads((out / "versions.json").read_text())["weights_used"] == "fer (FER2013-trained)"
    assert len(pd.read_csv(out / "history.csv")) == 10
    (run,) = list_runs(artifacts, with_predictions=True)
    assert run.path == out and run.has_model and run.kind == "training"
    clf = load_classifier(out)  # what Misclassified faces and Latent space load
    assert (clf.input_size, clf.channels, clf.input_scale) == (64, 1, "-1-1")
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no partial folder left


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    art = tmp_path / "art"
    assert main(["demo-study", "--artifacts", str(art), "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: epochs must be an integer >= 1") and err.count("\n") == 1
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep me")
    assert main(["demo-study", "--artifacts", str(art), "--out", str(busy)]) == 2
    err = capsys.readouterr().err
    assert "busy: already exists and is not an empty folder" in err and err.count("\n") == 1
    assert (busy / "x.txt").read_text() == "keep me"


def test_a_registered_demo_with_other_settings_is_never_redrawn(artifacts, capsys):
    info = ensure_demo(artifacts, config=SMALL)
    assert main(["demo-study", "--artifacts", str(artifacts), "--out", str(artifacts / "runs" / "s")]) == 2
    err = capsys.readouterr().err
    assert "drawn with other settings" in err and "python -m core demo --force" in err
    assert ensure_demo(artifacts).created == info.created and not (artifacts / "runs" / "s").exists()


@pytest.mark.parametrize("kwargs, words", [
    ({"epochs": 0}, "epochs"), ({"learning_rate": 0}, "learning_rate"), ({"frozen_modules": 0}, "frozen_modules"),
    ({"n_boot": 10}, "n_boot"), ({"seed": -1}, "seed"),
])
def test_config_is_validated(kwargs, words):
    with pytest.raises(ValueError, match=words):
        DemoStudyConfig(**kwargs)


def test_finding_reads_gaps_and_separation():
    def g(acc, lo, hi):
        return {"accuracy": acc, "ci_low": lo, "ci_high": hi, "n_persons": 10}

    shown = {"accuracy": 0.7, "groups": {"race": {"Dark": g(0.4, 0.3, 0.5), "Light": g(0.8, 0.7, 0.9),
                                                  "Medium": g(0.75, 0.7, 0.8)}}}
    f = finding(shown)
    assert f["shown"] and f["gap_points"] == {"Light": 40.0, "Medium": 35.0}
    overlap = {"accuracy": 0.7, "groups": {"race": {"Dark": g(0.6, 0.45, 0.74), "Light": g(0.75, 0.7, 0.8),
                                                    "Medium": g(0.72, 0.6, 0.8)}}}
    f = finding(overlap)
    assert not f["shown"] and f["separated"] == {"Light": True, "Medium": False}
    with pytest.raises(ValueError, match="no 'race' groups"):
        finding({"groups": {}})
