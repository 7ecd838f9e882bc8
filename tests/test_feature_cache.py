from pathlib import Path

import cv2
import numpy as np
import pytest

from core.models.feature_cache import FeatureCache, image_key


def _images(tmp_path: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
        out.append(p)
    return out


def _load(paths):
    return np.stack([cv2.imread(str(p)).astype(np.float32) for p in paths])


def test_compute_only_missing_and_in_order(tmp_path):
    paths = _images(tmp_path, 10)
    calls = []

    def batch_fn(x):
        calls.append(len(x))
        return x.mean(axis=(1, 2))

    cache = FeatureCache(tmp_path / "cache", "toy-mean")
    first = cache.compute(paths[:6], batch_fn, _load, batch_size=4)
    assert sum(calls) == 6 and cache.n_computed == 6
    again = FeatureCache(tmp_path / "cache", "toy-mean")
    out = again.compute(paths[::-1], batch_fn, _load, batch_size=4)
    assert sum(calls) == 10 and again.n_computed == 4  # only the 4 new images
    np.testing.assert_allclose(out[::-1][:6], first)
    np.testing.assert_allclose(out, _load(paths[::-1]).mean(axis=(1, 2)))


def test_duplicate_content_computed_once(tmp_path):
    p = _images(tmp_path, 1)[0]
    dup = tmp_path / "copy.png"
    dup.write_bytes(p.read_bytes())
    assert image_key(p) == image_key(dup)
    cache = FeatureCache(tmp_path / "c", "toy")
    out = cache.compute([p, dup], lambda x: x.sum(axis=(1, 2, 3))[:, None], _load)
    assert cache.n_computed == 1 and out.shape == (2, 1) and out[0, 0] == out[1, 0]


def test_truncated_shard_is_ignored(tmp_path):
    paths = _images(tmp_path, 3)
    cache = FeatureCache(tmp_path / "c", "toy")
    cache.compute(paths, lambda x: x[:, 0, 0, :], _load)
    (cache.dir / "shard-broken.npz").write_bytes(b"not a zip")
    fresh = FeatureCache(tmp_path / "c", "toy")
    assert len(fresh) == 3


def test_bad_namespace(tmp_path):
    with pytest.raises(ValueError, match="namespace"):
        FeatureCache(tmp_path, "a/b")


def test_error_mid_run_keeps_what_was_computed(tmp_path):
    paths = _images(tmp_path, 6)
    paths[4].write_bytes(b"not an image")

    def load(batch_paths):
        for p in batch_paths:
            if cv2.imread(str(p)) is None:
                raise ValueError(f"cannot decode {p}")
        return _load(batch_paths)

    cache = FeatureCache(tmp_path / "c", "toy")
    with pytest.raises(ValueError, match="img4"):
        cache.compute(paths, lambda x: x.mean(axis=(1, 2)), load, batch_size=2, flush_every=1000)
    fresh = FeatureCache(tmp_path / "c", "toy")
    assert len(fresh) == 4  # the two batches before the corrupt image survive
