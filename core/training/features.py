"""Phase 1 from a cache: the frozen backbone runs once per unique image.

The head starts with BatchNormalization *before* global average pooling, so
pooled features alone are not enough to reproduce it. For each image the cache
holds the per-channel mean ``m`` and mean of squares ``s`` of the final feature
map (``hw`` positions). For a batch of ``B`` images, BatchNormalization in
training mode uses, per channel,

``mean = mean_i m_i`` and ``var = mean_i (s_i - m_i^2) + mean_i (m_i - mean)^2``

(the biased variance over ``B*h*w`` values, written in the numerically stable
within/between form), and since normalisation is affine per channel,
``GAP(BN(x))_i = gamma * (m_i - mean) / sqrt(var + eps) + beta``. Inference mode
uses the moving statistics the same way, and the moving statistics are updated
as Keras does. :class:`MomentsBatchNormPool` implements exactly that, so a
head trained from the cache is the same model as one trained through the
backbone; :func:`transfer_head` copies its weights into the full model.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import keras
import numpy as np
from keras import ops

from ..models.feature_cache import FeatureCache
from ..common.progress import ProgressFn
from .model import HEAD_BN, compile_model, dense_head, head_names

if TYPE_CHECKING:
    from ..models.backbones import Backbone
    from ..runs.executors import LocalExecutor, RayExecutor
    from .config import TrainConfig

MOMENTS_KIND = "bnmoments"


class MomentsBatchNormPool(keras.layers.Layer):
    """``GlobalAveragePooling2D(BatchNormalization(x))`` computed from per-image moments of ``x``.

    Input ``(batch, 2, channels)``: row 0 the per-image channel means, row 1 the
    per-image channel means of squares. Weights ``gamma, beta, moving_mean,
    moving_variance`` have the names, shapes and order of a Keras
    BatchNormalization layer, and are updated the same way in training mode.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape) -> None:
        if len(input_shape) != 3 or input_shape[1] != 2:
            raise ValueError(f"expected input (batch, 2, channels), received {input_shape}")
        c = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(c,), name="gamma", initializer="ones", trainable=True)
        self.beta = self.add_weight(shape=(c,), name="beta", initializer="zeros", trainable=True)
        self.moving_mean = self.add_weight(shape=(c,), name="moving_mean", initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(shape=(c,), name="moving_variance", initializer="ones",
                                               trainable=False)

    def call(self, inputs, training=None):
        m, s = inputs[:, 0, :], inputs[:, 1, :]
        if training and self.trainable:
            mean = ops.mean(m, axis=0)
            within = ops.mean(s - ops.square(m), axis=0)
            between = ops.mean(ops.square(m - mean), axis=0)
            variance = ops.maximum(within + between, 0.0)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        inv = ops.rsqrt(variance + self.epsilon) * self.gamma
        return m * inv + (self.beta - mean * inv)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


def build_cached_head(cfg: "TrainConfig", channels: int) -> keras.Model:
    """The head as a model on cached moments ``(2, channels)``, compiled for phase 1.

    Layer names match :func:`core.training.model.build_model`, so
    :func:`transfer_head` can copy weights both ways.
    """
    keras.utils.set_random_seed(cfg.seed)
    inputs = keras.Input((2, channels), name="moments")
    x = MomentsBatchNormPool(cfg.head_bn_momentum, cfg.head_bn_epsilon, name=HEAD_BN)(inputs)
    model = keras.Model(inputs, dense_head(x, cfg), name="cached_head")
    compile_model(model, cfg, cfg.phase1_learning_rate)
    return model


def transfer_head(src: keras.Model, dst: keras.Model, cfg: "TrainConfig") -> None:
    """Copy the head's weights (BatchNormalization by variable name, Dense layers in order) from ``src`` to ``dst``.

    Raises
    ------
    ValueError
        When a layer is missing or shapes differ.
    """
    for name in head_names(cfg):
        s, d = src.get_layer(name), dst.get_layer(name)
        if name == HEAD_BN:
            by_name = {v.name.split("/")[-1]: v for v in s.weights}
            for v in d.weights:
                key = v.name.split("/")[-1]
                if key not in by_name or tuple(by_name[key].shape) != tuple(v.shape):
                    raise ValueError(f"cannot transfer {name}.{key}: missing or shape mismatch")
                v.assign(by_name[key].value)
        else:
            d.set_weights(s.get_weights())


def backbone_fingerprint(backbone: "Backbone") -> str:
    """SHA-1 (10 hex digits) of every backbone weight: random initialisations differ by seed and version."""
    h = hashlib.sha1()
    for w in backbone.model.weights:
        h.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w.value)).tobytes())
    return h.hexdigest()[:10]


def cache_namespace(backbone: "Backbone", kind: str = MOMENTS_KIND, precision: str = "float32") -> str:
    """``<backbone>-<weights>-<size>-w<fingerprint>-<kind>[-bf16ov]``: what a cached array depends on.

    float32 arrays keep the namespace they had before precisions existed;
    bfloat16 ones (OpenVINO) get their own (:func:`core.models._precision.precision_tag`).
    """
    from ..models._precision import precision_tag

    return f"{backbone.tag}-w{backbone_fingerprint(backbone)}-{kind}{precision_tag(precision)}"


@dataclass(frozen=True)
class BackboneFeatures:
    """Builder of a headless backbone's feature pass (:func:`core.models.backbones.load_backbone` arguments).

    Calling it loads the backbone (the same seed gives the same random weights)
    and returns ``(namespace, batch_fn, load_fn)`` as
    :func:`compute_moments` uses them (a builder of
    :func:`core.models.feature_shards.compute_on_ray`).
    """

    name: str
    input_size: int
    weights: str
    seed: int = 0
    reduce: str = "moments"
    precision: str = "float32"

    def __call__(self) -> tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[Sequence[str]], np.ndarray]]:
        from ..models.backbones import load_backbone, load_rgb_batch, make_feature_fn

        bb = load_backbone(self.name, self.input_size, self.weights, seed=self.seed)
        kind = MOMENTS_KIND if self.reduce == "moments" else self.reduce
        size = bb.input_size
        return (cache_namespace(bb, kind, self.precision), make_feature_fn(bb, self.reduce, self.precision),
                lambda paths: load_rgb_batch(list(paths), size))


def compute_moments(paths: Sequence[str | Path], backbone: "Backbone", cache_root: str | Path,
                    batch_size: int = 32, progress: ProgressFn | None = None,
                    precision: str = "float32", executor: "LocalExecutor | RayExecutor | None" = None
                    ) -> tuple[np.ndarray, dict]:
    """Per-image channel mean and mean of squares of the final feature map, from the cache or computed once.

    Parameters
    ----------
    paths : sequence of path
        Image files (duplicates by content are computed once).
    backbone : Backbone
    cache_root : str or Path
        Feature cache root (``core.common.paths.cache_dir(artifacts) / "features"``).
    batch_size : int
    progress : callable, optional
    precision : {"float32", "bfloat16"}
        Precision of the backbone pass (:func:`core.models.backbones.make_feature_fn`);
        part of the cache namespace.
    executor : LocalExecutor or RayExecutor, optional
        Where the missing images are computed: here (default) or in shards by Ray
        actors that each rebuild the backbone once (:mod:`core.models.feature_shards`);
        the arrays land in the same cache either way.

    Returns
    -------
    moments : numpy.ndarray
        ``(n, 2, channels)`` float32.
    stats : dict
        ``namespace``, ``precision``, ``n_images``, ``n_computed`` (backbone forward
        passes run now) and, when a bfloat16 engine ran, ``engine``.
    """
    from ..models.backbones import load_rgb_batch, make_feature_fn

    cache = FeatureCache(cache_root, cache_namespace(backbone, precision=precision))
    shape = (2, int(backbone.model.output_shape[-1]))
    if executor is not None and not executor.is_local:
        from ..models.feature_shards import compute_on_ray

        builder = BackboneFeatures(backbone.name, backbone.input_size, backbone.weights_used, backbone.seed,
                                   "moments", precision)
        arr = compute_on_ray(cache, list(paths), builder, executor, batch_size, progress, item_shape=shape)
        fn = None
    else:
        fn = make_feature_fn(backbone, "moments", precision)
        arr = cache.compute(list(paths), fn, lambda ps: load_rgb_batch(list(ps), backbone.input_size), batch_size,
                            progress, item_shape=shape)
    stats = {"namespace": cache.namespace, "precision": precision, "n_images": len(paths),
             "n_computed": cache.n_computed}
    lazy = getattr(fn, "engine", None)
    if lazy is not None and lazy.built:
        stats["engine"] = lazy.engine.info()
    return arr.astype(np.float32, copy=False), stats
