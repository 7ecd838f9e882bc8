"""Spread of results across training seeds (``python -m core sweep --seeds N``).

Runs that differ only in the training seed share a ``seed_group`` in their
config.json (the run id the configuration has with seed 0,
:func:`core.training.runner.seed_group_for`). :func:`seed_spread` gives each such
group's metric for every seed, its mean and its sample standard deviation: the
seed-to-seed variation a difference between configurations has to exceed.
:func:`group_seed_spread` does the same for each group's accuracy (race,
gender...), :func:`seed_sd_table` for the Table 5/6 quantities (accuracy,
weighted F1, std of the group accuracies). Everything is read from each run's
metrics.json (all evaluation persons, the run's own interval settings), so it
costs no recomputation. Comparisons of two seed groups are in
:mod:`core.evaluation.seed_compare`.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .runs import RunInfo

SPREAD_COLUMNS: tuple[str, ...] = ("seed_group", "configuration", "n_seeds", "seeds", "values", "mean", "sd", "min",
                                   "max")
GROUP_SPREAD_COLUMNS: tuple[str, ...] = ("seed_group", "configuration", "group", "n_seeds", "seeds", "values", "mean",
                                         "sd")
#: The Table 5/6 quantities :func:`seed_sd_table` spreads: (column prefix, words for tables).
TABLE_QUANTITIES: tuple[tuple[str, str], ...] = (("accuracy", "accuracy"), ("weighted_f1", "weighted F1"),
                                                 ("std", "std of group accuracies"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return None
    return float(value)


def _seed(run: RunInfo) -> int:
    return int((run.config.get("training") or {}).get("seed", 0))


def _sd(values: np.ndarray) -> float:
    """Sample sd (ddof 1); NaN with fewer than 2 values."""
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def _by_group(runs: Iterable[RunInfo]) -> dict[str, list[RunInfo]]:
    out: dict[str, list[RunInfo]] = {}
    for run in runs:
        group = run.config.get("seed_group")
        if group and run.metrics:
            out.setdefault(str(group), []).append(run)
    return {g: sorted(rs, key=_seed) for g, rs in out.items()}


def _check_name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, received {value!r}")


def seed_spread(runs: Sequence[RunInfo], metric: str = "accuracy") -> pd.DataFrame:
    """One row per seed group: the metric of each seed, mean, sd (ddof 1; NaN with one seed), min and max.

    Parameters
    ----------
    runs : sequence of RunInfo
        Runs (e.g. :func:`core.evaluation.runs.list_runs`); those without a
        ``seed_group`` or without the metric are left out.
    metric : str
        A top-level number of metrics.json (``"accuracy"``, ``"weighted_f1"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SPREAD_COLUMNS`, ``seeds`` and ``values`` as lists in seed order,
        groups in order of configuration name.

    Raises
    ------
    ValueError
        ``metric`` is not a non-empty string.
    """
    if not isinstance(metric, str) or not metric:
        raise ValueError(f"metric must be the name of a metrics.json number, received {metric!r}")
    out = []
    for group, members in _by_group(runs).items():
        items = [(_seed(r), v, r.configuration) for r in members if (v := _number(r.metrics.get(metric))) is not None]
        if not items:
            continue
        values = np.array([v for _, v, _ in items])
        out.append({"seed_group": group, "configuration": items[0][2], "n_seeds": len(items),
                    "seeds": [s for s, _, _ in items], "values": values.tolist(), "mean": float(values.mean()),
                    "sd": _sd(values), "min": float(values.min()), "max": float(values.max())})
    table = pd.DataFrame(out, columns=list(SPREAD_COLUMNS))
    return table.sort_values(["configuration", "seed_group"], ignore_index=True)


def group_seed_spread(runs: Sequence[RunInfo], attribute: str = "race") -> pd.DataFrame:
    """Each group's accuracy across the seeds of each seed group: every seed's value, mean, sd and n.

    Parameters
    ----------
    runs : sequence of RunInfo
        Runs; those without a ``seed_group`` or without ``attribute`` groups in
        their metrics.json are left out.
    attribute : str
        Group attribute of metrics.json's ``groups`` (``"race"``, ``"gender"``, ``"race x gender"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GROUP_SPREAD_COLUMNS`: one row per seed group and group
        value, ``seeds`` and ``values`` lists in seed order (a seed whose run
        lacks the group is left out of that row), ``sd`` with ddof 1 (NaN with
        one seed); rows by configuration name, then group name.

    Raises
    ------
    ValueError
        ``attribute`` is not a non-empty string.
    """
    _check_name(attribute, "attribute")
    out = []
    for sg, members in _by_group(runs).items():
        cells: dict[str, list[tuple[int, float]]] = {}
        for run in members:
            for g, row in ((run.metrics.get("groups") or {}).get(attribute) or {}).items():
                v = _number((row or {}).get("accuracy"))
                if v is not None:
                    cells.setdefault(str(g), []).append((_seed(run), v))
        for g, items in cells.items():
            values = np.array([v for _, v in items])
            out.append({"seed_group": sg, "configuration": members[0].configuration, "group": g,
                        "n_seeds": len(items), "seeds": [s for s, _ in items], "values": values.tolist(),
                        "mean": float(values.mean()), "sd": _sd(values)})
    table = pd.DataFrame(out, columns=list(GROUP_SPREAD_COLUMNS))
    return table.sort_values(["configuration", "seed_group", "group"], ignore_index=True)


def _group_std(metrics: dict, attribute: str) -> float | None:
    """Raw std (ddof 1) of the group accuracies: metrics.json's fairness value, else from the groups."""
    stored = _number(((metrics.get("fairness") or {}).get(attribute) or {}).get("std"))
    if stored is not None:
        return stored
    accs = [v for row in ((metrics.get("groups") or {}).get(attribute) or {}).values()
            if (v := _number((row or {}).get("accuracy"))) is not None]
    return float(np.std(accs, ddof=1)) if len(accs) > 1 else None


def seed_sd_table(runs: Sequence[RunInfo], attribute: str = "race") -> pd.DataFrame:
    """Across-seed mean and sd of the Table 5/6 quantities, one row per seed group.

    Parameters
    ----------
    runs : sequence of RunInfo
    attribute : str
        Attribute whose groups give the std of group accuracies (the seed's %Std, raw, ddof 1).

    Returns
    -------
    pandas.DataFrame
        ``seed_group, configuration, n_seeds`` and, for each prefix of
        :data:`TABLE_QUANTITIES`, ``<prefix>_mean`` and ``<prefix>_sd`` (ddof 1,
        NaN with one seed or when a quantity is missing); rows by configuration name.

    Raises
    ------
    ValueError
        ``attribute`` is not a non-empty string.
    """
    _check_name(attribute, "attribute")
    cols = ["seed_group", "configuration", "n_seeds"] + [f"{p}_{s}" for p, _ in TABLE_QUANTITIES
                                                         for s in ("mean", "sd")]
    out = []
    for sg, members in _by_group(runs).items():
        row: dict[str, Any] = {"seed_group": sg, "configuration": members[0].configuration, "n_seeds": len(members)}
        for prefix, _ in TABLE_QUANTITIES:
            got = [_group_std(r.metrics, attribute) if prefix == "std" else _number(r.metrics.get(prefix))
                   for r in members]
            values = np.array([v for v in got if v is not None])
            row[f"{prefix}_mean"] = float(values.mean()) if len(values) else float("nan")
            row[f"{prefix}_sd"] = _sd(values)
        out.append(row)
    table = pd.DataFrame(out, columns=cols)
    return table.sort_values(["configuration", "seed_group"], ignore_index=True)


def seed_siblings(runs: Sequence[RunInfo], chosen: Iterable[str]) -> list[RunInfo]:
    """Every run of the seed groups of the ``chosen`` run ids (or paths), the chosen ones included.

    Lets a page choose one seed of a configuration and still show all its seeds.
    """
    keys = {str(c) for c in chosen}
    groups = {r.config.get("seed_group") for r in runs if r.run_id in keys or str(r.path) in keys}
    groups.discard(None)
    return [r for r in runs if r.config.get("seed_group") in groups]


def _pm(mean: float, sd: float, scale: float = 100.0, digits: int = 1) -> str:
    if pd.isna(mean):
        return "n/a"
    return f"{scale * mean:.{digits}f}" + ("" if pd.isna(sd) else f" ± {scale * sd:.{digits}f}")


def seed_table_view(sd_table: pd.DataFrame, spread: pd.DataFrame, attribute: str = "race") -> pd.DataFrame:
    """The across-seed table in words and percentages, for pages and the report.

    Parameters
    ----------
    sd_table : pandas.DataFrame
        :func:`seed_sd_table`.
    spread : pandas.DataFrame
        :func:`group_seed_spread` of the same runs (per-group columns).
    attribute : str
        Named in the std column.

    Returns
    -------
    pandas.DataFrame
        One row per seed group: ``configuration``, ``training seeds`` (how many
        and which), ``accuracy % (mean ± across-seed sd)``, ``weighted F1``,
        ``% std of <attribute> accuracies``, and ``% acc <group>`` per group, each
        ``"mean ± sd"`` (the sd left out with one seed).
    """
    rows = []
    for _, r in sd_table.iterrows():
        mine = spread[spread["seed_group"] == r["seed_group"]]
        seeds = sorted({int(s) for ss in mine["seeds"] for s in ss})
        row = {"configuration": r["configuration"],
               "training seeds": f"{int(r['n_seeds'])}" + (f" ({', '.join(map(str, seeds))})" if seeds else ""),
               "accuracy % (mean ± across-seed sd)": _pm(r["accuracy_mean"], r["accuracy_sd"]),
               "weighted F1 (mean ± sd)": _pm(r["weighted_f1_mean"], r["weighted_f1_sd"], 1.0, 3),
               f"% std of {attribute} accuracies (mean ± sd)": _pm(r["std_mean"], r["std_sd"])}
        for _, g in mine.iterrows():
            row[f"% acc {g['group']} (mean ± sd)"] = _pm(g["mean"], g["sd"])
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def evaluation_label(run: RunInfo) -> str:
    """What a trained run was scored on, from its config.json: ``"EiLA · test split · 815 frames"``.

    Seed groups are compared only within one such label (other frames are another question).
    """
    data = run.config.get("data") or {}
    ev = data.get("evaluation") or {}
    name = ev.get("dataset") or ", ".join(data.get("evaluation_datasets") or []) or "unknown data"
    split = f" · {ev['split']} split" if ev.get("split") else ""
    n = data.get("n_evaluation")
    return f"{name}{split}" + (f" · {int(n):,} frames" if isinstance(n, int) else "")


def by_evaluation(runs: Iterable[RunInfo]) -> dict[str, list[RunInfo]]:
    """Runs with a ``seed_group`` by :func:`evaluation_label`, in order of first appearance."""
    out: dict[str, list[RunInfo]] = {}
    for run in runs:
        if run.config.get("seed_group"):
            out.setdefault(evaluation_label(run), []).append(run)
    return out
