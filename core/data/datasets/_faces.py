"""Loaders for face datasets with demographics but no emotion labels: UTKFace, FairFace."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...common._errors import DataFormatError
from ..images import is_image_file
from ..labels import GENDER_CODES_UTK, RACE_CODES_UTK
from ._common import BadImagePolicy, LoadReport, apply_bad_image_policy, finish, read_csv, require_columns

UTK_NAME = re.compile(r"^(?P<age>\d+)_(?P<gender>[01])_(?P<race>[0-4])_(?P<dt>\d+)\.jpg(?:\.chip\.jpg)?$",
                      re.IGNORECASE)
MAX_AGE = 130
FAIRFACE_COLUMNS = ["file", "age", "gender", "race", "service_test"]


def load_utkface(root: str | Path, split: str = "test", on_bad_image: BadImagePolicy = "raise") -> pd.DataFrame:
    """Load UTKFace crops named ``[age]_[gender]_[race]_[datetime].jpg(.chip.jpg)``.

    Parameters
    ----------
    root : str or Path
        Folder of UTKFace images (searched recursively).
    split : str
        Split given to every sample (UTKFace has none).
    on_bad_image : {"raise", "skip"}

    Returns
    -------
    pandas.DataFrame
        Manifest with ``label`` missing (UTKFace has no emotion labels), ``age``,
        ``gender`` (Male/Female), ``race`` (White, Black, Asian, Indian, Others).
        Malformed names are skipped and listed in ``attrs['load_report']``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError("folder not found; expected a folder of UTKFace images", root)
    report = LoadReport(source=str(root))
    rows = []
    for f in sorted(p for p in root.rglob("*") if is_image_file(p)):
        m = UTK_NAME.match(f.name)
        if m is None:
            report.skipped.append((str(f), "name does not match [age]_[gender]_[race]_[datetime].jpg"))
            continue
        if len(m["age"]) > 3 or int(m["age"]) > MAX_AGE:
            report.skipped.append((str(f), f"age {m['age'][:12]}{'...' if len(m['age']) > 12 else ''} is not an "
                                           f"age in years (expected 0-{MAX_AGE})"))
            continue
        rows.append({"sample_id": f"UTKFace:{f.relative_to(root).as_posix()}", "path": str(f.resolve()),
                     "dataset": "UTKFace", "split": split, "label": None, "age": int(m["age"]),
                     "gender": GENDER_CODES_UTK[int(m["gender"])], "race": RACE_CODES_UTK[int(m["race"])]})
    if not rows:
        raise DataFormatError(f"no UTKFace images found ({report.summary()})", root)
    df = apply_bad_image_policy(pd.DataFrame(rows), report, on_bad_image, root)
    return finish(df, report, root)


def load_fairface(csv_path: str | Path, root: str | Path, split: str | None = None,
                  on_bad_image: BadImagePolicy = "raise") -> pd.DataFrame:
    """Load FairFace from its label CSV (``file,age,gender,race,service_test``).

    Parameters
    ----------
    csv_path : str or Path
        ``fairface_label_train.csv`` or ``fairface_label_val.csv``.
    root : str or Path
        Folder that ``file`` paths (e.g. ``train/1.jpg``) are relative to.
    split : str, optional
        Defaults to ``validation`` when the CSV name contains ``val``, else ``train``.
    on_bad_image : {"raise", "skip"}

    Returns
    -------
    pandas.DataFrame
        Manifest with ``label`` missing, readable ``race`` (underscores as spaces),
        ``gender`` and the age bin in ``age_group``.
    """
    csv_path, root = Path(csv_path), Path(root)
    raw = read_csv(csv_path, f"FairFace labels with columns {FAIRFACE_COLUMNS}")
    require_columns(raw, FAIRFACE_COLUMNS, csv_path)
    if split is None:
        split = "validation" if "val" in csv_path.stem.lower() else "train"
    bad_gender = sorted(set(raw["gender"].dropna().astype(str)) - {"Male", "Female"})
    if bad_gender:
        raise DataFormatError(f"expected Male/Female, received {bad_gender[:5]}", csv_path, "gender")
    report = LoadReport(source=str(csv_path))
    paths = raw["file"].astype(str).map(lambda p: (root / p).resolve())
    exists = paths.map(lambda p: p.is_file())
    for f in raw.loc[~exists, "file"]:
        report.skipped.append((str(root / f), "image file not found"))
    raw, paths = raw[exists], paths[exists]
    df = pd.DataFrame({
        "sample_id": "FairFace:" + raw["file"].astype(str), "path": paths.map(str), "dataset": "FairFace",
        "split": split, "label": None, "gender": raw["gender"].astype(str),
        "race": raw["race"].astype(str).str.replace("_", " "), "age_group": raw["age"].astype(str),
        "service_test": raw["service_test"].astype(str),
    })
    if df.empty:
        raise DataFormatError(f"none of the listed files exist under {root} ({report.summary()})", csv_path)
    df = apply_bad_image_policy(df, report, on_bad_image, csv_path)
    return finish(df, report, csv_path)
