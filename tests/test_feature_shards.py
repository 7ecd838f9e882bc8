"""Sharding of the images to compute, and the cache's fill from parts computed elsewhere (no Ray here)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.models.feature_cache import FeatureCache
from core.models.feature_shards import shard_bounds


@pytest.mark.parametrize("n, workers, max_shard", [(1, 1, 256), (10, 3, 256), (1000, 2, 256), (7, 4, 2),
                                                   (3, 8, 256), (513, 2, 128)])
def test_shards_cover_in_order_balanced_per_worker(n: int, workers: int, max_shard: int) -> None:
    bounds = shard_bounds(n, workers, max_shard)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, in order
    sizes = [b - a for a, b in bounds]
    assert min(sizes) >= 1 and max(sizes) <= max_shard and max(sizes) - min(sizes) <= 1
    assert len(bounds) == n or len(bounds) % workers == 0  # every worker gets as many shards


def test_shards_of_nothing_and_bad_arguments() -> None:
    assert shard_bounds(0, 2) == []
    assert shard_bounds(1000, 2, 256) == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    for args, word in (((-1, 2), "n_items"), ((5, 0), "n_workers"), ((5, 2, 0), "max_shard"),
                       ((5.0, 2), "n_items"), ((True, 2), "n_items")):
        with pytest.raises(ValueError, match=word):
            shard_bounds(*args)


def _images(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        p = folder / f"img{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
        out.append(p)
    return out


def _mean(paths) -> np.ndarray:
    return np.stack([cv2.imread(str(p)).astype(np.float32).mean(axis=(0, 1)) for p in paths])


def test_fill_from_parts_equals_a_local_compute_and_sends_only_the_missing(tmp_path: Path) -> None:
    paths = _images(tmp_path, 9)
    local = FeatureCache(tmp_path / "a", "toy-mean").compute(paths, lambda x: x.mean(axis=(1, 2)),
                                                             lambda ps: np.stack([cv2.imread(str(p)).astype(
                                                                 np.float32) for p in ps]), batch_size=4)
    sent: list[list] = []

    def produce(todo):  # parts out of order, as workers finish
        sent.append(list(todo))
        for a, b in reversed(shard_bounds(len(todo), 2, 2)):
            yield range(a, b), _mean(todo[a:b])

    cache = FeatureCache(tmp_path / "b", "toy-mean")
    seen = []
    cache.compute_with(paths[:4], produce, progress=lambda d, t, m="": seen.append((d, t)))
    assert sorted(sent[0]) == sorted(paths[:4]) and seen[0] == (0, 4) and seen[-1] == (4, 4)
    again = FeatureCache(tmp_path / "b", "toy-mean")
    out = again.compute_with(paths, produce)
    assert sorted(sent[1]) == sorted(paths[4:]) and again.n_computed == 5  # only the images not cached
    np.testing.assert_allclose(out, local, rtol=1e-6)
    assert sorted(FeatureCache(tmp_path / "b", "toy-mean")._load_index()) == \
        sorted(FeatureCache(tmp_path / "a", "toy-mean")._load_index())  # the same keys in both caches


def test_fill_keeps_finished_parts_when_a_part_fails(tmp_path: Path) -> None:
    paths = _images(tmp_path, 6)

    def produce(todo):
        yield range(0, 3), _mean(todo[:3])
        raise RuntimeError("a worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        FeatureCache(tmp_path / "c", "toy").compute_with(paths, produce)
    assert len(FeatureCache(tmp_path / "c", "toy")) == 3



def test_a_clusters_job_takes_the_executor_options() -> None:
    from core.runs.spec import RunSpec

    spec = RunSpec("clusters", {"data": "demo", "k": 3, "out": "o", "executor": "ray", "address": "127.0.0.1:6379"})
    args = spec.parse()
    assert (args.executor, args.address) == ("ray", "127.0.0.1:6379")
    assert {"--executor=ray", "--address=127.0.0.1:6379"} <= set(spec.to_argv())
    with pytest.raises(ValueError, match="executor"):
        RunSpec("clusters", {"data": "demo", "k": 3, "out": "o", "executor": "dask"})
