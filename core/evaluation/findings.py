"""Key findings in words, written from the numbers of ONE evaluation set.

:func:`set_findings` turns the results of one
:class:`~core.evaluation.results.EvalSet` into short sentences with honest
wording: which group is lowest and by how much (with the interval of the gap,
and whether it excludes zero), whether the configurations can be told apart
(non-overlapping intervals, or a paired comparison when one exists), which
results are not better than chance, the largest per-emotion recall gap, and the
warnings a reader needs (random weights, synthetic data, rows or persons seen in
training, groups with few persons). The report and the Trade-offs page print them.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .provenance import SEEN_GROUPS
from .recall import largest_recall_gap, recall_by_group
from .results import CHANCE, ConfigResult


def pct(v: Any, digits: int = 1) -> str:
    """A fraction as a percentage string (``"n/a"`` when missing)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(f) else f"{100 * f:.{digits}f}%"


def interval(lo: Any, hi: Any) -> str:
    """``"[31.0%, 45.2%]"`` (empty when unknown)."""
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return ""
    return f"[{pct(lo)}, {pct(hi)}]"


def _points(v: float) -> str:
    return f"{100 * v:.1f} points"


def group_finding(r: ConfigResult) -> str | None:
    """Lowest group, its distance to the highest, and whether their intervals overlap."""
    if r.report is None or len(r.report.table) < 2:
        return None
    t, s = r.report.table, r.report.summary
    lo_g, hi_g = s.get("worst_group"), s.get("best_group")
    if lo_g is None or hi_g is None:
        return None
    lo, hi = t.loc[lo_g], t.loc[hi_g]

    def who(row: Any) -> str:
        persons = row.get("n_persons")
        n = f"{int(row['n_samples']):,} frames" + (f" of {int(persons)} persons" if persons is not None
                                                    and not (isinstance(persons, float) and math.isnan(persons))
                                                    else "")
        return f"{pct(row['accuracy'])} {interval(row['ci_low'], row['ci_high'])}, {n}".replace("  ", " ")

    gap = float(hi["accuracy"] - lo["accuracy"])
    text = (f"{r.name}: the lowest {s.get('attribute', 'group')} group is {lo_g} at {who(lo)}, "
            f"{_points(gap)} below {hi_g} ({who(hi)}).")
    if lo["ci_high"] < hi["ci_low"]:
        text += " Their intervals do not overlap."
    elif lo["ci_high"] < hi["accuracy"]:
        text += (f" {lo_g}'s interval lies below {hi_g}'s accuracy, but the two intervals overlap: the size of the "
                 "gap is uncertain.")
    else:
        text += " Their intervals overlap: these data cannot tell the two groups apart."
    flagged = s.get("flagged_groups") or []
    if flagged:
        text += f" Few persons in {', '.join(flagged)}: those intervals are unreliable."
    return text


def separability_finding(results: Sequence[ConfigResult], paired: dict[tuple[str, str], dict] | None = None) -> str:
    """Whether the best and the worst configuration (by overall accuracy) of one set can be told apart.

    Results not better than chance are left out: that a model beats a chance-level one says nothing.
    """
    rs = [r for r in results if r.better_than_chance and math.isfinite(float(r.overall.get("accuracy", math.nan)))]
    if len(rs) < 2:
        return ""
    rs = sorted(rs, key=lambda r: r.overall["accuracy"], reverse=True)
    top, bottom = rs[0], rs[-1]
    spread = (f"Overall accuracy ranges from {pct(bottom.overall['accuracy'])} ({bottom.name}) to "
              f"{pct(top.overall['accuracy'])} ({top.name}).")
    pair = (paired or {}).get((top.name, bottom.name)) or (paired or {}).get((bottom.name, top.name))
    if pair is not None and math.isfinite(pair.get("ci_low", math.nan)):
        apart = pair["ci_low"] > 0 or pair["ci_high"] < 0
        return spread + (f" A paired comparison on the same frames {'separates' if apart else 'does not separate'} "
                         f"them (difference interval {_points(pair['ci_low'])} to {_points(pair['ci_high'])}).")
    t_lo, b_hi = top.overall.get("ci_low"), bottom.overall.get("ci_high")
    if t_lo is None or b_hi is None or not (math.isfinite(t_lo) and math.isfinite(b_hi)):
        return spread + " Without intervals these configurations cannot be compared."
    if t_lo > b_hi:
        return spread + " Their intervals do not overlap: the best and the worst configuration can be told apart."
    return spread + (" Their intervals overlap: on this set the configurations cannot be told apart on overall "
                     "accuracy.")


def set_findings(results: Sequence[ConfigResult], paired: dict[tuple[str, str], dict] | None = None,
                 min_samples: int = 5) -> list[str]:
    """Key findings of ONE evaluation set, most important first.

    Parameters
    ----------
    results : sequence of ConfigResult
        Results of one evaluation set (see :func:`core.evaluation.sets.group_by_set`).
    paired : dict, optional
        ``{(name_a, name_b): paired_bootstrap output}`` of comparisons on this set.
    min_samples : int
        Smallest cell counted in the recall gap.

    Returns
    -------
    list of str
    """
    out: list[str] = []
    random_w = [r.name for r in results if r.provenance is not None and r.provenance.random_weights]
    if random_w:
        out.append(f"Random weights: {len(random_w)} of {len(results)} result(s) come from a randomly initialised "
                   f"backbone, not ImageNet ({'; '.join(random_w)}); they say nothing about a pretrained model.")
    for r in results:
        p = r.provenance
        if p is None:
            continue
        attr = r.eval_set.attribute if r.eval_set is not None else None
        for w in p.warnings:
            other_attr = SEEN_GROUPS in w and not w.startswith(f"{attr} {SEEN_GROUPS}")
            if ("also appear in training" in w and not other_attr) or w.startswith("evaluated on rows"):
                out.append(f"Leakage in {r.name}: {w}.")
    if any(r.provenance is not None and r.provenance.synthetic for r in results):
        out.append("Synthetic data: these results come from drawn faces with a planted bias, not from real people.")
    for r in results:
        if not r.better_than_chance:
            out.append(f"{r.name} is not better than chance: accuracy {pct(r.overall.get('accuracy'))} "
                       f"{interval(r.overall.get('ci_low'), r.overall.get('ci_high'))} includes (or is below) "
                       f"{pct(CHANCE)}; it is left off the Pareto front.")
    for r in results:
        g = group_finding(r) if r.better_than_chance else None  # group gaps of a chance-level model are noise
        if g:
            out.append(g)
    sep = separability_finding(results, paired)
    if sep:
        out.append(sep)
    for r in results:
        if r.predictions is None or r.report is None:
            continue
        try:
            gap = largest_recall_gap(recall_by_group(r.predictions, r.report.attribute), min_samples)
        except ValueError:
            continue
        if math.isfinite(gap["gap"]):
            out.append(f"{r.name}: the largest per-emotion recall gap is {gap['emotion']}, {_points(gap['gap'])} "
                       f"({gap['best_group']} {pct(gap['best_recall'], 0)} vs {gap['worst_group']} "
                       f"{pct(gap['worst_recall'], 0)}; cells with at least {min_samples} frames).")
    return out
