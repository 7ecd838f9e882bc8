"""Loaders: the real ../shared/data files, small fixtures in each exact format, and bad inputs."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core import DataFormatError
from core.datasets import (SEED_PROSE_SPLIT_RULE, consensus, load_eila_annotations, load_eila_crops,
                           load_eila_demographics, load_fairface, load_fer2013_csv, load_folder, load_utkface)

# ---------------------------------------------------------------- helpers


def _img(path: Path, value: int = 100, size: int = 8, color: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size, size, 3) if color else (size, size), value, np.uint8)
    assert cv2.imwrite(str(path), arr)
    return path


def _corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 this is not really a jpeg")
    return path


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def eila_annotations(eila_dir):
    return load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv")


def test_real_eila_annotation_counts(eila_annotations):
    df = eila_annotations
    assert df["split"].value_counts().to_dict() == {"train": 5723, "validation": 1462, "test": 902}
    test = df[df["split"] == "test"]
    assert test["person"].nunique() == 21
    assert test.groupby("race")["person"].nunique().to_dict() == {"Black": 7, "Mixed": 2, "White": 12}
    assert set(df["label"]) <= {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}
    assert df["race"].notna().all() and df["skin_color"].str.match(r"^#[0-9a-f]{6}$").all()
    assert (df["path"] == df["video"] + "#" + df["frame"].astype(str)).all()
    assert df[["x", "y", "width", "height"]].apply(lambda c: c.between(-1, 101)).all().all()


def test_real_eila_prose_rule_is_the_inverse(eila_dir):
    df = load_eila_annotations(eila_dir / "annotations.csv", eila_dir / "demographics.csv",
                               split_rule=SEED_PROSE_SPLIT_RULE)
    assert df["split"].value_counts().to_dict() == {"test": 5723, "validation": 1462, "train": 902}


def test_real_eila_crops_join_demographics_and_agree_with_annotations(eila_dir, eila_annotations):
    crops = load_eila_crops(eila_dir / "faces", eila_dir / "demographics.csv")
    assert crops["split"].value_counts().to_dict() == {"train": 2380, "validation": 658}
    assert crops["race"].notna().all() and crops["person"].notna().all()
    both = crops.merge(eila_annotations, on="sample_id", suffixes=("", "_ann"))
    assert len(both) == len(crops)  # every crop's <row> is an annotation row
    assert (both["label"] == both["label_ann"]).all() and (both["person"] == both["person_ann"]).all()


def test_real_utkface_skips_and_reports_malformed_names(utkface_dir):
    df = load_utkface(utkface_dir)
    rep = df.attrs["load_report"]
    assert len(df) == 1500 and df["label"].isna().all()
    assert df["race"].value_counts().to_dict() == {r: 300 for r in ("White", "Black", "Asian", "Indian", "Others")}
    assert rep["n_skipped"] == 3 and all("does not match" in reason for _, reason in rep["skipped"])
    assert df["age"].between(1, 116).all() and set(df["gender"]) == {"Male", "Female"}


def test_real_sfew_and_fer2013_folders(sfew_dir, fer2013_dir):
    sfew = load_folder(sfew_dir, "SFEW")
    assert sfew["split"].value_counts().to_dict() == {"train": 891, "validation": 431}
    assert sfew["label"].nunique() == 7
    fer = load_folder(fer2013_dir, "FER2013")
    assert fer.groupby(["split", "label"]).size().unique().tolist() in ([40, 15], [15, 40])


# ---------------------------------------------------------------- folder trees


def test_folder_tree_with_split_folders_and_aliases(tmp_path):
    root = tmp_path / "sfew"
    _img(root / "Train_Aligned_Faces" / "Angry" / "a.png")
    _img(root / "Train_Aligned_Faces" / "Surprised" / "b.jpg")
    _img(root / "Val_Aligned_Faces" / "Sadness" / "c.png")
    _img(root / "Val_Aligned_Faces" / "Contempt" / "d.png")
    (root / "Val_Aligned_Faces" / "Sadness" / "notes.txt").write_text("not an image")
    with pytest.warns(UserWarning, match="Contempt"):  # excluded, never silently
        df = load_folder(root, "SFEW")
    assert sorted(zip(df["split"], df["label"])) == [("train", "angry"), ("train", "surprise"),
                                                     ("validation", "sad")]
    assert df["sample_id"].str.startswith("SFEW:").all() and df["path"].map(lambda p: Path(p).is_absolute()).all()
    assert df.attrs["load_report"]["excluded_labels"] == {"Contempt": 1}


def test_flat_folder_gets_the_given_split(tmp_path):
    _img(tmp_path / "Happy" / "1.png")
    df = load_folder(tmp_path, "Flat", split="test")
    assert df["split"].tolist() == ["test"] and df["label"].tolist() == ["happy"]


def test_unknown_label_excluded_and_counted_or_raised(tmp_path):
    _img(tmp_path / "train" / "Happy" / "1.png")
    _img(tmp_path / "train" / "Bored" / "1.png")
    _img(tmp_path / "train" / "Bored" / "2.png")
    with pytest.warns(UserWarning, match="excluded 2 sample"):
        df = load_folder(tmp_path, "T")
    assert len(df) == 1 and df.attrs["load_report"]["excluded_labels"] == {"Bored": 2}
    with pytest.raises(DataFormatError, match="Bored") as exc:
        load_folder(tmp_path, "T", on_unknown_label="raise")
    assert str(tmp_path) in str(exc.value) and exc.value.column == "label"


def test_corrupt_image_named_or_skipped(tmp_path):
    _img(tmp_path / "train" / "Happy" / "ok.png")
    bad = _corrupt(tmp_path / "train" / "Happy" / "broken.jpg")
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


# ---------------------------------------------------------------- FER2013 CSV


def _fer_csv(path: Path, rows: list[tuple], header: str = "emotion,pixels,Usage") -> Path:
    lines = [header] + [f"{e},{p},{u}" for e, p, u in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fer2013_csv_writes_pngs_once(tmp_path):
    pix = " ".join(["128"] * 2304)
    csv = _fer_csv(tmp_path / "fer2013.csv", [(0, pix, "Training"), (6, pix, "PublicTest"), (3, pix, "PrivateTest")])
    df = load_fer2013_csv(csv, tmp_path / "png")
    assert list(zip(df["label"], df["split"])) == [("angry", "train"), ("neutral", "validation"), ("happy", "test")]
    img = cv2.imread(df["path"].iloc[0], cv2.IMREAD_UNCHANGED)
    assert img.shape == (48, 48) and int(img[0, 0]) == 128
    mtime = Path(df["path"].iloc[0]).stat().st_mtime_ns
    load_fer2013_csv(csv, tmp_path / "png")
    assert Path(df["path"].iloc[0]).stat().st_mtime_ns == mtime


@pytest.mark.parametrize("rows, header, words", [
    ([(0, "1 2 3", "Training")], "emotion,pixels,Usage", "2304 values"),
    ([(9, " ".join(["1"] * 2304), "Training")], "emotion,pixels,Usage", "row 0: emotion '9' is not a code 0-6"),
    ([(1, " ".join(["1"] * 2304), "Dev")], "emotion,pixels,Usage", "Usage 'Dev'"),
    ([(1, " ".join(["1"] * 2304), "Training")], "label,pixels,Usage", "missing column(s) ['emotion']"),
])
def test_fer2013_csv_bad_inputs_name_the_file(tmp_path, rows, header, words):
    csv = _fer_csv(tmp_path / "bad.csv", rows, header)
    with pytest.raises(DataFormatError) as exc:
        load_fer2013_csv(csv, tmp_path / "png")
    assert str(csv) in str(exc.value) and words in str(exc.value)


# ---------------------------------------------------------------- EiLA

DEMOGRAPHICS = """Video Tag,Clip Id,Person Id,Person Global Id,Perceived Race,Perceived Gender,Skin Color
vidA,1,0,0,W,F,#E4A9AD
vidA,2,0,0,W,F,#e4a9ad
vidA,1,1,1,B,M,#5a3825
vidB,1,0,0,M,M,#a0785a
"""


def _demographics(tmp_path: Path, text: str = DEMOGRAPHICS) -> Path:
    p = tmp_path / "demographics.csv"
    p.write_text(text)
    return p


def test_eila_demographics_readable_names_and_person_ids(tmp_path):
    d = load_eila_demographics(_demographics(tmp_path))
    assert d["race"].tolist() == ["White", "White", "Black", "Mixed"]
    assert d["person"].tolist() == ["EiLA:vidA/0", "EiLA:vidA/0", "EiLA:vidA/1", "EiLA:vidB/0"]
    assert d["skin_color"].iloc[0] == "#e4a9ad"


@pytest.mark.parametrize("text, words", [
    (DEMOGRAPHICS.replace("Perceived Race", "Race"), "missing column(s) ['Perceived Race']"),
    (DEMOGRAPHICS.replace(",B,M,", ",X,M,"), "unknown code(s) ['X']"),
])
def test_eila_demographics_bad_inputs(tmp_path, text, words):
    p = _demographics(tmp_path, text)
    with pytest.raises(DataFormatError) as exc:
        load_eila_demographics(p)
    assert str(p) in str(exc.value) and words in str(exc.value)


def test_eila_crops_fixture(tmp_path):
    root = tmp_path / "faces"
    _img(root / "train" / "Happy" / "0_label_3_video_vidA_clip_1_person_0.jpg")
    _img(root / "train" / "Angry" / "5_label_0_video_vidA_clip_1_person_1.jpg")
    _img(root / "validation" / "Sad" / "9_label_5_video_vidB_clip_1_person_0.jpg")
    _img(root / "validation" / "Sad" / "some_other_name.jpg")
    df = load_eila_crops(root, _demographics(tmp_path))
    assert df["sample_id"].tolist() == ["EiLA:0", "EiLA:5", "EiLA:9"]
    assert df["race"].tolist() == ["White", "Black", "Mixed"] and df["gender"].tolist() == ["Female", "Male", "Male"]
    assert df["person"].tolist() == ["EiLA:vidA/0", "EiLA:vidA/1", "EiLA:vidB/0"]
    assert df["split"].tolist() == ["train", "train", "validation"]
    rep = df.attrs["load_report"]
    assert rep["n_skipped"] == 1 and rep["skipped"][0][0].endswith("some_other_name.jpg")


def test_eila_crop_without_demographics_row_names_the_csv(tmp_path):
    _img(tmp_path / "faces" / "train" / "Happy" / "0_label_3_video_vidZ_clip_1_person_0.jpg")
    demo = _demographics(tmp_path)
    with pytest.raises(DataFormatError, match="no demographics row") as exc:
        load_eila_crops(tmp_path / "faces", demo)
    assert str(demo) in str(exc.value)


def _annotations(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "annotations.csv"
    p.write_text("Video Tag,Clip Id,Labels,Frame Number,X,Y,Width,Height,Person Id\n" + "\n".join(rows) + "\n")
    return p


def test_eila_annotations_consensus_and_split_rule(tmp_path):
    three_majority = '"[[\'Sad\'], [\'Happy\'], [\'Happy\']]"'
    three_split = '"[[\'Fear\'], [\'Anger\'], [\'Surprise\']]"'
    two = '"[[\'Disgust\'], \'No annotation\', [\'Neutral\']]"'
    one = '"[\'No annotation\', [\'Surprise\'], \'No annotation\']"'
    none = '"[\'No annotation\', \'No annotation\', \'No annotation\']"'
    contempt = '"[[\'Contempt\'], \'No annotation\', \'No annotation\']"'
    spec = [("vidA", three_majority, 0), ("vidA", three_split, 1), ("vidA", two, 0), ("vidA", one, 0),
            ("vidA", none, 0), ("vidB", contempt, 0)]
    rows = [f"{vid},1,{lab},{10 + i},10.5,20,30,40,{pid}" for i, (vid, lab, pid) in enumerate(spec)]
    with pytest.warns(UserWarning, match="Contempt"):
        df = load_eila_annotations(_annotations(tmp_path, rows), _demographics(tmp_path))
    assert df["label"].tolist() == ["happy", "fear", "disgust", "surprise"]
    assert df["split"].tolist() == ["test", "test", "validation", "train"]
    assert df["n_annotators"].tolist() == [3, 3, 2, 1]
    assert df["annotations"].iloc[0] == "Sad|Happy|Happy"
    assert df["race"].tolist() == ["White", "Black", "White", "White"]
    rep = df.attrs["load_report"]
    assert rep["skipped"] == [["row 4", "no annotator label"]] and rep["excluded_labels"] == {"Contempt": 1}
    with pytest.warns(UserWarning):
        inverse = load_eila_annotations(tmp_path / "annotations.csv", tmp_path / "demographics.csv",
                                        split_rule=SEED_PROSE_SPLIT_RULE)
    assert inverse["split"].tolist() == ["train", "train", "validation", "test"]


def test_eila_annotations_bad_inputs(tmp_path):
    demo = _demographics(tmp_path)
    bad_cols = tmp_path / "a.csv"
    bad_cols.write_text("Video,Clip,Labels\nx,1,[]\n")
    with pytest.raises(DataFormatError, match="missing column") as exc:
        load_eila_annotations(bad_cols, demo)
    assert str(bad_cols) in str(exc.value)
    p = _annotations(tmp_path, ['vidA,1,"[[\'Happy\']",1,1,1,1,1,0'])
    with pytest.raises(DataFormatError, match="row 0: Labels") as exc:
        load_eila_annotations(p, demo)
    assert exc.value.column == "Labels"
    p = _annotations(tmp_path, ['vidA,1,"[[\'Bored\']]",1,1,1,1,1,0', 'vidA,1,"[[\'Happy\']]",2,1,1,1,1,0'])
    with pytest.warns(UserWarning, match="Bored"):
        assert load_eila_annotations(p, demo).attrs["load_report"]["excluded_labels"] == {"Bored": 1}
    with pytest.raises(DataFormatError, match="unknown emotion label"):
        load_eila_annotations(p, demo, on_unknown_label="raise")
    with pytest.raises(DataFormatError, match="file not found"):
        load_eila_annotations(tmp_path / "missing.csv", demo)


def test_consensus_rule():
    assert consensus(["Sad", "Happy", "Happy"]) == "Happy"
    assert consensus(["Fear", "Anger", "Surprise"]) == "Fear"
    assert consensus(["Disgust", "Neutral"]) == "Disgust"
    assert consensus(["Sad"]) == "Sad" and consensus([]) is None


# ---------------------------------------------------------------- UTKFace and FairFace


def test_utkface_names(tmp_path):
    _img(tmp_path / "25_0_1_20170116174525125.jpg.chip.jpg", color=True)
    _img(tmp_path / "3_1_4_20161219225011425.jpg", color=True)
    _img(tmp_path / "61_1_20170109150557335.jpg.chip.jpg", color=True)  # race missing
    _img(tmp_path / "24_0_1_20170116220224657 .jpg.chip.jpg", color=True)  # space
    df = load_utkface(tmp_path)
    assert sorted(zip(df["age"], df["gender"], df["race"])) == [(3, "Female", "Others"), (25, "Male", "Black")]
    assert df.attrs["load_report"]["n_skipped"] == 2 and df["split"].eq("test").all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no UTKFace images") as exc:
        load_utkface(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(exc.value)


def test_fairface_csv(tmp_path):
    _img(tmp_path / "val" / "1.jpg", color=True)
    _img(tmp_path / "val" / "2.jpg", color=True)
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
    _corrupt(tmp_path / "val" / "4.jpg")
    corrupt.write_text("file,age,gender,race,service_test\nval/4.jpg,20-29,Male,White,True\n"
                       "val/1.jpg,20-29,Male,White,True\n")
    with pytest.raises(DataFormatError, match="4.jpg"):
        load_fairface(corrupt, tmp_path)
    assert len(load_fairface(corrupt, tmp_path, on_bad_image="skip")) == 1


def test_loaded_manifests_are_valid_parquet_round_trips(tmp_path):
    _img(tmp_path / "d" / "train" / "Happy" / "1.png")
    df = load_folder(tmp_path / "d", "T")
    df.to_parquet(tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet").astype(object), df.astype(object))
