"""``python -m core report``: build the self-contained HTML report (and CSV tables) from run folders."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", nargs="*", default=[], help="run folders (trained runs or evaluations)")
    p.add_argument("--all-runs", action="store_true", help="use every run with predictions under the artifacts folder")
    p.add_argument("--no-reference", action="store_true", help="leave out the seed's published results")
    p.add_argument("--attributes", nargs="+", default=None,
                   help="group attributes (default: race plus what the predictions provide)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--min-persons", type=int, default=5)
    p.add_argument("--unit", default="person", choices=["person", "clip", "video"],
                   help="unit of resampling of the intervals (default: person)")
    p.add_argument("--baseline", type=int, default=0, help="index of the run the others are compared to")
    p.add_argument("--title", default="FER Bias Lab report")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--csv-dir", default=None, help="also write the tables as CSV files here")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


def run(args: argparse.Namespace) -> int:
    import sys

    from ..common._io import parquet_problem
    from ..common.paths import default_artifacts_dir
    from .report import build_report
    from .runs import list_runs, read_run

    runs = [read_run(r) for r in args.runs]
    if args.all_runs:
        artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
        seen = {x.path for x in runs}
        for r in reversed(list_runs(artifacts, with_predictions=True)):
            problem = None if r.path in seen else parquet_problem(r.path / "predictions.parquet")
            if problem is not None:  # one corrupt run never blocks the report of the others
                print(f"warning: skipped run {r.path}: predictions.parquet: {problem}", file=sys.stderr)
            elif r.path not in seen:
                runs.append(r)
    bundle = build_report(runs, include_reference=not args.no_reference, attributes=args.attributes,
                          n_boot=args.n_boot, confidence=args.confidence, min_persons=args.min_persons,
                          baseline=args.baseline, title=args.title, unit=args.unit)
    files = bundle.write(args.out, args.csv_dir)
    print(f"wrote {len(files)} file(s): " + ", ".join(str(f) for f in files))
    return 0
