"""Deterministic batch streams shared by the full pipeline and the cached pipelines.

Both ways of training see the same batches in the same order: batch ``b`` of
epoch ``e`` holds the rows ``permutation(seed, e)[b * batch_size:...]``. A
stream is an endless :class:`keras.utils.PyDataset` whose item ``i`` is a pure
function of ``i`` (epoch ``i // n_batches``), used with
``fit(steps_per_epoch=n_batches)`` so that Keras keeps one iterator across
epochs and prefetching cannot reorder anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import keras
import numpy as np
import pandas as pd

from ..common._errors import DataFormatError
from ..data.labels import EMOTIONS

if TYPE_CHECKING:
    from .config import TrainConfig


def one_hot(labels: Sequence[str], source: str = "<manifest>") -> np.ndarray:
    """``(n, 7)`` float32 one-hot targets in :data:`EMOTIONS` order.

    Raises
    ------
    DataFormatError
        A label outside :data:`EMOTIONS` (or missing).
    """
    index = {e: i for i, e in enumerate(EMOTIONS)}
    labels = list(labels)
    bad = sorted({str(v) for v in labels if v not in index})
    if bad:
        raise DataFormatError(f"labels must be one of {list(EMOTIONS)}, received {bad[:5]}", source, "label")
    out = np.zeros((len(labels), len(EMOTIONS)), np.float32)
    out[np.arange(len(labels)), [index[v] for v in labels]] = 1.0
    return out


def class_weights(labels: Sequence[str], mode: str) -> dict[str, float]:
    """Per-class weights in :data:`EMOTIONS` order.

    Parameters
    ----------
    labels : sequence of str
        Label per training row (missing values are left out).
    mode : {"none", "balanced"}
        ``none``: every class 1. ``balanced``: ``n / (k * n_class)`` over the k
        present classes, by :func:`sklearn.utils.class_weight.compute_class_weight`;
        a class absent from ``labels`` gets 0.

    Raises
    ------
    ValueError
        Another ``mode``.
    """
    from sklearn.utils.class_weight import compute_class_weight

    if mode == "none":
        return {e: 1.0 for e in EMOTIONS}
    if mode != "balanced":
        raise ValueError(f"class weight mode must be 'none' or 'balanced', received {mode!r}")
    y = pd.Series(list(labels), dtype=object).dropna().to_numpy()
    present = np.unique(y)
    weights = dict(zip(present, compute_class_weight("balanced", classes=present, y=y))) if len(y) else {}
    return {e: float(weights.get(e, 0.0)) for e in EMOTIONS}


def sample_weights(labels: Sequence[str], weights: dict[str, float]) -> np.ndarray:
    """Per-row weights from per-class weights."""
    return np.asarray([weights[v] for v in labels], np.float32)


def phase_seed(seed: int, phase: int) -> int:
    """Row-order seed of a training phase (``seed * 1000 + phase``), shared by every way of training it."""
    return int(seed) * 1000 + int(phase)


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """Row order of one epoch (a permutation seeded by ``(seed, epoch)``)."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


class BatchStream(keras.utils.PyDataset):
    """Batches of ``load(rows)`` with targets (and weights), in seeded per-epoch order.

    Parameters
    ----------
    n : int
        Number of rows.
    load : callable
        Sorted row indices -> model input (array, or list of arrays).
    targets : numpy.ndarray
        ``(n, 7)`` one-hot.
    batch_size : int
    seed : int
    weights : numpy.ndarray, optional
        Per-row sample weights.
    shuffle : bool
        False for evaluation streams (fixed order, finite).
    """

    def __init__(self, n: int, load: Callable[[np.ndarray], object], targets: np.ndarray, batch_size: int,
                 seed: int, weights: np.ndarray | None = None, shuffle: bool = True) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        if n < 1:
            raise ValueError("a batch stream needs at least one row")
        self.n, self.load, self.targets, self.weights = n, load, targets, weights
        self.batch_size, self.seed, self.shuffle = int(batch_size), int(seed), shuffle
        self.batches_per_epoch = -(-n // self.batch_size)
        self._orders: dict[int, np.ndarray] = {}

    @property
    def num_batches(self) -> int | None:
        return None if self.shuffle else self.batches_per_epoch

    def rows(self, i: int) -> np.ndarray:
        """Row indices of stream item ``i``."""
        epoch, b = divmod(int(i), self.batches_per_epoch)
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(self.n, self.seed, epoch, self.shuffle)}
        return self._orders[epoch][b * self.batch_size:(b + 1) * self.batch_size]

    def __getitem__(self, i: int):
        rows = self.rows(i)
        # sorted gathers read memory-mapped arrays sequentially; the batch order inside stays the permutation's
        srt = np.argsort(rows, kind="stable")
        inv = np.empty_like(srt)
        inv[srt] = np.arange(len(srt))
        x = self.load(rows[srt])
        x = tuple(a[inv] for a in x) if isinstance(x, (list, tuple)) else x[inv]
        if self.weights is None:
            return x, self.targets[rows]
        return x, self.targets[rows], self.weights[rows]


def array_loader(arrays: np.ndarray | Sequence[np.ndarray]) -> Callable[[np.ndarray], object]:
    """Loader gathering rows of in-memory (or memory-mapped) arrays."""
    if isinstance(arrays, (list, tuple)):
        return lambda rows: tuple(np.asarray(a[rows]) for a in arrays)
    return lambda rows: np.asarray(arrays[rows])


def image_loader(paths: Sequence[str], size: int) -> Callable[[np.ndarray], np.ndarray]:
    """Loader decoding and resizing image files to ``(b, size, size, 3)`` float32 0-255 (the full pipeline)."""
    from ..models.backbones import load_rgb_batch

    paths = list(paths)
    return lambda rows: load_rgb_batch([paths[r] for r in rows], size)


@dataclass
class Streams:
    """Training data for both phases: targets, weights, row order seeds."""

    train: pd.DataFrame
    val: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    w_train: np.ndarray | None
    weights: dict[str, float]

    @classmethod
    def from_manifest(cls, train: pd.DataFrame, cfg: "TrainConfig") -> "Streams":
        tr = train[train["split"] == "train"].reset_index(drop=True)
        va = train[train["split"] == "validation"].reset_index(drop=True)
        cw = class_weights(tr["label"], cfg.class_weight)
        w = None if cfg.class_weight == "none" else sample_weights(tr["label"], cw)
        return cls(tr, va, one_hot(tr["label"], "<train split>"), one_hot(va["label"], "<validation split>"), w, cw)

    def pair(self, load_train, load_val, cfg: "TrainConfig", phase: int,
             val_batch_size: int | None = None) -> tuple[BatchStream, BatchStream]:
        """Training stream (seeded per phase) and validation stream (fixed order; batch size only affects speed)."""
        seed = phase_seed(cfg.seed, phase)
        return (BatchStream(len(self.train), load_train, self.y_train, cfg.batch_size, seed, self.w_train),
                BatchStream(len(self.val), load_val, self.y_val, val_batch_size or max(cfg.batch_size, 64), seed,
                            shuffle=False))
