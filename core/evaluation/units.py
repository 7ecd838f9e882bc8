"""Units of resampling: the independent units a group's frames come in (person, clip or video).

Frames of one person, clip or video are not independent, so intervals resample
whole units. ``person`` is the manifest's ``person`` column (EiLA:
``EiLA:<video>/<Person Global Id>``); a clip is ``dataset/video/clip``; a video
``dataset/video``. EiLA has all three; most datasets only persons or none.
"""
from __future__ import annotations

from typing import Literal

import pandas as pd

from ..common._errors import DataFormatError

Unit = Literal["person", "clip", "video"]
UNITS: tuple[str, ...] = ("person", "clip", "video")


def _has(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and df[col].notna().any()


def _dataset(df: pd.DataFrame) -> pd.Series:
    return df["dataset"].astype(str) if "dataset" in df.columns else pd.Series("", index=df.index, dtype=object)


def clip_ids(df: pd.DataFrame) -> pd.Series | None:
    """``dataset/video/clip`` of every row (missing where a part is), or None without video and clip columns."""
    if not (_has(df, "video") and _has(df, "clip")):
        return None
    ok = df["video"].notna() & df["clip"].notna()
    return (_dataset(df) + "/" + df["video"].astype(str) + "/" + df["clip"].astype(str)).where(ok, None)


def video_ids(df: pd.DataFrame) -> pd.Series | None:
    """``dataset/video`` of every row, or None without a video column."""
    if not _has(df, "video"):
        return None
    return (_dataset(df) + "/" + df["video"].astype(str)).where(df["video"].notna(), None)


def unit_ids(df: pd.DataFrame, unit: str = "person", person_col: str | None = "person") -> pd.Series | None:
    """The resampling unit of every row, or None when the table has no such ids.

    Raises
    ------
    ValueError
        ``unit`` not one of :data:`UNITS`.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, received {unit!r}")
    if unit == "person":
        return None if person_col is None or not _has(df, person_col) else df[person_col].astype(object)
    return clip_ids(df) if unit == "clip" else video_ids(df)


def require_unit(df: pd.DataFrame, unit: str, source: str = "<predictions>") -> None:
    """Raise when a clip or video unit is asked for and the table has no such ids."""
    if unit in ("clip", "video") and unit_ids(df, unit) is None:
        need = "'video' and 'clip'" if unit == "clip" else "'video'"
        raise DataFormatError(f"resampling by {unit} needs {need} columns with values; use unit='person' or "
                              f"evaluate a dataset that has them (EiLA)", source)
