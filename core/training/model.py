"""The seed's classifier, keras-io transfer-learning style.

``pixels (0-255) -> preprocessing layer -> backbone(training=False) ->
BatchNormalization -> GlobalAveragePooling2D -> [Dense(u, relu) -> Dropout]*4 ->
Dense(7, softmax)``. The preprocessing is made of standard Keras layers, so the
saved ``model.keras`` takes float 0-255 pixels and loads in safe mode.

Keras 3 note, checked on the pinned version: inside a functional model called
with ``training=True`` (as ``fit`` does), the ``training=False`` of
``base(x, training=False)`` is overridden (keras-team/keras#20285). The
backbone's BatchNormalization layers still run in inference mode as long as
they are not trainable, so :func:`unfreeze_top` keeps them frozen by default:
that is what the keras-io recipe intends.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np

from ..data.labels import EMOTIONS

if TYPE_CHECKING:
    from ..models.backbones import Backbone
    from .config import TrainConfig

HEAD_BN = "head_bn"
HEAD_GAP = "head_gap"
OUTPUT = "predictions"
PREPROCESS = "preprocess"
INPUT = "pixels"
#: ImageNet channel means in BGR order ("caffe" preprocessing of ResNet50).
CAFFE_MEAN_BGR: tuple[float, float, float] = (103.939, 116.779, 123.68)


def head_names(cfg: "TrainConfig") -> list[str]:
    """Names of the head layers that carry weights, in order (shared by the full and cached models)."""
    return [HEAD_BN] + [f"head_dense_{i}" for i in range(len(cfg.head_units))] + [OUTPUT]


def preprocessing_layer(backbone: str, input_size: int) -> keras.layers.Layer:
    """Standard Keras layer equal to the backbone's ``preprocess_input`` on 0-255 RGB pixels.

    ``resnet50v2``: ``x / 127.5 - 1`` (a Rescaling layer). ``resnet50``: RGB to
    BGR and ImageNet mean subtraction (a fixed, non-trainable 1x1 convolution).
    """
    if backbone == "resnet50v2":
        return keras.layers.Rescaling(scale=1.0 / 127.5, offset=-1.0, name=PREPROCESS)
    if backbone == "resnet50":
        conv = keras.layers.Conv2D(3, 1, use_bias=True, trainable=False, name=PREPROCESS)
        conv.build((None, input_size, input_size, 3))
        kernel = np.zeros((1, 1, 3, 3), np.float32)
        for out_c, in_c in enumerate((2, 1, 0)):
            kernel[0, 0, in_c, out_c] = 1.0
        conv.set_weights([kernel, -np.asarray(CAFFE_MEAN_BGR, np.float32)])
        return conv
    raise ValueError(f"no preprocessing layer for backbone {backbone!r}; expected 'resnet50v2' or 'resnet50'")


def dense_head(x: keras.KerasTensor, cfg: "TrainConfig") -> keras.KerasTensor:
    """The part of the head after pooling: Dense/Dropout blocks and the 7-way softmax.

    Dropout layers get fixed seeds (``cfg.seed + i + 1``) so two models built
    from one config draw the same masks for the same batches.
    """
    for i, units in enumerate(cfg.head_units):
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense_{i}")(x)
        x = keras.layers.Dropout(cfg.dropout, seed=cfg.seed + i + 1, name=f"head_dropout_{i}")(x)
    return keras.layers.Dense(len(EMOTIONS), activation="softmax", name=OUTPUT)(x)


def head_batchnorm(cfg: "TrainConfig") -> keras.layers.BatchNormalization:
    """The head's BatchNormalization (before pooling)."""
    return keras.layers.BatchNormalization(momentum=cfg.head_bn_momentum, epsilon=cfg.head_bn_epsilon, name=HEAD_BN)


def load_backbone_for(cfg: "TrainConfig") -> "Backbone":
    """The backbone a config asks for (ImageNet weights that cannot be had raise WeightsUnavailableError)."""
    from ..models.backbones import load_backbone

    return load_backbone(cfg.backbone, cfg.input_size, cfg.weights, seed=cfg.seed)


def build_model(cfg: "TrainConfig", backbone: "Backbone | None" = None) -> keras.Model:
    """The full classifier, compiled for phase 1 (backbone frozen).

    Parameters
    ----------
    cfg : TrainConfig
    backbone : Backbone, optional
        Already loaded backbone (must match ``cfg``); loaded from ``cfg`` otherwise.

    Returns
    -------
    keras.Model
        Input ``(input_size, input_size, 3)`` float pixels 0-255, output 7
        softmax probabilities in :data:`core.data.labels.EMOTIONS` order.

    Raises
    ------
    ValueError
        A backbone that does not match the config.
    """
    if backbone is None:
        backbone = load_backbone_for(cfg)
    if backbone.name != cfg.backbone or backbone.input_size != cfg.input_size:
        raise ValueError(f"backbone {backbone.name}@{backbone.input_size} does not match the config "
                         f"({cfg.backbone}@{cfg.input_size})")
    keras.utils.set_random_seed(cfg.seed)
    base = backbone.model
    base.trainable = False
    inputs = keras.Input((cfg.input_size, cfg.input_size, 3), name=INPUT)
    x = preprocessing_layer(cfg.backbone, cfg.input_size)(inputs)
    x = base(x, training=False)
    x = head_batchnorm(cfg)(x)
    x = keras.layers.GlobalAveragePooling2D(name=HEAD_GAP)(x)
    model = keras.Model(inputs, dense_head(x, cfg), name=f"fer_{cfg.backbone}")
    compile_model(model, cfg, cfg.phase1_learning_rate)
    return model


def compile_model(model: keras.Model, cfg: "TrainConfig", learning_rate: float) -> keras.Model:
    """(Re)compile with the config's optimizer, categorical cross-entropy and accuracy."""
    opt = keras.optimizers.Adamax if cfg.optimizer == "adamax" else keras.optimizers.Adam
    model.compile(optimizer=opt(learning_rate=learning_rate), loss=keras.losses.CategoricalCrossentropy(),
                  metrics=["accuracy"])
    return model


def backbone_of(model: keras.Model) -> keras.Model:
    """The nested backbone model inside a model built by :func:`build_model`."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(f"expected one nested backbone model in {model.name!r}, found {len(nested)}")
    return nested[0]


def unfreeze_top(model: keras.Model, n: int, cfg: "TrainConfig | None" = None,
                 unfreeze_batchnorm: bool = False) -> list[str]:
    """Make the last ``n`` backbone layers trainable (phase 2); recompile when ``cfg`` is given.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build_model`.
    n : int
        Layers counted from the end of the backbone.
    cfg : TrainConfig, optional
        When given, the model is recompiled with ``cfg.phase2_learning_rate``
        (a change of ``trainable`` takes effect only after compiling).
    unfreeze_batchnorm : bool
        Also make the backbone's BatchNormalization layers among them trainable
        (they then normalise with batch statistics in Keras 3; see the module docstring).

    Returns
    -------
    list of str
        Names of the backbone layers that now have trainable weights.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, received {n!r}")
    base = backbone_of(model)
    base.trainable = True
    layers = base.layers
    for layer in layers[:-n]:
        layer.trainable = False
    for layer in layers[-n:]:
        layer.trainable = unfreeze_batchnorm or not isinstance(layer, keras.layers.BatchNormalization)
    if cfg is not None:
        compile_model(model, cfg, cfg.phase2_learning_rate)
    return [layer.name for layer in layers[-n:] if layer.trainable and layer.weights]
