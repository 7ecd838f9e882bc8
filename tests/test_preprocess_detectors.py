"""Detector interface: yunet and mtcnn agree on a real face; yolo wiring with random weights; clear weight errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.common._errors import ModelFileError
from core.preprocess import Detections, load_detector, prepare_eila
from core.preprocess._detectors import check_weights
from tests.preprocess_video_fixture import eila_video  # noqa: F401 - module-scoped fixture


@pytest.fixture(scope="module")
def face_scene(sfew_dir) -> np.ndarray:
    face = cv2.imread(str(sfew_dir / "Train_Aligned_Faces/Happy/Town_002712120_00000064.png"))
    scene = np.full((420, 360, 3), 90, np.uint8)
    scene[80:80 + 181 * 3 // 2, 100:100 + 143 * 3 // 2] = cv2.resize(face, (143 * 3 // 2, 181 * 3 // 2))
    return scene


def test_yunet_and_mtcnn_find_the_face_with_landmarks_in_the_same_order(face_scene, yunet_model):
    found = {}
    for name, w in (("yunet", yunet_model), ("mtcnn", None)):
        det = load_detector(name, w)
        res = det.detect([face_scene, np.full((200, 300, 3), 90, np.uint8)])
        assert len(res) == 2 and len(res[1]) == 0 and res[1].landmarks.shape == (0, 5, 2)
        d = res[0]
        b = d.best()
        assert b is not None and d.confidences[b] > 0.8
        x0, y0, x1, y1 = d.boxes[b]
        assert 90 <= (x0 + x1) / 2 <= 100 + 214 and 80 <= (y0 + y1) / 2 <= 80 + 271
        found[name] = d.landmarks[b]
    lm_y, lm_m = found["yunet"], found["mtcnn"]
    eye_dist = np.linalg.norm(lm_y[1] - lm_y[0])
    assert np.all(np.linalg.norm(lm_y - lm_m, axis=1) < 0.35 * eye_dist)  # same points, same order
    assert lm_y[0, 0] < lm_y[1, 0] and lm_y[3, 0] < lm_y[4, 0]


def test_mtcnn_batch_of_mixed_sizes_equals_one_by_one(face_scene):
    det = load_detector("mtcnn")
    wide = cv2.copyMakeBorder(face_scene, 0, 0, 200, 200, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    batch = det.detect([wide, face_scene])
    single = [det.detect([im])[0] for im in (wide, face_scene)]
    for a, b in zip(batch, single):
        assert len(a) == len(b) == 1  # mtcnn's own mixed-size batching loses faces; ours must not
        side = b.boxes[0, 2] - b.boxes[0, 0]  # padding shifts the cascade a little: a few pixels at most
        assert np.abs(a.boxes - b.boxes).max() < 0.05 * side
        assert np.abs(a.landmarks - b.landmarks).max() < 0.05 * side


def test_weights_errors_name_the_option(tmp_path):
    for name in ("yunet", "yolo"):
        with pytest.raises(ModelFileError, match="--weights"):
            load_detector(name)
        with pytest.raises(ModelFileError, match="not found.*--weights"):
            check_weights(name, tmp_path / "missing.file")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not an onnx model")
    with pytest.raises(ModelFileError, match="junk.onnx.*YuNet"):
        load_detector("yunet", junk)
    junk_pt = tmp_path / "junk.pt"
    junk_pt.write_bytes(b"this is not a torch file")
    with pytest.raises(ModelFileError, match="junk.pt.*YOLO"):
        load_detector("yolo", junk_pt)
    with pytest.raises(ValueError, match="unknown detector"):
        load_detector("retinaface")
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 4)), np.zeros(1), None)


@pytest.fixture(scope="module")
def random_yolo_models(tmp_path_factory):
    """YOLO files built from ultralytics' own yaml with RANDOM weights (no download, no pretrained face model)."""
    import yaml
    from ultralytics import YOLO
    from ultralytics.utils import ROOT

    folder = tmp_path_factory.mktemp("yolo")
    out = {}
    for key, base, changes in (("pose5", "yolov8-pose.yaml", {"nc": 1, "kpt_shape": [5, 3]}),
                               ("boxes", "yolov8.yaml", {"nc": 1}), ("coco", "yolov8.yaml", {})):
        cfg = yaml.safe_load((ROOT / "cfg/models/v8" / base).read_text())
        cfg.update(changes)
        path = folder / f"yolov8n-{key}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        YOLO(str(path)).save(str(folder / f"{key}.pt"))
        out[key] = folder / f"{key}.pt"
    return out


def test_yolo_wiring_with_random_weights_built_from_yaml(random_yolo_models, face_scene):
    det = load_detector("yolo", random_yolo_models["pose5"], min_confidence=0.0, imgsz=320)
    res = det.detect([face_scene, face_scene[:200, :150].copy()])
    assert len(res) == 2
    for d in res:  # random weights: boxes are meaningless, only the shapes and wiring are tested
        assert d.boxes.shape[1] == 4 and d.landmarks is not None and d.landmarks.shape == (len(d), 5, 2)
        assert np.all((d.confidences >= 0) & (d.confidences <= 1))
    boxes_only = load_detector("yolo", random_yolo_models["boxes"], min_confidence=0.0, imgsz=320)
    assert all(d.landmarks is None for d in boxes_only.detect([face_scene]))
    with pytest.raises(ModelFileError, match="expected a face detection model"):
        load_detector("yolo", random_yolo_models["coco"])


def test_yolo_random_weights_through_the_whole_pipeline(random_yolo_models, eila_video, tmp_path):  # noqa: F811
    res = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "o",
                       detector="yolo", weights=random_yolo_models["pose5"], threshold=0.9, n_boot=20)
    rows = res.rows.set_index("row")
    assert (res.audit["detector"] == "yolo").all()
    frame_read = rows[rows["stage_reached"] >= 1]
    assert len(frame_read) == 9  # every person box reached the random-weight detector
    assert set(frame_read["reason"].dropna()) <= {"no_face", "low_confidence"}
