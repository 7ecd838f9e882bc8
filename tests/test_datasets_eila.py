"""core.data.datasets._eila: demographics codes and person ids, crops joined to demographics, annotations with the
consensus label and the split rules, on the real files and on small fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

from _dataset_files import write_image
from core import DataFormatError
from core.data.datasets import (SEED_PROSE_SPLIT_RULE, consensus, load_eila_annotations, load_eila_crops,
                           load_eila_demographics)


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
    write_image(root / "train" / "Happy" / "0_label_3_video_vidA_clip_1_person_0.jpg")
    write_image(root / "train" / "Angry" / "5_label_0_video_vidA_clip_1_person_1.jpg")
    write_image(root / "validation" / "Sad" / "9_label_5_video_vidB_clip_1_person_0.jpg")
    write_image(root / "validation" / "Sad" / "some_other_name.jpg")
    df = load_eila_crops(root, _demographics(tmp_path))
    assert df["sample_id"].tolist() == ["EiLA:0", "EiLA:5", "EiLA:9"]
    assert df["race"].tolist() == ["White", "Black", "Mixed"] and df["gender"].tolist() == ["Female", "Male", "Male"]
    assert df["person"].tolist() == ["EiLA:vidA/0", "EiLA:vidA/1", "EiLA:vidB/0"]
    assert df["split"].tolist() == ["train", "train", "validation"]
    rep = df.attrs["load_report"]
    assert rep["n_skipped"] == 1 and rep["skipped"][0][0].endswith("some_other_name.jpg")


def test_eila_crop_without_demographics_row_names_the_csv(tmp_path):
    write_image(tmp_path / "faces" / "train" / "Happy" / "0_label_3_video_vidZ_clip_1_person_0.jpg")
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


def test_eila_crops_flat_layout_duplicates_and_split_rules(tmp_path):
    root = tmp_path / "faces"
    write_image(root / "Happy" / "0_label_3_video_vidA_clip_1_person_0.jpg")
    write_image(root / "Sad" / "0_label_5_video_vidA_clip_1_person_0.jpg", value=50)  # same row number again
    write_image(root / "Angry" / "5_label_0_video_vidA_clip_1_person_1.jpg")
    demo = _demographics(tmp_path)
    df = load_eila_crops(root, demo, split="validation")
    assert df["sample_id"].tolist() == ["EiLA:0", "EiLA:5"] and df["split"].eq("validation").all()
    assert df.attrs["split_rule"] == {"rule": "seed", "seed": None}
    assert [reason for _, reason in df.attrs["load_report"]["skipped"]] == ["duplicate annotation row number"]
    with pytest.warns(UserWarning, match=r"has 1 person\(s\): fewer than 2 in test") as caught:  # said, not hidden
        disjoint = load_eila_crops(root, demo, split="validation", split_rule="person-disjoint", split_seed=3)
    assert sorted(str(w.message).split(" has")[0] for w in caught) == ["race 'Black'", "race 'White'"]
    assert disjoint.attrs["split_rule"] == {"rule": "person-disjoint", "seed": 3}
    assert disjoint.groupby("person")["split"].nunique().eq(1).all()  # a person's crops stay in one split
    with pytest.raises(ValueError, match=r"split_rule for crops must be 'seed' \(their folders\) or "
                                         r"'person-disjoint', received 'prose'"):
        load_eila_crops(root, demo, split="validation", split_rule="prose")
