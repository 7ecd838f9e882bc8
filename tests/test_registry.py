"""Registry: format dispatch, persistence under artifacts/datasets, hidden and partial folders ignored."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from core import DataFormatError
from core.cli import main
from core.data.registry import (BAD_IMAGE_FORMATS, FORMATS, get_dataset, list_datasets, load_any, load_dataset,
                           register_dataset, remove_dataset, slugify, load_and_register)


def _tree(root: Path, corrupt: bool = False) -> Path:
    for split, label in (("train", "Happy"), ("train", "Sad"), ("validation", "Happy")):
        d = root / split / label
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "1.png"), np.full((8, 8), 90, np.uint8))
    if corrupt:
        (root / "train" / "Sad" / "bad.jpg").write_bytes(b"nope")
    return root


def test_slugify():
    assert slugify("  My Data/Set v2 ") == "my-data-set-v2"
    with pytest.raises(ValueError):
        slugify("///")


def test_register_list_load_remove_persists(tmp_path, artifacts):
    df = load_any("folder", _tree(tmp_path / "tiny"), name="Tiny")
    info = register_dataset(df, "Tiny", "folder", {"path": tmp_path / "tiny", "demographics": None}, artifacts)
    assert info.slug == "tiny" and info.n_samples == 3 and not info.synthetic
    assert info.source == {"path": str(tmp_path / "tiny")}  # None is not stored as 'None'
    meta = json.loads((artifacts / "datasets" / "tiny" / "info.json").read_text())
    assert meta["load_report"]["n_skipped"] == 0
    # a fresh listing reads everything back from disk (as after an app restart)
    assert [d.name for d in list_datasets(artifacts)] == ["Tiny"]
    assert get_dataset("tiny", artifacts) == get_dataset("Tiny", artifacts)
    assert load_dataset("Tiny", artifacts)["sample_id"].tolist() == df["sample_id"].tolist()
    with pytest.raises(FileExistsError, match="already registered"):
        register_dataset(df, "Tiny", "folder", {}, artifacts, overwrite=False)
    remove_dataset("Tiny", artifacts)
    assert list_datasets(artifacts) == [] and (tmp_path / "tiny" / "train").is_dir()  # sources untouched
    with pytest.raises(DataFormatError, match="no registered dataset named 'Tiny'"):
        load_dataset("Tiny", artifacts)


def test_partial_and_hidden_folders_are_not_datasets(tmp_path, artifacts):
    df = load_any("folder", _tree(tmp_path / "tiny"), name="Tiny")
    register_dataset(df, "Tiny", "folder", {}, artifacts)
    root = artifacts / "datasets"
    (root / "half").mkdir()
    (root / "half" / "manifest.parquet").write_bytes((root / "tiny" / "manifest.parquet").read_bytes())
    hidden = root / ".tiny.old-1234"
    hidden.mkdir()
    for f in ("manifest.parquet", "info.json"):
        (hidden / f).write_bytes((root / "tiny" / f).read_bytes())
    assert [d.slug for d in list_datasets(artifacts)] == ["tiny"]


def test_load_any_dispatch_and_errors(tmp_path, artifacts, eila_dir):
    assert set(BAD_IMAGE_FORMATS) < set(FORMATS)
    with pytest.raises(DataFormatError, match="unknown format 'jpeg-zip'"):
        load_any("jpeg-zip", tmp_path)
    with pytest.raises(DataFormatError, match="needs the EiLA demographics CSV"):
        load_any("eila-crops", tmp_path)
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n3," + " ".join(["7"] * 2304) + ",Training\n")
    fer = load_any("fer2013-csv", csv, artifacts=artifacts)
    assert Path(fer["path"].iloc[0]).is_relative_to(artifacts / "cache" / "fer2013_png")  # not registered: cache
    fer_default = load_any("fer2013-csv", csv)  # no artifacts given: $FERBIAS_ARTIFACTS, never the cwd
    assert Path(fer_default["path"].iloc[0]).is_relative_to(artifacts)
    ann = load_any("eila-annotations", eila_dir / "annotations.csv", demographics=eila_dir / "demographics.csv")
    assert len(ann) == 5723 + 1462 + 902
    fer, info = load_and_register("fer2013-csv", csv, "F", artifacts)
    again = load_any("manifest", artifacts / "datasets" / "f" / "manifest.parquet")
    assert again["sample_id"].tolist() == fer["sample_id"].tolist() == ["F:0"]  # named after --name
    assert Path(again["path"].iloc[0]).is_relative_to(info.path / "fer2013_png")  # the dataset owns its PNGs
    assert Path(again["path"].iloc[0]).is_file()
    assert [d.name for d in list_datasets(artifacts)] == ["F"]


def test_cli_register_skip_bad_images(tmp_path, artifacts, capsys):
    data = _tree(tmp_path / "tiny", corrupt=True)
    args = ["register", "--name", "Tiny", "--format", "folder", "--path", str(data), "--artifacts", str(artifacts)]
    assert main(args) == 2
    assert "bad.jpg" in capsys.readouterr().err
    assert main(args + ["--skip-bad-images"]) == 0
    out = capsys.readouterr().out
    assert "3 samples" in out and "1 skipped" in out
    assert get_dataset("Tiny", artifacts).load_report["n_skipped"] == 1
