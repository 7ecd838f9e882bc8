"""core.data.datasets._faces: UTKFace file names and FairFace's CSV (real UTKFace files and small fixtures)."""
from __future__ import annotations

import pytest

from _dataset_files import write_corrupt, write_image
from core import DataFormatError
from core.data.datasets import load_fairface, load_utkface


def test_real_utkface_skips_and_reports_malformed_names(utkface_dir):
    df = load_utkface(utkface_dir)
    rep = df.attrs["load_report"]
    assert len(df) == 1500 and df["label"].isna().all()
    assert df["race"].value_counts().to_dict() == {r: 300 for r in ("White", "Black", "Asian", "Indian", "Others")}
    assert rep["n_skipped"] == 3 and all("does not match" in reason for _, reason in rep["skipped"])
    assert df["age"].between(1, 116).all() and set(df["gender"]) == {"Male", "Female"}


def test_utkface_names(tmp_path):
    write_image(tmp_path / "25_0_1_20170116174525125.jpg.chip.jpg", color=True)
    write_image(tmp_path / "3_1_4_20161219225011425.jpg", color=True)
    write_image(tmp_path / "61_1_20170109150557335.jpg.chip.jpg", color=True)  # race missing
    write_image(tmp_path / "24_0_1_20170116220224657 .jpg.chip.jpg", color=True)  # space
    df = load_utkface(tmp_path)
    assert sorted(zip(df["age"], df["gender"], df["race"])) == [(3, "Female", "Others"), (25, "Male", "Black")]
    assert df.attrs["load_report"]["n_skipped"] == 2 and df["split"].eq("test").all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no UTKFace images") as exc:
        load_utkface(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(exc.value)


def test_fairface_csv(tmp_path):
    write_image(tmp_path / "val" / "1.jpg", color=True)
    write_image(tmp_path / "val" / "2.jpg", color=True)
    csv = tmp_path / "fairface_label_val.csv"
    csv.write_text("file,age,gender,race,service_test\nval/1.jpg,20-29,Male,Latino_Hispanic,True\n"
                   "val/2.jpg,3-9,Female,East Asian,False\nval/3.jpg,50-59,Female,Black,True\n")
    df = load_fairface(csv, tmp_path)
    assert df["race"].tolist() == ["Latino Hispanic", "East Asian"] and df["split"].eq("validation").all()
    assert df["age_group"].tolist() == ["20-29", "3-9"]
    assert df.attrs["load_report"]["skipped"][0][1] == "image file not found"
    bad = tmp_path / "bad.csv"
    bad.write_text("file,age,sex,race\nval/1.jpg,20-29,Male,White\n")
    with pytest.raises(DataFormatError, match="missing column") as exc:
        load_fairface(bad, tmp_path)
    assert str(bad) in str(exc.value)
    corrupt = tmp_path / "c.csv"
    write_corrupt(tmp_path / "val" / "4.jpg")
    corrupt.write_text("file,age,gender,race,service_test\nval/4.jpg,20-29,Male,White,True\n"
                       "val/1.jpg,20-29,Male,White,True\n")
    with pytest.raises(DataFormatError, match="4.jpg"):
        load_fairface(corrupt, tmp_path)
    assert len(load_fairface(corrupt, tmp_path, on_bad_image="skip")) == 1


def test_utkface_ages_out_of_range_are_skipped_with_the_reason(tmp_path):
    write_image(tmp_path / "130_0_0_20170116174525125.jpg.chip.jpg", color=True)
    write_image(tmp_path / "131_0_0_20170116174525126.jpg.chip.jpg", color=True)
    write_image(tmp_path / "1234_0_0_20170116174525127.jpg.chip.jpg", color=True)
    df = load_utkface(tmp_path, split="validation")
    assert df["age"].tolist() == [130] and df["split"].tolist() == ["validation"]
    assert df["label"].isna().all() and df["race"].tolist() == ["White"] and df["gender"].tolist() == ["Male"]
    reasons = sorted(reason for _, reason in df.attrs["load_report"]["skipped"])
    assert reasons == ["age 1234 is not an age in years (expected 0-130)",
                       "age 131 is not an age in years (expected 0-130)"]
    with pytest.raises(DataFormatError, match="folder not found; expected a folder of UTKFace images"):
        load_utkface(tmp_path / "missing")
