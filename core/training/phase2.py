"""Phase 2 (fine-tuning the last backbone layers) from cached activations at the unfreezing point.

Everything before the first trainable backbone layer is frozen and runs in
inference mode, so its outputs do not change during phase 2: they are computed
once per image (the tensors that cross into the trainable part, e.g. for
ResNet50V2's last 10 layers the ``conv5_block3_1_conv`` output and the
``conv5_block2_out`` shortcut) and the trainable suffix plus head is trained
on them. The suffix and head layers are the full model's own layer objects, so
training them updates the full model directly.

The activations are held in memory when they fit ``phase2_memory_gb``, else
in a memory-mapped file; when that cannot be done either, phase 2 runs through
the full model.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import keras
import numpy as np

from ..common._batching import prefetched_batches
from ..common.progress import ProgressFn
from .model import backbone_of

if TYPE_CHECKING:
    from .config import TrainConfig


@dataclass
class Phase2Split:
    """The full model cut at the unfreezing point.

    Attributes
    ----------
    prefix : keras.Model
        Preprocessed pixels -> boundary tensors (frozen part of the backbone).
    model : keras.Model
        Boundary tensors -> probabilities (trainable suffix + head, shared layers).
    boundary : list of str
        Names of the layers whose outputs are cached.
    shapes : list of tuple
        Per-image shapes of the boundary tensors.
    """

    prefix: keras.Model
    model: keras.Model
    boundary: list[str]
    shapes: list[tuple[int, ...]]

    @property
    def bytes_per_image(self) -> int:
        return int(sum(4 * np.prod(s) for s in self.shapes))


def _producers(tensors) -> list:
    flat = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return [t._keras_history.operation for t in flat]


def split_at_unfreezing_point(model: keras.Model, n: int) -> Phase2Split:
    """Cut a model built by :func:`core.training.model.build_model` before its last ``n`` backbone layers.

    Raises
    ------
    ValueError
        When the backbone is not a plain layer graph the cut can follow.
    """
    base = backbone_of(model)
    layers = base.layers
    suffix = layers[-n:]
    suffix_ids = {id(layer) for layer in suffix}
    boundary: list = []
    for layer in suffix:
        for producer in _producers(layer.input):
            if id(producer) not in suffix_ids and all(producer is not b for b in boundary):
                boundary.append(producer)
    if not boundary or any(isinstance(b, keras.layers.InputLayer) for b in boundary):  # none: the input is cut too
        raise ValueError(f"cannot cut {base.name}: {n} layers reach back to its input")
    prefix = keras.Model(base.inputs, [b.output for b in boundary], name="phase2_prefix")
    new_inputs = [keras.Input(tuple(b.output.shape[1:]), name=f"cut_{b.name}") for b in boundary]
    tensors = {id(b.output): t for b, t in zip(boundary, new_inputs)}
    for layer in suffix:
        inp = layer.input
        if isinstance(inp, (list, tuple)):
            out = layer([tensors[id(t)] for t in inp], training=False)
        else:
            out = layer(tensors[id(inp)], training=False)
        tensors[id(layer.output)] = out
    x = tensors[id(base.output)]
    after = model.layers[model.layers.index(base) + 1:]
    for layer in after:
        x = layer(x)
    split_model = keras.Model(new_inputs, x, name="phase2_suffix_head")
    return Phase2Split(prefix, split_model, [b.name for b in boundary],
                       [tuple(int(d) for d in b.output.shape[1:]) for b in boundary])


def plan_phase2(cfg: "TrainConfig", n_images: int, bytes_per_image: int, scratch: Path) -> tuple[str, str]:
    """Where phase 2 runs: ``("cached", "memory"|"disk")`` or ``("full", reason)``."""
    need = n_images * bytes_per_image
    if cfg.phase2_mode == "full":
        return "full", "phase2_mode='full'"
    if need <= cfg.phase2_memory_gb * 2**30:
        return "cached", "memory"
    scratch.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(scratch).free
    if need * 1.1 < free:
        return "cached", "disk"
    if cfg.phase2_mode == "cached":
        raise MemoryError(f"phase-2 activations need {need / 2**30:.1f} GiB; {cfg.phase2_memory_gb} GiB of memory "
                          f"allowed and {free / 2**30:.1f} GiB free on disk at {scratch}")
    return "full", f"activations need {need / 2**30:.1f} GiB: more than memory allowed and disk free"


def compute_boundary(split: Phase2Split, preprocess: keras.layers.Layer, paths: Sequence[str], input_size: int,
                     batch_size: int, storage: str, scratch: Path | None = None,
                     progress: ProgressFn | None = None) -> list[np.ndarray]:
    """Boundary activations for every path, in memory or in memory-mapped ``.npy`` files under ``scratch``."""
    import tensorflow as tf

    from ..models.backbones import load_rgb_batch

    n = len(paths)
    if storage == "disk":
        if scratch is None:
            raise ValueError("storage='disk' needs a scratch folder")
        scratch.mkdir(parents=True, exist_ok=True)
        outs = [np.lib.format.open_memmap(scratch / f"{name}.npy", mode="w+", dtype=np.float32, shape=(n, *shape))
                for name, shape in zip(split.boundary, split.shapes)]
    else:
        outs = [np.empty((n, *shape), np.float32) for shape in split.shapes]
    prefix = split.prefix

    @tf.function(reduce_retracing=True)
    def fwd(x):
        return prefix(preprocess(x), training=False)

    for start, stop, batch in prefetched_batches(list(paths), lambda ps: load_rgb_batch(list(ps), input_size),
                                                 batch_size):
        res = fwd(tf.convert_to_tensor(batch))
        res = res if isinstance(res, (list, tuple)) else [res]
        for o, r in zip(outs, res):
            o[start:stop] = r.numpy()
        if progress is not None:
            progress(stop, n, "phase 2: activations at the unfreezing point")
    for o in outs:
        if isinstance(o, np.memmap):
            o.flush()
    return outs
