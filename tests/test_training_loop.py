"""core.training.loop: live history rows and status, the phase-2 callbacks, the best epoch, and a tiny phase-1
run (random weights, 32 px, 21 drawn images). Runs through phase 2 take over 20 s here; tests/test_training_runner.py
and tests/test_training_equivalence.py train them."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from core.data.labels import EMOTIONS
from core.runs.layout import read_history
from core.training import TrainConfig
from core.training.loop import LiveHistory, _best_epoch, fit_run, phase2_callbacks

CFG = TrainConfig(weights="random", input_size=32, head_units=(8,), batch_size=8, phase1_epochs=2,
                  phase2_epochs=0)


def test_live_history_writes_a_row_per_epoch_and_the_status(tmp_path) -> None:
    seen: list[tuple[int, int, str]] = []
    rows: list[dict] = []
    live = LiveHistory(tmp_path, rows, phase=2, mode="cached", total_epochs=5, name="run",
                       progress=lambda d, t, m="": seen.append((d, t, m)), steps=3)
    live.on_epoch_begin(3)
    status = json.loads((tmp_path / "status.json").read_text())
    assert {k: status[k] for k in ("name", "state", "phase", "mode", "epoch", "total_epochs")} == {
        "name": "run", "state": "phase 2 epoch 4/5", "phase": 2, "mode": "cached", "epoch": 4, "total_epochs": 5}
    live.on_train_batch_end(0, {"loss": 1.23456})
    assert seen[-1] == (3, 5, "run: phase 2 epoch 4/5 batch 1/3 loss 1.235")
    live.on_train_batch_end(1, {"loss": 1.0})  # within a second of the last report: throttled
    assert len(seen) == 1
    live.on_epoch_end(3, {"loss": 1.5, "val_loss": 2.25, "learning_rate": 1e-5})
    assert seen[-1] == (4, 5, "run: phase 2 epoch 4/5 loss 1.500 val_loss 2.250")
    row = rows[0]
    assert {k: row[k] for k in ("epoch", "phase", "mode", "loss", "val_loss")} == {
        "epoch": 4, "phase": 2, "mode": "cached", "loss": 1.5, "val_loss": 2.25}
    assert row["learning_rate"] == pytest.approx(1e-5) and row["seconds"] >= 0
    history = read_history(tmp_path)
    assert history["epoch"].tolist() == [4] and history["val_loss"].tolist() == [2.25]


def test_phase2_callbacks_follow_the_config() -> None:
    cfg = TrainConfig(monitor="val_accuracy", early_stopping_patience=4, reduce_lr_factor=0.5,
                      reduce_lr_patience=2, min_learning_rate=1e-6)
    stop, plateau = phase2_callbacks(cfg)
    assert (stop.monitor, stop.patience, stop.restore_best_weights) == ("val_accuracy", 4, True)
    assert (plateau.monitor, plateau.factor, plateau.patience, plateau.min_lr) == ("val_accuracy", 0.5, 2, 1e-6)


def test_best_epoch_is_the_best_phase2_epoch_by_the_monitor() -> None:
    rows = [{"epoch": 1, "phase": 1, "val_loss": 0.1, "val_accuracy": 0.9},
            {"epoch": 2, "phase": 2, "val_loss": 0.9, "val_accuracy": 0.3},
            {"epoch": 3, "phase": 2, "val_loss": 0.5, "val_accuracy": 0.2},
            {"epoch": 4, "phase": 2, "val_loss": 0.7, "val_accuracy": 0.6}]
    assert _best_epoch(rows, TrainConfig(monitor="val_loss")) == 3        # lowest loss; phase 1 does not count
    assert _best_epoch(rows, TrainConfig(monitor="val_accuracy")) == 4    # highest accuracy
    assert _best_epoch(rows[:1], TrainConfig()) is None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> pd.DataFrame:
    """21 drawn 32 px images: two per emotion to train on, one to validate."""
    folder = tmp_path_factory.mktemp("tiny-train")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(21):
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        rows.append({"sample_id": f"s{i}", "path": str(path), "label": EMOTIONS[i % 7],
                     "split": "train" if i < 14 else "validation"})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_a_phase1_only_run_predicts_its_evaluation_rows_from_moments(tiny, tmp_path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    epochs: list[int] = []
    out = fit_run(tiny, tiny.head(3), CFG, folder, tmp_path / "cache", "tiny",
                  progress=lambda d, t, m="": epochs.append(d))
    assert out.epochs_run == 2 and out.phase2 == {"epochs_allowed": 0} and (folder / "model.keras").is_file()
    history = read_history(folder)
    assert history["epoch"].tolist() == [1, 2] and history["phase"].tolist() == [1, 1]
    assert history["mode"].tolist() == ["cached", "cached"] and max(epochs) == 2
    assert out.cache_stats["used"] and out.backbone["weights_used"] == "random"
    assert out.evaluation_probs.shape == (3, 7)
    np.testing.assert_allclose(out.evaluation_probs.sum(axis=1), 1.0, rtol=1e-5)
