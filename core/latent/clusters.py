"""KMeans on embeddings: elbow (inertia) and silhouette curves over a k range, then one fit at the chosen k.

The curves help the user choose k; nothing here chooses it for them. Clusters
are computed on the normalised embedding (see :func:`core.latent.projection.normalize_vectors`),
optionally reduced by PCA, never on the 2-D projection, which distorts distances.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np
import pandas as pd

from .projection import check_vectors, normalize_vectors, reduce_pca


@dataclass(frozen=True)
class ClusterConfig:
    """How embeddings are clustered.

    Parameters
    ----------
    normalize : {"l2", "standardize", "none"}
        Applied to the embedding before KMeans (``none`` reproduces the seed).
    pca_dims : int or None
        Reduce to this many principal components first (default 50: KMeans and
        silhouettes on 2048 dimensions are slow on two cores and dominated by
        noise dimensions); None clusters the full embedding, as the seed did.
    n_init : int
        KMeans restarts (best inertia kept).
    seed : int
    silhouette_sample : int or None
        Rows used to estimate the silhouette (exact when None or >= n).
    """

    normalize: str = "l2"
    pca_dims: int | None = 50
    n_init: int = 4
    seed: int = 0
    silhouette_sample: int | None = 2000

    def __post_init__(self) -> None:
        from .projection import check_reduction

        check_reduction(self.normalize, self.pca_dims)
        if not isinstance(self.n_init, int) or self.n_init < 1:
            raise ValueError(f"n_init must be an integer >= 1, received {self.n_init!r}")
        if self.silhouette_sample is not None and self.silhouette_sample < 10:
            raise ValueError(f"silhouette_sample must be None or >= 10, received {self.silhouette_sample!r}")


@dataclass(frozen=True)
class KMeansResult:
    """One KMeans fit: labels ``0..k-1`` in sample order, inertia, silhouette and cluster sizes."""

    k: int
    labels: np.ndarray
    inertia: float
    silhouette: float
    sizes: tuple[int, ...]


def check_k(k: int, n_samples: int) -> int:
    """``k`` as an int in ``[2, n_samples - 1]`` (the range where a silhouette exists).

    Raises
    ------
    ValueError
        Naming the allowed range and the value received.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, received {k!r}")
    if n_samples < 3:
        raise ValueError(f"clustering needs at least 3 samples, received {n_samples}")
    if not 2 <= int(k) <= n_samples - 1:
        raise ValueError(f"k must be between 2 and {n_samples - 1} (number of samples - 1), received {k}")
    return int(k)


def prepare_for_clustering(vectors: np.ndarray, config: ClusterConfig) -> np.ndarray:
    """Normalised (and optionally PCA-reduced) embedding that KMeans runs on."""
    return reduce_pca(normalize_vectors(vectors, config.normalize), config.pca_dims, config.seed)


def prepared_config(config: ClusterConfig) -> ClusterConfig:
    """The same settings for input already passed through :func:`prepare_for_clustering` (no second pass)."""
    return replace(config, normalize="none", pca_dims=None)


def _silhouette(x: np.ndarray, labels: np.ndarray, config: ClusterConfig) -> float:
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    sample = config.silhouette_sample if config.silhouette_sample and config.silhouette_sample < len(x) else None
    return float(silhouette_score(x, labels, sample_size=sample, random_state=config.seed))


def _fit(x: np.ndarray, k: int, config: ClusterConfig) -> KMeansResult:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=config.n_init, random_state=config.seed).fit(x)
    labels = km.labels_.astype(int)
    sizes = tuple(int(c) for c in np.bincount(labels, minlength=k))
    return KMeansResult(k=k, labels=labels, inertia=float(km.inertia_), silhouette=_silhouette(x, labels, config),
                        sizes=sizes)


def kmeans_curves(vectors: np.ndarray, k_values: Iterable[int] = range(2, 11), config: ClusterConfig | None = None,
                  progress=None) -> pd.DataFrame:
    """Inertia (elbow) and silhouette for each k.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, d)`` embeddings.
    k_values : iterable of int
        Each in ``[2, n - 1]``.
    config : ClusterConfig, optional
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``k, inertia, silhouette, smallest_cluster``, one row per k.

    Raises
    ------
    ValueError
        Empty k range or a k out of range.
    """
    config = config or ClusterConfig()
    x = prepare_for_clustering(check_vectors(vectors, min_rows=3), config)
    ks = sorted({check_k(k, len(x)) for k in k_values})
    if not ks:
        raise ValueError("k range is empty; expected at least one k between 2 and the number of samples - 1")
    rows = []
    for i, k in enumerate(ks):
        res = _fit(x, k, config)
        rows.append({"k": k, "inertia": res.inertia, "silhouette": res.silhouette,
                     "smallest_cluster": int(min(res.sizes))})
        if progress is not None:
            progress(i + 1, len(ks), f"KMeans k={k}")
    return pd.DataFrame(rows)


def fit_kmeans(vectors: np.ndarray, k: int, config: ClusterConfig | None = None) -> KMeansResult:
    """KMeans with the chosen ``k`` on the prepared embedding.

    Raises
    ------
    ValueError
        ``k`` outside ``[2, n - 1]`` or a bad embedding array.
    """
    config = config or ClusterConfig()
    x = check_vectors(vectors, min_rows=3)
    k = check_k(k, len(x))
    return _fit(prepare_for_clustering(x, config), k, config)
