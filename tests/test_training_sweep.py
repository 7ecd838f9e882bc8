"""core.training.sweep: planning (manifests, run ids, unique names), status and overall progress; no training
here (tests/test_training_runner.py runs a real sweep, its interruption and resume)."""
from __future__ import annotations

import pandas as pd
import pytest

from core.mixing import MixSpec
from core.training import TrainConfig
from core.training.sweep import _SweepProgress, plan_sweep, sweep_status

CFG = TrainConfig(weights="random", input_size=32)


def _manifest(name: str, n: int) -> pd.DataFrame:
    """``n`` labelled rows: n - 2 train, 1 validation, 1 test."""
    return pd.DataFrame({"sample_id": [f"{name}{i}" for i in range(n)], "path": [f"/x/{name}{i}.png" for i in range(n)],
                         "label": ["happy", "sad"] * (n // 2), "split": ["train"] * (n - 2) + ["validation", "test"],
                         "dataset": name})


DATA = {"A": _manifest("A", 10), "B": _manifest("B", 8)}
EVAL = _manifest("E", 4).assign(split="test")
SPECS = [MixSpec("A only", "A"), MixSpec("A + 50% B", "A", "B", 0.5)]


def test_plan_builds_each_manifest_and_a_run_id_from_settings_and_data() -> None:
    items = plan_sweep(SPECS, DATA, EVAL, CFG)
    assert [it.name for it in items] == ["A only", "A + 50% B"]
    only, mixed = items
    assert set(only.train["split"]) == {"train", "validation"} and len(only.train) == 9  # A's test row left out
    # floor(0.5 x 3) = 1 of each class of B's 6 train rows (3 happy, 3 sad); floor(0.5 x 1) = 0 of its one
    # validation row; test rows are never mixed in
    assert mixed.train.groupby(["dataset", "split"]).size().to_dict() == {
        ("A", "train"): 8, ("A", "validation"): 1, ("B", "train"): 2}
    assert only.run_id.startswith("a-only-") and mixed.run_id.startswith("a-50-b-")
    assert len(only.run_id.rsplit("-", 1)[-1]) == 10
    again = plan_sweep(SPECS, DATA, EVAL, CFG)
    assert [it.run_id for it in again] == [it.run_id for it in items]  # same settings and data: same ids
    other_eval = plan_sweep(SPECS, DATA, EVAL.iloc[:3], CFG)
    other_cfg = plan_sweep(SPECS, DATA, EVAL, TrainConfig(weights="random", input_size=48))
    assert other_eval[0].run_id != only.run_id and other_cfg[0].run_id != only.run_id


def test_plan_loads_each_dataset_once_through_a_callable() -> None:
    calls: list[str] = []

    def load(name: str) -> pd.DataFrame:
        calls.append(name)
        return DATA[name]

    plan_sweep(SPECS + [MixSpec("A + 100% B", "A", "B", 1.0)], load, EVAL, CFG)
    assert calls == ["A", "B"]


def test_configuration_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match=r"configuration names must be unique in a sweep, repeated: \['A only'\]"):
        plan_sweep([SPECS[0], MixSpec("A only", "B")], DATA, EVAL, CFG)


def test_status_counts_train_and_validation_rows(tmp_path) -> None:
    status = sweep_status(plan_sweep(SPECS, DATA, EVAL, CFG), tmp_path)
    assert status.columns.tolist() == ["configuration", "seed", "run_id", "train", "validation", "finished"]
    assert status[["train", "validation"]].values.tolist() == [[8, 1], [10, 1]]
    assert not status["finished"].any()


def test_progress_is_in_epochs_over_the_runs_and_stops_short_of_the_total() -> None:
    seen: list[tuple[int, int, str]] = []
    p = _SweepProgress(lambda d, t, m="": seen.append((d, t, m)), n_runs=3, epochs_per_run=4)
    p.start(1)
    p.epochs(2, 4, "epoch 2")
    assert seen[-1] == (6, 12, "[2/3] epoch 2")  # one run of 4 epochs done, 2 epochs of the second
    p.images(5, 10, "predicting")
    assert seen[-1] == (6, 12, "[2/3] predicting 5/10")  # image progress keeps the epoch count
    p.start(2)
    p.epochs(4, 4, "epoch 4")
    assert seen[-1] == (11, 12, "[3/3] epoch 4")  # the last run still predicts: not 12 of 12 yet
    silent = _SweepProgress(None, 1, 2)
    silent.epochs(1, 2)
    assert silent.done == 1
