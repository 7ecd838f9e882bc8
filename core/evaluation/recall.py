"""Per-emotion recall by group and the largest recall gap (an equalized-odds-style disparity).

Overall accuracy per group can hide that one group's *anger* is rarely
recognised while its *happiness* always is. :func:`recall_by_group` gives, for
every emotion and group, the share of that group's samples of that emotion
predicted correctly (the true-positive rate); :func:`largest_recall_gap` is the
maximum over emotions of the difference between the best and the worst group's
recall, the quantity equalized odds asks to be zero (here on true-positive rates
only). Cells with fewer than ``min_samples`` samples are reported but left out of
the gap, because a recall over two frames says nothing.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..data.labels import EMOTIONS
from ..attributes import resolve_attribute
from .validation import check_predictions


def recall_by_group(predictions: pd.DataFrame, attribute: str, source: str = "<predictions>") -> pd.DataFrame:
    """Recall of every emotion in every group.

    Parameters
    ----------
    predictions : pandas.DataFrame
        With ``true``, ``pred`` and the columns ``attribute`` needs.
    attribute : str
        ``race``, ``gender``, ``skin_tone``, ``race x gender``...
    source : str
        Named in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``emotion, group, recall, n_samples, n_correct`` (recall a fraction;
        NaN where the group has no sample of that emotion), emotions in class order.

    Raises
    ------
    core.DataFormatError
        The table lacks the columns the attribute needs.
    """
    df = check_predictions(predictions, source)
    groups = resolve_attribute(df, attribute, source)
    df = df.assign(_group=groups.to_numpy()).dropna(subset=["_group", "true"])
    rows = []
    for g in sorted(df["_group"].unique(), key=str):
        sub = df[df["_group"] == g]
        for e in EMOTIONS:
            cell = sub[sub["true"] == e]
            n, k = int(len(cell)), int((cell["pred"] == e).sum())
            rows.append({"emotion": e, "group": g, "recall": k / n if n else math.nan, "n_samples": n,
                         "n_correct": k})
    return pd.DataFrame(rows, columns=["emotion", "group", "recall", "n_samples", "n_correct"])


def largest_recall_gap(table: pd.DataFrame, min_samples: int = 5) -> dict[str, Any]:
    """The largest difference in recall between groups over emotions.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`recall_by_group`.
    min_samples : int
        Cells with fewer samples are left out (``n_excluded`` counts them).

    Returns
    -------
    dict
        ``gap`` (fraction, NaN when no emotion has two groups with enough samples),
        ``emotion``, ``best_group``, ``best_recall``, ``worst_group``, ``worst_recall``,
        ``n_emotions`` (emotions compared), ``n_excluded``, ``min_samples``.
    """
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, received {min_samples!r}")
    ok = table[table["n_samples"] >= min_samples]
    best: dict[str, Any] = {"gap": math.nan, "emotion": None, "best_group": None, "best_recall": math.nan,
                            "worst_group": None, "worst_recall": math.nan}
    n_emotions = 0
    for e in EMOTIONS:
        cells = ok[ok["emotion"] == e]
        if cells["group"].nunique() < 2:
            continue
        n_emotions += 1
        hi, lo = cells.loc[cells["recall"].idxmax()], cells.loc[cells["recall"].idxmin()]
        gap = float(hi["recall"] - lo["recall"])
        if not gap <= best["gap"]:  # also replaces the initial NaN
            best = {"gap": gap, "emotion": e, "best_group": hi["group"], "best_recall": float(hi["recall"]),
                    "worst_group": lo["group"], "worst_recall": float(lo["recall"])}
    return {**best, "n_emotions": n_emotions, "n_excluded": int((table["n_samples"] < min_samples).sum()),
            "min_samples": int(min_samples)}


def recall_matrix(table: pd.DataFrame, min_samples: int = 5) -> pd.DataFrame:
    """Emotions x groups display strings ``"62% (n=13)"``; cells below ``min_samples`` get ``⚠``."""
    def cell(r: pd.Series) -> str:
        if not r["n_samples"]:
            return ""
        flag = " ⚠" if r["n_samples"] < min_samples else ""
        return f"{100 * r['recall']:.0f}% (n={int(r['n_samples'])}){flag}"

    t = table.assign(text=table.apply(cell, axis=1))
    out = t.pivot(index="emotion", columns="group", values="text").reindex(list(EMOTIONS)).fillna("")
    out.columns.name = None
    return out
