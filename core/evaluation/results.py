"""One shape for every configuration shown side by side: published reference rows and run folders.

A :class:`ConfigResult` holds the overall metrics with an interval and the
:class:`~core.evaluation.fairness.GroupReport` of one attribute. The
Trade-offs page, the HTML report and the CLI build them with
:func:`reference_results` and :func:`run_results` and tabulate them with
:func:`results_table` (the seed's Tables 5 and 6 with intervals and counts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import reference as ref
from ..common._errors import DataFormatError
from ..data.datasets import split_rule_label
from .fairness import GroupReport, group_report, group_report_from_counts
from .metrics import loss_of, weighted_f1
from .validation import check_predictions, person_column
from .runs import RunInfo, load_predictions, read_run
from .uncertainty import accuracy_interval, count_interval
from .units import require_unit, unit_ids


#: Chance accuracy of a 7-class classifier.
CHANCE = 1 / 7


@dataclass(frozen=True)
class EvalSet:
    """What a result was evaluated on: only results of one set are compared, tabulated or put on one front.

    Attributes
    ----------
    dataset, split : str
    attribute : str
        The group attribute (race, skin tone...): groups of different attributes are different questions.
    n_samples : int or None
        Frames evaluated (a ``--limit`` evaluation is another set).
    published : bool
        The seed's published numbers (their own EiLA test set of 815 frames, not this app's).
    split_rule : str
        EiLA split rule behind the evaluated split (``seed``, ``person-disjoint``; ``""`` when not
        recorded or not EiLA): EiLA's test split under the seed's rule and under the person-disjoint
        rule are different frames, hence different sets.
    persons : str
        ``all``, or only the persons ``unseen`` / ``seen`` in training (:func:`filter_seen`).
    """

    dataset: str
    split: str
    attribute: str
    n_samples: int | None = None
    published: bool = False
    split_rule: str = ""
    persons: str = "all"

    @property
    def label(self) -> str:
        """``"EiLA · test split · split rule person-disjoint · 902 frames · groups by race"``."""
        n = f" · {self.n_samples:,} frames" if self.n_samples is not None else ""
        rule = f" · split rule {split_rule_label(self.split_rule)}" if self.split_rule else ""
        what = f"{self.dataset} · {self.split} split{rule}{n}"
        if self.published:
            what = f"{self.dataset} {self.split} split as published by {ref.SHORT_CITATION}{n}"  # seed's rule
        who = f" · persons {self.persons} in training only" if self.persons != "all" else ""
        return f"{what}{who} · groups by {self.attribute}"

    @property
    def family(self) -> "EvalSet":
        """The set without its split rule and frame count: sets of one family differ only in how EiLA was split
        (and hence which frames are tested), so they are shown side by side, each with its own front."""
        return EvalSet(self.dataset, self.split, self.attribute, None, self.published, "", self.persons)


PUBLISHED_DATASET = "EiLA"


@dataclass(frozen=True)
class ConfigResult:
    """Results of one configuration.

    Attributes
    ----------
    name : str
        Display name (reference configuration or run label).
    kind : str
        ``"reference"`` or ``"run"``.
    source : str
        Citation or run folder.
    overall : dict
        ``accuracy, ci_low, ci_high, ci_method, weighted_f1, loss, n_samples, n_persons``.
    report : GroupReport or None
        Per-group results of the attribute (None when the run lacks it).
    predictions : pandas.DataFrame or None
        Per-sample predictions (runs only), for paired comparisons and galleries.
    note : str
        Why something is missing, if it is.
    split_rule : str
        EiLA split rule the configuration was trained and evaluated under
        (``seed``, ``person-disjoint``; ``""`` when not recorded).
    persons : str
        Which evaluation persons the numbers cover: ``all``, ``unseen`` or
        ``seen`` (in training; see :func:`filter_seen`).
    """

    name: str
    kind: str
    source: str
    overall: dict[str, Any]
    report: GroupReport | None
    predictions: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    note: str = ""
    split_rule: str = ""
    persons: str = "all"
    eval_set: EvalSet | None = None
    provenance: Any = field(default=None, repr=False, compare=False)

    @property
    def better_than_chance(self) -> bool:
        """Whether the accuracy interval lies above chance (1/7); without an interval, the estimate must."""
        lo = self.overall.get("ci_low")
        value = lo if lo is not None and np.isfinite(lo) else self.overall.get("accuracy")
        return value is not None and bool(np.isfinite(value)) and value > CHANCE

    @property
    def marks(self) -> list[str]:
        """Loud marks for tables and figures: chance level, random weights, synthetic data, leakage."""
        out = [] if self.better_than_chance else ["not better than chance"]
        p = self.provenance
        if p is not None:
            out += ["random weights"] if p.random_weights else []
            out += ["synthetic"] if p.synthetic else []
            out += ["trained on these rows"] if str(p.row_overlap).startswith("YES") else []
            out += ["persons seen in training"] if any("also appear in training" in w for w in p.warnings) else []
        return out


def reference_results(attribute: str = "race", configurations: Sequence[str] | None = None, n_boot: int = 1000,
                      confidence: float = 0.95, min_samples: int = 30, seed: int = 0) -> list[ConfigResult]:
    """The seed's configurations with Wilson intervals from the Table 4 group sizes.

    Only ``race`` is published; another attribute gives configurations without a group report.
    """
    names = list(configurations) if configurations is not None else ref.configuration_names()
    out = []
    for name in names:
        o = ref.reference_overall(name)
        iv = count_interval(o["accuracy"] * o["n_samples"], o["n_samples"], n_boot=n_boot, confidence=confidence)
        overall = {"accuracy": o["accuracy"], "ci_low": iv.low, "ci_high": iv.high, "ci_method": iv.method,
                   "weighted_f1": o["weighted_f1"], "loss": o["loss"], "n_samples": o["n_samples"], "n_persons": None}
        rep = None
        note = "published results: no person ids, intervals treat frames as independent (too narrow)"
        if attribute == "race":
            rep = group_report_from_counts(ref.reference_group_counts(name), "race", n_boot=n_boot,
                                           confidence=confidence, min_samples=min_samples, seed=seed)
            rep.summary["std_published"] = ref.TABLE6[name]["std"]
        else:
            note = f"the paper publishes only race groups, not {attribute!r}"
        out.append(ConfigResult(name=name, kind="reference", source=ref.CITATION, overall=overall, report=rep,
                                note=note, split_rule="seed",
                                eval_set=EvalSet(PUBLISHED_DATASET, "test", attribute, o["n_samples"], published=True,
                                                 split_rule="seed")))
    return out


PERSON_FILTERS: tuple[str, ...] = ("all", "unseen", "seen")


def filter_seen(predictions: pd.DataFrame, persons: str = "all") -> tuple[pd.DataFrame, str]:
    """Rows of persons ``unseen`` (or ``seen``) in training, by the ``seen_person`` column; ``all`` keeps every row.

    Returns
    -------
    tuple
        The rows and a note (empty, or why nothing could be kept: runs without
        ``seen_person`` values were not checked for leakage).
    """
    if persons not in PERSON_FILTERS:
        raise ValueError(f"persons must be one of {list(PERSON_FILTERS)}, received {persons!r}")
    if persons == "all":
        return predictions, ""
    if "seen_person" not in predictions.columns or predictions["seen_person"].isna().all():
        return predictions.iloc[:0], "no seen_person values: leakage was not checked for this run"
    seen = predictions["seen_person"].astype("boolean")
    keep = (seen == (persons == "seen")).fillna(False).to_numpy(dtype=bool)
    rows = predictions[keep]
    return rows, "" if len(rows) else f"no evaluation rows of persons {persons} in training"


def split_rule_of(config: dict[str, Any]) -> str:
    """The EiLA split rule a run recorded (training: ``data.split_rule``; evaluation: ``split_rule``), or ``""``."""
    return str((config.get("data") or {}).get("split_rule") or config.get("split_rule") or "")


def result_from_predictions(name: str, predictions: pd.DataFrame, attribute: str = "race", source: str = "",
                            n_boot: int = 1000, confidence: float = 0.95, min_persons: int = 5,
                            seed: int = 0, unit: str = "person", persons: str = "all",
                            split_rule: str = "") -> ConfigResult:
    """A :class:`ConfigResult` computed from a predictions table.

    ``unit`` is the unit of resampling (person, clip, video); ``persons``
    keeps ``all`` rows or only those of persons ``unseen`` / ``seen`` in training.
    """
    df = check_predictions(predictions, source or name)
    df, why = filter_seen(df, persons)
    if df.empty:
        nan = math.nan
        return ConfigResult(name=name, kind="run", source=source, report=None, note=why, split_rule=split_rule,
                            persons=persons, overall={"accuracy": nan, "ci_low": nan, "ci_high": nan, "ci_method": "",
                                                      "weighted_f1": nan, "loss": None, "n_samples": 0,
                                                      "n_persons": None})
    pcol = person_column(df, None)
    try:
        clusters = unit_ids(df, unit, pcol)
        require_unit(df, unit, source or name)
    except DataFormatError as exc:
        clusters, why = None, str(exc)
    iv = accuracy_interval(df["correct"].to_numpy(), None if clusters is None else clusters.to_numpy(), n_boot=n_boot,
                           confidence=confidence, min_persons=min_persons, rng=np.random.default_rng(seed))
    overall = {"accuracy": iv.estimate, "ci_low": iv.low, "ci_high": iv.high, "ci_method": iv.method,
               "weighted_f1": weighted_f1(df["true"], df["pred"]), "loss": loss_of(df), "n_samples": iv.n_samples,
               "n_persons": iv.n_persons}
    rep, note = None, why
    try:
        rep = group_report(df, attribute, n_boot=n_boot, confidence=confidence, min_persons=min_persons, seed=seed,
                           source=source or name, unit=unit)
    except DataFormatError as exc:
        note = str(exc)
    return ConfigResult(name=name, kind="run", source=source, overall=overall, report=rep, predictions=df, note=note,
                        split_rule=split_rule, persons=persons)


def _result_from_metrics(info: RunInfo, attribute: str) -> ConfigResult:
    m = info.metrics or {}
    overall = {"accuracy": m.get("accuracy", math.nan), "ci_low": m.get("accuracy_ci_low", math.nan),
               "ci_high": m.get("accuracy_ci_high", math.nan), "ci_method": m.get("accuracy_ci_method", ""),
               "weighted_f1": m.get("weighted_f1", math.nan), "loss": m.get("loss"),
               "n_samples": m.get("n_samples"), "n_persons": m.get("n_persons")}
    groups = (m.get("groups") or {}).get(attribute)
    rep = None
    if groups:
        table = pd.DataFrame.from_dict(groups, orient="index")
        table.index.name = "group"
        summary = dict((m.get("fairness") or {}).get(attribute, {}))
        rep = GroupReport(attribute, table, summary, np.zeros((0, len(table))))
    note = "metrics.json only (no predictions.parquet): no paired comparison"
    return ConfigResult(name=info.display_name, kind="run", source=info.run_id, overall=overall, report=rep,
                        note=note, split_rule=split_rule_of(info.config))


def run_results(runs: Iterable[str | Path | RunInfo], attribute: str = "race", n_boot: int = 1000,
                confidence: float = 0.95, min_persons: int = 5, seed: int = 0, unit: str = "person",
                persons: str = "all") -> list[ConfigResult]:
    """One :class:`ConfigResult` per run folder (from predictions when present, else from metrics.json).

    ``unit`` and ``persons`` as in :func:`result_from_predictions` (runs with
    only metrics.json keep their stored person-level numbers for all persons).
    Each result carries its :class:`EvalSet` (with the run's evaluation split
    rule and, for ``persons`` other than ``all``, that filter) and provenance.
    """
    from dataclasses import replace

    from .provenance import provenance

    out = []
    for run in runs:
        info = run if isinstance(run, RunInfo) else read_run(run)
        if info.has_predictions:
            res = result_from_predictions(info.display_name, load_predictions(info), attribute, info.run_id,
                                          n_boot=n_boot, confidence=confidence, min_persons=min_persons, seed=seed,
                                          unit=unit, persons=persons, split_rule=split_rule_of(info.config))
        elif info.metrics:
            res = _result_from_metrics(info, attribute)
        else:
            continue
        prov = provenance(info)
        if persons == "unseen":  # these numbers leave the persons seen in training out
            prov = replace(prov, warnings=tuple(w for w in prov.warnings if "also appear in training" not in w))
        n = res.overall.get("n_samples")
        out.append(replace(res, provenance=prov, eval_set=EvalSet(
            prov.evaluation_dataset, prov.evaluation_split, attribute, int(n) if n is not None else None,
            split_rule=prov.evaluation_split_rule, persons=res.persons)))
    return out


def pareto_front(accuracy: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Mask of configurations no other beats on both point estimates: overall accuracy (higher) and group std
    (lower). Ignores uncertainty; :func:`pareto_status` does not."""
    a, s = np.asarray(accuracy, dtype=float), np.asarray(std, dtype=float)
    ok = np.isfinite(a) & np.isfinite(s)
    mask = np.zeros(a.size, dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (a >= a[i]) & (s <= s[i]) & ((a > a[i]) | (s < s[i]))
        mask[i] = not dominated.any()
    return mask


PARETO_STATUSES: tuple[str, ...] = ("front", "indistinguishable", "dominated", "n/a")


def pareto_status(accuracy: Sequence[float], accuracy_low: Sequence[float], accuracy_high: Sequence[float],
                  std: Sequence[float], std_low: Sequence[float], std_high: Sequence[float]) -> np.ndarray:
    """Pareto status of each configuration that respects the intervals.

    Parameters
    ----------
    accuracy, accuracy_low, accuracy_high : sequence of float
        Overall accuracy (higher is better) with its interval.
    std, std_low, std_high : sequence of float
        Disparity (lower is better; the corrected std) with its interval.

    Returns
    -------
    numpy.ndarray of str
        ``front``: no configuration beats it on both point estimates;
        ``dominated``: another configuration is better on both axes with
        non-overlapping intervals on both (accuracy interval entirely above,
        std interval entirely below); ``indistinguishable``: beaten on the
        point estimates only, i.e. not distinguishable from the front given
        the intervals; ``n/a``: a value is missing.
    """
    arrays = [np.asarray(x, dtype=float) for x in (accuracy, accuracy_low, accuracy_high, std, std_low, std_high)]
    if len({x.size for x in arrays}) != 1:
        raise ValueError(f"all six arrays must have the same length, received {[x.size for x in arrays]}")
    a, a_lo, a_hi, s, s_lo, s_hi = arrays
    ok = np.isfinite(a) & np.isfinite(s)
    front = pareto_front(np.where(ok, a, np.nan), np.where(ok, s, np.nan))
    # a missing interval end is treated as unbounded: it cannot separate two configurations
    a_lo, s_hi = np.where(np.isfinite(a_lo), a_lo, -np.inf), np.where(np.isfinite(s_hi), s_hi, np.inf)
    a_hi, s_lo = np.where(np.isfinite(a_hi), a_hi, np.inf), np.where(np.isfinite(s_lo), s_lo, -np.inf)
    out = np.full(a.size, "n/a", dtype=object)
    for i in np.flatnonzero(ok):
        if front[i]:
            out[i] = "front"
            continue
        clear = ok & (a_lo > a_hi[i]) & (s_hi < s_lo[i])
        out[i] = "dominated" if clear.any() else "indistinguishable"
    return out


def tradeoff_table(results: Sequence[ConfigResult]) -> pd.DataFrame:
    """Overall accuracy against the corrected std of group accuracies, with intervals and Pareto status.

    One table of results (one evaluation set); to compare several sets, call it
    per set. The std ranked on is ``std_corrected`` (corrected for sampling
    noise); where a result lacks it (an old metrics.json) the raw std is used
    and ``std_kind`` says so.

    Returns
    -------
    pandas.DataFrame
        Index ``configuration``; columns ``kind, accuracy, accuracy_ci_low,
        accuracy_ci_high, std, std_ci_low, std_ci_high, std_kind, std_raw,
        flagged_groups, status`` (see :func:`pareto_status`).
    """
    rows = []
    for r in results:
        s = r.report.summary if r.report is not None else {}
        corrected = s.get("std_corrected") is not None and np.isfinite(s.get("std_corrected", np.nan))
        pre = "std_corrected" if corrected else "std"
        rows.append({"configuration": r.name, "kind": r.kind, "accuracy": r.overall.get("accuracy", np.nan),
                     "accuracy_ci_low": r.overall.get("ci_low", np.nan),
                     "accuracy_ci_high": r.overall.get("ci_high", np.nan),
                     "std": s.get(pre, np.nan), "std_ci_low": s.get(f"{pre}_ci_low", np.nan),
                     "std_ci_high": s.get(f"{pre}_ci_high", np.nan), "std_kind": "corrected" if corrected else "raw",
                     "std_raw": s.get("std", np.nan), "flagged_groups": list(s.get("flagged_groups", []))})
    cols = ["configuration", "kind", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "std", "std_ci_low",
            "std_ci_high", "std_kind", "std_raw", "flagged_groups", "status"]
    if not rows:
        return pd.DataFrame(columns=cols).set_index("configuration")
    t = pd.DataFrame(rows)
    num = t[["accuracy", "accuracy_ci_low", "accuracy_ci_high", "std", "std_ci_low", "std_ci_high"]].astype(float)
    t["status"] = pareto_status(*(num[c].to_numpy() for c in num.columns))
    return t[cols].set_index("configuration")


def _fmt_ci(v: float, lo: float, hi: float, pct: bool = True) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    k = 100 if pct else 1
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v * k:.1f}"
    return f"{v * k:.1f} [{lo * k:.1f}, {hi * k:.1f}]"


def results_table(results: Sequence[ConfigResult], formatted: bool = False) -> pd.DataFrame:
    """Tables 5 and 6 in one frame, with intervals, counts and flags.

    Parameters
    ----------
    results : sequence of ConfigResult
    formatted : bool
        False: numeric columns (fractions). True: display strings in percent
        such as ``"45.4 [38.0, 53.0]"`` with ``n=`` counts and a ``⚠`` on flagged groups.

    Returns
    -------
    pandas.DataFrame
        Index ``configuration``.
    """
    rows = []
    for r in results:
        o = r.overall
        row: dict[str, Any] = {"configuration": r.name, "kind": r.kind, "split_rule": r.split_rule,
                               "persons": r.persons, "n_samples": o.get("n_samples"),
                               "n_persons": o.get("n_persons"), "weighted_f1": o.get("weighted_f1"),
                               "accuracy": o.get("accuracy"), "accuracy_ci_low": o.get("ci_low"),
                               "accuracy_ci_high": o.get("ci_high"), "loss": o.get("loss")}
        if r.report is not None:
            for g, gr in r.report.table.iterrows():
                row[f"acc[{g}]"] = gr["accuracy"]
                row[f"acc[{g}]_ci_low"] = gr["ci_low"]
                row[f"acc[{g}]_ci_high"] = gr["ci_high"]
                row[f"n[{g}]"] = gr["n_samples"]
                row[f"persons[{g}]"] = gr.get("n_persons")
                row[f"clips[{g}]"] = gr.get("n_clips")
                row[f"videos[{g}]"] = gr.get("n_videos")
                row[f"flag[{g}]"] = bool(gr["low_n"])
                row[f"one_clip[{g}]"] = bool(gr.get("one_clip")) if pd.notna(gr.get("one_clip")) else False
            s = r.report.summary
            for key in ("std", "std_ci_low", "std_ci_high", "gap", "ratio", "std_published", "std_corrected",
                        "std_corrected_ci_low", "std_corrected_ci_high"):
                if key in s:
                    row[key] = s[key]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("configuration") if rows else pd.DataFrame()
    if not formatted or table.empty:
        return table
    disp = pd.DataFrame(index=table.index)
    if table["split_rule"].astype(bool).any():
        disp["split rule"] = table["split_rule"].map(split_rule_label)
    if (table["persons"] != "all").any():
        disp["persons"] = table["persons"].map(lambda p: "all" if p == "all" else f"{p} in training only")
    disp["n frames (persons)"] = [
        "n/a" if n is None or pd.isna(n) else f"{int(n)} ({int(p)})" if p is not None and pd.notna(p)
        else f"{int(n)} (persons not published)" if k == "reference" else f"{int(n)} (no person ids)"
        for n, p, k in zip(table["n_samples"], table["n_persons"], table["kind"])]
    disp["marks"] = ["; ".join(r.marks) for r in results]
    disp["weighted F1"] = table["weighted_f1"].map(lambda v: "n/a" if v is None or pd.isna(v) else f"{v:.3f}")
    disp["accuracy % [CI]"] = [_fmt_ci(a, lo, hi) for a, lo, hi in
                               zip(table["accuracy"], table["accuracy_ci_low"], table["accuracy_ci_high"])]
    disp["loss"] = table["loss"].map(lambda v: "n/a" if v is None or pd.isna(v) else f"{v:.3f}")
    groups = [c[4:-1] for c in table.columns if c.startswith("acc[") and c.endswith("]")]
    for g in groups:
        cells = []
        for _, row in table.iterrows():
            if pd.isna(row.get(f"acc[{g}]")):
                cells.append("")
                continue
            n, p = row[f"n[{g}]"], row.get(f"persons[{g}]")
            count = f"{int(n)} frames" + (f", {int(p)} persons" if p is not None and pd.notna(p) else "")
            c, v = row.get(f"clips[{g}]"), row.get(f"videos[{g}]")
            count += (f", {int(c)} clip{'s' if int(c) != 1 else ''}" if c is not None and pd.notna(c) else "")
            count += (f", {int(v)} video{'s' if int(v) != 1 else ''}" if v is not None and pd.notna(v) else "")
            flag = " ⚠" if row.get(f"flag[{g}]") is True else ""
            flag += " ⚠ one clip" if row.get(f"one_clip[{g}]") is True else ""
            cells.append(f"{_fmt_ci(row[f'acc[{g}]'], row[f'acc[{g}]_ci_low'], row[f'acc[{g}]_ci_high'])} "
                         f"({count}){flag}")
        disp[f"% acc {g} [CI]"] = cells
    if "std" in table.columns:
        disp["% std raw [CI]"] = [_fmt_ci(s, lo, hi) for s, lo, hi in
                                  zip(table["std"], table.get("std_ci_low"), table.get("std_ci_high"))]
    if "std_corrected" in table.columns:
        disp["% std corrected [CI]"] = [_fmt_ci(s, lo, hi) for s, lo, hi in
                                        zip(table["std_corrected"], table.get("std_corrected_ci_low"),
                                            table.get("std_corrected_ci_high"))]
    if "std_published" in table.columns:
        disp["% std published"] = table["std_published"].map(lambda v: "" if pd.isna(v) else f"{v * 100:.2f}")
    return disp
