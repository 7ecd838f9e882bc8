"""The whole latent-space analysis of one dataset, and its files on disk.

:func:`run_cluster_analysis` goes from a manifest to tables: embeddings
(cached), 2-D projection (cached), KMeans curves over a k range, one KMeans
fit at the chosen k, and for each attribute present a composition table,
independence tests and a linear probe. It composes three stages that
callers can also run one by one (the Latent page caches each, so a new k
reuses the embeddings and the projection): :func:`embed_and_project`
(everything that does not depend on k), :func:`analyse_clusters` (one k)
and :func:`probe_attributes`. :func:`write_analysis` writes
``projection.parquet``, ``assignments.csv`` (:func:`assignments_table`),
``curves.csv``, ``composition_<attribute>.csv`` and ``clusters.json``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from ..common._io import atomic_write_json, atomic_write_text
from ..attributes import AGE_LABELS, attribute_values, available_attributes
from ..data.manifest import atomic_write_parquet
from ..common.paths import cache_dir, default_artifacts_dir
from ..common.progress import ProgressFn, null_progress
from .clusters import (ClusterConfig, KMeansResult, check_k, fit_kmeans, kmeans_curves, prepare_for_clustering,
                       prepared_config)
from .embeddings import EmbeddingConfig, Embeddings, Extractor, check_image_manifest, embed_manifest
from .projection import ProjectionConfig, normalize_vectors, project, warm_up_umap
from .stats import Composition, IndependenceResult, ProbeResult, composition, independence_test, linear_probe

if TYPE_CHECKING:
    from ..runs.executors import LocalExecutor, RayExecutor

DEFAULT_ATTRIBUTES: tuple[str, ...] = ("race", "gender", "age_group", "label")
#: Manifest columns copied next to the coordinates (hover text, colouring, joins).
META_COLUMNS: tuple[str, ...] = ("path", "dataset", "split", "label", "race", "gender", "age", "skin_color", "person",
                                 "video", "yaw")
#: Column order of a composition table by attribute (else groups sort alphabetically).
AGE_ORDER: dict[str, list[str]] = {"age_group": list(AGE_LABELS)}


@dataclass(frozen=True)
class ClusterAnalysis:
    """Everything :func:`run_cluster_analysis` computed."""

    frame: pd.DataFrame
    curves: pd.DataFrame
    kmeans: KMeansResult
    compositions: dict[str, Composition]
    tests: dict[str, IndependenceResult]
    probes: dict[str, ProbeResult]
    embedding: dict[str, Any]
    settings: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    #: Attributes whose probe was not possible, with the reason (not written to ``clusters.json``).
    probes_skipped: dict[str, str] = field(default_factory=dict)

    @property
    def primary(self) -> str | None:
        """The first tested attribute (``race`` when the data has it)."""
        return next(iter(self.tests), None)

    def summary(self) -> dict[str, Any]:
        """The content of ``clusters.json``: ``composition``, ``chi2_p`` and ``cramers_v`` are for :attr:`primary`."""
        p = self.primary
        return {
            "k": self.kmeans.k, "n": int(len(self.frame)), "attribute": p,
            "composition": self.compositions[p].to_dict() if p else {},
            "chi2_p": self.tests[p].chi2_p if p else None,
            "chi2_valid": self.tests[p].chi2_valid if p else None,
            "permutation_unit": self.tests[p].permutation_unit if p else None,
            "cramers_v": self.tests[p].cramers_v if p else None,
            "permutation_p": self.tests[p].permutation_p if p else None,
            "ami": self.tests[p].ami if p else None,
            "probe": self.probes[p].to_dict() if p in self.probes else None,
            "cluster_sizes": list(self.kmeans.sizes), "inertia": self.kmeans.inertia,
            "silhouette": self.kmeans.silhouette,
            "tests": {a: t.to_dict() for a, t in self.tests.items()},
            "compositions": {a: c.to_dict() for a, c in self.compositions.items()},
            "probes": {a: r.to_dict() for a, r in self.probes.items()},
            "curves": self.curves.to_dict(orient="records"),
            "embedding": self.embedding, "settings": self.settings, "timings_s": self.timings,
            "note": None if p else "no demographic attribute with at least 2 groups: only clusters were computed",
        }


@dataclass(frozen=True)
class LatentSpace:
    """What does not depend on k: the rows, their embeddings, 2-D projection, clustering space and k curves.

    Made by :func:`embed_and_project`; :func:`analyse_clusters` and :func:`probe_attributes` take it.
    """

    rows: pd.DataFrame
    embeddings: Embeddings
    xy: np.ndarray
    space: np.ndarray
    curves: pd.DataFrame
    k_values: list[int]
    embedding: EmbeddingConfig
    projection: ProjectionConfig
    clustering: ClusterConfig
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def persons(self) -> pd.Series | None:
        """The rows' ``person`` ids when there are any (tests and probes keep a person's faces together)."""
        rows = self.rows
        return rows["person"] if "person" in rows.columns and rows["person"].notna().any() else None


def embed_and_project(manifest: pd.DataFrame, embedding: EmbeddingConfig | None = None,
                      projection: ProjectionConfig | None = None, clustering: ClusterConfig | None = None,
                      k_values: Sequence[int] = tuple(range(2, 11)), artifacts: str | Path | None = None,
                      progress: ProgressFn | None = None, extractor: Extractor | None = None,
                      source_name: str | Path = "<manifest>", warm_up: bool = True,
                      executor: "LocalExecutor | RayExecutor | None" = None) -> LatentSpace:
    """The first half of :func:`run_cluster_analysis`: embeddings (cached), 2-D projection (cached), k curves.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows to analyse (select them first, e.g. with :func:`core.latent.select_rows`).
    embedding, projection, clustering : configs, optional
    k_values : sequence of int
        k range of the elbow and silhouette curves; values outside ``[2, n - 1]`` are dropped.
    artifacts : str or Path, optional
    progress : callable, optional
        ``progress(done, total, message)``; messages start with the step (``embedding: ...``).
    extractor : Extractor, optional
        A model loaded earlier by :func:`core.latent.build_extractor`.
    source_name : str or Path
        Name of the data for error messages.
    warm_up : bool
        With UMAP: import it and compile its kernels on a background thread
        while the embedding runs (only the first process ever compiles; the
        kernels are cached under ``<artifacts>/cache/numba``).
    executor : LocalExecutor or RayExecutor, optional
        Where the embeddings are computed (:func:`core.latent.embed_manifest`); the rest runs here.

    Returns
    -------
    LatentSpace

    Raises
    ------
    ValueError
        No value of ``k_values`` in ``[2, n - 1]``.
    DataFormatError
        Empty manifest or missing images (checked before any model runs).
    """
    embedding = embedding or EmbeddingConfig()
    projection = projection or ProjectionConfig()
    clustering = clustering or ClusterConfig()
    artifacts = Path(artifacts) if artifacts is not None else default_artifacts_dir()
    report = progress or null_progress
    timings: dict[str, float] = {}

    check_image_manifest(manifest, source_name)  # before starting anything: missing files fail fast
    n = len(manifest)
    ks = [kk for kk in k_values if 2 <= kk <= n - 1]
    if not ks:
        raise ValueError(f"no k of {list(k_values)} is in [2, n - 1] = [2, {n - 1}]; {n} faces were given")
    warm = None
    if projection.method == "umap" and warm_up:  # compile umap's kernels on a spare core while the model runs
        warm = threading.Thread(target=warm_up_umap, args=(cache_dir(artifacts) / "numba",), name="umap-warm-up",
                                daemon=True)
        warm.start()
    t0 = time.perf_counter()
    emb = embed_manifest(manifest, embedding, artifacts,
                         progress=lambda d, t, m="": report(d, t, f"embedding: {m}"), extractor=extractor,
                         source_name=source_name, executor=executor)
    timings["embedding"] = time.perf_counter() - t0
    if warm is not None:
        report(0, 1, "waiting for umap to compile")
        warm.join()
        timings["umap_warm_up_wait"] = time.perf_counter() - t0 - timings["embedding"]

    t0 = time.perf_counter()
    report(0, 1, f"projecting ({projection.method})")
    xy = project(emb.vectors, projection, cache_dir(artifacts) / "projections", cache_dir(artifacts) / "numba")
    timings["projection"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    space = prepare_for_clustering(emb.vectors, clustering)
    curves = kmeans_curves(space, ks, prepared_config(clustering),
                           progress=lambda d, t, m="": report(d, t, f"clustering: {m}"))
    timings["clustering"] = time.perf_counter() - t0
    return LatentSpace(rows=manifest, embeddings=emb, xy=xy, space=space, curves=curves, k_values=ks,
                       embedding=embedding, projection=projection, clustering=clustering, timings=timings)


def probe_attributes(space: LatentSpace, attributes: Sequence[str],
                     progress: ProgressFn | None = None) -> tuple[dict[str, ProbeResult], dict[str, str]]:
    """The linear probe of each attribute the rows have (it does not depend on k).

    Returns
    -------
    probes : dict
        ``{attribute: ProbeResult}``.
    skipped : dict
        ``{attribute: reason}`` for attributes whose probe was not possible (a group too small for
        cross-validation).
    """
    report = progress or null_progress
    attrs = available_attributes(space.rows, attributes)
    probes: dict[str, ProbeResult] = {}
    skipped: dict[str, str] = {}
    x = normalize_vectors(space.embeddings.vectors, space.clustering.normalize) if attrs else None
    for i, a in enumerate(attrs):
        report(i, len(attrs), f"probing {a}")
        try:
            probes[a] = linear_probe(x, attribute_values(space.rows, a), a, persons=space.persons,
                                     seed=space.clustering.seed)
        except ValueError as exc:  # a group too small for cross-validation: the probe is skipped for it
            skipped[a] = str(exc)
    return probes, skipped


def analyse_clusters(space: LatentSpace, k: int, attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                     n_permutations: int = 999, probe: bool = True,
                     progress: ProgressFn | None = None) -> ClusterAnalysis:
    """The second half of :func:`run_cluster_analysis`: one KMeans fit at ``k``, compositions, tests, probes.

    Parameters
    ----------
    space : LatentSpace
        From :func:`embed_and_project`.
    k : int
        Number of clusters, in ``[2, n - 1]``.
    attributes : sequence of str
        Attributes to test, in order of priority; those absent (or with one group) are skipped.
    n_permutations : int
    probe : bool
        Also run :func:`probe_attributes`.
    progress : callable, optional

    Returns
    -------
    ClusterAnalysis
    """
    rows, clustering = space.rows, space.clustering
    check_k(k, len(rows))
    report = progress or null_progress
    timings = dict(space.timings)
    t0 = time.perf_counter()
    km = fit_kmeans(space.space, k, prepared_config(clustering))
    timings["clustering"] = timings.get("clustering", 0.0) + time.perf_counter() - t0

    frame = pd.DataFrame({"sample_id": space.embeddings.sample_ids, "x": space.xy[:, 0], "y": space.xy[:, 1],
                          "cluster": km.labels})
    for col in META_COLUMNS:
        if col in rows.columns:
            frame[col] = rows[col].to_numpy()

    t0 = time.perf_counter()
    comps, tests = {}, {}
    attrs = available_attributes(rows, attributes)
    for i, a in enumerate(attrs):
        report(i, len(attrs), f"testing {a}")
        values = attribute_values(rows, a)
        if a == "age_group":
            frame["age_group"] = values.to_numpy()
        comps[a] = composition(km.labels, values, a, group_order=AGE_ORDER.get(a))
        tests[a] = independence_test(km.labels, values, a, n_permutations=n_permutations, seed=clustering.seed,
                                     persons=space.persons)
    probes, skipped = probe_attributes(space, attrs, progress) if probe else ({}, {})
    timings["tests"] = time.perf_counter() - t0
    settings = {"embedding": asdict(space.embedding), "projection": asdict(space.projection),
                "clustering": asdict(clustering), "k_values": list(space.k_values), "attributes": attrs,
                "n_permutations": n_permutations}
    return ClusterAnalysis(frame=frame, curves=space.curves, kmeans=km, compositions=comps, tests=tests,
                           probes=probes, embedding=space.embeddings.info(), settings=settings,
                           timings={k_: round(v, 2) for k_, v in timings.items()}, probes_skipped=skipped)


def run_cluster_analysis(manifest: pd.DataFrame, k: int, embedding: EmbeddingConfig | None = None,
                         projection: ProjectionConfig | None = None, clustering: ClusterConfig | None = None,
                         k_values: Sequence[int] = tuple(range(2, 11)), attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                         n_permutations: int = 999, probe: bool = True, artifacts: str | Path | None = None,
                         progress: ProgressFn | None = None, extractor: Extractor | None = None,
                         source_name: str | Path = "<manifest>", warm_up: bool = True,
                         executor: "LocalExecutor | RayExecutor | None" = None) -> ClusterAnalysis:
    """From a manifest to composition tables and tests: :func:`embed_and_project`, then :func:`analyse_clusters`.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows to analyse (select them first, e.g. with :func:`core.latent.select_rows`).
    k : int
        Number of clusters, in ``[2, n - 1]``.
    embedding, projection, clustering : configs, optional
    k_values : sequence of int
        k range of the elbow and silhouette curves (values above ``n - 1`` are dropped; none left: ``[k]``).
    attributes : sequence of str
        Attributes to test, in order of priority; those absent are skipped.
    n_permutations : int
    probe : bool
        Run the linear probe for each attribute.
    artifacts : str or Path, optional
    progress : callable, optional
    extractor : Extractor, optional
        A model loaded earlier by :func:`core.latent.build_extractor`.
    source_name : str or Path
        Name of the data for error messages.
    warm_up : bool
        See :func:`embed_and_project`.
    executor : LocalExecutor or RayExecutor, optional
        Where the embeddings are computed (default: here); see :func:`embed_and_project`.

    Raises
    ------
    ValueError
        ``k`` out of range (checked before any model runs).
    DataFormatError
        Empty manifest or missing images.
    """
    n = len(manifest)
    if n:
        check_k(k, n)
    ks = [kk for kk in k_values if 2 <= kk <= n - 1] or [k]
    space = embed_and_project(manifest, embedding, projection, clustering, ks, artifacts, progress, extractor,
                              source_name, warm_up, executor)
    result = analyse_clusters(space, k, attributes, n_permutations, probe, progress)
    (progress or null_progress)(1, 1, "done")
    return result


#: Columns of ``assignments.csv`` (those the analysed rows have), after ``sample_id`` and ``cluster``.
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("path", "race", "gender", "age", "age_group", "label", "person")


def assignments_table(result: ClusterAnalysis) -> pd.DataFrame:
    """The content of ``assignments.csv``: ``sample_id``, ``cluster`` and the :data:`ASSIGNMENT_COLUMNS` present."""
    cols = ["sample_id", "cluster"] + [c for c in ASSIGNMENT_COLUMNS if c in result.frame.columns]
    return result.frame[cols]


def write_analysis(result: ClusterAnalysis, out: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the analysis files into ``out`` (created); returns the path of ``clusters.json``.

    Files: ``projection.parquet`` (sample_id, x, y, cluster and manifest
    columns), ``assignments.csv`` (sample_id, cluster and attributes),
    ``curves.csv`` (k, inertia, silhouette), ``composition_<attribute>.csv``
    (n and row percentages with an ``All`` row) and ``clusters.json``.
    """
    from ..evaluation.metrics import clean_for_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(result.frame, out / "projection.parquet")
    atomic_write_text(assignments_table(result).to_csv(index=False), out / "assignments.csv")
    atomic_write_text(result.curves.to_csv(index=False), out / "curves.csv")
    for a, comp in result.compositions.items():
        atomic_write_text(comp.table().to_csv(index_label="cluster"), out / f"composition_{a}.csv")
    summary = result.summary()
    if extra:
        summary.update(extra)
    return atomic_write_json(clean_for_json(summary), out / "clusters.json")

