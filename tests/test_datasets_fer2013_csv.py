"""core.data.datasets._fer2013_csv: the Kaggle CSV written to PNGs once, and bad rows named by file and row."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from core import DataFormatError
from core.data.datasets import load_fer2013_csv


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
