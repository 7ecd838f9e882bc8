"""Content-addressed on-disk cache of per-image arrays (backbone features, embeddings).

Items are keyed by the SHA-1 of the image file's bytes, inside a *namespace*
that must encode everything else the array depends on: backbone, weights,
input size and what is stored (``"resnet50v2-imagenet-224-bnmoments"``). Shards
are ``.npz`` files written atomically, so an interrupted computation keeps every
shard already flushed and a later call computes only what is missing.

Each shard has its SHA-1 stored beside it (``shard-<id>.npz.sha1``), checked
when the cache is opened: a shard that is truncated, corrupt, of a foreign
layout or of another array shape than the rest is moved to ``.quarantine/``
with a warning naming it, and its items are computed again. Computing holds a
lock on the namespace, so two processes never compute (and store) the same
items twice: the second one waits and then finds them cached.
"""
from __future__ import annotations

import re
import uuid
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..common._batching import prefetched_batches
from ..common._io import atomic_write, atomic_write_text, file_sha1, locked, quarantine
from ..common.progress import ProgressFn

_NAMESPACE = re.compile(r"^[A-Za-z0-9._+=-]+$")


def image_key(path: str | Path) -> str:
    """SHA-1 of a file's bytes (the cache key of an image)."""
    return file_sha1(path)


class FeatureCache:
    """Arrays keyed by image content within one namespace.

    Parameters
    ----------
    root : str or Path
        Cache root, usually ``core.common.paths.cache_dir(artifacts) / "features"``.
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
            shapes: dict[Path, tuple[int, ...]] = {}
            adopted: list[Path] = []
            if self.dir.is_dir():
                for shard in sorted(self.dir.glob("shard-*.npz")):
                    keys, problem = self._check_shard(shard, shapes)
                    if problem is not None:
                        self._quarantine(shard, problem)
                        continue
                    if not shard.with_name(shard.name + ".sha1").is_file():
                        adopted.append(shard)
                    for i, k in enumerate(keys):
                        self._index[str(k)] = (shard, i)
            self._drop_odd_shapes(shapes, adopted)
            for shard in adopted:  # shards from before checksums that read back whole: checksum them now
                if shard.is_file():
                    atomic_write_text(file_sha1(shard), shard.with_name(shard.name + ".sha1"))
        return self._index

    @staticmethod
    def _check_shard(shard: Path, shapes: dict[Path, tuple[int, ...]]) -> tuple[np.ndarray, str | None]:
        """Keys of a shard and None, or why it cannot be used (checksum, zip CRC, layout)."""
        sidecar = shard.with_name(shard.name + ".sha1")
        if sidecar.is_file():
            try:
                expected = sidecar.read_text().strip()
            except OSError as exc:
                return np.zeros(0), f"checksum file unreadable ({exc})"
            if file_sha1(shard) != expected:
                return np.zeros(0), f"SHA-1 differs from the one stored in {sidecar.name} (corrupt or truncated)"
        try:
            with np.load(shard, allow_pickle=False) as z:
                keys = z["keys"]
                if sidecar.is_file():  # checksum verified: the values' header is enough
                    with z.zip.open("values.npy") as fh:
                        fmt = np.lib.format
                        major, _ = fmt.read_magic(fh)
                        read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
                        shape = read_header(fh)[0]
                else:
                    shape = z["values"].shape  # reading the member checks its zip CRC
        except Exception as exc:  # a foreign, truncated or corrupt file
            return np.zeros(0), f"unreadable ({type(exc).__name__}: {str(exc)[:150]})"
        if len(shape) < 1 or shape[0] != len(keys):
            return np.zeros(0), f"{len(keys)} keys but values of shape {shape}"
        shapes[shard] = tuple(shape[1:])
        return keys, None

    def _drop_odd_shapes(self, shapes: dict[Path, tuple[int, ...]], adopted: list[Path]) -> None:
        """Quarantine shards whose arrays differ in shape from the checksummed shards' (a foreign writer)."""
        if len(set(shapes.values())) < 2 or self._index is None:
            return
        trusted = [s for s in shapes if s not in adopted] or list(shapes)
        weight: dict[tuple[int, ...], int] = {}
        for shard in trusted:
            weight[shapes[shard]] = weight.get(shapes[shard], 0) + 1
        common = max(weight, key=lambda k: weight[k])
        for shard, sh in shapes.items():
            if sh != common:
                self._quarantine(shard, f"arrays of shape {sh}, expected {common} like the other shards")
                self._index = {k: v for k, v in self._index.items() if v[0] != shard}

    def _quarantine(self, shard: Path, problem: str) -> None:
        sidecar = shard.with_name(shard.name + ".sha1")
        try:
            dest = quarantine(shard, f"{shard}: {problem}")
            if sidecar.is_file():
                quarantine(sidecar, f"checksum of {shard.name}")
        except OSError:
            dest = shard
        warnings.warn(f"feature cache shard {shard}: {problem}; moved to {dest} and its items will be computed "
                      "again", stacklevel=4)

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

        def write(tmp: Path) -> None:
            np.savez(tmp, keys=np.asarray(keys, dtype=str), values=arrays)
            atomic_write_text(file_sha1(tmp), shard.with_name(shard.name + ".sha1"))  # checksum first

        atomic_write(shard, write, prefix=".shard-", suffix=".npz")  # ".npz": np.savez would append it
        index = self._load_index()
        for i, k in enumerate(keys):
            index[k] = (shard, i)

    def compute(self, paths: Sequence[str | Path], batch_fn: Callable[[np.ndarray], np.ndarray],
                load_fn: Callable[[Sequence[str | Path]], np.ndarray], batch_size: int = 32,
                progress: ProgressFn | None = None, flush_every: int = 256,
                item_shape: tuple[int, ...] | None = None) -> np.ndarray:
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
        item_shape : tuple of int, optional
            Shape of one array, when known: cached arrays of another shape are
            quarantined with their shard and computed again.

        Returns
        -------
        numpy.ndarray
            ``(len(paths), ...)`` in the order of ``paths``.
        """
        keys = [image_key(p) for p in paths]
        have = self._get_checked(keys, item_shape)
        if len(have) < len(set(keys)):
            with locked(self.dir.parent / f".{self.namespace}.lock"):
                self._index = None  # another process may have stored items while this one waited
                have = self._get_checked(keys, item_shape)
                return self._compute_locked(keys, paths, have, batch_fn, load_fn, batch_size, progress,
                                            flush_every)
        return self._compute_locked(keys, paths, have, batch_fn, load_fn, batch_size, progress, flush_every)

    def compute_with(self, paths: Sequence[str | Path],
                     produce: Callable[[list[str | Path]], Iterable[tuple[Sequence[int], np.ndarray]]],
                     progress: ProgressFn | None = None, item_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Arrays for every path like :meth:`compute`, the missing ones computed elsewhere (e.g. on Ray workers).

        Parameters
        ----------
        paths : sequence of path
            Image files; duplicates (by content) are computed once.
        produce : callable
            ``produce(todo)`` for the list of image paths to compute yields
            ``(indices into todo, arrays)`` as parts finish; each part is stored
            here at once (one shard, atomic), under the namespace's lock.
        progress : callable, optional
            ``progress(done, total, message)`` over the images to compute, as parts finish.
        item_shape : tuple of int, optional
            As in :meth:`compute`.

        Returns
        -------
        numpy.ndarray
            ``(len(paths), ...)`` in the order of ``paths``.
        """
        keys = [image_key(p) for p in paths]
        have = self._get_checked(keys, item_shape)
        if len(have) < len(set(keys)):
            with locked(self.dir.parent / f".{self.namespace}.lock"):
                self._index = None  # another process may have stored items while this one waited
                have = self._get_checked(keys, item_shape)
                self._fill(keys, paths, have, produce, progress)
        if not keys:
            return np.zeros((0,))
        return np.stack([have[k] for k in keys])

    def _fill(self, keys: list[str], paths: Sequence[str | Path], have: dict[str, np.ndarray],
              produce: Callable[[list[str | Path]], Iterable[tuple[Sequence[int], np.ndarray]]],
              progress: ProgressFn | None) -> None:
        todo: dict[str, str | Path] = {}
        for k, p in zip(keys, paths):
            if k not in have and k not in todo:
                todo[k] = p
        todo_keys = list(todo)
        total, done = len(todo_keys), 0
        if progress is not None:
            progress(0, total, f"{len(have)} cached, {total} to compute")
        for indices, arrays in produce([todo[k] for k in todo_keys]):
            arrays = np.asarray(arrays)
            if len(indices) != len(arrays):
                raise ValueError(f"a part of {len(indices)} images came back with {len(arrays)} arrays")
            part = [todo_keys[i] for i in indices]
            self.put_many(part, arrays)
            have.update(zip(part, arrays))
            self.n_computed += len(part)
            done += len(part)
            if progress is not None:
                progress(done, total, "computing features")
        missing = [k for k in todo_keys if k not in have]
        if missing:
            raise RuntimeError(f"{len(missing)} of {total} images came back without arrays, e.g. {todo[missing[0]]}")
        if todo_keys:
            wanted = have[todo_keys[0]].shape
            odd = {k for k in set(keys) if have[k].shape != wanted}
            if odd:  # cached arrays of another shape than this computation gives: not ours, compute them
                for shard in {self._load_index()[k][0] for k in odd if k in self._load_index()}:
                    self._quarantine(shard, f"arrays of another shape than {wanted} computed now")
                self._index = None
                for k in odd:
                    del have[k]
                self._fill(keys, paths, have, produce, None)

    def _get_checked(self, keys: Sequence[str], item_shape: tuple[int, ...] | None) -> dict[str, np.ndarray]:
        have = self.get_many(keys)
        if item_shape is None:
            return have
        odd = {k for k, v in have.items() if v.shape != tuple(item_shape)}
        for shard in {self._load_index()[k][0] for k in odd}:
            self._quarantine(shard, f"arrays of another shape than {tuple(item_shape)}")
        if odd:
            self._index = None
            have = {k: v for k, v in self.get_many(keys).items() if v.shape == tuple(item_shape)}
        return have

    def _compute_locked(self, keys: list[str], paths: Sequence[str | Path], have: dict[str, np.ndarray],
                        batch_fn: Callable[[np.ndarray], np.ndarray],
                        load_fn: Callable[[Sequence[str | Path]], np.ndarray], batch_size: int,
                        progress: ProgressFn | None, flush_every: int) -> np.ndarray:
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
        if todo_keys:
            wanted = have[todo_keys[0]].shape
            odd = {k for k in set(keys) if have[k].shape != wanted}
            if odd:  # cached arrays of another shape than this computation gives: not ours, compute them
                for shard in {self._load_index()[k][0] for k in odd if k in self._load_index()}:
                    self._quarantine(shard, f"arrays of another shape than {wanted} computed now")
                self._index = None
                redo = {k: p for k, p in zip(keys, paths) if k in odd}
                fresh = self._compute_locked(list(redo), list(redo.values()), {}, batch_fn, load_fn, batch_size,
                                             None, flush_every)
                have.update(zip(redo, fresh))
        return np.stack([have[k] for k in keys])
