"""``python -m core register``: load files in a known format and register the manifest."""
from __future__ import annotations

import argparse

from ..common.paths import default_artifacts_dir
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
    p.add_argument("--replace", action="store_true",
                   help="replace a dataset already registered under this name (once the new one is complete)")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..common._errors import DataFormatError
    from ..common._io import check_writable
    from ..common.paths import datasets_dir
    from .registry import BAD_IMAGE_FORMATS, load_and_register, slugify

    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    slugify(args.name)  # a name with no usable characters fails before anything is read
    check_writable(datasets_dir(artifacts), flag="--artifacts")
    kwargs = {"on_bad_image": "skip"} if args.skip_bad_images and args.format in BAD_IMAGE_FORMATS else {}
    if args.format in ("eila-annotations", "eila-crops"):
        kwargs.update(split_rule=args.split_rule, split_seed=args.split_seed)
    elif args.split_rule != "seed":
        raise DataFormatError(f"--split-rule applies to eila-* formats, not {args.format!r}", args.path)
    df, info = load_and_register(args.format, args.path, args.name, artifacts, demographics=args.demographics,
                                 overwrite=args.replace, **kwargs)
    print(f"registered {info.name!r}: {info.n_samples} samples at {info.path}")
    rep = df.attrs.get("load_report", {})
    if rep.get("n_excluded") or rep.get("n_skipped"):
        print(f"left out: {rep.get('excluded_labels')} excluded labels, {rep.get('n_skipped')} skipped")
    return 0
