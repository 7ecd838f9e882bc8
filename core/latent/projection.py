"""2-D projections of embeddings (UMAP, PCA), cached on disk by content and parameters.

UMAP compiles its numba kernels on first use (tens of seconds on two cores).
:func:`configure_numba_cache` points numba's on-disk cache at a folder under
the artifacts cache and :func:`import_umap` switches caching on for umap's own
kernels (most are compiled without ``cache=True``), so only the first process
ever pays the compile. Projections themselves are cached as ``.npy`` files
keyed by the SHA-1 of the embedding bytes and the parameters, so reopening the
page or re-running the CLI on the same embedding costs a file read.

``import umap`` also imports ``umap.parametric_umap``, which imports TensorFlow
and then torchvision; in this environment importing triton (through
torchvision) after TensorFlow crashes the interpreter. ParametricUMAP is not
used here, so :func:`import_umap` blocks that submodule before importing umap.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ..common._io import atomic_write_bytes

NORMALIZATIONS: tuple[str, ...] = ("l2", "standardize", "none")
METHODS: tuple[str, ...] = ("umap", "pca")


def check_reduction(normalize: str, pca_dims: int | None) -> None:
    """Validate the settings shared by projection and clustering.

    Raises
    ------
    ValueError
        ``normalize`` not in :data:`NORMALIZATIONS`, or ``pca_dims`` neither None nor an integer >= 2.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}, received {normalize!r}")
    if pca_dims is not None and (not isinstance(pca_dims, int) or pca_dims < 2):
        raise ValueError(f"pca_dims must be None or an integer >= 2, received {pca_dims!r}")


@dataclass(frozen=True)
class ProjectionConfig:
    """How embeddings are reduced to two dimensions.

    Parameters
    ----------
    method : {"umap", "pca"}
    normalize : {"l2", "standardize", "none"}
        Applied to the embedding first: ``l2`` (cosine geometry, the usual
        choice for CNN features), ``standardize`` (zero mean, unit variance per
        dimension) or ``none`` (raw features, as the second seed clustered them).
    pca_dims : int or None
        UMAP only: reduce to this many principal components first (faster
        neighbour search, less noise); None or a value >= the dimension skips it.
    n_neighbors : int
        UMAP neighbourhood size (>= 2).
    min_dist : float
        UMAP minimum distance in the layout, in [0, 1).
    seed : int
        Random seed (UMAP then runs single-threaded, which makes it reproducible).
    """

    method: str = "umap"
    normalize: str = "l2"
    pca_dims: int | None = 50
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, received {self.method!r}")
        check_reduction(self.normalize, self.pca_dims)
        if not isinstance(self.n_neighbors, int) or self.n_neighbors < 2:
            raise ValueError(f"n_neighbors must be an integer >= 2, received {self.n_neighbors!r}")
        if not 0.0 <= float(self.min_dist) < 1.0:
            raise ValueError(f"min_dist must be in [0, 1), received {self.min_dist!r}")


def normalize_vectors(vectors: np.ndarray, mode: str = "l2") -> np.ndarray:
    """Normalise embeddings row-wise (``l2``) or column-wise (``standardize``); ``none`` returns float32 copy.

    Raises
    ------
    ValueError
        Unknown mode, or not a 2-D finite array.
    """
    x = check_vectors(vectors)
    if mode == "l2":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-12)
    if mode == "standardize":
        sd = x.std(axis=0, keepdims=True)
        return (x - x.mean(axis=0, keepdims=True)) / np.where(sd > 1e-12, sd, 1.0)
    if mode == "none":
        return x.copy()
    raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}, received {mode!r}")


def check_vectors(vectors: np.ndarray, min_rows: int = 1) -> np.ndarray:
    """``vectors`` as a finite float32 ``(n, d)`` array with ``n >= min_rows``."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array (samples x features), received shape {x.shape}")
    if len(x) < min_rows:
        raise ValueError(f"expected at least {min_rows} embedding rows, received {len(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("embedding contains NaN or infinite values")
    return x


def content_key(vectors: np.ndarray, params: dict) -> str:
    """SHA-1 of the array bytes, shape, dtype and the JSON of ``params`` (the cache key of a result)."""
    x = np.ascontiguousarray(vectors)
    h = hashlib.sha1()
    h.update(str((x.shape, x.dtype.str)).encode())
    h.update(x.tobytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def configure_numba_cache(folder: str | Path) -> Path:
    """Make numba cache compiled kernels under ``folder`` (reused by later processes).

    Sets ``NUMBA_CACHE_DIR`` unless the user already set it, and reloads numba's
    configuration when numba is already imported. Returns the folder in use.
    """
    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or folder)
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("NUMBA_CACHE_DIR") != str(folder):
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        if "numba" in sys.modules:
            sys.modules["numba"].config.reload_config()
    return folder


def import_umap(numba_cache: str | Path | None = None) -> ModuleType:
    """Import umap safely (without ParametricUMAP) with on-disk caching of its numba kernels.

    Parameters
    ----------
    numba_cache : str or Path, optional
        Folder for compiled kernels (see :func:`configure_numba_cache`).

    Returns
    -------
    module
        The ``umap`` package.
    """
    if numba_cache is not None:
        configure_numba_cache(numba_cache)
    if "umap" not in sys.modules:
        sys.modules.setdefault("umap.parametric_umap", None)  # type: ignore[arg-type]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap
        import umap.umap_  # noqa: F401  (the modules whose kernels a fit compiles)
    _enable_kernel_caching("umap")
    return umap


def warm_up_umap(numba_cache: str | Path | None = None) -> None:
    """Import umap and compile the kernels a small-data fit uses (a 60-point fit), e.g. on a background thread
    while the embedding runs. Errors are ignored here: the real fit raises them."""
    try:
        umap = import_umap(numba_cache)
        x = np.random.default_rng(0).random((60, 8), dtype=np.float32)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            umap.UMAP(n_neighbors=5, random_state=0, n_jobs=1, n_epochs=5).fit_transform(x)
    except Exception:  # noqa: BLE001 - a warm-up must never break the run
        return


def _enable_kernel_caching(prefix: str) -> int:
    """Turn on-disk caching on for every numba dispatcher defined in modules named ``prefix*``."""
    try:
        from numba.core.registry import CPUDispatcher
        from numba.core.caching import FunctionCache
    except ImportError:  # pragma: no cover - numba always comes with umap
        return 0
    n = 0
    for name, mod in list(sys.modules.items()):
        if mod is None or not name.startswith(prefix):
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, CPUDispatcher) and not isinstance(getattr(obj, "_cache", None), FunctionCache):
                try:
                    obj.enable_caching()
                    n += 1
                except Exception:  # functions numba cannot cache (closures, dynamic globals) stay uncached
                    continue
    return n


def project(vectors: np.ndarray, config: ProjectionConfig | None = None, cache_root: str | Path | None = None,
            numba_cache: str | Path | None = None) -> np.ndarray:
    """Project embeddings to two dimensions, from the cache when this exact input was projected before.

    Parameters
    ----------
    vectors : numpy.ndarray
        ``(n, d)`` embeddings, ``n >= 3``.
    config : ProjectionConfig, optional
    cache_root : str or Path, optional
        Folder of cached projections (``<artifacts>/cache/projections``); no caching when None.
    numba_cache : str or Path, optional
        Folder for numba's compiled kernels (``<artifacts>/cache/numba``).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float32 coordinates.

    Raises
    ------
    ValueError
        Fewer than 3 rows, non-finite values.
    """
    config = config or ProjectionConfig()
    x = check_vectors(vectors, min_rows=3)
    path = None
    if cache_root is not None:
        path = Path(cache_root) / f"{config.method}-{content_key(x, asdict(config))}.npy"
        if path.is_file():
            try:
                out = np.load(path)
                if out.shape == (len(x), 2):
                    return out
            except (OSError, ValueError):
                pass  # unreadable cache file: recompute and overwrite it
    out = _compute(normalize_vectors(x, config.normalize), config, numba_cache).astype(np.float32)
    if path is not None:
        buf = io.BytesIO()
        np.save(buf, out)
        atomic_write_bytes(buf.getvalue(), path)
    return out


def reduce_pca(x: np.ndarray, dims: int | None, seed: int = 0) -> np.ndarray:
    """The first ``dims`` principal components of ``x`` (unchanged when ``dims`` is None or too large).

    Uses randomized SVD (seeded, 3 power iterations), several times faster than
    a full SVD for a few dozen components of a 2048-dimensional embedding.
    """
    if dims is None or dims >= min(x.shape):
        return x
    from sklearn.decomposition import PCA

    return PCA(n_components=dims, svd_solver="randomized", iterated_power=3,
               random_state=seed).fit_transform(x).astype(np.float32)


def _compute(x: np.ndarray, config: ProjectionConfig, numba_cache: str | Path | None) -> np.ndarray:
    if config.method == "pca":
        from sklearn.decomposition import PCA

        if x.shape[1] < 2:
            return np.column_stack([x[:, 0], np.zeros(len(x), np.float32)])
        return PCA(n_components=2, random_state=config.seed).fit_transform(x)
    x = reduce_pca(x, config.pca_dims, config.seed)
    umap = import_umap(numba_cache)
    n_neighbors = min(config.n_neighbors, len(x) - 1)
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=config.min_dist,
                        random_state=config.seed, n_jobs=1, init="spectral" if len(x) > n_neighbors + 2 else "random")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(reducer.fit_transform(x))
