"""Latent-space explorer: embeddings, 2-D projections, KMeans, and tests of whether clusters follow race.

Importing this package is light: TensorFlow, scikit-learn and umap load on first use.

* :mod:`.embeddings`: vectors from ResNet50 / ResNet50V2 (own ``preprocess_input``),
  a trained run's penultimate layer or the fer model; cached per image content.
* :mod:`.projection`: UMAP and PCA to 2-D, cached by embedding content and parameters.
* :mod:`.clusters`: KMeans elbow and silhouette curves; one fit at the user's k.
* :mod:`.stats`: composition tables, chi-square / Cramér's V / AMI / permutation
  test, linear probe against the majority baseline.
* :mod:`.analysis`: the whole pipeline for one dataset, in stages (k-independent, one k, probes),
  and its outputs on disk.
"""
from .analysis import (ClusterAnalysis, LatentSpace, analyse_clusters, assignments_table, embed_and_project,
                       probe_attributes, run_cluster_analysis, write_analysis)
from .clusters import ClusterConfig, KMeansResult, check_k, fit_kmeans, kmeans_curves
from .embeddings import (BACKBONE_SOURCES, CLASSIFIER_SOURCES, EmbeddingConfig, Embeddings, Extractor,
                         build_extractor, check_image_manifest, embed_manifest, penultimate_output, select_rows)
from .projection import ProjectionConfig, import_umap, normalize_vectors, project
from .stats import (Composition, IndependenceResult, ProbeResult, composition, independence_test, linear_probe)

__all__ = [
    "BACKBONE_SOURCES", "CLASSIFIER_SOURCES", "ClusterAnalysis", "ClusterConfig", "Composition", "EmbeddingConfig",
    "Embeddings", "Extractor", "IndependenceResult", "KMeansResult", "LatentSpace", "ProbeResult",
    "ProjectionConfig", "analyse_clusters", "assignments_table", "build_extractor", "check_image_manifest",
    "check_k", "composition", "embed_and_project", "embed_manifest", "fit_kmeans", "import_umap",
    "independence_test", "kmeans_curves", "linear_probe", "normalize_vectors", "penultimate_output",
    "probe_attributes", "project", "run_cluster_analysis", "select_rows", "write_analysis",
]
