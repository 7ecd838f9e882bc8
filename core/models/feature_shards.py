"""Feature extraction split into shards over Ray actors, stored in the same content-addressed cache.

The images missing from a :class:`~core.models.feature_cache.FeatureCache`
namespace are split into contiguous shards (:func:`shard_bounds`). A pool of
Ray actors (:class:`ray.util.ActorPool`), one per ``cpus_per_worker`` CPUs of
the cluster, each builds the model once from a picklable *builder* (the same
backbone, weights and seed as a local pass:
:class:`core.training.features.BackboneFeatures`, or
:func:`core.latent.embeddings.extractor_fns`) and computes the arrays of each
shard it is given. The driver writes each shard's arrays into the cache as it
comes back (:meth:`FeatureCache.compute_with`: the namespace's lock and atomic
shards as for local runs) and reports progress. A worker whose model gives
another cache namespace than the driver's (other weights) is an error: the
values would not be those of a local pass.

The actors are the executor's (:meth:`RayExecutor.actors
<core.runs.executors.RayExecutor.actors>`): kept after a pass, so a second pass
through the same executor with the same builder (a script extracting several
sets) reuses them; they are killed before the executor runs tasks, after a
failed pass, and when it closes.

Only :func:`compute_on_ray` imports Ray (through the executor); the local path
(:meth:`FeatureCache.compute`) never does. Workers read the images and weights
from the same paths as the driver (a shared file system on a multi-node cluster).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ..common._batching import prefetched_batches
from ..common.progress import ProgressFn

if TYPE_CHECKING:
    from ..runs.executors import RayExecutor
    from .feature_cache import FeatureCache

#: A builder returns ``(cache namespace, batch_fn, load_fn)``; it runs once in each worker.
Builder = Callable[[], tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[Sequence[str]], np.ndarray]]]


def shard_bounds(n_items: int, n_workers: int, max_shard: int = 256) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` shards of ``n_items``: a multiple of ``n_workers`` of them, sizes within one.

    Parameters
    ----------
    n_items : int
        Images to compute (>= 0).
    n_workers : int
        Workers sharing them (>= 1): every worker gets as many shards, give or take one.
    max_shard : int
        Largest shard (>= 1): smaller shards report progress and reach the cache sooner.

    Returns
    -------
    list of tuple of (int, int)
        Covering ``range(n_items)`` in order, no shard empty; ``[]`` for no items.
    """
    for name, value, least in (("n_items", n_items, 0), ("n_workers", n_workers, 1), ("max_shard", max_shard, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, received {value!r}")
    if n_items == 0:
        return []
    rounds = math.ceil(n_items / (n_workers * max_shard))
    n_shards = min(n_items, n_workers * rounds)
    size, extra = divmod(n_items, n_shards)
    bounds, start = [], 0
    for i in range(n_shards):
        stop = start + size + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


class ShardWorker:
    """A Ray actor: builds the model once, then computes the arrays of each shard it is sent.

    Parameters
    ----------
    builder : callable
        Returns ``(namespace, batch_fn, load_fn)``.
    threads : int
        TensorFlow intra- and inter-op threads (the actor's CPUs).
    """

    def __init__(self, builder: Builder, threads: int = 1) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        self.namespace, self.batch_fn, self.load_fn = builder()

    def compute(self, index: int, paths: Sequence[str], batch_size: int) -> tuple[int, str, np.ndarray]:
        """``(index, namespace, arrays of paths)``, batches decoded one ahead on a thread as locally."""
        parts = [np.asarray(self.batch_fn(batch)) for _, _, batch in prefetched_batches(list(paths), self.load_fn,
                                                                                        batch_size)]
        return index, self.namespace, np.concatenate(parts)


def _workers(ray: Any, n_shards: int, cpus_per_worker: int) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return max(1, min(n_shards, cpus // cpus_per_worker))


def compute_on_ray(cache: "FeatureCache", paths: Sequence[str | Path], builder: Builder, executor: "RayExecutor",
                   batch_size: int = 32, progress: ProgressFn | None = None,
                   item_shape: tuple[int, ...] | None = None, cpus_per_worker: int = 1,
                   max_shard: int = 256) -> np.ndarray:
    """Arrays for every path, the images missing from ``cache`` computed in shards by Ray actors.

    Parameters
    ----------
    cache : FeatureCache
        Where the arrays are read from and stored (its namespace must be the builder's).
    paths : sequence of path
    builder : callable
        Picklable; returns ``(namespace, batch_fn, load_fn)`` in each worker.
    executor : RayExecutor
        The cluster (connected here if it is not yet).
    batch_size : int
    progress : callable, optional
        ``progress(done, total, message)`` over the images to compute, as shards finish.
    item_shape : tuple of int, optional
        As in :meth:`FeatureCache.compute`.
    cpus_per_worker : int
        CPUs of each actor (its TensorFlow threads); one actor per that many cluster CPUs.
    max_shard : int
        Largest shard (images).

    Returns
    -------
    numpy.ndarray
        ``(len(paths), ...)`` in the order of ``paths``.

    Raises
    ------
    ValueError
        Bad ``batch_size`` or ``cpus_per_worker``.
    RuntimeError
        A worker's model gives another namespace than the cache's (other weights than the driver's).
    """
    for name, value in (("batch_size", batch_size), ("cpus_per_worker", cpus_per_worker)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, received {value!r}")

    def produce(todo: list[str | Path]) -> Iterator[tuple[Sequence[int], np.ndarray]]:
        ray = executor.start()
        from ray.util import ActorPool

        bounds = shard_bounds(len(todo), _workers(ray, len(todo) or 1, cpus_per_worker), max_shard)
        if not bounds:
            return
        key = repr(builder)  # the same builder: the same model in each actor
        actors = executor.actors(ShardWorker, (builder, cpus_per_worker),
                                 _workers(ray, len(bounds), cpus_per_worker), cpus_per_worker, key)
        pool = ActorPool(actors)
        shards = [(i, [str(p) for p in todo[a:b]]) for i, (a, b) in enumerate(bounds)]
        ok = False
        try:
            results = pool.map_unordered(lambda a, s: a.compute.remote(s[0], s[1], batch_size), shards)
            while True:
                try:
                    index, namespace, arrays = next(results)
                except StopIteration:
                    break
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                except ray.exceptions.RayActorError as exc:
                    raise RuntimeError(f"a feature worker died ({exc})") from None
                if namespace != cache.namespace:
                    raise RuntimeError(f"a Ray worker's model gives cache namespace {namespace!r}, this process's "
                                       f"{cache.namespace!r}: the workers load other weights (a weights file or "
                                       "Keras cache that differs between nodes?)")
                yield range(*bounds[index]), arrays
            ok = True
        finally:
            if not ok:  # a failed or abandoned pass: no half-used workers are kept (shards may still be queued)
                executor.release_actors(key)

    return cache.compute_with(list(paths), produce, progress, item_shape)
