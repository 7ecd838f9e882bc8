"""Content-addressed on-disk cache of per-image arrays (backbone features, embeddings).

Items are keyed by the SHA-1 of the image file's bytes, inside a *namespace*
that must encode everything else the array depends on: backbone, weights,
input size and what is stored (``"resnet50v2-imagenet-224-bnmoments"``). Shards
are ``.npz`` files written atomically, so an interrupted computation keeps every
shard already flushed and a later call computes only what is missing.
"""
from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ._batching import prefetched_batches
from ._io import file_sha1
from .progress import ProgressFn

_NAMESPACE = re.compile(r"^[A-Za-z0-9._+=-]+$")


def image_key(path: str | Path) -> str:
    """SHA-1 of a file's bytes (the cache key of an image)."""
    return file_sha1(path)


class FeatureCache:
    """Arrays keyed by image content within one namespace.

    Parameters
    ----------
    root : str or Path
        Cache root, usually ``core.paths.cache_dir(artifacts) / "features"``.
    namespace : str
        Letters, digits and ``._+=-`` only; encodes what the arrays depend on.
    """

    def __init__(self, root: str | Path, namespace: str) -> None:
        if not _NAMESPACE.match(namespace or ""):
            raise ValueError(f"namespace must match {_NAMESPACE.pattern}, received {namespace!r}")
        self.dir = Path(root) / namespace
        self.namespace = namespace
        self._index: dict[str, tuple[Path, int]] | None = None
        self.n_computed = 0  # items computed (not read from disk) by this instance

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            self._index = {}
            if self.dir.is_dir():
                for shard in sorted(self.dir.glob("shard-*.npz")):
                    try:
                        with np.load(shard) as z:
                            keys = z["keys"]
                    except Exception:  # a foreign or truncated file: ignore it, recompute its items
                        continue
                    for i, k in enumerate(keys):
                        self._index[str(k)] = (shard, i)
        return self._index

    def __contains__(self, key: str) -> bool:
        return key in self._load_index()

    def __len__(self) -> int:
        return len(self._load_index())

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Arrays for the keys present in the cache (missing keys are absent from the result)."""
        index = self._load_index()
        by_shard: dict[Path, list[tuple[str, int]]] = {}
        for k in set(keys):
            if k in index:
                shard, i = index[k]
                by_shard.setdefault(shard, []).append((k, i))
        out: dict[str, np.ndarray] = {}
        for shard, items in by_shard.items():
            with np.load(shard) as z:
                values = z["values"]
                for k, i in items:
                    out[k] = values[i]
        return out

    def put_many(self, keys: Sequence[str], arrays: np.ndarray) -> None:
        """Store ``arrays[i]`` under ``keys[i]`` in a new shard (atomic)."""
        arrays = np.asarray(arrays)
        if len(keys) != len(arrays):
            raise ValueError(f"{len(keys)} keys but {len(arrays)} arrays")
        if not len(keys):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        shard = self.dir / f"shard-{uuid.uuid4().hex}.npz"
        fd, tmp = tempfile.mkstemp(prefix=".shard-", suffix=".npz", dir=self.dir)
        os.close(fd)
        try:
            np.savez(tmp, keys=np.asarray(keys, dtype=str), values=arrays)
            os.replace(tmp, shard)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        index = self._load_index()
        for i, k in enumerate(keys):
            index[k] = (shard, i)

    def compute(self, paths: Sequence[str | Path], batch_fn: Callable[[np.ndarray], np.ndarray],
                load_fn: Callable[[Sequence[str | Path]], np.ndarray], batch_size: int = 32,
                progress: ProgressFn | None = None, flush_every: int = 256) -> np.ndarray:
        """Arrays for every path, computing only images not cached yet.

        Parameters
        ----------
        paths : sequence of path
            Image files; duplicates (by content) are computed once.
        batch_fn : callable
            Decoded batch -> arrays (the model's forward pass and reduction).
        load_fn : callable
            List of paths -> decoded, resized batch; runs in a background thread
            one batch ahead of ``batch_fn``.
        batch_size : int
        progress : callable, optional
            ``progress(done, total, message)`` over the images to compute.
        flush_every : int
            Items per shard written while computing (what survives an interruption).

        Returns
        -------
        numpy.ndarray
            ``(len(paths), ...)`` in the order of ``paths``.
        """
        keys = [image_key(p) for p in paths]
        have = self.get_many(keys)
        todo: dict[str, str | Path] = {}
        for k, p in zip(keys, paths):
            if k not in have and k not in todo:
                todo[k] = p
        todo_keys = list(todo)
        total = len(todo_keys)
        if progress is not None:
            progress(0, total, f"{len(have)} cached, {total} to compute")
        pend_k: list[str] = []
        pend_v: list[np.ndarray] = []
        try:
            for start, stop, batch in prefetched_batches([todo[k] for k in todo_keys], load_fn, batch_size):
                values = np.asarray(batch_fn(batch))
                for k, v in zip(todo_keys[start:stop], values):
                    have[k] = v
                    pend_k.append(k)
                    pend_v.append(v)
                self.n_computed += stop - start
                if len(pend_k) >= flush_every:
                    self.put_many(pend_k, np.stack(pend_v))
                    pend_k, pend_v = [], []
                if progress is not None:
                    progress(stop, total, "computing features")
        finally:
            # What was computed before an error (a corrupt image, an interrupt) is kept.
            if pend_k:
                self.put_many(pend_k, np.stack(pend_v))
        if not keys:
            return np.zeros((0,))
        return np.stack([have[k] for k in keys])
