"""Seed spread: runs grouped by seed_group, each seed's metric, mean and sd."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.evaluation.runs import RunInfo
from core.evaluation.seeds import SPREAD_COLUMNS, seed_spread


def _run(group: str | None, seed: int, accuracy: float | None, name: str = "SFEW only") -> RunInfo:
    config = {"training": {"seed": seed}, **({"seed_group": group} if group else {})}
    return RunInfo(run_id=f"{group}-{seed}", path=Path("."), kind="training", label=name, created=0.0, config=config,
                   metrics=None if accuracy is None else {"accuracy": accuracy}, has_predictions=True,
                   has_model=True, configuration=name)


def test_seed_spread_groups_runs_across_seeds() -> None:
    runs = [_run("a", 2, 0.5), _run("a", 0, 0.4), _run("a", 1, 0.6), _run("b", 0, 0.3, "FER2013 only"),
            _run(None, 0, 0.9), _run("c", 0, None)]
    table = seed_spread(runs)
    assert list(table.columns) == list(SPREAD_COLUMNS)
    assert table["configuration"].tolist() == ["FER2013 only", "SFEW only"]  # no group, no metric: left out
    a = table.iloc[1]
    assert a["seeds"] == [0, 1, 2] and a["values"] == [0.4, 0.6, 0.5] and a["n_seeds"] == 3
    assert a["mean"] == pytest.approx(0.5) and a["sd"] == pytest.approx(0.1)
    assert (a["min"], a["max"]) == (0.4, 0.6)
    assert math.isnan(table.iloc[0]["sd"])  # one seed: no spread


def test_seed_spread_checks_metric() -> None:
    with pytest.raises(ValueError, match="received"):
        seed_spread([], metric="")
    assert seed_spread([]).empty
