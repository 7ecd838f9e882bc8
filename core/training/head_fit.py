"""Phase 1 on cached moments with whole epochs inside one TensorFlow function, reused across configurations.

``model.fit`` runs one Python-driven step per batch: for the small cached head
that is ~11-13 ms per step on 2 CPU cores, of which ~4 ms is per-step overhead,
plus ~2-3 s of tracing for every new model. :class:`CachedHeadTrainer` instead
runs up to ``chunk_batches`` steps per call inside one traced loop, and the
same trainer (and so the same traced functions) serves every configuration of a
sweep that shares the head settings.

It is the same training as ``fit``, not an imitation: the loop calls the head's
own :meth:`keras.Model.train_step` and :meth:`keras.Model.test_step` (compiled
loss, optimizer, metrics; dropout masks drawn from the layers' seed generators)
on the batches of :class:`core.training.data.BatchStream` (row order
``epoch_order(n, phase_seed(cfg.seed, 1), epoch)``), and reads the logs with
``get_metrics_result`` as ``fit`` does. Sample weights of 1 stand in for "no
weights": Keras then computes exactly the unweighted loss and accuracy, so one
traced signature fits every configuration. ``tests/test_training_equivalence.py``
checks the result against ``fit`` through the full model (backbone included).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import keras
import numpy as np

from .data import epoch_order, phase_seed
from .features import build_cached_head, transfer_head

if TYPE_CHECKING:
    from .config import TrainConfig
    from .data import Streams

#: Validation rows per step on cached moments (a few kB per image; only speed depends on it).
VAL_BATCH = 1024
#: Training steps per traced call (progress is reported between calls).
CHUNK_BATCHES = 128


def _head_settings(cfg: "TrainConfig") -> tuple:
    """Settings a trained head depends on (the trainer can be reused when they are equal)."""
    return (cfg.head_units, cfg.dropout, cfg.head_bn_momentum, cfg.head_bn_epsilon, cfg.optimizer,
            cfg.phase1_learning_rate, cfg.batch_size, cfg.seed)


class CachedHeadTrainer:
    """Trains the head of :func:`core.training.model.build_model` on cached moments, one traced loop per chunk.

    Parameters
    ----------
    cfg : TrainConfig
        Head settings, phase-1 learning rate, batch size and seed.
    channels : int
        Channels of the backbone's final feature map (2048 for ResNet50V2).
    chunk_batches : int
        Training steps per traced call.

    Attributes
    ----------
    head : keras.Model
        The cached head (:func:`core.training.features.build_cached_head`).
    """

    def __init__(self, cfg: "TrainConfig", channels: int, chunk_batches: int = CHUNK_BATCHES) -> None:
        import tensorflow as tf

        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise ValueError(f"channels must be a positive integer, received {channels!r}")
        if not isinstance(chunk_batches, (int, np.integer)) or chunk_batches < 1:
            raise ValueError(f"chunk_batches must be a positive integer, received {chunk_batches!r}")
        self.cfg, self.channels, self.chunk_batches = cfg, int(channels), int(chunk_batches)
        self._settings = _head_settings(cfg)
        self.head = build_cached_head(cfg, self.channels)
        self.head.optimizer.build(self.head.trainable_variables)
        # build the compiled loss and metrics eagerly (no variables may be created inside the traced loops)
        self.head.test_step((np.zeros((1, 2, self.channels), np.float32), np.zeros((1, 7), np.float32)))
        self.head.reset_metrics()
        # what a freshly built head starts from besides its weights: optimizer slots and step, dropout seeds
        self._fresh = [(v, np.array(keras.ops.convert_to_numpy(v.value)))
                       for v in [*self.head.optimizer.variables, *self._seed_states()]]
        bs, head = cfg.batch_size, self.head
        x_spec = tf.TensorSpec((None, 2, self.channels), tf.float32)
        y_spec = tf.TensorSpec((None, 7), tf.float32)

        @tf.function(input_signature=[x_spec, y_spec, tf.TensorSpec((None,), tf.float32),
                                      tf.TensorSpec((None,), tf.int64)])
        def train_rows(x, y, w, rows):
            n_batches = (tf.shape(rows)[0] + bs - 1) // bs
            for b in tf.range(n_batches):
                idx = rows[b * bs:(b + 1) * bs]
                head.train_step((tf.gather(x, idx), tf.gather(y, idx), tf.gather(w, idx)))
            return n_batches

        @tf.function(input_signature=[x_spec, y_spec])
        def test_rows(x, y):
            n = tf.shape(x)[0]
            for start in tf.range(0, n, VAL_BATCH):
                head.test_step((x[start:start + VAL_BATCH], y[start:start + VAL_BATCH]))
            return n

        @tf.function(input_signature=[x_spec])
        def predict_rows(x):
            return head(x, training=False)

        self._train_rows, self._test_rows, self._predict_rows = train_rows, test_rows, predict_rows

    def _seed_states(self) -> list:
        return [layer.seed_generator.state for layer in self.head.layers
                if isinstance(layer, keras.layers.Dropout)]

    def accepts(self, cfg: "TrainConfig", channels: int) -> bool:
        """Whether this trainer trains the head that ``cfg`` describes on ``channels`` channels."""
        return _head_settings(cfg) == self._settings and int(channels) == self.channels

    def reset(self, source: keras.Model) -> None:
        """Start from ``source``'s head weights with a fresh optimizer and the dropout seeds as built."""
        transfer_head(source, self.head, self.cfg)
        for v, value in self._fresh:
            v.assign(value)

    def fit(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            epochs: int, weights: np.ndarray | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
            phase: int = 1) -> dict[str, list[float]]:
        """Train for ``epochs`` epochs with per-epoch validation; returns the history as ``fit`` would.

        Parameters
        ----------
        x_train, x_val : numpy.ndarray
            ``(n, 2, channels)`` cached moments.
        y_train, y_val : numpy.ndarray
            ``(n, 7)`` one-hot targets.
        epochs : int
        weights : numpy.ndarray, optional
            Per-row sample weights of the training rows.
        callbacks : sequence of keras.callbacks.Callback
            Get ``on_train_begin``, ``on_epoch_begin``, ``on_train_batch_end``
            (after each chunk), ``on_epoch_end`` (with the logs) and ``on_train_end``.
        phase : int
            Seeds the row order (:func:`core.training.data.phase_seed`, as :meth:`core.training.loop.Streams.pair`).

        Returns
        -------
        dict
            ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``: one value per epoch.

        Raises
        ------
        ValueError
            Shapes that do not match the trainer or each other.
        """
        import tensorflow as tf

        n = len(y_train)
        for name, x, y in (("training", x_train, y_train), ("validation", x_val, y_val)):
            if x.ndim != 3 or x.shape[1:] != (2, self.channels) or len(x) != len(y) or len(y) < 1:
                raise ValueError(f"{name} moments must be (n >= 1, 2, {self.channels}) with one target row each, "
                                 f"received {x.shape} and {np.shape(y)}")
        w = np.ones(n, np.float32) if weights is None else np.asarray(weights, np.float32)
        if w.shape != (n,):
            raise ValueError(f"weights must have one value per training row ({n}), received shape {w.shape}")
        xt, yt, wt = (tf.convert_to_tensor(np.asarray(a, np.float32)) for a in (x_train, y_train, w))
        xv, yv = (tf.convert_to_tensor(np.asarray(a, np.float32)) for a in (x_val, y_val))
        seed, bs = phase_seed(self.cfg.seed, phase), self.cfg.batch_size
        n_batches = -(-n // bs)
        history: dict[str, list[float]] = {}
        for cb in callbacks:
            cb.set_model(self.head)
            cb.on_train_begin()
        for epoch in range(int(epochs)):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            self.head.reset_metrics()
            order = epoch_order(n, seed, epoch)
            for first in range(0, n_batches, self.chunk_batches):
                last = min(first + self.chunk_batches, n_batches)
                self._train_rows(xt, yt, wt, tf.constant(order[first * bs:last * bs], tf.int64))
                for cb in callbacks:
                    cb.on_train_batch_end(last - 1, self._logs())
            logs = self._logs()
            self.head.reset_metrics()
            self._test_rows(xv, yv)
            logs.update({f"val_{k}": v for k, v in self._logs().items()})
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            for cb in callbacks:
                cb.on_epoch_end(epoch, dict(logs))
        for cb in callbacks:
            cb.on_train_end()
        return history

    def predict(self, moments: np.ndarray) -> np.ndarray:
        """Class probabilities of the head (inference mode) for cached moments ``(n, 2, channels)``.

        Raises
        ------
        ValueError
            Moments of another shape.
        """
        import tensorflow as tf

        if moments.ndim != 3 or moments.shape[1:] != (2, self.channels):
            raise ValueError(f"moments must be (n, 2, {self.channels}), received {moments.shape}")
        x = np.asarray(moments, np.float32)
        out = [self._predict_rows(tf.convert_to_tensor(x[i:i + VAL_BATCH])).numpy()
               for i in range(0, len(x), VAL_BATCH)]
        return np.concatenate(out) if out else np.zeros((0, 7), np.float32)

    def _logs(self) -> dict[str, float]:
        return {k: float(keras.ops.convert_to_numpy(v)) for k, v in self.head.get_metrics_result().items()}


def train_head_cached(model: keras.Model, data: "Streams", moments: np.ndarray, cfg: "TrainConfig",
                      callbacks: Sequence[keras.callbacks.Callback] = (),
                      trainer: CachedHeadTrainer | None = None) -> tuple[dict[str, list[float]], CachedHeadTrainer]:
    """Phase 1 of ``model`` (built by :func:`core.training.model.build_model`) from cached moments.

    The head starts from ``model``'s head weights and the trained weights are
    copied back into ``model``.

    Parameters
    ----------
    model : keras.Model
    data : Streams
        Targets and weights (:meth:`core.training.loop.Streams.from_manifest`).
    moments : numpy.ndarray
        ``(n_train + n_validation, 2, channels)``: training rows first, as in ``data``.
    cfg : TrainConfig
    callbacks : sequence of keras.callbacks.Callback
    trainer : CachedHeadTrainer, optional
        Reused when it accepts ``cfg`` (a sweep passes one to every configuration); built otherwise.

    Returns
    -------
    history : dict
    trainer : CachedHeadTrainer
        The trainer used (to pass to the next configuration).
    """
    n = len(data.y_train)
    if len(moments) != n + len(data.y_val):
        raise ValueError(f"expected moments for {n} training and {len(data.y_val)} validation rows, "
                         f"received {len(moments)}")
    channels = int(moments.shape[-1])
    if trainer is None or not trainer.accepts(cfg, channels):
        trainer = CachedHeadTrainer(cfg, channels)
    trainer.reset(model)
    history = trainer.fit(moments[:n], data.y_train, moments[n:], data.y_val, cfg.phase1_epochs, data.w_train,
                          callbacks)
    transfer_head(trainer.head, model, cfg)
    return history, trainer
