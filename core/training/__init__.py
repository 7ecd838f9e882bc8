"""Transfer learning with the seed's recipe, made practical on a CPU by caching the frozen backbone.

:class:`TrainConfig` is importable without TensorFlow; everything else
(model building, cached features, runs and sweeps) is loaded on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from .config import TrainConfig

_LAZY: dict[str, str] = {
    "build_model": "model", "unfreeze_top": "model", "compile_model": "model", "backbone_of": "model",
    "preprocessing_layer": "model", "load_backbone_for": "model",
    "MomentsBatchNormPool": "features", "build_cached_head": "features", "transfer_head": "features",
    "compute_moments": "features", "cache_namespace": "features",
    "CachedHeadTrainer": "head_fit", "train_head_cached": "head_fit",
    "split_at_unfreezing_point": "phase2",
    "RunResult": "runner", "train_run": "runner", "run_id_for": "runner", "is_finished": "runner",
    "partial_runs": "runner",
    "run_sweep": "sweep", "plan_sweep": "sweep", "sweep_status": "sweep",
}

__all__ = ["TrainConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
