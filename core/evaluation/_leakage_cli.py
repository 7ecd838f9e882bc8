"""``python -m core leakage``: which evaluation persons and clips were also in the training splits."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..common._errors import DataFormatError
from ..common.paths import default_artifacts_dir
from ._cli import add_data_arguments, resolve_data
from .leakage import DEFAULT_LEAKAGE_ATTRIBUTES, describe_group, leakage_audit, mostly_seen_groups, write_leakage


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    p.add_argument("--train-splits", default="train,validation",
                   help="comma-separated splits a model trains on (default: train,validation)")
    p.add_argument("--eval-split", default="test", help="split evaluated on (default: test)")
    p.add_argument("--split-rule", default=None, choices=["seed", "seed-prose", "person-disjoint"],
                   help="recompute EiLA's split first (default: as loaded; for eila-annotations the seed's "
                        "annotator-count rule, which leaks persons)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the person-disjoint split")
    p.add_argument("--attributes", nargs="+", default=list(DEFAULT_LEAKAGE_ATTRIBUTES),
                   help="group attributes audited (those the data lack are left out)")
    p.add_argument("--out", required=True, help="folder for leakage.csv and leakage.json")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


def run(args: argparse.Namespace) -> int:
    from ..data.datasets import apply_split_rule

    train_splits = [s.strip() for s in args.train_splits.split(",") if s.strip()]
    if not train_splits or args.eval_split in train_splits:
        raise DataFormatError(f"expected training splits that exclude the evaluation split {args.eval_split!r}, "
                              f"received {train_splits}", "--train-splits")
    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    manifest, _ = resolve_data(args.data, args.format, args.demographics, args.name, artifacts)
    if args.split_rule is not None:
        try:
            manifest = apply_split_rule(manifest, args.split_rule, seed=args.split_seed)
        except ValueError as exc:
            raise DataFormatError(str(exc), args.data) from None
    present = sorted(manifest["split"].unique())
    for s in [*train_splits, args.eval_split]:
        if s not in present:
            raise DataFormatError(f"no rows in split {s!r}; splits present: {present}", args.data, "split")
    train = manifest[manifest["split"].isin(train_splits)]
    evaluation = manifest[manifest["split"] == args.eval_split]
    audit = leakage_audit(train, evaluation, args.attributes, train_splits, args.eval_split)
    files = write_leakage(audit, args.out, csv=True)
    print(f"wrote {', '.join(str(f) for f in files)}")
    print(f"{args.eval_split} rows vs {'+'.join(train_splits)} rows"
          + ("" if audit["checked"] else f": leakage CANNOT be checked ({audit['reason']})"))
    if audit["checked"] and audit["reason"]:
        print(f"note: {audit['reason']}")
    for g in audit["groups"]:
        print(f"  {g['attribute']:<10} {describe_group(g)}")
    for g in mostly_seen_groups(audit):
        print(f"warning: {g['attribute']} {g['group']}: most evaluation frames ({g['frames_seen']} of {g['frames']}) "
              "show persons seen in training")
    return 0
