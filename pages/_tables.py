"""Tables as a researcher reads them: columns in words, rates in percent, flags as marks.

The core functions return analysis tables with programmatic column names
(``low_n``, ``mcnemar_method``, fractions); the pages show these views of them
instead. Only renaming and formatting happens here.
"""
from __future__ import annotations

import pandas as pd

def pct(value: float | None, digits: int = 1) -> str:
    """``0.4536 -> "45.4 %"``; missing values give ``"n/a"``."""
    return "n/a" if value is None or pd.isna(value) else f"{100 * value:.{digits}f} %"


def pct_interval(low: float | None, high: float | None, signed: bool = False) -> str:
    """``"[38.0, 53.0]"`` in percent (points with a sign when ``signed``)."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "n/a"
    fmt = "{:+.1f}" if signed else "{:.1f}"
    return f"[{fmt.format(100 * low)}, {fmt.format(100 * high)}]"


def p_text(p: float | None) -> str:
    return "n/a" if p is None or pd.isna(p) else f"{p:.3g}"


def paired_groups_view(groups: pd.DataFrame) -> pd.DataFrame:
    """The per-group table of :func:`~core.evaluation.compare.compare_runs` with readable columns, in percent."""
    if groups.empty:
        return groups
    return pd.DataFrame({
        "group": groups["group"].astype(str),
        "images (persons)": [f"{int(n)} ({int(p)})" if pd.notna(p) else f"{int(n)} (no person ids)"
                             for n, p in zip(groups["n_samples"], groups["n_persons"])],
        "accuracy A": groups["accuracy_a"].map(pct),
        "accuracy B": groups["accuracy_b"].map(pct),
        "B − A (points) [interval]": [f"{100 * d:+.1f} {pct_interval(lo, hi, signed=True)}" for d, lo, hi in
                                      zip(groups["diff"], groups["ci_low"], groups["ci_high"])],
        "bootstrap p": groups["p_value"].map(p_text),
        "McNemar p": groups["mcnemar_p"].map(p_text),
        "McNemar test": groups["mcnemar_method"].fillna("n/a"),
        "few persons": groups["low_n"].map(lambda v: "⚠ yes" if bool(v) else ""),
    })


def error_rate_view(table: pd.DataFrame, row_name: str, col_name: str) -> pd.DataFrame:
    """The table of :func:`~core.evaluation.explore.error_rate_table` in percent with readable columns."""
    if table.empty:
        return table
    return pd.DataFrame({
        row_name: table["row"].astype(str),
        col_name: table["col"].astype(str),
        "error rate": table["error_rate"].map(pct),
        "interval": [pct_interval(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "images": table["n_samples"].astype(int),
        "persons": table["n_persons"].map(lambda v: "n/a" if pd.isna(v) else str(int(v))),
        "few persons": table["low_n"].map(lambda v: "⚠ yes" if bool(v) else ""),
    })
