"""``python -m core register``: load files in a known format and register the manifest."""
from __future__ import annotations

import argparse

from .paths import default_artifacts_dir
from .registry import FORMATS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="name to register the dataset under")
    p.add_argument("--format", required=True, choices=list(FORMATS))
    p.add_argument("--path", required=True, help="dataset folder or file")
    p.add_argument("--demographics", help="EiLA demographics.csv (eila-* formats)")
    p.add_argument("--split-rule", default="seed", choices=["seed", "seed-prose", "person-disjoint"],
                   help="EiLA split: the seed's annotator-count rule (default; for crops: their folders; it leaks "
                        "persons into test) or person-disjoint (eila-* formats)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the person-disjoint split")
    p.add_argument("--skip-bad-images", action="store_true", help="leave out undecodable images and report them")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._errors import DataFormatError
    from .registry import BAD_IMAGE_FORMATS, load_any, register_dataset

    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    kwargs = {"on_bad_image": "skip"} if args.skip_bad_images and args.format in BAD_IMAGE_FORMATS else {}
    if args.format in ("eila-annotations", "eila-crops"):
        kwargs.update(split_rule=args.split_rule, split_seed=args.split_seed)
    elif args.split_rule != "seed":
        raise DataFormatError(f"--split-rule applies to eila-* formats, not {args.format!r}", args.path)
    df = load_any(args.format, args.path, demographics=args.demographics, name=args.name, artifacts=artifacts,
                  **kwargs)
    info = register_dataset(df, args.name, args.format, {"path": args.path, "demographics": args.demographics},
                            artifacts)
    print(f"registered {info.name!r}: {info.n_samples} samples at {info.path}")
    rep = df.attrs.get("load_report", {})
    if rep.get("n_excluded") or rep.get("n_skipped"):
        print(f"left out: {rep.get('excluded_labels')} excluded labels, {rep.get('n_skipped')} skipped")
    return 0
