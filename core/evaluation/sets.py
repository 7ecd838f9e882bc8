"""Like with like: results grouped by evaluation set, one Pareto front per set, chance-level results off it.

An accuracy/disparity front only means something among results measured on
the same frames with the same group definition. :func:`group_by_set` splits a
list of :class:`~core.evaluation.results.ConfigResult` by their
:class:`~core.evaluation.results.EvalSet` (dataset + split + EiLA split rule +
group attribute + frames; the published numbers are a set of their own;
:func:`set_families` pairs sets that differ only in split rule for side-by-side display), and :func:`set_front`
computes the front of ONE set: results whose accuracy interval includes chance
(1/7) are marked "not better than chance" and left off it. The per-set statuses
themselves (front / indistinguishable / dominated, respecting the intervals) are
:func:`core.evaluation.results.tradeoff_table`; this module only chooses what goes
into it, so a change of that function applies here too.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .results import ConfigResult, EvalSet, tradeoff_table

UNKNOWN_SET = EvalSet("unknown dataset", "unknown", "?")
#: Pareto status of a result whose accuracy interval includes chance: never on the front.
CHANCE_STATUS = "not better than chance"


def group_by_set(results: Sequence[ConfigResult]) -> dict[EvalSet, list[ConfigResult]]:
    """Results per evaluation set, sets in order of first appearance, runs before the published numbers."""
    out: dict[EvalSet, list[ConfigResult]] = {}
    for r in sorted(results, key=lambda r: r.kind == "reference"):
        out.setdefault(r.eval_set or UNKNOWN_SET, []).append(r)
    return out


def set_families(sets: Sequence[EvalSet]) -> list[list[EvalSet]]:
    """Sets grouped by :attr:`EvalSet.family` (in order of first appearance): sets that differ only in the EiLA
    split rule (and so in the frames tested) form one family, shown side by side, each set with its own front."""
    out: dict[EvalSet, list[EvalSet]] = {}
    for s_ in sets:
        out.setdefault(s_.family, []).append(s_)
    return list(out.values())


def one_set(results: Sequence[ConfigResult]) -> EvalSet | None:
    """The one evaluation set of ``results`` (None when empty).

    Raises
    ------
    ValueError
        When the results come from more than one evaluation set.
    """
    sets = list(dict.fromkeys(r.eval_set or UNKNOWN_SET for r in results))
    if len(sets) > 1:
        raise ValueError("results from different evaluation sets cannot share a table or a front: "
                         + " | ".join(s.label for s in sets) + "; group them with group_by_set first")
    return sets[0] if sets else None


def front_eligible(results: Sequence[ConfigResult]) -> np.ndarray:
    """Mask of results that may be on a front: better than chance and with group results."""
    return np.array([r.better_than_chance and r.report is not None for r in results], dtype=bool)


def set_tradeoff_table(results: Sequence[ConfigResult]) -> pd.DataFrame:
    """:func:`~core.evaluation.results.tradeoff_table` of ONE evaluation set, chance-level results off the front.

    The Pareto statuses are computed among the results better than chance only;
    the others keep their row, in the input order, with status ``"not better than chance"``.

    Raises
    ------
    ValueError
        Results from more than one evaluation set.
    """
    one_set(results)
    table = tradeoff_table(results)
    ok = front_eligible(results)
    status = np.where([r.better_than_chance for r in results], "n/a", CHANCE_STATUS).astype(object)
    if ok.any():
        status[ok] = tradeoff_table([r for r, k in zip(results, ok) if k])["status"].to_numpy()
    return table.assign(status=status)


def set_front(results: Sequence[ConfigResult]) -> np.ndarray:
    """Pareto-front mask within ONE evaluation set (results not better than chance are never on it).

    Raises
    ------
    ValueError
        Results from more than one evaluation set.
    """
    return (set_tradeoff_table(results)["status"] == "front").to_numpy()
