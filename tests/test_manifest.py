"""Manifest schema: validation names the file and column; Parquet round trip is atomic and lossless."""
from pathlib import Path

import pandas as pd
import pytest

from core import DataFormatError, load_manifest, save_manifest, validate_manifest
from core.data.manifest import resolve_paths


def _manifest(**extra) -> pd.DataFrame:
    df = pd.DataFrame({
        "sample_id": ["a", "b", "c"], "path": ["x/1.png", "x/2.png", "/abs/3.png"], "dataset": "T",
        "split": ["train", "validation", "test"], "label": ["happy", None, "sad"],
    })
    for k, v in extra.items():
        df[k] = v
    return df


def test_valid_manifest_normalises_dtypes():
    df = validate_manifest(_manifest(race=["White", "Black", None], gender=["Male", "Female", None],
                                     age=[20, 31, 40], frame=["5", "6", "7"], yaw=["1.5", 0, -90],
                                     skin_color=["#aabbcc", "#000000", None], clip=[1, 2, 3], extra=[1, 2, 3]))
    assert str(df["age"].dtype) == "Int64" and str(df["frame"].dtype) == "Int64"
    assert df["yaw"].dtype == float and df["yaw"].tolist() == [1.5, 0.0, -90.0]
    assert df["clip"].tolist() == ["1", "2", "3"]  # ids are strings
    assert df["label"].iloc[1] is None and df["race"].iloc[2] is None
    assert "extra" in df.columns  # extra columns are kept


@pytest.mark.parametrize("change, column, words", [
    (lambda d: d.drop(columns=["label"]), None, "missing required column"),
    (lambda d: d.assign(sample_id=["a", "a", "c"]), "sample_id", "unique"),
    (lambda d: d.assign(split=["train", "val", "test"]), "split", "val"),
    (lambda d: d.assign(label=["happy", "contempt", "sad"]), "label", "contempt"),
    (lambda d: d.assign(path=["x", "", "y"]), "path", "empty"),
    (lambda d: d.assign(race=["W", "B", "M"]), "race", "readable group names"),
    (lambda d: d.assign(race=["0", "1", "White"]), "race", "codes"),
    (lambda d: d.assign(gender=["M", "F", "Male"]), "gender", "Male"),
    (lambda d: d.assign(skin_color=["#abc", "#aabbcc", None]), "skin_color", "#rrggbb"),
    (lambda d: d.assign(age=["twenty", 1, 2]), "age", "integers"),
    (lambda d: d.assign(yaw=["left", 0, 0]), "yaw", "degrees"),
])
def test_invalid_manifest_errors_name_source_and_column(change, column, words):
    with pytest.raises(DataFormatError) as exc:
        validate_manifest(change(_manifest()), source="my/manifest.parquet")
    msg = str(exc.value)
    assert msg.startswith("my/manifest.parquet: ") and words in msg
    if column:
        assert f"column '{column}'" in msg and exc.value.column == column


def test_not_a_dataframe():
    with pytest.raises(DataFormatError, match="expected a pandas DataFrame"):
        validate_manifest([1, 2], source="x")


def test_save_and_load_round_trip(tmp_path):
    df = _manifest(race=["White", "Mixed", None], person=["p1", "p1", "p2"], yaw=[0.0, 45.0, None])
    df.attrs["load_report"] = {"n_skipped": 0}
    path = save_manifest(df, tmp_path / "sub" / "manifest.parquet")
    back = load_manifest(path)
    pd.testing.assert_frame_equal(back, validate_manifest(df))
    assert sorted(p.name for p in path.parent.iterdir()) == ["manifest.parquet"]  # no temporary files left


def test_save_refuses_invalid_and_keeps_the_old_file(tmp_path):
    path = save_manifest(_manifest(), tmp_path / "m.parquet")
    before = path.read_bytes()
    with pytest.raises(DataFormatError, match="split"):
        save_manifest(_manifest(split=["x", "y", "z"]), path)
    assert path.read_bytes() == before


def test_load_missing_or_not_parquet_names_the_file(tmp_path):
    with pytest.raises(DataFormatError, match="file not found") as exc:
        load_manifest(tmp_path / "nope.parquet")
    assert "nope.parquet" in str(exc.value)
    bad = tmp_path / "bad.parquet"
    bad.write_text("emotion,pixels\n")
    with pytest.raises(DataFormatError, match="not a readable Parquet file") as exc:
        load_manifest(bad)
    assert str(bad) in str(exc.value)


def test_resolve_paths(tmp_path):
    df = _manifest()
    assert resolve_paths(df, tmp_path).tolist() == [str(tmp_path / "x/1.png"), str(tmp_path / "x/2.png"),
                                                    "/abs/3.png"]
    assert resolve_paths(df, None).tolist() == [str(Path("x/1.png")), str(Path("x/2.png")), "/abs/3.png"]
