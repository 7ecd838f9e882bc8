"""core.latent.projection: settings checks, normalisation, content keys, PCA projection and its disk cache."""
from __future__ import annotations

import numpy as np
import pytest

from core.latent import projection as projection_module
from core.latent.projection import (ProjectionConfig, check_reduction, check_vectors, content_key,
                                    normalize_vectors, project, reduce_pca)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"normalize must be one of \['l2', 'standardize', 'none'\], received 'l1'"):
        check_reduction("l1", None)
    for bad in (1, 2.5, "50"):
        with pytest.raises(ValueError, match=rf"pca_dims must be None or an integer >= 2, received {bad!r}"):
            check_reduction("l2", bad)  # type: ignore[arg-type]
    check_reduction("none", None)
    check_reduction("standardize", 2)
    with pytest.raises(ValueError, match=r"method must be one of \['umap', 'pca'\], received 'tsne'"):
        ProjectionConfig(method="tsne")
    with pytest.raises(ValueError, match="n_neighbors must be an integer >= 2, received 1"):
        ProjectionConfig(n_neighbors=1)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=rf"min_dist must be in \[0, 1\), received {bad}"):
            ProjectionConfig(min_dist=bad)
    assert ProjectionConfig() == ProjectionConfig("umap", "l2", 50, 15, 0.1, 0)


def test_normalisations() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize_vectors(x, "l2"), [[0.6, 0.8], [0.0, 0.0]])  # a zero row stays zero
    # per column: (x - mean) / sd with ddof 0; a constant column becomes 0, not NaN
    np.testing.assert_allclose(normalize_vectors(np.array([[1.0, 10.0], [3.0, 10.0]]), "standardize"),
                               [[-1.0, 0.0], [1.0, 0.0]])
    raw = np.array([[1, 2], [3, 4]], dtype=np.float32)
    same = normalize_vectors(raw, "none")
    assert same.dtype == np.float32 and same is not raw and np.array_equal(same, raw)
    with pytest.raises(ValueError, match=r"normalize must be one of .* received 'cosine'"):
        normalize_vectors(x, "cosine")


def test_check_vectors_says_what_it_received() -> None:
    assert check_vectors([[1, 2]]).dtype == np.float32
    with pytest.raises(ValueError, match=r"expected a 2-D array \(samples x features\), received shape \(3,\)"):
        check_vectors(np.ones(3))
    with pytest.raises(ValueError, match="expected at least 3 embedding rows, received 2"):
        check_vectors(np.ones((2, 4)), min_rows=3)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_vectors(np.array([[1.0, np.inf]]))


def test_content_key_depends_on_bytes_shape_dtype_and_params() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    key = content_key(x, {"a": 1, "b": 2})
    assert len(key) == 40 and key == content_key(x.copy(), {"b": 2, "a": 1})  # key order does not matter
    assert key != content_key(x, {"a": 1, "b": 3})
    assert key != content_key(x.reshape(4, 3), {"a": 1, "b": 2})            # same bytes, other shape
    assert key != content_key(x.view(np.int32), {"a": 1, "b": 2})         # same bytes, other dtype
    assert content_key(x[:, ::2], {}) == content_key(np.ascontiguousarray(x[:, ::2]), {})


def test_pca_of_points_on_a_line_recovers_their_positions() -> None:
    t = np.array([0.0, 1.0, 2.0, 4.0])
    v = np.array([1.0, 2.0, 2.0])  # norm 3
    out = project(np.outer(t, v), ProjectionConfig(method="pca", normalize="none"))
    assert out.shape == (4, 2) and out.dtype == np.float32
    np.testing.assert_allclose(np.abs(out[:, 0]), np.abs(t - t.mean()) * 3, atol=1e-4)
    np.testing.assert_allclose(out[:, 1], 0, atol=1e-4)
    one = project(np.array([[1.0], [2.0], [4.0]]), ProjectionConfig(method="pca", normalize="none"))
    np.testing.assert_allclose(one, [[1, 0], [2, 0], [4, 0]])  # one feature: itself and a zero axis
    with pytest.raises(ValueError, match="at least 3 embedding rows, received 2"):
        project(np.ones((2, 3)), ProjectionConfig(method="pca"))


def test_reduce_pca_keeps_small_inputs() -> None:
    x = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    assert reduce_pca(x, None) is x and reduce_pca(x, 6) is x and reduce_pca(x, 10) is x
    low = reduce_pca(x, 3)
    assert low.shape == (10, 3) and low.dtype == np.float32
    # the leading component carries the most variance
    assert low[:, 0].var() >= low[:, 1].var() >= low[:, 2].var()


def test_projection_is_cached_by_content_and_parameters(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 20)).astype(np.float32)
    cfg = ProjectionConfig(method="pca")
    first = project(x, cfg, tmp_path)
    assert first.shape == (50, 2)
    files = list(tmp_path.glob("pca-*.npy"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("projection recomputed although cached")

    monkeypatch.setattr(projection_module, "_compute", boom)
    np.testing.assert_array_equal(project(x, cfg, tmp_path), first)
    with pytest.raises(AssertionError, match="recomputed"):
        project(x, ProjectionConfig(method="pca", normalize="none"), tmp_path)  # other parameters
    with pytest.raises(AssertionError, match="recomputed"):
        project(x + 1, cfg, tmp_path)  # other content
    monkeypatch.undo()
    files[0].write_bytes(b"not an npy file")  # unreadable cache: recomputed and overwritten
    np.testing.assert_array_equal(project(x, cfg, tmp_path), first)
    np.testing.assert_array_equal(np.load(files[0]), first)
