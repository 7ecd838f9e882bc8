"""Spread of a metric across training seeds (``python -m core sweep --seeds N``).

Runs that differ only in the training seed share a ``seed_group`` in their
config.json (the run id the configuration has with seed 0,
:func:`core.training.runner.seed_group_for`). :func:`seed_spread` gives each such
group's metric for every seed, its mean and its sample standard deviation: the
seed-to-seed variation a difference between configurations has to exceed.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .runs import RunInfo

SPREAD_COLUMNS: tuple[str, ...] = ("seed_group", "configuration", "n_seeds", "seeds", "values", "mean", "sd", "min",
                                   "max")


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
    rows: dict[str, list[tuple[int, float, str]]] = {}
    for run in runs:
        group = run.config.get("seed_group")
        value = (run.metrics or {}).get(metric)
        if not group or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        seed = int((run.config.get("training") or {}).get("seed", 0))
        rows.setdefault(group, []).append((seed, float(value), run.configuration))
    out = []
    for group, items in rows.items():
        items.sort()
        values = np.array([v for _, v, _ in items])
        out.append({"seed_group": group, "configuration": items[0][2], "n_seeds": len(items),
                    "seeds": [s for s, _, _ in items], "values": values.tolist(), "mean": float(values.mean()),
                    "sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                    "min": float(values.min()), "max": float(values.max())})
    table = pd.DataFrame(out, columns=list(SPREAD_COLUMNS))
    return table.sort_values(["configuration", "seed_group"], ignore_index=True)
