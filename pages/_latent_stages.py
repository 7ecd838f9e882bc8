"""The Latent page's calls of the :mod:`core.latent.analysis` stages, cached by explicit arguments.

The page runs what ``python -m core clusters`` runs (:func:`core.latent.run_cluster_analysis`),
one stage at a time, so that each is cached on its own:

* :func:`latent_space`: :func:`core.latent.embed_and_project` (embeddings, 2-D
  projection, k curves), with its progress on an ``st.status`` bar. Cached in a
  :class:`pages._ui.ComputedOnce` held by ``st.cache_resource`` under a
  :class:`SpaceRequest` (the manifest file's identity and the three configs);
  the value is shared, not copied: callers must not modify it.
* :func:`cluster_analysis`: :func:`core.latent.analyse_clusters` at one k
  (``st.cache_data`` under the request, k, attributes and permutations), so a
  new k reuses the embeddings and the projection.
* :func:`attribute_probe`: :func:`core.latent.probe_attributes` for one
  attribute (it does not depend on k).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.latent import (ClusterAnalysis, ClusterConfig, EmbeddingConfig, Extractor, LatentSpace, ProbeResult,
                         ProjectionConfig, analyse_clusters, build_extractor, embed_and_project, probe_attributes)
from pages._ui import ComputedOnce, StepProgress


@dataclass(frozen=True)
class SpaceRequest:
    """Everything :func:`latent_space` depends on (the cache key of every stage).

    Parameters
    ----------
    manifest : str
        The dataset's ``manifest.parquet``.
    mtime_ns : int
        Its modification time (a re-registered dataset is a new request).
    limit : int
        Rows drawn by :func:`core.latent.select_rows` with ``clustering.seed``.
    embedding, projection, clustering : configs
    k_values : tuple of int
        k range of the elbow and silhouette curves, each in ``[2, n - 1]``.
    artifacts : str
        Artifacts folder (feature and projection caches).
    """

    manifest: str
    mtime_ns: int
    limit: int
    embedding: EmbeddingConfig
    projection: ProjectionConfig
    clustering: ClusterConfig
    k_values: tuple[int, ...]
    artifacts: str

    def __post_init__(self) -> None:
        if not self.k_values or min(self.k_values) < 2:
            raise ValueError(f"k_values must be a non-empty tuple of integers >= 2, received {self.k_values!r}")


@st.cache_resource(show_spinner="Loading the model...", max_entries=2)
def _extractor(config: EmbeddingConfig) -> Extractor:
    return build_extractor(config)


@st.cache_resource(show_spinner=False, max_entries=2)
def _space_holder(request: SpaceRequest) -> ComputedOnce[LatentSpace]:
    return ComputedOnce()


def _embed_and_project(request: SpaceRequest, rows: pd.DataFrame) -> LatentSpace:
    with st.status(f"Embedding {len(rows):,} faces, projecting them ({request.projection.method.upper()}) and "
                   "clustering over the k range...", expanded=True) as box:
        if request.projection.method == "umap":
            st.caption("The first UMAP ever compiles its kernels (~30 s, once per artifacts folder); it does so "
                       "while the model runs.")
        bar = st.progress(0.0, text="Loading the model...")
        t0 = time.monotonic()
        try:
            space = embed_and_project(rows, request.embedding, request.projection, request.clustering,
                                      request.k_values, Path(request.artifacts), progress=StepProgress(bar),
                                      extractor=_extractor(request.embedding), source_name=request.manifest)
        except Exception:  # the page says why under the box; the box must not stay "running"
            bar.empty()
            box.update(label=f"Could not embed the {len(rows):,} faces (why: below)", state="error", expanded=False)
            raise
        bar.empty()
        box.update(label=f"Embedded, projected and clustered {len(rows):,} faces in {time.monotonic() - t0:.1f} s "
                   f"({space.embeddings.n_computed:,} through the model, the rest from the feature cache)",
                   state="complete", expanded=False)
    return space


def latent_space(request: SpaceRequest, rows: pd.DataFrame) -> tuple[LatentSpace, bool]:
    """:func:`core.latent.embed_and_project` of ``rows``, computed once per request.

    Parameters
    ----------
    request : SpaceRequest
    rows : pandas.DataFrame
        The rows ``request`` names (``select_rows(manifest, request.limit, request.clustering.seed)``).

    Returns
    -------
    space : LatentSpace
        Shared between sessions: do not modify it.
    computed : bool
        Whether this call computed it (False: it came from the cache).

    Raises
    ------
    ValueError, FileNotFoundError
        From :func:`core.latent.embed_and_project` and :func:`core.latent.build_extractor` (missing images,
        a bad model file, ImageNet weights that cannot be downloaded); nothing is cached then.
    """
    return _space_holder(request).get(lambda: _embed_and_project(request, rows))


@st.cache_data(show_spinner="KMeans at this k, composition tables, independence tests...", max_entries=24)
def cluster_analysis(request: SpaceRequest, k: int, attributes: tuple[str, ...], n_permutations: int,
                     _space: LatentSpace) -> ClusterAnalysis:
    """:func:`core.latent.analyse_clusters` of the space of ``request`` at ``k``, without the probe.

    ``_space`` is the result of :func:`latent_space` for ``request`` (not hashed: ``request`` names it);
    the probe is :func:`attribute_probe`.
    """
    return analyse_clusters(_space, k, attributes, n_permutations, probe=False)


@st.cache_data(show_spinner="Linear probe (cross-validated logistic regression)...", max_entries=24)
def attribute_probe(request: SpaceRequest, attribute: str, _space: LatentSpace) -> tuple[ProbeResult | None,
                                                                                         str | None]:
    """:func:`core.latent.probe_attributes` for one attribute: the result, or None and why it was not possible."""
    probes, skipped = probe_attributes(_space, [attribute])
    return probes.get(attribute), skipped.get(attribute)
