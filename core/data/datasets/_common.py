"""Shared pieces of the dataset loaders: load reports and the bad-image policy."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from ...common._errors import DataFormatError
from ..images import find_unreadable
from ..manifest import validate_manifest

BadImagePolicy = Literal["raise", "skip"]
UnknownLabelPolicy = Literal["exclude", "raise"]


@dataclass
class LoadReport:
    """What a loader left out and why; stored in ``manifest.attrs['load_report']``."""

    source: str
    excluded_labels: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or row, reason)

    def add_excluded(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.excluded_labels[k] = self.excluded_labels.get(k, 0) + int(v)

    def to_dict(self) -> dict:
        return {"source": self.source, "excluded_labels": dict(self.excluded_labels),
                "n_excluded": int(sum(self.excluded_labels.values())),
                "skipped": [list(s) for s in self.skipped], "n_skipped": len(self.skipped)}

    def summary(self) -> str:
        parts = []
        if self.excluded_labels:
            parts.append("excluded labels " + ", ".join(f"{k}: {v}" for k, v in sorted(self.excluded_labels.items())))
        if self.skipped:
            parts.append(f"{len(self.skipped)} file(s)/row(s) skipped, e.g. {self.skipped[0][0]} ({self.skipped[0][1]})")
        return "; ".join(parts) or "nothing left out"


def check_unknown_labels(report: LoadReport, counts: dict[str, int], policy: UnknownLabelPolicy,
                         source: str | Path) -> None:
    """Apply the unknown-label policy: count them, or raise naming them.

    ``contempt`` is always excluded and counted (it is a real label outside the 7 classes).
    """
    if policy not in ("exclude", "raise"):
        raise ValueError(f"on_unknown_label must be 'exclude' or 'raise', received {policy!r}")
    unknown = {k: v for k, v in counts.items() if k.strip().lower() != "contempt"}
    if unknown and policy == "raise":
        raise DataFormatError(
            f"unknown emotion label(s) {sorted(unknown)}; expected names that map to angry, disgust, fear, "
            "happy, neutral, sad, surprise (e.g. Anger, Sadness, Surprised)", source, "label")
    report.add_excluded(counts)
    if counts:
        warnings.warn(f"{source}: excluded {sum(counts.values())} sample(s) with labels outside the 7 classes: "
                      f"{dict(sorted(counts.items()))}", stacklevel=3)


def apply_bad_image_policy(df: pd.DataFrame, report: LoadReport, policy: BadImagePolicy,
                           source: str | Path) -> pd.DataFrame:
    """Decode every image once; raise naming the bad files, or drop and report them."""
    if policy not in ("raise", "skip"):
        raise ValueError(f"on_bad_image must be 'raise' or 'skip', received {policy!r}")
    bad = set(find_unreadable(df["path"]))
    if not bad:
        return df
    if policy == "raise":
        first = sorted(bad)[:3]
        raise DataFormatError(
            f"{len(bad)} image(s) cannot be decoded, e.g. {', '.join(map(str, first))}; expected readable JPEG/PNG files; pass "
            "--skip-bad-images to leave them out and report them (on_bad_image='skip' in Python)", source)
    for p in sorted(bad):
        report.skipped.append((p, "cannot be decoded as an image"))
    return df[~df["path"].isin(bad)]


def finish(df: pd.DataFrame, report: LoadReport, source: str | Path) -> pd.DataFrame:
    """Validate, fail on an empty result, and attach the report."""
    if df.empty:
        raise DataFormatError(
            "no usable samples found" + (f" ({report.summary()})" if report.summary() != "nothing left out" else ""),
            source)
    out = validate_manifest(df, source=source)
    out.attrs["load_report"] = report.to_dict()
    return out


def require_columns(df: pd.DataFrame, expected: list[str], source: str | Path) -> None:
    """Raise naming the file if any of ``expected`` columns is missing."""
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; expected columns {expected}, "
                              f"received {list(df.columns)}", source)


def read_csv(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV, turning I/O and parse failures into errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"file not found; expected {what}", path)
    try:
        return pd.read_csv(path)
    except Exception as exc:
        raise DataFormatError(f"cannot be read as CSV ({type(exc).__name__}: {exc}); expected {what}", path) from None
