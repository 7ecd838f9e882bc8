"""The two training phases, from the cache or through the full model, with live history and progress."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from ..common._io import atomic_write_json
from ..common.progress import ProgressFn
from ..runs.layout import write_history
from .config import TrainConfig
from .data import Streams, array_loader, image_loader
from .features import compute_moments
from .head_fit import CachedHeadTrainer, train_head_cached
from .model import PREPROCESS, build_model, compile_model, load_backbone_for, unfreeze_top
from .phase2 import compute_boundary, plan_phase2, split_at_unfreezing_point


@dataclass
class FitOutcome:
    """What :func:`fit_run` reports back for config.json."""

    backbone: dict[str, Any]
    cache_stats: dict[str, Any]
    phase2: dict[str, Any]
    epochs_run: int
    timings: dict[str, float] = field(default_factory=dict)
    #: Probabilities on the evaluation rows from cached moments (phase 1 only), else None.
    evaluation_probs: np.ndarray | None = None


class LiveHistory(keras.callbacks.Callback):
    """Appends one row per epoch to ``history.csv`` (atomically) and reports progress, throttled per batch."""

    def __init__(self, folder: Path, rows: list[dict], phase: int, mode: str, total_epochs: int, name: str,
                 progress: ProgressFn | None, steps: int) -> None:
        super().__init__()
        self.folder, self.rows, self.phase, self.mode = folder, rows, phase, mode
        self.total_epochs, self.name, self.progress, self.steps = total_epochs, name, progress, steps
        self._t0 = time.monotonic()
        self._last = 0.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._t0 = time.monotonic()
        self._epoch = epoch
        self._status(f"phase {self.phase} epoch {epoch + 1}/{self.total_epochs}")

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        now = time.monotonic()
        if self.progress is not None and now - self._last > 1.0:
            self._last = now
            loss = (logs or {}).get("loss")
            msg = f"{self.name}: phase {self.phase} epoch {self._epoch + 1}/{self.total_epochs} " \
                  f"batch {batch + 1}/{self.steps}" + (f" loss {float(loss):.3f}" if loss is not None else "")
            self.progress(self._epoch, self.total_epochs, msg)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = dict(logs or {})
        lr = logs.pop("learning_rate", None)
        if lr is None:
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, "phase": self.phase, "mode": self.mode,
               **{k: float(v) for k, v in logs.items()}, "learning_rate": float(lr),
               "seconds": round(time.monotonic() - self._t0, 3)}
        self.rows.append(row)
        write_history(self.rows, self.folder)
        if self.progress is not None:
            self.progress(epoch + 1, self.total_epochs,
                          f"{self.name}: phase {self.phase} epoch {epoch + 1}/{self.total_epochs} "
                          f"loss {row.get('loss', float('nan')):.3f} val_loss {row.get('val_loss', float('nan')):.3f}")

    def _status(self, state: str) -> None:
        atomic_write_json({"name": self.name, "state": state, "phase": self.phase, "mode": self.mode,
                           "epoch": self._epoch + 1, "total_epochs": self.total_epochs, "updated": time.time()},
                          self.folder / "status.json")


def phase2_callbacks(cfg: TrainConfig) -> list[keras.callbacks.Callback]:
    """EarlyStopping and ReduceLROnPlateau of the seed's recipe."""
    return [keras.callbacks.EarlyStopping(monitor=cfg.monitor, patience=cfg.early_stopping_patience,
                                          restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor=cfg.monitor, factor=cfg.reduce_lr_factor,
                                              patience=cfg.reduce_lr_patience, min_lr=cfg.min_learning_rate)]


def fit_streams(model: keras.Model, streams: tuple, initial_epoch: int, epochs: int,
                callbacks: list) -> keras.callbacks.History:
    """``model.fit`` on a (training, validation) pair from :meth:`Streams.pair`."""
    tr, va = streams
    return model.fit(tr, validation_data=va,
                     steps_per_epoch=tr.batches_per_epoch, initial_epoch=initial_epoch, epochs=epochs,
                     callbacks=callbacks, verbose=0, shuffle=False)


def fit_run(train: pd.DataFrame, evaluation: pd.DataFrame, cfg: TrainConfig, folder: Path, cache_root: Path,
            name: str, progress: ProgressFn | None = None, image_progress: ProgressFn | None = None,
            scratch: Path | None = None, head_trainer: CachedHeadTrainer | None = None) -> FitOutcome:
    """Run both phases and save ``model.keras`` and ``history.csv`` into ``folder``.

    ``progress`` gets epochs, ``image_progress`` images (feature caching);
    ``scratch`` is where phase-2 activations may be memory-mapped;
    ``head_trainer`` is reused for phase 1 when it fits ``cfg`` (a sweep passes one
    to every configuration, so its traced loops are reused).

    Phase 1 trains the head from cached moments (``cfg.feature_cache``, with
    :func:`core.training.head_fit.train_head_cached`) or through the full model;
    phase 2 unfreezes the last ``cfg.unfreeze_layers`` backbone layers and trains
    from cached activations at the unfreezing point where they fit, else through
    the full model. Without phase 2, cached runs also predict the evaluation rows
    from cached moments (:attr:`FitOutcome.evaluation_probs`).
    """
    keras.backend.clear_session()
    timings: dict[str, float] = {}
    t = time.monotonic()
    backbone = load_backbone_for(cfg)
    model = build_model(cfg, backbone)
    timings["build_s"] = round(time.monotonic() - t, 2)
    data = Streams.from_manifest(train, cfg)
    rows: list[dict] = []
    total = cfg.total_epochs
    cache_stats: dict[str, Any] = {"used": cfg.feature_cache}
    paths_tr, paths_va = data.train["path"].tolist(), data.val["path"].tolist()

    t = time.monotonic()
    if cfg.feature_cache:
        moments, stats = compute_moments(paths_tr + paths_va, backbone, Path(cache_root) / "features",
                                         cfg.cache_batch_size, image_progress, cfg.precision)
        cache_stats.update(stats)
        timings["phase1_features_s"] = round(time.monotonic() - t, 2)
        live = LiveHistory(folder, rows, 1, "cached", total, name, progress, -(-len(paths_tr) // cfg.batch_size))
        _, head_trainer = train_head_cached(model, data, moments, cfg, [live], head_trainer)  # from the model's head
    else:
        streams = data.pair(image_loader(paths_tr, cfg.input_size), image_loader(paths_va, cfg.input_size), cfg, 1)
        live = LiveHistory(folder, rows, 1, "full", total, name, progress, streams[0].batches_per_epoch)
        fit_streams(model, streams, 0, cfg.phase1_epochs, [live])
    timings["phase1_s"] = round(time.monotonic() - t, 2)

    phase2: dict[str, Any] = {"epochs_allowed": cfg.phase2_epochs}
    if cfg.phase2_epochs > 0:
        t = time.monotonic()
        phase2["trainable_layers"] = unfreeze_top(model, cfg.unfreeze_layers, cfg)
        split = split_at_unfreezing_point(model, cfg.unfreeze_layers)
        scratch = scratch or Path(cache_root) / "phase2-scratch" / folder.name
        n_images = len(paths_tr) + len(paths_va)
        if cfg.feature_cache:
            mode, where = plan_phase2(cfg, n_images, split.bytes_per_image, scratch.parent)
        else:
            mode, where = "full", "feature_cache off"
        phase2.update({"mode": mode, "storage": where, "boundary": split.boundary,
                       "bytes_per_image": split.bytes_per_image})
        try:
            if mode == "cached":
                acts = compute_boundary(split, model.get_layer(PREPROCESS), paths_tr + paths_va, cfg.input_size,
                                        cfg.cache_batch_size, where, scratch, image_progress)
                compile_model(split.model, cfg, cfg.phase2_learning_rate)
                nt = len(paths_tr)
                streams = data.pair(array_loader([a[:nt] for a in acts]), array_loader([a[nt:] for a in acts]),
                                    cfg, 2)
                fit_model = split.model
            else:
                streams = data.pair(image_loader(paths_tr, cfg.input_size), image_loader(paths_va, cfg.input_size),
                                    cfg, 2)
                fit_model = model
            live = LiveHistory(folder, rows, 2, mode, total, name, progress, streams[0].batches_per_epoch)
            fit_streams(fit_model, streams, cfg.phase1_epochs, total, [live, *phase2_callbacks(cfg)])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        timings["phase2_s"] = round(time.monotonic() - t, 2)
        best = _best_epoch(rows, cfg)
        phase2["best_epoch"] = best
    model.save(folder / "model.keras")
    evaluation_probs = None
    if cfg.feature_cache and cfg.phase2_epochs == 0:
        # frozen backbone + trained head: the model's predictions are the head's on cached moments (exact),
        # and the evaluation images' moments are computed once for all configurations of a sweep
        t = time.monotonic()
        ev_moments, _ = compute_moments(evaluation["path"].tolist(), backbone, Path(cache_root) / "features",
                                        cfg.cache_batch_size, image_progress, cfg.precision)
        evaluation_probs = head_trainer.predict(ev_moments)
        timings["evaluation_from_moments_s"] = round(time.monotonic() - t, 2)
    return FitOutcome(backbone={"name": backbone.name, "weights_requested": cfg.weights,
                                "weights_used": backbone.weights_used, "warning": backbone.warning,
                                "input_size": backbone.input_size, "tag": backbone.tag,
                                "precision": cfg.precision},
                      cache_stats=cache_stats, phase2=phase2, epochs_run=len(rows), timings=timings,
                      evaluation_probs=evaluation_probs)


def _best_epoch(rows: list[dict], cfg: TrainConfig) -> int | None:
    p2 = [r for r in rows if r["phase"] == 2 and cfg.monitor in r]
    if not p2:
        return None
    pick = min if "loss" in cfg.monitor else max
    return int(pick(p2, key=lambda r: r[cfg.monitor])["epoch"])
