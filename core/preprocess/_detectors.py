"""Face detectors behind one small interface: boxes, confidences and 5 landmarks per image.

Backends

``mtcnn``
    The ``mtcnn`` package (TensorFlow); its weights ship inside the wheel, so
    it works offline: the default. Images of a batch are run together.
``yunet``
    OpenCV's ``cv2.FaceDetectorYN`` with the YuNet ONNX file (``--weights``,
    e.g. ``face_detection_yunet_2023mar.onnx`` from the OpenCV Zoo). One image
    per call (the OpenCV API takes one image).
``yolo``
    An Ultralytics YOLO face model file the user supplies (``--weights``, e.g.
    ``yolov8n-face.pt``, the seed's method). A model with 5 keypoints per box
    (a pose/keypoint face model) gives landmarks; a box-only model gives
    ``landmarks=None``. Images of a batch are run together.

Landmark order is the same for every backend, in image terms:
``[eye on the image's left, eye on the image's right, nose tip,
mouth corner on the image's left, mouth corner on the image's right]``,
as ``(x, y)`` pixels of the input image. Input images are BGR uint8 (OpenCV's
order), as read from a video or with ``cv2.imread``.
"""
from __future__ import annotations

import os
import sys
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..common._errors import ModelFileError

DETECTORS: tuple[str, ...] = ("mtcnn", "yunet", "yolo")
#: Candidates below this confidence are not reported (the floor for the audit's "face found" stage).
DEFAULT_MIN_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Detections:
    """Faces found in one image.

    Attributes
    ----------
    boxes : numpy.ndarray
        ``(n, 4)`` float ``x0, y0, x1, y1`` in pixels of the input image.
    confidences : numpy.ndarray
        ``(n,)`` detector scores in [0, 1].
    landmarks : numpy.ndarray or None
        ``(n, 5, 2)`` in the module's landmark order, or None when the model has none.
    """

    boxes: np.ndarray
    confidences: np.ndarray
    landmarks: np.ndarray | None

    def __post_init__(self) -> None:
        if self.boxes.shape != (len(self.confidences), 4):
            raise ValueError(f"boxes must be (n, 4) for n={len(self.confidences)}, received {self.boxes.shape}")
        if self.landmarks is not None and self.landmarks.shape != (len(self.confidences), 5, 2):
            raise ValueError(f"landmarks must be (n, 5, 2), received {self.landmarks.shape}")

    def __len__(self) -> int:
        return int(len(self.confidences))

    def best(self) -> int | None:
        """Index of the most confident face, or None if there is none."""
        return None if len(self) == 0 else int(np.argmax(self.confidences))

    @classmethod
    def empty(cls, with_landmarks: bool = True) -> "Detections":
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)) if with_landmarks else None)


class FaceDetector(ABC):
    """Common interface: ``detect(images) -> list[Detections]`` (one per image)."""

    name: str = ""
    #: Images per call that the backend runs together.
    batch_size: int = 1

    def __init__(self, weights: str | Path | None, min_confidence: float) -> None:
        if not 0 <= min_confidence < 1:
            raise ValueError(f"min_confidence must be in [0, 1), received {min_confidence}")
        self.weights = None if weights is None else str(weights)
        self.min_confidence = float(min_confidence)

    @abstractmethod
    def _detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        """Run the backend on at most ``batch_size`` BGR images."""

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in BGR uint8 images; calls the backend ``batch_size`` images at a time."""
        out: list[Detections] = []
        for img in images:
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise ValueError("expected HxWx3 uint8 BGR images, received "
                                 f"{getattr(img, 'shape', type(img).__name__)} {getattr(img, 'dtype', '')}")
        for start in range(0, len(images), self.batch_size):
            out.extend(self._detect_batch(list(images[start:start + self.batch_size])))
        return out

    def describe(self) -> dict:
        """What identifies this detector in manifests and audits."""
        return {"detector": self.name, "weights": self.weights, "min_confidence": self.min_confidence}


class MtcnnDetector(FaceDetector):
    """MTCNN from the ``mtcnn`` package (weights in the wheel)."""

    name = "mtcnn"

    def __init__(self, weights: str | Path | None = None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 batch_size: int = 8, min_face_size: int = 20) -> None:
        if weights is not None:
            warnings.warn(f"mtcnn uses the weights inside the mtcnn package; --weights {weights} is ignored",
                          stacklevel=2)
        super().__init__(None, min_confidence)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from mtcnn import MTCNN

        self.batch_size = int(batch_size)
        self.min_face_size = int(min_face_size)
        self._model = MTCNN(device="CPU:0")

    def _detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        # Pad every image at its top-left corner to one common size ourselves: mtcnn 1.0's own padding of
        # mixed-size batches (centre-justified) loses faces that the same image alone gives.
        hmax = max(im.shape[0] for im in images)
        wmax = max(im.shape[1] for im in images)
        batch = np.zeros((len(images), hmax, wmax, 3), dtype=np.uint8)
        for i, im in enumerate(images):
            batch[i, :im.shape[0], :im.shape[1]] = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
        res = np.asarray(self._model.detect_faces(list(batch), box_format="xyxy", output_type="numpy",
                                                  min_face_size=self.min_face_size), dtype=float)
        res = res.reshape(-1, 16) if res.size else np.zeros((0, 16))
        out = []
        for i, im in enumerate(images):
            h, w = im.shape[:2]
            r = res[(res[:, 0] == i) & (res[:, 5] >= self.min_confidence)]
            cx, cy = (r[:, 1] + r[:, 3]) / 2, (r[:, 2] + r[:, 4]) / 2
            r = r[(cx < w) & (cy < h)].copy()  # drop anything found in the padding
            r[:, [1, 3]] = r[:, [1, 3]].clip(0, w)
            r[:, [2, 4]] = r[:, [2, 4]].clip(0, h)
            # columns: image, x0, y0, x1, y1, score, 5 landmark x (left eye, right eye, nose, mouth left,
            # mouth right; "left" = the image's left), then the 5 landmark y
            lm = np.stack([r[:, 6:11], r[:, 11:16]], axis=2)
            out.append(Detections(r[:, 1:5].copy(), r[:, 5].copy(), lm))
        return out


class YunetDetector(FaceDetector):
    """YuNet through ``cv2.FaceDetectorYN`` (ONNX file)."""

    name = "yunet"

    def __init__(self, weights: str | Path | None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 nms_threshold: float = 0.3) -> None:
        path = _require_file(weights, "yunet", _WEIGHTS_WHAT["yunet"])
        super().__init__(path, min_confidence)
        try:
            self._model = cv2.FaceDetectorYN.create(str(path), "", (320, 320), self.min_confidence,
                                                    float(nms_threshold), 5000)
        except cv2.error as exc:
            raise ModelFileError(f"{path}: cannot be loaded by cv2.FaceDetectorYN ({str(exc).strip()[:200]}); "
                                 "expected the YuNet face detector ONNX file") from None

    def _detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            self._model.setInputSize((w, h))
            _, faces = self._model.detect(img)
            if faces is None or len(faces) == 0:
                out.append(Detections.empty())
                continue
            f = np.asarray(faces, dtype=float)
            boxes = np.stack([f[:, 0], f[:, 1], f[:, 0] + f[:, 2], f[:, 1] + f[:, 3]], axis=1)
            # YuNet order: right eye, left eye, nose, right mouth corner, left mouth corner (the person's
            # right is the image's left), i.e. already image-left first.
            out.append(Detections(boxes, np.clip(f[:, 14], 0, 1), f[:, 4:14].reshape(-1, 5, 2)))
        return out


class YoloDetector(FaceDetector):
    """Ultralytics YOLO face model (user-supplied ``.pt``)."""

    name = "yolo"

    def __init__(self, weights: str | Path | None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 batch_size: int = 16, imgsz: int = 640, device: str = "cpu") -> None:
        path = _require_file(weights, "yolo", _WEIGHTS_WHAT["yolo"])
        super().__init__(path, min_confidence)
        os.environ.setdefault("YOLO_OFFLINE", "1")
        _avoid_triton_after_tensorflow()
        from ultralytics import YOLO

        try:
            with warnings.catch_warnings():  # torch probing for CUDA on a CPU-only machine
                warnings.filterwarnings("ignore", message="CUDA initialization", category=UserWarning)
                self._model = YOLO(str(path))
        except Exception as exc:  # ultralytics/torch raise many types for a bad file
            raise ModelFileError(f"{path}: cannot be loaded as an Ultralytics YOLO model "
                                 f"({type(exc).__name__}: {str(exc)[:200]}); expected a face model .pt "
                                 "such as yolov8n-face.pt") from None
        names = {int(k): str(v) for k, v in dict(getattr(self._model, "names", {}) or {}).items()}
        face = [k for k, v in names.items() if v.strip().lower() == "face"]
        if face:
            self._classes: list[int] | None = face
        elif len(names) == 1:
            self._classes = None
        else:
            raise ModelFileError(f"{path}: expected a face detection model (one class, or a class named 'face'), "
                                 f"received classes {list(names.values())[:10]}")
        self.batch_size = int(batch_size)
        self.imgsz = int(imgsz)
        self.device = device

    def _detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="CUDA initialization", category=UserWarning)
            results = self._model.predict(images, conf=self.min_confidence, imgsz=self.imgsz, device=self.device,
                                          classes=self._classes, verbose=False)
        out = []
        for r in results:
            boxes = r.boxes.xyxy.cpu().numpy().astype(float).reshape(-1, 4)
            conf = r.boxes.conf.cpu().numpy().astype(float).reshape(-1)
            lm = None
            kp = getattr(r, "keypoints", None)
            if kp is not None and kp.xy is not None and tuple(kp.xy.shape[1:]) == (5, 2):
                lm = _image_left_first(kp.xy.cpu().numpy().astype(float).reshape(-1, 5, 2))
            out.append(Detections(boxes, conf, lm))
        return out


def _image_left_first(lm: np.ndarray) -> np.ndarray:
    """Put the eye and the mouth corner with the smaller x first (face models differ in naming "left").

    Under yaw the two eyes (and the two mouth corners) never swap sides in the
    image, so ordering by x gives the module's convention for any model.
    """
    out = lm.copy()
    for a, b in ((0, 1), (3, 4)):
        swap = out[:, a, 0] > out[:, b, 0]
        out[swap, a], out[swap, b] = lm[swap, b], lm[swap, a]
    return out


def _avoid_triton_after_tensorflow() -> None:
    """Keep torch from loading Triton when TensorFlow is already in this process.

    Triton's LLVM-based extension crashes the interpreter (segmentation fault) when
    it is loaded after TensorFlow's (torch imports it while importing torchvision).
    YOLO prediction does not use Triton (it only serves ``torch.compile`` kernels),
    so when TensorFlow came first, ``import triton`` is made to fail cleanly and
    torch carries on without it. Loaded in the other order, nothing is changed.
    """
    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        sys.modules["triton"] = None  # type: ignore[assignment]  # makes `import triton` raise ImportError


_WEIGHTS_WHAT = {"yunet": "the YuNet ONNX file (face_detection_yunet_2023mar.onnx from the OpenCV Zoo)",
                 "yolo": "an Ultralytics YOLO face model file such as yolov8n-face.pt"}


def check_weights(name: str, weights: str | Path | None) -> None:
    """Fail fast (before any long work) when ``name`` needs a weights file that is not there."""
    if name in _WEIGHTS_WHAT:
        _require_file(weights, name, _WEIGHTS_WHAT[name])


def _require_file(weights: str | Path | None, detector: str, what: str) -> Path:
    if weights is None or str(weights).strip() == "":
        raise ModelFileError(f"the {detector} detector needs {what}; pass it with --weights PATH "
                             f"(weights=... in Python)")
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ModelFileError(f"{path}: weights file not found; the {detector} detector needs {what}. "
                             "Pass an existing file with --weights PATH")
    return path


def load_detector(name: str, weights: str | Path | None = None,
                  min_confidence: float = DEFAULT_MIN_CONFIDENCE, **kwargs) -> FaceDetector:
    """Build a face detector by name.

    Parameters
    ----------
    name : {"mtcnn", "yunet", "yolo"}
    weights : str or Path, optional
        Model file: required for ``yunet`` (ONNX) and ``yolo`` (``.pt``); ``mtcnn`` uses its packaged weights.
    min_confidence : float
        Candidates below this score are dropped (the "face found" floor of the audit).
    **kwargs
        Backend options (``batch_size``, ``imgsz``, ``min_face_size``, ``nms_threshold``).

    Returns
    -------
    FaceDetector

    Raises
    ------
    ModelFileError
        The weights file is missing or is not a model of the expected kind; the
        message names the ``--weights`` option.
    ValueError
        Unknown detector name.
    """
    classes = {"mtcnn": MtcnnDetector, "yunet": YunetDetector, "yolo": YoloDetector}
    if name not in classes:
        raise ValueError(f"unknown detector {name!r}; expected one of {list(DETECTORS)}")
    return classes[name](weights, min_confidence=min_confidence, **kwargs)
