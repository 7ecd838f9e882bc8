"""``python -m core demo-study``: fine-tune ``fer`` on the synthetic demo and write an evaluated run folder."""
from __future__ import annotations

import argparse

from ..common.paths import default_artifacts_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None,
                   help="new run folder to write (default: <artifacts>/runs/demo-study-<date>-<id>, seen by the app)")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")
    p.add_argument("--seed", type=int, default=0, help="training seed (batch order, random state)")
    p.add_argument("--demo-seed", type=int, default=0, help="seed of the synthetic demo dataset (0: the app's)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates for confidence intervals")


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from .demo_study import DemoStudyConfig, finding, run_demo_study
    from ..common.paths import runs_dir
    from ..runs.ids import make_run_id
    from ..common.progress import progress_for_cli
    from ._cli import exit_cleanly_on_sigterm

    config = DemoStudyConfig(seed=args.seed, demo_seed=args.demo_seed, epochs=args.epochs,
                             learning_rate=args.learning_rate, batch_size=args.batch_size, n_boot=args.n_boot)
    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    out = Path(args.out) if args.out else runs_dir(artifacts) / make_run_id("demo-study")
    exit_cleanly_on_sigterm()
    t0 = time.monotonic()
    metrics = run_demo_study(out, artifacts, config, progress_for_cli(args.status_file, "demo study"))
    f = finding(metrics)
    print(f"wrote {out} (model.keras, predictions.parquet, metrics.json); weights: fer (FER2013-trained); "
          f"{time.monotonic() - t0:.0f} s")
    print(f"test accuracy {metrics['accuracy']:.1%} (chance 14.3%), weighted F1 {metrics['weighted_f1']:.3f}")
    for g, v in f["groups"].items():
        print(f"  {g}: {v['accuracy']:.1%} [{v['ci_low']:.1%}, {v['ci_high']:.1%}] ({v['n_persons']} persons)")
    gaps = ", ".join(f"{g} {d:+.1f} points" for g, d in f["gap_points"].items())
    print(("Planted bias found: " if f["shown"] else "Planted bias NOT clearly shown: ")
          + f"Dark is below the others ({gaps}); Dark's interval "
          + ("excludes" if all(f["separated"].values()) else "does not exclude") + " their accuracy.")
    return 0
