"""Synthetic predictions and tiny run folders for the evaluation tests (no model, no real data)."""
from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from core.evaluation.runs import write_evaluation
from core.data.labels import EMOTIONS

RACES = ("White", "Black", "Mixed")
SKIN = {"White": "#e4b9a0", "Black": "#5a3b2c", "Mixed": "#a0785a"}


def synthetic_predictions(n_persons: dict[str, int] | None = None, frames: int = 6, skill: float = 0.6,
                          seed: int = 0, image_dir: Path | None = None) -> pd.DataFrame:
    """A predictions table shaped like ``predict_manifest``'s, with persons nested in race groups.

    ``skill`` is the chance a prediction copies the true label. With ``image_dir``
    tiny PNGs are written and referenced in ``path``.
    """
    rng = np.random.default_rng(seed)
    n_persons = n_persons or {"White": 6, "Black": 4, "Mixed": 2}
    rows = []
    for race, k in n_persons.items():
        for p in range(k):
            gender = "Female" if p % 2 else "Male"
            for f in range(frames):
                true = EMOTIONS[(p + f) % len(EMOTIONS)]
                pred = true if rng.random() < skill else EMOTIONS[rng.integers(len(EMOTIONS))]
                probs = rng.dirichlet(np.ones(len(EMOTIONS)))
                probs = 0.5 * probs + 0.5 * np.eye(len(EMOTIONS))[EMOTIONS.index(pred)]
                yaw = float(rng.uniform(-90, 90))
                rows.append({"sample_id": f"s-{race}-{p}-{f}", "true": true, "pred": pred,
                             **{f"prob_{e}": probs[j] for j, e in enumerate(EMOTIONS)},
                             "confidence": float(probs.max()), "correct": true == pred,
                             "race": race, "gender": gender, "skin_color": SKIN[race],
                             "person": f"P:{race}/{p}", "yaw": yaw, "side_profile": abs(yaw) >= 60,
                             "split": "test", "dataset": "Synthetic"})
    df = pd.DataFrame(rows)
    df["nll"] = -np.log(np.clip([r[f"prob_{t}"] for r, t in zip(df.to_dict("records"), df["true"])], 1e-7, 1))
    if image_dir is not None:
        image_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, sid in enumerate(df["sample_id"]):
            path = image_dir / f"{sid}.png"
            if not path.exists():
                img = np.full((24, 24, 3), 40 + (i * 7) % 200, np.uint8)
                cv2.circle(img, (12, 12), 8, (200, 170, 150), -1)
                cv2.imwrite(str(path), img)
            paths.append(str(path))
        df["path"] = paths
    return df


def make_run(artifacts: Path, run_id: str, predictions: pd.DataFrame, label: str, n_boot: int = 200) -> Path:
    """Write an evaluation run folder ``<artifacts>/runs/<run_id>`` from predictions."""
    out = artifacts / "runs" / run_id
    write_evaluation(predictions, out, {"label": label, "model": "synthetic", "dataset": {"name": "Synthetic"}},
                     attributes=("race", "gender"), n_boot=n_boot)
    return out


def make_training_run(art: Path, run_id: str, name: str, weights: str = "random", leakage: dict | None = None,
                      eval_split: str = "test", eval_dataset: str = "Demo", skill: float = 0.7,
                      seed: int = 0, seed_group: str | None = None) -> Path:
    """A trained-run folder as runner.train_run writes it (config, versions, metrics, predictions; no model).

    ``seed`` is its training seed (it also changes the drawn predictions); ``seed_group`` its configuration's
    id shared across seeds (none by default, as runs written before ``--seeds``).
    """
    run = art / "runs" / run_id
    preds = synthetic_predictions(seed=len(run_id) + 1000 * seed, skill=skill)
    make_run(art, run_id, preds, name)  # predictions + metrics of the evaluation set
    cfg = {"run_id": run_id, "kind": "training", "name": name, "label": name, "created": time.time(),
           "training": {"backbone": "resnet50v2", "weights": weights, "input_size": 32, "phase1_epochs": 2,
                        "seed": seed}, **({"seed_group": seed_group} if seed_group else {}),
           "backbone": {"name": "resnet50v2", "weights_used": weights, "warning": None},
           "data": {"configuration": {"name": name, "base": "FER2013", "extra": "Demo", "fraction": 0.5, "seed": 0},
                    "evaluation": {"dataset": eval_dataset, "split": eval_split, "n": len(preds)},
                    "n_train": 40, "n_validation": 10, "n_evaluation": len(preds),
                    "rows_per_dataset_split": {"FER2013/train": 30, "FER2013/validation": 8, "Demo/train": 10,
                                               "Demo/validation": 2}}}
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "versions.json").write_text(json.dumps({"code": "abc1234", "python": "3.11", "weights_used": weights}))
    if leakage is not None:
        (run / "leakage.json").write_text(json.dumps(leakage))
    for f in run.iterdir():
        f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # runs are immutable
    return run
