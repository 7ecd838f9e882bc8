"""Training settings of the Train or load page: one widget per :class:`TrainConfig` field it sets.

:data:`TRAINING_WIDGETS` maps each such field to the widget that sets it;
:data:`NOT_ON_PAGE` names every other field and why it is left to the command
line. ``tests/test_training_config_fields.py`` checks that together they cover
every field, so a new field needs its widget here or a line in ``NOT_ON_PAGE``.
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from core.models._precision import PRECISIONS
from core.training.config import CLASS_WEIGHTS, PHASE2_MODES, TrainConfig

WEIGHT_CHOICES = {"imagenet": "ImageNet (pretrained)", "random": "random initialisation", "file": "a weights file"}

#: A widget: (column, the default config) -> the field's value.
Widget = Callable[[Any, TrainConfig], Any]


def _weights(col: Any, d: TrainConfig) -> str:
    weights = col.selectbox("backbone weights", list(WEIGHT_CHOICES), key="tl_weights", format_func=WEIGHT_CHOICES.get,
                            help="Chosen up front. ImageNet weights are downloaded by Keras; when they cannot be, "
                                 "this page says so and asks (it never falls back to random on its own).")
    if weights == "file":
        weights = col.text_input("weights file (.h5 / .weights.h5)", key="tl_weights_file").strip() or "file"
    return weights


#: TrainConfig field -> its widget, in page order (rows of four columns).
TRAINING_WIDGETS: dict[str, Widget] = {
    "weights": _weights,
    "input_size": lambda c, d: int(c.number_input("input size (px)", 32, 512, d.input_size, step=16, key="tl_size",
                                                  help="The seed used 224. Smaller sizes train much faster on a CPU.")),
    "batch_size": lambda c, d: int(c.number_input("batch size", 1, 1024, d.batch_size, key="tl_batch")),
    "seed": lambda c, d: int(c.number_input("seed", 0, 10**6, d.seed, key="tl_seed")),
    "phase1_epochs": lambda c, d: int(c.number_input("phase 1 epochs (frozen)", 1, 500, d.phase1_epochs, key="tl_e1")),
    "phase2_epochs": lambda c, d: int(c.number_input("phase 2 epochs (fine-tune)", 0, 500, d.phase2_epochs,
                                                     key="tl_e2")),
    "phase1_learning_rate": lambda c, d: float(c.number_input("phase 1 learning rate", 1e-7, 1.0,
                                                              d.phase1_learning_rate, format="%.0e", key="tl_lr1")),
    "phase2_learning_rate": lambda c, d: float(c.number_input("phase 2 learning rate", 1e-8, 1.0,
                                                              d.phase2_learning_rate, format="%.0e", key="tl_lr2")),
    "unfreeze_layers": lambda c, d: int(c.number_input("layers unfrozen in phase 2", 1, 190, d.unfreeze_layers,
                                                       key="tl_unfreeze")),
    "class_weight": lambda c, d: c.selectbox(
        "class weights", list(CLASS_WEIGHTS), index=CLASS_WEIGHTS.index(d.class_weight), key="tl_cw",
        help="'balanced' counters the class imbalance the seed names as its main limitation."),
    "phase2_mode": lambda c, d: c.selectbox(
        "phase 2 from", list(PHASE2_MODES), index=PHASE2_MODES.index(d.phase2_mode), key="tl_p2",
        help="auto: cached activations at the unfreezing point when they fit in memory or on disk, else the full "
             "model."),
    "feature_cache": lambda c, d: bool(c.toggle(
        "cache frozen features", value=d.feature_cache, key="tl_cache",
        help="Off: the backbone runs on every image every epoch (the seed's way, ~50x slower). Both give the same "
             "model.")),
    "precision": lambda c, d: c.selectbox(
        "backbone precision", list(PRECISIONS), index=PRECISIONS.index(d.precision), key="tl_precision",
        help="Frozen backbone passes (cached features, evaluation): float32 reproduces published numbers; bfloat16 "
             "is several times faster, with its agreement to float32 measured in the README. Recorded in the run."),
}

_RECIPE = "the seed's recipe, kept fixed on the page; change it with `python -m core sweep --help`"
_RESOURCES = "a memory/speed knob that does not change the model; set it on the command line"

#: TrainConfig fields deliberately not on the page -> why.
NOT_ON_PAGE: dict[str, str] = {
    "backbone": "the seed's ResNet50V2; the other backbone is a command-line option (--backbone)",
    "head_units": _RECIPE,
    "dropout": _RECIPE,
    "head_bn_momentum": _RECIPE,
    "head_bn_epsilon": _RECIPE,
    "optimizer": _RECIPE,
    "early_stopping_patience": _RECIPE,
    "reduce_lr_factor": _RECIPE,
    "reduce_lr_patience": _RECIPE,
    "min_learning_rate": _RECIPE,
    "monitor": _RECIPE,
    "phase2_memory_gb": _RESOURCES,
    "cache_batch_size": _RESOURCES,
}


def training_settings() -> TrainConfig | None:
    """The settings expander: one widget per :data:`TRAINING_WIDGETS` entry; ``None`` (and an error) when invalid."""
    d = TrainConfig()
    values: dict[str, Any] = {}
    with st.expander("Training settings (defaults: the seed's recipe)", expanded=False):
        for i, (name, widget) in enumerate(TRAINING_WIDGETS.items()):
            if i % 4 == 0:
                cols = st.columns(4)
            values[name] = widget(cols[i % 4], d)
    try:
        return TrainConfig(**values)
    except ValueError as exc:
        st.error(f"Invalid settings: {exc}")
        return None
