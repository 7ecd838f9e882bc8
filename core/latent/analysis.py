"""The whole latent-space analysis of one dataset, and its files on disk.

:func:`run_cluster_analysis` goes from a manifest to tables: embeddings
(cached), 2-D projection (cached), KMeans curves over a k range, one KMeans
fit at the chosen k, and for each attribute present a composition table,
independence tests and a linear probe. :func:`write_analysis` writes
``projection.parquet``, ``assignments.csv``, ``curves.csv``,
``composition_<attribute>.csv`` and ``clusters.json``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from .._io import atomic_write_json, atomic_write_text
from ..manifest import atomic_write_parquet
from ..paths import cache_dir, default_artifacts_dir
from ..progress import ProgressFn
from .clusters import (ClusterConfig, KMeansResult, check_k, fit_kmeans, kmeans_curves, prepare_for_clustering,
                       prepared_config)
from .embeddings import EmbeddingConfig, Extractor, check_image_manifest, embed_manifest
from .projection import ProjectionConfig, normalize_vectors, project, warm_up_umap
from .stats import Composition, IndependenceResult, ProbeResult, composition, independence_test, linear_probe

DEFAULT_ATTRIBUTES: tuple[str, ...] = ("race", "gender", "age_group", "label")
#: Manifest columns copied next to the coordinates (hover text, colouring, joins).
META_COLUMNS: tuple[str, ...] = ("path", "dataset", "split", "label", "race", "gender", "age", "skin_color", "person",
                                 "video", "yaw")
AGE_BINS: tuple[int, ...] = (0, 20, 40, 60, 200)
AGE_LABELS: tuple[str, ...] = ("0-19", "20-39", "40-59", "60+")


def attribute_values(frame: pd.DataFrame, attribute: str) -> pd.Series | None:
    """Values of ``attribute`` per row (``age_group`` is derived from ``age``); None when absent or all missing."""
    if attribute == "age_group" and "age_group" not in frame.columns and "age" in frame.columns:
        age = pd.to_numeric(frame["age"], errors="coerce")
        s = pd.cut(age, bins=list(AGE_BINS), labels=list(AGE_LABELS), right=False).astype(object)
        s = s.where(age.notna(), None)
    elif attribute in frame.columns:
        s = frame[attribute].astype(object).where(frame[attribute].notna(), None)
    else:
        return None
    return None if s.notna().sum() == 0 else s


def available_attributes(frame: pd.DataFrame, wanted: Iterable[str] = DEFAULT_ATTRIBUTES) -> list[str]:
    """Attributes among ``wanted`` with at least 2 distinct values in ``frame``."""
    out = []
    for a in wanted:
        s = attribute_values(frame, a)
        if s is not None and s.dropna().nunique() >= 2:
            out.append(a)
    return out


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


def run_cluster_analysis(manifest: pd.DataFrame, k: int, embedding: EmbeddingConfig | None = None,
                         projection: ProjectionConfig | None = None, clustering: ClusterConfig | None = None,
                         k_values: Sequence[int] = tuple(range(2, 11)), attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                         n_permutations: int = 999, probe: bool = True, artifacts: str | Path | None = None,
                         progress: ProgressFn | None = None, extractor: Extractor | None = None,
                         source_name: str | Path = "<manifest>", warm_up: bool = True) -> ClusterAnalysis:
    """From a manifest to composition tables and tests.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows to analyse (select them first, e.g. with :func:`core.latent.select_rows`).
    k : int
        Number of clusters, in ``[2, n - 1]``.
    embedding, projection, clustering : configs, optional
    k_values : sequence of int
        k range of the elbow and silhouette curves (values above ``n - 1`` are dropped).
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
        With UMAP: import it and compile its kernels on a background thread
        while the embedding runs (only the first process ever compiles; the
        kernels are cached under ``<artifacts>/cache/numba``).

    Raises
    ------
    ValueError
        ``k`` out of range (checked before any model runs).
    DataFormatError
        Empty manifest or missing images.
    """
    embedding = embedding or EmbeddingConfig()
    projection = projection or ProjectionConfig()
    clustering = clustering or ClusterConfig()
    n = len(manifest)
    if n:
        check_k(k, n)
    artifacts = Path(artifacts) if artifacts is not None else default_artifacts_dir()
    report = progress or (lambda done, total, message="": None)
    timings: dict[str, float] = {}

    check_image_manifest(manifest, source_name)  # before starting anything: missing files fail fast
    warm = None
    if projection.method == "umap" and warm_up:  # compile umap's kernels on a spare core while the model runs
        warm = threading.Thread(target=warm_up_umap, args=(cache_dir(artifacts) / "numba",), name="umap-warm-up",
                                daemon=True)
        warm.start()
    t0 = time.perf_counter()
    emb = embed_manifest(manifest, embedding, artifacts,
                         progress=lambda d, t, m="": report(d, t, f"embedding: {m}"), extractor=extractor,
                         source_name=source_name)
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
    ks = [kk for kk in k_values if 2 <= kk <= n - 1] or [k]
    space = prepare_for_clustering(emb.vectors, clustering)
    curves = kmeans_curves(space, ks, prepared_config(clustering),
                           progress=lambda d, t, m="": report(d, t, f"clustering: {m}"))
    km = fit_kmeans(space, k, prepared_config(clustering))
    timings["clustering"] = time.perf_counter() - t0

    frame = pd.DataFrame({"sample_id": emb.sample_ids, "x": xy[:, 0], "y": xy[:, 1], "cluster": km.labels})
    for col in META_COLUMNS:
        if col in manifest.columns:
            frame[col] = manifest[col].to_numpy()

    t0 = time.perf_counter()
    comps, tests, probes = {}, {}, {}
    attrs = available_attributes(manifest, attributes)
    probe_x = normalize_vectors(emb.vectors, clustering.normalize) if probe and attrs else None
    persons = manifest["person"] if "person" in manifest.columns and manifest["person"].notna().any() else None
    for i, a in enumerate(attrs):
        report(i, len(attrs), f"testing {a}")
        values = attribute_values(manifest, a)
        if a == "age_group":
            frame["age_group"] = values.to_numpy()
        comps[a] = composition(km.labels, values, a, group_order=list(AGE_LABELS) if a == "age_group" else None)
        tests[a] = independence_test(km.labels, values, a, n_permutations=n_permutations, seed=clustering.seed,
                                     persons=persons)
        if probe_x is not None:
            try:
                probes[a] = linear_probe(probe_x, values, a, persons=persons, seed=clustering.seed)
            except ValueError:  # a group too small for cross-validation: the probe is skipped for it
                pass
    timings["tests"] = time.perf_counter() - t0
    report(1, 1, "done")
    settings = {"embedding": asdict(embedding), "projection": asdict(projection), "clustering": asdict(clustering),
                "k_values": list(ks), "attributes": attrs, "n_permutations": n_permutations}
    return ClusterAnalysis(frame=frame, curves=curves, kmeans=km, compositions=comps, tests=tests, probes=probes,
                           embedding=emb.info(), settings=settings, timings={k_: round(v, 2) for k_, v in
                                                                            timings.items()})


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
    cols = ["sample_id", "cluster"] + [c for c in ("path", "race", "gender", "age", "age_group", "label", "person")
                                       if c in result.frame.columns]
    atomic_write_text(result.frame[cols].to_csv(index=False), out / "assignments.csv")
    atomic_write_text(result.curves.to_csv(index=False), out / "curves.csv")
    for a, comp in result.compositions.items():
        atomic_write_text(comp.table().to_csv(index_label="cluster"), out / f"composition_{a}.csv")
    summary = result.summary()
    if extra:
        summary.update(extra)
    return atomic_write_json(clean_for_json(summary), out / "clusters.json")

