"""core.data.datasets._folder: one folder per emotion, with or without split folders (the real SFEW and FER2013
slice, and small trees), unknown labels, bad images."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from _dataset_files import write_corrupt, write_image
from core import DataFormatError
from core.data.datasets import load_folder


def test_real_sfew_and_fer2013_folders(sfew_dir, fer2013_dir):
    sfew = load_folder(sfew_dir, "SFEW")
    assert sfew["split"].value_counts().to_dict() == {"train": 891, "validation": 431}
    assert sfew["label"].nunique() == 7
    fer = load_folder(fer2013_dir, "FER2013")
    assert fer.groupby(["split", "label"]).size().unique().tolist() in ([40, 15], [15, 40])


def test_folder_tree_with_split_folders_and_aliases(tmp_path):
    root = tmp_path / "sfew"
    write_image(root / "Train_Aligned_Faces" / "Angry" / "a.png")
    write_image(root / "Train_Aligned_Faces" / "Surprised" / "b.jpg")
    write_image(root / "Val_Aligned_Faces" / "Sadness" / "c.png")
    write_image(root / "Val_Aligned_Faces" / "Contempt" / "d.png")
    (root / "Val_Aligned_Faces" / "Sadness" / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning, match="Contempt"):  # excluded, never silently
        df = load_folder(root, "SFEW")
    assert sorted(zip(df["split"], df["label"])) == [("train", "angry"), ("train", "surprise"),
                                                     ("validation", "sad")]
    assert df["sample_id"].str.startswith("SFEW:").all() and df["path"].map(lambda p: Path(p).is_absolute()).all()
    assert df.attrs["load_report"]["excluded_labels"] == {"Contempt": 1}


def test_flat_folder_gets_the_given_split(tmp_path):
    write_image(tmp_path / "Happy" / "1.png")
    df = load_folder(tmp_path, "Flat", split="test")
    assert df["split"].tolist() == ["test"] and df["label"].tolist() == ["happy"]


def test_unknown_label_excluded_and_counted_or_raised(tmp_path):
    write_image(tmp_path / "train" / "Happy" / "1.png")
    write_image(tmp_path / "train" / "Bored" / "1.png")
    write_image(tmp_path / "train" / "Bored" / "2.png")
    with pytest.warns(UserWarning, match="excluded 2 sample"):
        df = load_folder(tmp_path, "T")
    assert len(df) == 1 and df.attrs["load_report"]["excluded_labels"] == {"Bored": 2}
    with pytest.raises(DataFormatError, match="Bored") as exc:
        load_folder(tmp_path, "T", on_unknown_label="raise")
    assert str(tmp_path) in str(exc.value) and exc.value.column == "label"


def test_corrupt_image_named_or_skipped(tmp_path):
    write_image(tmp_path / "train" / "Happy" / "ok.png")
    bad = write_corrupt(tmp_path / "train" / "Happy" / "broken.jpg")
    with pytest.raises(DataFormatError, match="cannot be decoded") as exc:
        load_folder(tmp_path, "T")
    assert "broken.jpg" in str(exc.value)
    df = load_folder(tmp_path, "T", on_bad_image="skip")
    assert len(df) == 1 and df.attrs["load_report"]["skipped"] == [[str(bad.resolve()), "cannot be decoded as an image"]]


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no images found") as exc:
        load_folder(tmp_path / "empty", "T")
    assert str(tmp_path / "empty") in str(exc.value)
    (tmp_path / "classes" / "Happy").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="no images found"):
        load_folder(tmp_path / "classes", "T")
    with pytest.raises(DataFormatError, match="folder not found"):
        load_folder(tmp_path / "missing", "T")


def test_split_folder_aliases(tmp_path):
    for split_dir, name in (("val", "a"), ("PublicTest", "b"), ("test", "c"), ("train", "d")):
        write_image(tmp_path / split_dir / "Happy" / f"{name}.png")
    df = load_folder(tmp_path, "T")
    assert dict(zip(df["path"].map(lambda p: Path(p).stem), df["split"])) == {
        "a": "validation", "b": "validation", "c": "test", "d": "train"}
    assert df["sample_id"].str.startswith("T:").all() and df["sample_id"].is_unique


def test_loaded_manifests_are_valid_parquet_round_trips(tmp_path):
    write_image(tmp_path / "d" / "train" / "Happy" / "1.png")
    df = load_folder(tmp_path / "d", "T")
    df.to_parquet(tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet").astype(object), df.astype(object))
