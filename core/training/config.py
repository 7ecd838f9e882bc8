"""The one configuration of a training run: the seed's recipe plus the options users expect.

Defaults are the seed study's settings: ResNet50V2 with ImageNet weights at
224x224x3; head BatchNormalization -> GlobalAveragePooling2D -> Dense
512/256/128/64 (ReLU, each followed by Dropout 0.1) -> Dense 7 softmax;
phase 1 with the backbone frozen, Adamax 1e-4, 15 epochs; phase 2 with the last
10 backbone layers trainable, Adamax 1e-5, up to 35 more epochs,
EarlyStopping(val_loss, patience 15, restore best) and
ReduceLROnPlateau(factor 0.2, patience 3, min_lr 1e-7); categorical
cross-entropy; batch size 32.

Each field also says how it is set on the command line (:func:`option`: its flag,
help and choices) or why it is not (:func:`not_an_option`); ``python -m core
train`` and ``sweep`` build their training options from that alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..models._precision import PRECISIONS
from ..models.backbones import BACKBONE_NAMES

CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")
PHASE2_MODES: tuple[str, ...] = ("auto", "cached", "full")
OPTIMIZERS: tuple[str, ...] = ("adamax", "adam")
MONITORS: tuple[str, ...] = ("val_loss", "val_accuracy", "loss", "accuracy")


def option(default: Any, flag: str, help: str | None = None, *, choices: tuple[str, ...] | None = None) -> Any:
    """A :class:`TrainConfig` field offered on the command line.

    Everything the CLI (:func:`core.training._cli.add_training_options`) and its
    inverse (:func:`core.training._cli.training_argv`) need is read from this
    metadata, so a new setting is one field declaration.

    Parameters
    ----------
    default : int, float, str, bool or tuple of int
        The field's default; its type is the option's type (a tuple takes one or
        more values; a bool is a switch).
    flag : str
        The option, e.g. ``"--epochs1"``. A bool field that defaults to True is
        switched off by its flag, which must then start with ``--no-``.
    help : str, optional
        The option's help text.
    choices : tuple of str, optional
        The allowed values: the same tuple :meth:`TrainConfig.__post_init__` checks.

    Returns
    -------
    dataclasses.Field
    """
    if not flag.startswith("--"):
        raise ValueError(f"flag must start with '--', received {flag!r}")
    if isinstance(default, bool) and default != flag.startswith("--no-"):
        raise ValueError(f"a switch defaulting to {default} needs a flag {'starting' if default else 'not starting'} "
                         f"with '--no-', received {flag!r}")
    return field(default=default, metadata={"flag": flag, "help": help, "choices": choices})


def not_an_option(why: str) -> dict[str, Any]:
    """Metadata of a field deliberately not on the command line; ``why`` says why."""
    if not why:
        raise ValueError("not_an_option needs the reason the field is not on the command line")
    return {"flag": None, "why": why}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run, validated on construction.

    Attributes
    ----------
    backbone : {"resnet50v2", "resnet50"}
    weights : str
        ``"imagenet"`` (downloaded by Keras; when that is impossible training
        stops with :class:`~core.WeightsUnavailableError`, never silently random),
        ``"random"``, or a Keras weights file.
    input_size : int
        Square side of the backbone input (>= 32); 48x48 gray crops are resized
        and replicated to 3 channels.
    head_units : tuple of int
        Dense layer widths of the head.
    dropout : float
        Dropout rate after each head Dense layer, in [0, 1).
    head_bn_momentum, head_bn_epsilon : float
        Settings of the head's BatchNormalization (Keras defaults).
    optimizer : {"adamax", "adam"}
    phase1_epochs : int
        Epochs with the backbone frozen (>= 1).
    phase1_learning_rate : float
    phase2_epochs : int
        Additional fine-tuning epochs (0 skips phase 2).
    phase2_learning_rate : float
    unfreeze_layers : int
        Number of backbone layers, counted from the end, trainable in phase 2.
    early_stopping_patience : int
    reduce_lr_factor : float
        In (0, 1).
    reduce_lr_patience : int
    min_learning_rate : float
    monitor : str
        Quantity watched by the phase-2 callbacks.
    batch_size : int
    class_weight : {"none", "balanced"}
        ``balanced`` weights each class by ``n / (k * n_class)`` on the train split
        (the class imbalance the seed names as its main limitation).
    seed : int
        Seeds weight initialisation, dropout masks, batch order and random backbones.
    feature_cache : bool
        Train phase 1 from cached frozen-backbone statistics (exact, see
        :mod:`core.training.features`) instead of running the backbone every epoch.
    phase2_mode : {"auto", "cached", "full"}
        Phase 2 from cached activations at the unfreezing point (``cached``), the
        full model (``full``), or cached when they fit in ``phase2_memory_gb`` (``auto``).
    phase2_memory_gb : float
        Memory allowed for phase-2 cached activations.
    cache_batch_size : int
        Images per backbone batch when filling caches.
    precision : {"float32", "bfloat16"}
        Precision of the frozen backbone passes (cached moments, and the
        evaluation rows predicted from them): ``float32`` (TensorFlow, the seed's
        numbers) or ``bfloat16`` (OpenVINO on the CPU's bfloat16 units, several
        times faster, agreement measured in the README). Training steps through the
        backbone (phase 2, ``feature_cache=False``) always run in float32.
    """

    backbone: str = option("resnet50v2", "--backbone", choices=BACKBONE_NAMES)
    weights: str = option("imagenet", "--weights",
                          "'imagenet' (downloaded by Keras; when it cannot be, the command stops and asks for one of "
                          "the others), 'random', or a Keras weights file")
    input_size: int = option(224, "--input-size", "backbone input side in pixels")
    head_units: tuple[int, ...] = option((512, 256, 128, 64), "--head-units",
                                         "widths of the head's Dense layers, e.g. --head-units 512 256 128 64")
    dropout: float = option(0.1, "--dropout")
    head_bn_momentum: float = option(0.99, "--head-bn-momentum", "momentum of the head's BatchNormalization")
    head_bn_epsilon: float = option(1e-3, "--head-bn-epsilon", "epsilon of the head's BatchNormalization")
    optimizer: str = option("adamax", "--optimizer", choices=OPTIMIZERS)
    phase1_epochs: int = option(15, "--epochs1", "phase 1 epochs (backbone frozen)")
    phase1_learning_rate: float = option(1e-4, "--lr1")
    phase2_epochs: int = option(35, "--epochs2", "phase 2 epochs (last layers trainable; 0 skips phase 2)")
    phase2_learning_rate: float = option(1e-5, "--lr2")
    unfreeze_layers: int = option(10, "--unfreeze-layers")
    early_stopping_patience: int = option(15, "--patience", "early stopping patience")
    reduce_lr_factor: float = option(0.2, "--reduce-lr-factor", "phase 2 learning rate factor on a plateau")
    reduce_lr_patience: int = option(3, "--reduce-lr-patience", "epochs on a plateau before the learning rate drops")
    min_learning_rate: float = option(1e-7, "--min-lr", "lowest learning rate the plateau rule reaches")
    monitor: str = option("val_loss", "--monitor", "quantity watched by the phase 2 callbacks", choices=MONITORS)
    batch_size: int = option(32, "--batch-size")
    class_weight: str = option("none", "--class-weight", choices=CLASS_WEIGHTS)
    seed: int = option(0, "--seed")
    feature_cache: bool = option(True, "--no-feature-cache",
                                 "run the backbone on every image every epoch (the seed's way; slow)")
    phase2_mode: str = option("auto", "--phase2-mode", choices=PHASE2_MODES)
    phase2_memory_gb: float = option(4.0, "--phase2-memory-gb")
    cache_batch_size: int = option(32, "--cache-batch-size", "images per backbone batch when filling feature caches")
    precision: str = option("float32", "--precision",
                            "frozen backbone passes (cached moments, evaluation): float32 (default, the published "
                            "numbers) or bfloat16 (several times faster; agreement in the README)",
                            choices=PRECISIONS)
    loss: str = field(default="categorical_crossentropy", init=False,
                      metadata=not_an_option("fixed: the seed's loss, the only one the head and the caches implement"))

    def __post_init__(self) -> None:
        if isinstance(self.head_units, list):
            object.__setattr__(self, "head_units", tuple(self.head_units))
        if self.backbone not in BACKBONE_NAMES:
            raise ValueError(f"backbone must be one of {list(BACKBONE_NAMES)}, received {self.backbone!r}")
        if self.weights is None:
            object.__setattr__(self, "weights", "random")
        if not isinstance(self.weights, (str, Path)) or not str(self.weights):
            raise ValueError(f"weights must be 'imagenet', 'random' or a weights file, received {self.weights!r}")
        object.__setattr__(self, "weights", str(self.weights))
        if str(self.weights).lower() == "none":
            object.__setattr__(self, "weights", "random")
        if not _is_int(self.input_size) or self.input_size < 32:
            raise ValueError(f"input_size must be an integer >= 32, received {self.input_size!r}")
        if not self.head_units or not all(_is_int(u) and u > 0 for u in self.head_units):
            raise ValueError(f"head_units must be positive integers, received {self.head_units!r}")
        if not _is_num(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), received {self.dropout!r}")
        if not _is_num(self.head_bn_momentum) or not 0.0 <= self.head_bn_momentum < 1.0:
            raise ValueError(f"head_bn_momentum must be in [0, 1), received {self.head_bn_momentum!r}")
        if not _is_num(self.head_bn_epsilon) or self.head_bn_epsilon <= 0:
            raise ValueError(f"head_bn_epsilon must be > 0, received {self.head_bn_epsilon!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, received {self.optimizer!r}")
        for name in ("phase1_epochs", "batch_size", "cache_batch_size"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, received {v!r}")
        for name in ("phase2_epochs", "unfreeze_layers", "early_stopping_patience", "reduce_lr_patience", "seed"):
            v = getattr(self, name)
            if not _is_int(v) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, received {v!r}")
        if self.phase2_epochs and self.unfreeze_layers < 1:
            raise ValueError("unfreeze_layers must be >= 1 when phase2_epochs > 0")
        for name in ("phase1_learning_rate", "phase2_learning_rate", "min_learning_rate", "phase2_memory_gb"):
            v = getattr(self, name)
            if not _is_num(v) or v <= 0:
                raise ValueError(f"{name} must be a number > 0, received {v!r}")
        if not _is_num(self.reduce_lr_factor) or not 0.0 < self.reduce_lr_factor < 1.0:
            raise ValueError(f"reduce_lr_factor must be in (0, 1), received {self.reduce_lr_factor!r}")
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be val_loss, val_accuracy, loss or accuracy, received {self.monitor!r}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"class_weight must be one of {list(CLASS_WEIGHTS)}, received {self.class_weight!r}")
        if self.phase2_mode not in PHASE2_MODES:
            raise ValueError(f"phase2_mode must be one of {list(PHASE2_MODES)}, received {self.phase2_mode!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, received {self.precision!r}")
        if not isinstance(self.feature_cache, bool):
            raise ValueError(f"feature_cache must be True or False, received {self.feature_cache!r}")

    @property
    def total_epochs(self) -> int:
        """Most epochs a run can take (phase 2 may stop early)."""
        return self.phase1_epochs + self.phase2_epochs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (``head_units`` as a list)."""
        d = dataclasses.asdict(self)
        d["head_units"] = list(self.head_units)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Build from :meth:`to_dict` output; unknown keys raise ``ValueError`` naming them."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - names - {"loss"})
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; expected some of {sorted(names)}")
        return cls(**{k: (tuple(v) if k == "head_units" else v) for k, v in data.items() if k in names})

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some settings changed (validated)."""
        return dataclasses.replace(self, **changes)
