"""prepare_eila end to end on real MP4s built from real annotation rows and real SFEW faces."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.common._errors import DataFormatError, ModelFileError
from core.data.datasets import load_eila_crops
from core.data.labels import EMOTIONS
from core.preprocess import (LANDMARK_COLUMNS, REASONS, STAGES, Detections, FaceDetector, crop_file_name,
                             prepare_eila)
from core.preprocess._audit import audit_slice
from tests.preprocess_video_fixture import eila_video  # noqa: F401 - module-scoped fixture


@pytest.fixture(scope="module")
def yunet_run(eila_video, yunet_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("yunet_out")
    return prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out, detector="yunet",
                        weights=yunet_model, n_boot=200)


def _check_run(res, fix) -> None:
    rows = res.rows.set_index("row")
    # every bad row carries its reason; every good row is kept
    for r, reason in fix.expected_reason.items():
        if reason is None:
            assert rows.loc[r, "status"] == "kept", (r, rows.loc[r, ["reason", "detail"]].tolist())
        else:
            assert rows.loc[r, "reason"] == reason
            assert rows.loc[r, "stage_reached"] == REASONS[reason][0]
    kept = rows[rows["status"] == "kept"]
    # crops: named like the real processed crops, in split/Emotion folders, 48x48 gray
    for r, rec in kept.iterrows():
        p = Path(rec["crop_path"])
        assert p.parent.parent.name == rec["split"] and p.parent.name == rec["label"].capitalize()
        assert p.name == crop_file_name(r, rec["label"], rec["video"], rec["clip"], rec["eila_person_id"])
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        assert img.shape == (48, 48)
        # landmarks in frame pixels fall inside the pasted face, eyes above nose above mouth
        x0, y0, x1, y1 = fix.face_rects[r]
        lm = rec[list(LANDMARK_COLUMNS)].to_numpy(dtype=float).reshape(5, 2)
        assert np.all((lm[:, 0] > x0) & (lm[:, 0] < x1) & (lm[:, 1] > y0) & (lm[:, 1] < y1)), (r, lm, fix.face_rects[r])
        assert lm[0, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]
        assert lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min()
        assert np.isfinite(rec["yaw"]) and np.isfinite(rec["pitch"]) and 0.6 <= rec["face_confidence"] <= 1
    # the crops read back with the real crop loader: same rows, labels, splits, groups
    back = load_eila_crops(res.out, fix.demographics).set_index("sample_id")
    man = res.manifest.set_index("sample_id")
    assert sorted(back.index) == sorted(man.index) == sorted(f"EiLA:{r}" for r in kept.index)
    for col in ("label", "split", "race", "gender", "person"):
        assert (back.loc[man.index, col] == man[col]).all(), col
    src = pd.read_csv(fix.annotations)
    for r in kept.index:
        slots = eval(src.loc[r, "Labels"])  # noqa: S307 - the real file's Python-literal lists
        assert len([s for s in slots if isinstance(s, list)]) == {"train": 1, "validation": 2, "test": 3}[
            rows.loc[r, "split"]]
    # the manifest carries pose and detector columns
    for col in ("face_confidence", "yaw", "pitch", "side_profile", *LANDMARK_COLUMNS):
        assert col in res.manifest.columns
    # audit counts: 13 rows -> 9 frames read -> 8 faces -> 8 kept
    total = audit_slice(res.audit, split="All", race="All", gender="All").set_index("stage")
    assert total.loc[list(STAGES), "n_reached"].tolist() == [13, 9, 8, 8]
    test_black = audit_slice(res.audit, split="test", race="Black", gender="All").set_index("stage")
    assert test_black.loc[list(STAGES), "n_reached"].tolist() == [5, 3, 2, 2]
    test_white = audit_slice(res.audit, split="test", race="White", gender="All").set_index("stage")
    assert test_white.loc[list(STAGES), "n_reached"].tolist() == [2, 0, 0, 0]
    assert (res.audit["detector"] == res.info["identity"]["detector"]).all()
    a = res.audit[res.audit["n_rows"] > 0]
    assert ((a["wilson_low"] <= a["rate"] + 1e-9) & (a["rate"] <= a["wilson_high"] + 1e-9)).all()
    assert ((a["ci_low"] <= a["rate"] + 1e-9) & (a["rate"] <= a["ci_high"] + 1e-9)).all()
    assert (res.out / "audit.parquet").is_file() and (res.out / "audit.csv").is_file()


def test_yunet_pipeline_crops_labels_splits_landmarks_audit(yunet_run, eila_video):
    _check_run(yunet_run, eila_video)


def test_mtcnn_pipeline_crops_labels_splits_landmarks_audit(eila_video, tmp_path):
    res = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "out",
                       detector="mtcnn", size=48, color="gray", n_boot=200)
    _check_run(res, eila_video)


class _ScriptedDetector(FaceDetector):
    """Finds one face in the centre of any crop that is not (nearly) flat, with a fixed score; counts calls."""

    name = "scripted"

    def __init__(self, score: float = 0.9):
        super().__init__(None, 0.1)
        self.batch_size = 4
        self.score = score
        self.seen = 0

    def _detect_batch(self, images):
        self.seen += len(images)
        out = []
        for im in images:
            h, w = im.shape[:2]
            if im[h // 10:-h // 10, w // 10:-w // 10].std(axis=(0, 1)).max() < 6:  # the empty (flat) box
                out.append(Detections.empty())
                continue
            box = np.array([[w * 0.3, h * 0.1, w * 0.7, h * 0.5]])
            lm = np.array([[[w * .4, h * .2], [w * .6, h * .2], [w * .5, h * .3], [w * .42, h * .4], [w * .58, h * .4]]])
            out.append(Detections(box, np.array([self.score]), lm))
        return out


def test_every_bad_row_reason_is_recorded(eila_video, tmp_path):
    out = tmp_path / "out"
    # write_failed: a file sits where the train/Neutral folder must go
    (out / "train").mkdir(parents=True)
    (out / "train" / "Neutral").write_text("not a folder")
    res = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out,
                       detector=_ScriptedDetector(), n_boot=50)
    got = res.rows.set_index("row")["reason"].to_dict()
    for r, reason in eila_video.expected_reason.items():
        if reason is not None:
            assert got[r] == reason
    assert {got[r] for r in (0, 1, 2, 3)} == {"write_failed"}  # the 4 train/Neutral rows
    assert set(res.rows["reason"].dropna()) == {"write_failed", "no_face", "box_outside_frame", "unreadable_frame",
                                                "missing_video"}
    low = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "low",
                       detector=_ScriptedDetector(score=0.4), threshold=0.6, n_boot=50)
    lows = low.rows[low.rows["reason"] == "low_confidence"]
    assert len(lows) == 8 and (lows["stage_reached"] == 2).all() and (lows["face_confidence"] == 0.4).all()
    assert low.manifest.empty
    assert audit_slice(low.audit, split="All", race="All", gender="All").set_index("stage").loc[
        "face_found", "n_reached"] == 8
    for reason in REASONS:
        assert reason in set(res.rows["reason"]) | set(low.rows["reason"]) | {"invalid_box"}


def test_resume_after_crash_redoes_nothing_finished(eila_video, tmp_path):
    out = tmp_path / "out"
    det = _ScriptedDetector()

    class Crash(RuntimeError):
        pass

    def crash_after_first_batch(done, total, message=""):
        if done >= 4:
            raise Crash(f"simulated crash at {done}/{total}")

    with pytest.raises(Crash):
        prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out, detector=det,
                     progress=crash_after_first_batch, n_boot=50, flush_every_s=3600)
    state = pd.read_parquet(out / "rows.parquet")
    assert 4 <= len(state) < 13 and not (out / "manifest.parquet").exists()
    done_first = set(state["row"])
    seen_first = det.seen
    (out / "train" / ".stale.jpg.123.tmp").write_bytes(b"half a file")  # a write killed half way
    det2 = _ScriptedDetector()
    calls = []
    res = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out, detector=det2,
                       progress=lambda d, t, m="": calls.append((d, t)), n_boot=50)
    assert calls[0] == (len(done_first), 13)  # resumed, not restarted
    finished_detected = {r for r in done_first if state.set_index("row").loc[r, "stage_reached"] >= 1}
    assert det2.seen == 9 - len(finished_detected)  # 9 person boxes reach the detector; finished ones not again
    assert seen_first >= len(finished_detected)
    assert not list(out.rglob(".*.tmp"))
    fresh = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "fresh",
                         detector=_ScriptedDetector(), n_boot=50)
    cols = ["row", "status", "reason", "stage_reached"]
    pd.testing.assert_frame_equal(res.rows[cols], fresh.rows[cols])
    for p in fresh.manifest["path"]:
        twin = out / Path(p).relative_to(tmp_path / "fresh")
        assert twin.read_bytes() == Path(p).read_bytes()
    # a finished folder reruns instantly and does no detection
    det3 = _ScriptedDetector()
    prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, out, detector=det3, n_boot=50)
    assert det3.seen == 0


def test_resume_with_other_settings_is_refused(eila_video, yunet_run, yunet_model):
    with pytest.raises(DataFormatError, match="prepare.json.*size: 48 there vs 64 now"):
        prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, yunet_run.out,
                     detector="yunet", weights=yunet_model, size=64)


def test_missing_weights_name_the_option(eila_video, tmp_path):
    for det in ("yunet", "yolo"):
        with pytest.raises(ModelFileError, match="--weights"):
            prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / det,
                         detector=det)
        with pytest.raises(ModelFileError, match="not found.*--weights"):
            prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / det,
                         detector=det, weights=tmp_path / "nope.bin")


def test_cli_prepare_eila_registers_dataset_with_audit(eila_video, yunet_model, tmp_path, artifacts, capsys):
    from core.cli import main
    from core.data.registry import get_dataset, load_dataset

    status = tmp_path / "progress.json"
    rc = main(["prepare-eila", "--annotations", str(eila_video.annotations), "--demographics",
               str(eila_video.demographics), "--videos", str(eila_video.videos), "--out", str(tmp_path / "out"),
               "--detector", "yunet", "--weights", str(yunet_model), "--size", "64", "--color", "rgb",
               "--threshold", "0.6", "--register", "EiLA yunet", "--status-file", str(status)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "kept 8 of 13" in printed and "missing_video 2" in printed
    assert status.is_file()
    info = get_dataset("EiLA yunet", artifacts)
    man = load_dataset("EiLA yunet", artifacts)
    assert len(man) == 8 and (info.path / "audit.parquet").is_file()
    img = cv2.imread(man["path"].iloc[0], cv2.IMREAD_UNCHANGED)
    assert img.shape == (64, 64, 3)
    assert set(man["label"]) <= set(EMOTIONS)
