"""Preprocessing bias audit: who is lost between the annotation rows and the kept face crops.

Every annotation row reaches a stage (:data:`STAGES`): ``rows`` (it is an
annotation row with a label and a split), ``frame_read`` (its video frame was
decoded and its person box lies in the frame), ``face_found`` (the detector
returned at least one face candidate in the person box) and ``kept`` (the most
confident face reached the threshold and its crop was written). The audit
counts, for every split x race x gender cell and for their margins (``All``),
how many rows reached each stage, the retention rate (reached / rows) and two
95 % intervals:

- ``wilson_low``/``wilson_high``: Wilson score interval, rows treated as independent;
- ``ci_low``/``ci_high``: cluster-robust logit-t interval over persons (frames
  of one person are not independent; cells with fewer than 5 persons are
  flagged ``low_n``), from :mod:`core.evaluation.uncertainty`.

Audits of different detectors have the same layout plus ``detector`` and
``threshold`` columns, so :func:`compare_audits` can stack them.
"""
from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..common._io import atomic_write_text
from ..evaluation.uncertainty import accuracy_interval, wilson_interval
from ..data.manifest import atomic_write_parquet

STAGES: tuple[str, ...] = ("rows", "frame_read", "face_found", "kept")
#: Readable name of each stage (figure axes, page metrics).
STAGE_LABELS: dict[str, str] = {"rows": "annotation rows", "frame_read": "frame read", "face_found": "face found",
                                "kept": "kept"}
AUDIT_KEYS: tuple[str, ...] = ("split", "race", "gender")
ALL = "All"
#: The seed's published EiLA test split before and after preprocessing (YOLOv8 face detector).
SEED_TEST_SPLIT_REFERENCE: dict[str, tuple[int, int]] = {"Black": (219, 163), "White": (613, 588), "Mixed": (70, 64)}


def _cells(df: pd.DataFrame, keys: Sequence[str]) -> list[tuple[dict[str, str], pd.Index]]:
    """All cells of the cube over ``keys`` with ``All`` margins: (labels, row index)."""
    values = {k: sorted(df[k].dropna().astype(str).unique()) + [ALL] for k in keys}
    cells = []
    for combo in product(*(values[k] for k in keys)):
        mask = np.ones(len(df), dtype=bool)
        for k, v in zip(keys, combo):
            if v != ALL:
                mask &= (df[k].astype(str) == v).to_numpy()
        if mask.any():
            cells.append((dict(zip(keys, combo)), df.index[mask]))
    return cells


def compute_audit(rows: pd.DataFrame, detector: str = "", threshold: float = float("nan"),
                  keys: Sequence[str] = AUDIT_KEYS, n_boot: int = 1000, confidence: float = 0.95,
                  seed: int = 0) -> pd.DataFrame:
    """Stage counts and retention rates with intervals per split x race x gender (and margins).

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per annotation row with ``stage_reached`` (int index into :data:`STAGES`), the
        ``keys`` columns and ``person``.
    detector : str
        Detector name, stored in every audit row.
    threshold : float
        Confidence threshold used for ``kept``, stored in every audit row.
    keys : sequence of str
        Grouping columns (missing ones are skipped).
    n_boot, confidence, seed
        Cluster bootstrap replicates, coverage and random seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``detector, threshold, <keys>, stage, stage_index, n_rows, n_reached, rate,
        conditional_rate`` (reached / reached the previous stage), ``wilson_low, wilson_high, ci_low,
        ci_high, ci_method, n_persons, low_n``.

    Raises
    ------
    ValueError
        If ``stage_reached`` or ``person`` is missing.
    """
    for col in ("stage_reached", "person"):
        if col not in rows.columns:
            raise ValueError(f"audit needs a '{col}' column per annotation row; received {list(rows.columns)}")
    keys = [k for k in keys if k in rows.columns]
    df = rows.reset_index(drop=True).copy()
    for k in keys:
        df[k] = df[k].astype(object).where(df[k].notna(), "unknown")
    reached = df["stage_reached"].to_numpy(dtype=int)
    persons = df["person"].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    out = []
    for labels, idx in _cells(df, keys):
        sub = reached[idx]
        prev = len(sub)
        for s, stage in enumerate(STAGES):
            hit = sub >= s
            k = int(hit.sum())
            w_lo, w_hi = wilson_interval(k, len(sub), confidence)
            ci = accuracy_interval(hit, persons[idx], n_boot=n_boot, confidence=confidence, rng=rng)
            out.append({"detector": detector, "threshold": float(threshold), **labels, "stage": stage,
                        "stage_index": s, "n_rows": int(len(sub)), "n_reached": k, "rate": k / len(sub),
                        "conditional_rate": k / prev if prev else np.nan, "wilson_low": w_lo, "wilson_high": w_hi,
                        "ci_low": ci.low, "ci_high": ci.high, "ci_method": ci.method,
                        "n_persons": ci.n_persons, "low_n": bool(ci.low_n)})
            prev = k
    return pd.DataFrame(out)


def reason_counts(rows: pd.DataFrame, keys: Sequence[str] = ("split", "race")) -> pd.DataFrame:
    """Rows lost per failure reason and group (``reason`` column; kept rows excluded)."""
    keys = [k for k in keys if k in rows.columns]
    lost = rows[rows["reason"].notna()]
    if lost.empty:
        return pd.DataFrame(columns=[*keys, "reason", "n"])
    return lost.groupby([*keys, "reason"], dropna=False).size().rename("n").reset_index()


def audit_slice(audit: pd.DataFrame, **fixed: str) -> pd.DataFrame:
    """Rows of an audit with the given key values, e.g. ``audit_slice(a, split="test", gender="All")``.

    Keys not named are left free; use ``"All"`` for a margin.
    """
    mask = np.ones(len(audit), dtype=bool)
    for k, v in fixed.items():
        if k not in audit.columns:
            raise ValueError(f"audit has no column {k!r}; columns: {list(audit.columns)}")
        mask &= (audit[k] == v).to_numpy()
    return audit[mask].reset_index(drop=True)


def retention_by_stage(audit: pd.DataFrame, by: str = "race", split: str = ALL) -> pd.DataFrame:
    """The audit rows of every stage for each group of ``by`` in ``split``, the other keys at their ``All`` margin.

    Parameters
    ----------
    audit : pandas.DataFrame
        From :func:`compute_audit` (or several stacked by :func:`compare_audits`).
    by : str
        Grouping column, e.g. ``"race"`` or ``"gender"``; its ``All`` margin is left out.
    split : str
        Split to read (``"All"``: every split together); ignored when ``by`` is ``"split"``.

    Returns
    -------
    pandas.DataFrame
        The matching audit rows, in the audit's order (group, then :data:`STAGES`).

    Raises
    ------
    ValueError
        If ``audit`` has no column ``by``.
    """
    if by not in audit.columns:
        raise ValueError(f"audit has no column {by!r} to group by; columns: {list(audit.columns)}")
    fixed = {k: ALL for k in AUDIT_KEYS if k in audit.columns and k != by}
    if "split" in audit.columns and by != "split":
        fixed["split"] = split
    sub = audit_slice(audit, **fixed)
    return sub[sub[by] != ALL].reset_index(drop=True)


def retention_table(audit: pd.DataFrame, by: str = "race", split: str = ALL, stage: str = "kept") -> pd.DataFrame:
    """One row per group of ``by`` (other keys at ``All``): rows, reached ``stage``, rate and intervals."""
    sub = retention_by_stage(audit, by, split)
    sub = sub[sub["stage"] == stage]
    cols = [c for c in ("detector", by, "n_rows", "n_reached", "rate", "ci_low", "ci_high", "wilson_low",
                        "wilson_high", "n_persons", "low_n") if c in sub.columns]
    return sub[cols].reset_index(drop=True)


def seed_reference_audit(confidence: float = 0.95) -> pd.DataFrame:
    """The seed's published test-split retention by race (counts only: Wilson intervals)."""
    rows = []
    for race, (n, k) in SEED_TEST_SPLIT_REFERENCE.items():
        lo, hi = wilson_interval(k, n, confidence)
        rows.append({"detector": "seed (YOLOv8, published)", "split": "test", "race": race, "stage": "kept",
                     "n_rows": n, "n_reached": k, "rate": k / n, "wilson_low": lo, "wilson_high": hi})
    return pd.DataFrame(rows)


def compare_audits(audits: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack audits of several detectors (each carries its ``detector`` column)."""
    if not audits:
        raise ValueError("compare_audits needs at least one audit")
    missing = [i for i, a in enumerate(audits) if "detector" not in a.columns]
    if missing:
        raise ValueError(f"audits {missing} have no 'detector' column; build them with compute_audit")
    return pd.concat(list(audits), ignore_index=True)


def save_audit(audit: pd.DataFrame, folder: str | Path) -> dict[str, Path]:
    """Write ``audit.parquet`` and ``audit.csv`` into ``folder`` atomically."""
    folder = Path(folder)
    atomic_write_parquet(audit, folder / "audit.parquet")
    atomic_write_text(audit.to_csv(index=False), folder / "audit.csv")
    return {"parquet": folder / "audit.parquet", "csv": folder / "audit.csv"}


def load_audit(folder: str | Path) -> pd.DataFrame:
    """Read ``audit.parquet`` from a prepared dataset folder."""
    path = Path(folder) / "audit.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no audit here; expected a folder written by prepare-eila")
    return pd.read_parquet(path)
