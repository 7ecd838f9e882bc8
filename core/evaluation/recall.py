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
    groups = resolve_attribute(df, attribute, source).to_numpy(dtype=object)
    true, pred = df["true"].to_numpy(dtype=object), df["pred"].to_numpy(dtype=object)
    keep = ~(pd.isna(groups) | pd.isna(true))
    groups, true, pred = groups[keep], true[keep], pred[keep]
    # boolean masks over three arrays, not a filtered copy of the whole table per cell (8x faster on a run)
    of_emotion = {e: true == e for e in EMOTIONS}
    hits = {e: of_emotion[e] & (pred == e) for e in EMOTIONS}
    rows = []
    for g in sorted(pd.unique(groups), key=str):
        in_group = groups == g
        for e in EMOTIONS:
            n, k = int((in_group & of_emotion[e]).sum()), int((in_group & hits[e]).sum())
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
    # a few dozen cells: plain Python over the rows (a filtered frame per emotion cost 10 ms a table)
    ok = [(e, g, float(r)) for e, g, r, n in zip(table["emotion"], table["group"], table["recall"],
                                                 table["n_samples"]) if n >= min_samples and not pd.isna(r)]
    best: dict[str, Any] = {"gap": math.nan, "emotion": None, "best_group": None, "best_recall": math.nan,
                            "worst_group": None, "worst_recall": math.nan}
    n_emotions = 0
    for e in EMOTIONS:
        cells = [(g, r) for em, g, r in ok if em == e]
        if len({g for g, _ in cells if not pd.isna(g)}) < 2:
            continue
        n_emotions += 1
        hi, lo = max(cells, key=lambda c: c[1]), min(cells, key=lambda c: c[1])  # the first best and worst
        gap = hi[1] - lo[1]
        if not gap <= best["gap"]:  # also replaces the initial NaN
            best = {"gap": gap, "emotion": e, "best_group": hi[0], "best_recall": hi[1],
                    "worst_group": lo[0], "worst_recall": lo[1]}
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
