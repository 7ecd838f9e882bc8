"""Slicing predictions for the misclassified-face explorer: filters, error tables, captions.

Pose bins (:func:`core.attributes.pose_groups`) and every other group attribute live in :mod:`core.attributes`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..common._errors import DataFormatError
from ..attributes import POSE_ORDER, resolve_attribute
from .uncertainty import accuracy_interval
from .validation import person_column

CORRECTNESS: tuple[str, ...] = ("all", "correct", "wrong")


def filter_predictions(df: pd.DataFrame, attribute: str | None = None, groups: Iterable[str] | None = None,
                       true: Iterable[str] | None = None, pred: Iterable[str] | None = None,
                       correctness: str = "all", side_profile: bool | None = None,
                       yaw_range: tuple[float, float] | None = None,
                       outcomes: Iterable[str] | None = None, occlusion: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of a predictions table matching every given filter (``None`` or empty means no filter).

    Parameters
    ----------
    df : pandas.DataFrame
        Predictions (optionally with ``outcome`` from :func:`core.evaluation.compare.align_pair`).
    attribute, groups
        Keep rows whose ``attribute`` group is in ``groups``.
    true, pred
        Keep rows with these true / predicted classes.
    correctness : {"all", "correct", "wrong"}
    side_profile : bool, optional
        Keep rows with this ``side_profile`` flag.
    yaw_range : tuple of float, optional
        Keep rows with ``lo <= |yaw| <= hi`` (rows without yaw are dropped).
    outcomes : iterable of str, optional
        Keep rows with these pair outcomes.
    occlusion : iterable of str, optional
        Keep rows with these ``occlusion`` values (e.g. ``glasses``).
    """
    if correctness not in CORRECTNESS:
        raise ValueError(f"correctness must be one of {CORRECTNESS}, received {correctness!r}")
    keep = pd.Series(True, index=df.index)
    groups, true, pred, outcomes, occlusion = (list(x) if x else [] for x in (groups, true, pred, outcomes,
                                                                               occlusion))
    if attribute and groups:
        keep &= resolve_attribute(df, attribute).isin(groups)
    if true:
        keep &= df["true"].isin(true)
    if pred:
        keep &= df["pred"].isin(pred)
    if correctness != "all":
        ok = (df["true"] == df["pred"]) if "correct" not in df.columns else df["correct"].astype(bool)
        keep &= ok if correctness == "correct" else ~ok
    if side_profile is not None:
        if "side_profile" not in df.columns:
            raise DataFormatError("no 'side_profile' column; run face preprocessing with pose estimation first")
        keep &= df["side_profile"].fillna(not side_profile).astype(bool) == side_profile
    if yaw_range is not None:
        if "yaw" not in df.columns:
            raise DataFormatError("no 'yaw' column; run face preprocessing with pose estimation first")
        a = pd.to_numeric(df["yaw"], errors="coerce").abs()
        keep &= a.between(float(yaw_range[0]), float(yaw_range[1]))
    if outcomes:
        keep &= df["outcome"].isin(outcomes)
    if occlusion:
        if "occlusion" not in df.columns:
            raise DataFormatError("no 'occlusion' column in these predictions")
        keep &= df["occlusion"].isin(occlusion)
    return df[keep.to_numpy()]


def error_rate_table(df: pd.DataFrame, rows: pd.Series, cols: pd.Series, n_boot: int = 500,
                     confidence: float = 0.95, min_persons: int = 5, seed: int = 0) -> pd.DataFrame:
    """Error rate for every (row group, column group) cell, with an interval and counts.

    Returns
    -------
    pandas.DataFrame
        Columns ``row, col, error_rate, ci_low, ci_high, n_samples, n_persons, low_n``.
    """
    pcol = person_column(df, None)
    correct = ((df["true"] == df["pred"]) if "correct" not in df.columns else df["correct"]).to_numpy(bool)
    rng = np.random.default_rng(seed)
    out = []
    frame = pd.DataFrame({"r": rows.to_numpy(), "c": cols.to_numpy()})
    for (r, c), idx in frame.groupby(["r", "c"], sort=True).groups.items():
        pos = frame.index.get_indexer(idx)
        iv = accuracy_interval(correct[pos], None if pcol is None else df[pcol].to_numpy()[pos], n_boot=n_boot,
                               confidence=confidence, min_persons=min_persons, rng=rng)
        out.append({"row": r, "col": c, "error_rate": 1 - iv.estimate, "ci_low": 1 - iv.high, "ci_high": 1 - iv.low,
                    "n_samples": iv.n_samples, "n_persons": iv.n_persons, "low_n": iv.low_n})
    table = pd.DataFrame(out, columns=["row", "col", "error_rate", "ci_low", "ci_high", "n_samples", "n_persons",
                                       "low_n"])
    rank = {name: i for i, name in enumerate(POSE_ORDER)}
    key = table["col"].map(lambda c: (rank.get(c, len(rank)), str(c)))
    return table.iloc[sorted(range(len(table)), key=lambda i: (str(table["row"].iloc[i]), key.iloc[i]))]\
        .reset_index(drop=True)


def caption(row: pd.Series, extra: Sequence[str] = ("race",)) -> str:
    """Short gallery caption: ``true → pred (confidence)`` plus group columns."""
    conf = row.get("confidence")
    text = f"{row['true']} → {row['pred']}" + (f" ({conf:.0%})" if conf is not None and pd.notna(conf) else "")
    bits = [str(row[c]) for c in extra if c in row.index and pd.notna(row[c])]
    if "yaw" in row.index and pd.notna(row["yaw"]):
        bits.append(f"yaw {row['yaw']:.0f}°")
    return text + (" · " + ", ".join(bits) if bits else "")
