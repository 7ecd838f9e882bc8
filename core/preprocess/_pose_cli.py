"""``python -m core estimate-pose``: add face confidence, landmarks, yaw, pitch and side_profile to a cropped dataset."""
from __future__ import annotations

import argparse

from ._detectors import DETECTORS
from ._pose import SIDE_PROFILE_YAW_DEG


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True,
                   help="registered dataset name, or a dataset path (then --format is required)")
    p.add_argument("--format", default=None, help="format of --data when it is a path (see `register --help`)")
    p.add_argument("--demographics", default=None, help="EiLA demographics.csv (eila-* formats)")
    p.add_argument("--detector", default="mtcnn", choices=list(DETECTORS))
    p.add_argument("--weights", default=None, help="YuNet .onnx (yunet) or YOLO face .pt (yolo)")
    p.add_argument("--threshold", type=float, default=0.6, help="minimum face confidence for a pose (default 0.6)")
    p.add_argument("--side-threshold", type=float, default=SIDE_PROFILE_YAW_DEG,
                   help=f"|yaw| in degrees flagged side_profile (default {SIDE_PROFILE_YAW_DEG:g})")
    p.add_argument("--out", default=None, help="write the annotated manifest (.parquet) here")
    p.add_argument("--register", default=None, metavar="NAME",
                   help="register the annotated manifest under this name (the source's name updates it in place)")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")
    p.add_argument("--status-file", default=None, help="write progress JSON here (background jobs)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..common._errors import DataFormatError
    from ..data.manifest import atomic_write_parquet, validate_manifest
    from ..common.paths import default_artifacts_dir
    from ..common.progress import progress_for_cli
    from ..data.registry import get_dataset, load_any, load_dataset, register_dataset
    from ._detectors import load_detector
    from ._pose import estimate_pose_for_manifest, pose_summary

    if not args.out and not args.register:
        raise DataFormatError("nothing to write: pass --out FILE.parquet and/or --register NAME", args.data)
    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    source: dict = {"pose_of": args.data, "pose_detector": args.detector}
    in_place = False  # --register with the source dataset's own name updates it (documented); any other is refused
    if args.format:
        df = load_any(args.format, args.data, demographics=args.demographics, artifacts=artifacts)
        fmt = args.format
    else:
        info = get_dataset(args.data, artifacts)
        df, fmt = load_dataset(args.data, artifacts), info.format
        source = {**info.source, **source}
        in_place = bool(args.register) and args.register in (info.name, info.slug)
    detector = load_detector(args.detector, args.weights)
    out = estimate_pose_for_manifest(df, detector, threshold=args.threshold, side_threshold_deg=args.side_threshold,
                                     progress=progress_for_cli(args.status_file, "estimate-pose"))
    out = validate_manifest(out, source=args.data)
    if args.out:
        atomic_write_parquet(out, Path(args.out))
        print(f"wrote {args.out}")
    if args.register:
        reg = register_dataset(out, info.name if in_place else args.register, fmt, source, artifacts,
                               overwrite=in_place)
        print(f"registered {reg.name!r} ({reg.n_samples} samples) at {reg.path}")
    counts = out["pose_status"].value_counts().to_dict()
    print("pose status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(pose_summary(out, by=[c for c in ("race",) if c in out.columns]).to_string(index=False))
    return 0
