"""``estimate-pose`` on a registered or on-disk cropped dataset."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.data.registry import load_any, load_dataset, register_dataset


@pytest.fixture()
def crops(sfew_dir, tmp_path):
    root = tmp_path / "crops"
    files = sorted((sfew_dir / "Train_Aligned_Faces" / "Happy").glob("*.png"))[:4]
    for i, f in enumerate(files):
        (root / "Happy").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "Happy" / f"{i}.png"), cv2.imread(str(f)))
    cv2.imwrite(str(root / "Happy" / "blank.png"), np.full((48, 48), 128, np.uint8))
    return root


def test_estimate_pose_registered_dataset_in_place(crops, yunet_model, artifacts, capsys):
    register_dataset(load_any("folder", crops, name="faces"), "faces", "folder", {"path": crops}, artifacts)
    rc = main(["estimate-pose", "--data", "faces", "--detector", "yunet", "--weights", str(yunet_model),
               "--register", "faces"])
    assert rc == 0
    man = load_dataset("faces", artifacts)
    assert len(man) == 5 and {"yaw", "pitch", "side_profile", "face_confidence", "lm_nose_x"} <= set(man.columns)
    status = man.set_index(man["path"].map(lambda p: p.split("/")[-1]))["pose_status"]
    assert status["blank.png"] == "no_face" and (status.drop("blank.png") == "ok").all()
    assert "pose status:" in capsys.readouterr().out


def test_estimate_pose_from_path_to_file_and_errors(crops, yunet_model, tmp_path, artifacts, capsys):
    out = tmp_path / "pose.parquet"
    rc = main(["estimate-pose", "--data", str(crops), "--format", "folder", "--detector", "yunet", "--weights",
               str(yunet_model), "--out", str(out)])
    assert rc == 0 and pd.read_parquet(out)["yaw"].notna().sum() == 4
    assert main(["estimate-pose", "--data", str(crops), "--format", "folder"]) == 2
    assert "nothing to write" in capsys.readouterr().err
    assert main(["estimate-pose", "--data", str(crops), "--format", "folder", "--detector", "yolo",
                 "--out", str(out)]) == 2
    assert "--weights" in capsys.readouterr().err


def test_prepare_eila_bad_settings_and_missing_weights_exit_2(tmp_path, capsys):
    base = ["prepare-eila", "--annotations", str(tmp_path / "a.csv"), "--demographics", str(tmp_path / "d.csv"),
            "--videos", str(tmp_path), "--out", str(tmp_path / "out")]
    assert main([*base, "--size", "4"]) == 2
    assert "size must be an integer in [8, 1024]" in capsys.readouterr().err
    assert main([*base, "--detector", "yolo"]) == 2
    assert "yolov8n-face.pt; pass it with --weights" in capsys.readouterr().err
    assert main(base) == 2  # annotations file missing: named
    assert "a.csv: file not found" in capsys.readouterr().err
