"""Like with like: results grouped by evaluation set, one Pareto front per set, chance-level results off it.

An accuracy/disparity front only means something among results measured on
the same frames with the same group definition. :func:`group_by_set` splits a
list of :class:`~core.evaluation.results.ConfigResult` by their
:class:`~core.evaluation.results.EvalSet` (dataset + split + group attribute +
frames; the published numbers are a set of their own), and :func:`set_front`
computes the front of ONE set: results whose accuracy interval includes chance
(1/7) are marked "not better than chance" and left off it. The per-set front
itself is :func:`core.evaluation.results.pareto_front`; this module only chooses
what goes into it, so a change of that function (intervals) applies here too.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .results import ConfigResult, EvalSet, pareto_front

UNKNOWN_SET = EvalSet("unknown dataset", "unknown", "?")


def group_by_set(results: Sequence[ConfigResult]) -> dict[EvalSet, list[ConfigResult]]:
    """Results per evaluation set, sets in order of first appearance, runs before the published numbers."""
    out: dict[EvalSet, list[ConfigResult]] = {}
    for r in sorted(results, key=lambda r: r.kind == "reference"):
        out.setdefault(r.eval_set or UNKNOWN_SET, []).append(r)
    return out


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
    """Mask of results that may be on a front: better than chance and with a finite group std."""
    return np.array([r.better_than_chance and r.report is not None
                     and bool(np.isfinite(r.report.summary.get("std", np.nan))) for r in results], dtype=bool)


def set_front(results: Sequence[ConfigResult]) -> np.ndarray:
    """Pareto-front mask (accuracy up, std of group accuracies down) within ONE evaluation set.

    Results not better than chance are never on it.

    Raises
    ------
    ValueError
        Results from more than one evaluation set.
    """
    one_set(results)
    ok = front_eligible(results)
    mask = np.zeros(len(results), dtype=bool)
    if ok.any():
        idx = np.flatnonzero(ok)
        acc = [results[i].overall.get("accuracy", np.nan) for i in idx]
        std = [results[i].report.summary["std"] for i in idx]
        mask[idx] = pareto_front(acc, std)
    return mask
