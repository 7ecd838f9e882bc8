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

from .. import reference as ref
from .._errors import DataFormatError
from .fairness import GroupReport, group_report, group_report_from_counts, person_column
from .metrics import check_predictions, loss_of, weighted_f1
from .runs import RunInfo, load_predictions, read_run
from .uncertainty import accuracy_interval, count_interval


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
    """

    dataset: str
    split: str
    attribute: str
    n_samples: int | None = None
    published: bool = False

    @property
    def label(self) -> str:
        """``"EiLA · test split · 902 frames · groups by race"``."""
        n = f" · {self.n_samples:,} frames" if self.n_samples is not None else ""
        what = f"{self.dataset} · {self.split} split{n}"
        if self.published:
            what = f"{self.dataset} {self.split} split as published by {ref.SHORT_CITATION}{n}"
        return f"{what} · groups by {self.attribute}"


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
    """

    name: str
    kind: str
    source: str
    overall: dict[str, Any]
    report: GroupReport | None
    predictions: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    note: str = ""
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
                                note=note, eval_set=EvalSet(PUBLISHED_DATASET, "test", attribute, o["n_samples"],
                                                            published=True)))
    return out


def result_from_predictions(name: str, predictions: pd.DataFrame, attribute: str = "race", source: str = "",
                            n_boot: int = 1000, confidence: float = 0.95, min_persons: int = 5,
                            seed: int = 0) -> ConfigResult:
    """A :class:`ConfigResult` computed from a predictions table."""
    df = check_predictions(predictions, source or name)
    pcol = person_column(df, None)
    iv = accuracy_interval(df["correct"].to_numpy(), None if pcol is None else df[pcol].to_numpy(), n_boot=n_boot,
                           confidence=confidence, min_persons=min_persons, rng=np.random.default_rng(seed))
    overall = {"accuracy": iv.estimate, "ci_low": iv.low, "ci_high": iv.high, "ci_method": iv.method,
               "weighted_f1": weighted_f1(df["true"], df["pred"]), "loss": loss_of(df), "n_samples": iv.n_samples,
               "n_persons": iv.n_persons}
    rep, note = None, ""
    try:
        rep = group_report(df, attribute, n_boot=n_boot, confidence=confidence, min_persons=min_persons, seed=seed,
                           source=source or name)
    except DataFormatError as exc:
        note = str(exc)
    return ConfigResult(name=name, kind="run", source=source, overall=overall, report=rep, predictions=df, note=note)


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
                        note=note)


def run_results(runs: Iterable[str | Path | RunInfo], attribute: str = "race", n_boot: int = 1000,
                confidence: float = 0.95, min_persons: int = 5, seed: int = 0) -> list[ConfigResult]:
    """One :class:`ConfigResult` per run folder (from predictions when present, else from metrics.json)."""
    from dataclasses import replace

    from .provenance import provenance

    out = []
    for run in runs:
        info = run if isinstance(run, RunInfo) else read_run(run)
        if info.has_predictions:
            res = result_from_predictions(info.display_name, load_predictions(info), attribute, info.run_id,
                                          n_boot=n_boot, confidence=confidence, min_persons=min_persons, seed=seed)
        elif info.metrics:
            res = _result_from_metrics(info, attribute)
        else:
            continue
        prov = provenance(info)
        n = res.overall.get("n_samples")
        out.append(replace(res, provenance=prov, eval_set=EvalSet(
            prov.evaluation_dataset, prov.evaluation_split, attribute, int(n) if n is not None else None)))
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
        row: dict[str, Any] = {"configuration": r.name, "kind": r.kind, "n_samples": o.get("n_samples"),
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
                row[f"flag[{g}]"] = bool(gr["low_n"])
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
            flag = " ⚠" if row.get(f"flag[{g}]") is True else ""
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
