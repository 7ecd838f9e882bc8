"""The manifest: one table describing a dataset, saved as Parquet.

Schema
------
Required columns

============  ===========================================================
sample_id     unique string id of the sample within the manifest
path          image file (absolute or relative to the manifest's root);
              for annotation-only manifests a ``<video>#<frame>`` locator
dataset       dataset name, e.g. ``"EiLA"``, ``"SFEW"``
split         ``train``, ``validation`` or ``test``
label         one of :data:`core.data.labels.EMOTIONS`, or missing for
              datasets without emotion labels (UTKFace, FairFace)
============  ===========================================================

Optional columns (validated when present; other extra columns are kept)

============  ===========================================================
race          readable group name: White, Black, Mixed, Asian, Indian, ...
gender        ``Male`` or ``Female``
age           integer years
skin_color    ``#rrggbb``
video, clip   source video tag and clip id (strings)
person        identifier of an individual, unique across the manifest
frame         frame number in the source video (integer)
yaw           head yaw in degrees (float; 0 is frontal)
============  ===========================================================
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import atomic_write, read_parquet_file
from .labels import EMOTIONS

SPLITS: tuple[str, ...] = ("train", "validation", "test")
REQUIRED_COLUMNS: tuple[str, ...] = ("sample_id", "path", "dataset", "split", "label")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "race", "gender", "age", "skin_color", "video", "clip", "person", "frame", "yaw",
)
GROUP_COLUMNS: tuple[str, ...] = ("race", "gender", "skin_color")

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_CODE_LIKE = re.compile(r"^(\d+|[A-Za-z])$")
_STRING_COLUMNS = ("sample_id", "path", "dataset", "split", "label", "race", "gender", "skin_color",
                   "video", "clip", "person")


def validate_manifest(df: pd.DataFrame, source: str | Path = "<manifest>") -> pd.DataFrame:
    """Check a manifest against the schema and return it with normalized dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        Candidate manifest.
    source : str or Path
        Name of the file or table, used in error messages.

    Returns
    -------
    pandas.DataFrame
        A copy with string columns as ``object`` (missing as None), ``age`` and
        ``frame`` as nullable integers and ``yaw`` as float, index reset.

    Raises
    ------
    DataFormatError
        Naming ``source`` and the column at fault, with what was expected and a
        few of the offending values.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataFormatError(f"expected a pandas DataFrame, received {type(df).__name__}", source)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(
            f"missing required column(s) {missing}; expected at least {list(REQUIRED_COLUMNS)}, "
            f"received {list(df.columns)}", source)
    out = df.reset_index(drop=True).copy()
    for col in _STRING_COLUMNS:
        if col in out.columns:  # built as a list: Series.map would re-infer pandas' str dtype with NaN
            out[col] = pd.Series([None if _is_missing(v) else v if isinstance(v, str) else str(v) for v in out[col]],
                                 index=out.index, dtype=object)
    for col in ("sample_id", "path", "dataset", "split"):
        bad = out[col].isna() | (out[col] == "")
        if bad.any():
            raise DataFormatError(f"{int(bad.sum())} empty value(s); every row needs one", source, col)
    dup = out["sample_id"].duplicated(keep=False)
    if dup.any():
        raise DataFormatError(
            f"sample_id must be unique; duplicated: {sorted(set(out.loc[dup, 'sample_id']))[:5]}", source,
            "sample_id")
    _check_allowed(out, "split", SPLITS, source)
    _check_allowed(out, "label", EMOTIONS, source, allow_missing=True)
    if "gender" in out.columns:
        _check_allowed(out, "gender", ("Male", "Female"), source, allow_missing=True)
    if "race" in out.columns:
        vals = out["race"].dropna()
        coded = vals[vals.map(lambda v: bool(_CODE_LIKE.match(v)))]
        if len(coded):
            raise DataFormatError(
                f"expected readable group names (White, Black, Mixed, ...), received codes "
                f"{sorted(set(coded))[:5]}; map them when loading", source, "race")
    if "skin_color" in out.columns:
        vals = out["skin_color"].dropna()
        bad = vals[~vals.map(lambda v: bool(_HEX.match(v)))]
        if len(bad):
            raise DataFormatError(f"expected '#rrggbb', received {sorted(set(bad))[:5]}", source, "skin_color")
    for col in ("age", "frame"):
        if col in out.columns:
            try:
                out[col] = pd.to_numeric(out[col], errors="raise").astype("Int64")
            except (ValueError, TypeError) as exc:
                raise DataFormatError(f"expected integers ({exc})", source, col) from None
    if "yaw" in out.columns:
        try:
            out["yaw"] = pd.to_numeric(out["yaw"], errors="raise").astype(float)
        except (ValueError, TypeError) as exc:
            raise DataFormatError(f"expected numbers in degrees ({exc})", source, "yaw") from None
    return out


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cell values are not missing
        return False


def _check_allowed(df: pd.DataFrame, col: str, allowed: tuple[str, ...], source: str | Path,
                   allow_missing: bool = False) -> None:
    vals = df[col]
    if allow_missing:
        vals = vals.dropna()
    elif vals.isna().any():
        raise DataFormatError(f"{int(vals.isna().sum())} missing value(s); expected one of {list(allowed)}",
                              source, col)
    bad = sorted(set(vals) - set(allowed))
    if bad:
        raise DataFormatError(f"expected one of {list(allowed)}, received {bad[:5]}", source, col)


def save_manifest(df: pd.DataFrame, path: str | Path) -> Path:
    """Validate ``df`` and write it atomically to ``path`` as Parquet.

    Parameters
    ----------
    df : pandas.DataFrame
        Manifest to save.
    path : str or Path
        Destination ``.parquet`` file; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    clean = validate_manifest(df, source=path)
    clean.attrs = {}
    atomic_write_parquet(clean, path)
    return path


def load_manifest(path: str | Path) -> pd.DataFrame:
    """Read and validate a manifest Parquet file.

    Raises
    ------
    DataFormatError
        If the file is missing, is not Parquet, or breaks the schema.
    """
    path = Path(path)
    df = read_parquet_file(path, "file not found; expected a manifest .parquet file")
    return validate_manifest(df, source=path)


def atomic_write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` to ``path`` as Parquet (no index) through a temporary file and an atomic rename
    (:func:`core.common._io.atomic_write`)."""
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def resolve_paths(df: pd.DataFrame, root: str | Path | None) -> pd.Series:
    """Absolute image paths: ``path`` joined to ``root`` where it is relative."""
    if root is None:
        return df["path"].map(lambda p: str(Path(p)))
    root = Path(root)
    return df["path"].map(lambda p: str(p if Path(p).is_absolute() else root / p))
