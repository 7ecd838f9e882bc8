"""``python -m core demo``: draw the synthetic demo dataset and register it (or write it to a folder)."""
from __future__ import annotations

import argparse

from ..common.paths import default_artifacts_dir


def _group_count(text: str) -> tuple[str, int]:
    group, sep, count = text.partition("=")
    if not sep or not count.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected GROUP=N such as Dark=14, received {text!r}")
    return group.strip(), int(count)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")
    p.add_argument("--seed", type=int, default=0, help="generation seed (same seed, same dataset)")
    p.add_argument("--n-persons", nargs="+", type=_group_count, default=None, metavar="GROUP=N",
                   help="persons per skin-tone group, e.g. Light=36 Medium=36 Dark=14 (others keep defaults)")
    p.add_argument("--images-per-person", type=int, default=None)
    p.add_argument("--image-size", type=int, default=None, help="side of the square PNGs in pixels")
    p.add_argument("--out", default=None,
                   help="write images and manifest.parquet to this folder instead of registering the dataset")
    p.add_argument("--force", action="store_true", help="regenerate even if the demo is already registered")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from .demo import DemoConfig, describe_bias, ensure_demo, generate_demo
    from .manifest import save_manifest
    from ..common.progress import progress_for_cli

    base = DemoConfig()
    changes: dict = {}
    if args.n_persons:
        changes["n_persons"] = {**base.n_persons, **dict(args.n_persons)}
    if args.images_per_person is not None:
        changes["images_per_person"] = args.images_per_person
    if args.image_size is not None:
        changes["image_size"] = args.image_size
    config = replace(base, **changes)
    from ..common._io import check_writable, refuse_existing_output
    from ..common.paths import datasets_dir

    if args.out:
        refuse_existing_output(args.out)
        check_writable(args.out, flag="--out")
    else:
        check_writable(datasets_dir(Path(args.artifacts) if args.artifacts else default_artifacts_dir()))
    progress = progress_for_cli(args.status_file, "synthetic demo")
    if args.out:
        df = generate_demo(args.out, seed=args.seed, config=config, progress=progress)
        path = save_manifest(df, Path(args.out) / "manifest.parquet")
        print(f"wrote {len(df)} synthetic images and {path}")
        print(describe_bias(config))
    else:
        artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
        info = ensure_demo(artifacts, seed=args.seed, config=config if changes else None, regenerate=args.force,
                           progress=progress)
        print(f"registered {info.name!r} (synthetic): {info.n_samples} images at {info.path}")
        print(info.source.get("bias", ""))
    return 0
