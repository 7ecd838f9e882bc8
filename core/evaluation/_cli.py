"""``python -m core evaluate``: predict a dataset with a model and write predictions + metrics."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from ..common._errors import DataFormatError, UnknownDatasetError
from ..common._io import read_json
from ..common.paths import default_artifacts_dir, runs_dir
from ..data.registry import FORMATS
from .runs import DEFAULT_ATTRIBUTES


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data --format --demographics --name``, read back by :func:`resolve_data` (shared by commands)."""
    p.add_argument("--data", required=True,
                   help="dataset folder or file, a manifest .parquet, or the name of a registered dataset")
    p.add_argument("--format", choices=list(FORMATS), default=None,
                   help="format of --data (default: manifest for .parquet, registered name, else folder)")
    p.add_argument("--demographics", default=None, help="EiLA demographics.csv (eila-* formats)")
    p.add_argument("--name", default=None, help="dataset name recorded in the results")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="'fer', a run folder, or a .keras/.h5 model file")
    add_data_arguments(p)
    p.add_argument("--split", default="auto", choices=["auto", "test", "validation", "train", "all"],
                   help="rows to evaluate; auto = the test split if there is one, else all rows")
    p.add_argument("--attributes", nargs="+", default=list(DEFAULT_ATTRIBUTES),
                   help="group attributes, e.g. race gender skin_tone 'race x gender'")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates for confidence intervals")
    p.add_argument("--min-persons", type=int, default=5, help="flag groups with fewer distinct persons")
    p.add_argument("--unit", default="person", choices=["person", "clip", "video"],
                   help="unit of resampling of the intervals (default: person; clip and video need those columns)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="backbone pass of a run trained here (bfloat16: several times faster, agreement in the README)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N rows")
    p.add_argument("--label", default=None, help="display name of this evaluation")
    p.add_argument("--out", default=None, help="output folder (default: <artifacts>/runs/<new id>); must be new "
                   "or empty: a folder holding a run or dataset is refused")
    p.add_argument("--replace", action="store_true", help="replace the run in --out once the new one is complete")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")


def resolve_data(data: str, fmt: str | None, demographics: str | None, name: str | None,
                 artifacts: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Manifest and a description of it from ``--data``/``--format``.

    Raises
    ------
    DataFormatError
        When ``data`` is neither a path in a known format nor a registered dataset.
    """
    from ..data.manifest import load_manifest
    from ..data.registry import get_dataset, load_any, load_dataset

    path = Path(data)
    if fmt is not None:
        df = load_any(fmt, path, demographics=demographics, name=name, artifacts=artifacts)
        rule = (df.attrs.get("split_rule") or {}).get("rule")
        return df, {"name": name or path.name, "format": fmt, "path": str(path), "demographics": demographics,
                    **({"split_rule": rule} if rule else {})}
    if path.is_file() and path.suffix.lower() == ".parquet":
        desc: dict[str, Any] = {"name": name or path.stem, "format": "manifest", "path": str(path)}
        info_file = path.parent / "info.json"
        if info_file.is_file():  # a registered dataset's own manifest
            try:
                meta = read_json(info_file)
                desc.update({"name": name or meta.get("name", path.stem), "synthetic": bool(meta.get("synthetic"))})
            except (OSError, ValueError):
                pass
        return load_manifest(path), desc
    if not path.exists():
        try:
            info = get_dataset(data, artifacts)
        except UnknownDatasetError:  # an unreadable registered dataset raises naming its file instead
            raise DataFormatError("not a file, folder or registered dataset name; expected a dataset folder, a "
                                  "manifest .parquet or a name listed by the Data page", data) from None
        return load_dataset(data, artifacts), {"name": info.name, "format": "registered", "path": str(info.path),
                                               "synthetic": info.synthetic,
                                               **({"split_rule": info.source["split_rule"]}
                                                  if info.source.get("split_rule") else {})}
    if path.is_dir():
        df = load_any("folder", path, name=name, artifacts=artifacts)
        return df, {"name": name or path.name, "format": "folder", "path": str(path)}
    raise DataFormatError(f"cannot tell the format of this file; pass --format (one of {list(FORMATS)})", path)


def run(args: argparse.Namespace) -> int:
    from ..common._io import check_writable, refuse_existing_output
    from ..common.progress import StatusFileProgress, TqdmProgress
    from ..runs.ids import make_run_id
    from .runs import evaluate_model

    artifacts = Path(args.artifacts) if args.artifacts else default_artifacts_dir()
    out = Path(args.out) if args.out else runs_dir(artifacts) / make_run_id("eval")
    refuse_existing_output(out, args.replace)  # before reading data or predicting anything
    check_writable(out.parent, flag="--out" if args.out else "--artifacts")
    manifest, dataset = resolve_data(args.data, args.format, args.demographics, args.name, artifacts)
    bar = TqdmProgress("evaluate")
    status = StatusFileProgress(args.status_file) if getattr(args, "status_file", None) else None

    def progress(done: int, total: int, message: str = "") -> None:
        bar(done, total, message)
        if status is not None:
            status(done, total, message)

    m = evaluate_model(args.model, manifest, out, dataset, split=args.split, attributes=args.attributes,
                       n_boot=args.n_boot, min_persons=args.min_persons, batch_size=args.batch_size,
                       limit=args.limit, progress=progress, label=args.label, unit=args.unit,
                       precision=args.precision, replace=args.replace)
    print(f"wrote {out}/predictions.parquet, metrics.json and leakage.json")
    ci = f"[{m['accuracy_ci_low']:.3f}, {m['accuracy_ci_high']:.3f}]"
    loss = "n/a" if m["loss"] is None else f"{m['loss']:.3f}"
    print(f"n={m['n_samples']} accuracy={m['accuracy']:.3f} {ci} weighted_f1={m['weighted_f1']:.3f} loss={loss}")
    for attr, groups in m["groups"].items():
        parts = [f"{g} {v['accuracy']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}] n={v['n_samples']}"
                 + (f"/{v['n_persons']}p" if v["n_persons"] is not None else "") + (" (few)" if v["low_n"] else "")
                 + (" (one clip)" if v.get("one_clip") else "")
                 for g, v in groups.items()]
        print(f"  {attr}: " + "; ".join(parts))
    for attr, why in m["groups_unavailable"].items():
        print(f"  {attr}: not available ({why[:120]})")
    from .leakage import read_leakage
    from .provenance import provenance

    audit = read_leakage(out)
    if audit is not None and not audit["checked"]:
        print(f"identity leakage: not checked ({audit['reason']})")
    # loud: random weights, synthetic data, rows or persons seen in training (from leakage.json)
    for warning in provenance(out).warnings:
        print(f"WARNING: {warning}")
    return 0
