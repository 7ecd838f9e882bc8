"""Self-contained HTML report and CSV exports of evaluated configurations.

The HTML holds everything it needs (plotly.js is inlined once, no external
``<script src>``): settings, Tables 5/6-style results with intervals, n and
flags, per-group figures, the accuracy/disparity trade-off, paired
comparisons, per-class metrics, and an audit of each run's test data.
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from .. import reference as ref
from .._io import atomic_write_text, read_json
from .compare import compare_runs
from .fairness import available_attributes, person_column, resolve_attribute
from .metrics import per_class_metrics
from .plots import group_accuracy_figure, tradeoff_figure
from .leakage import leakage_table, read_leakage, runs_leakage_notes
from .results import ConfigResult, reference_results, results_table, run_results, split_rule_of
from .runs import RunInfo, read_run

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:13px}
h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}code{background:#f3f3f3;padding:1px 3px}
.warn{background:#fff4e5;border-left:4px solid #e08a00;padding:6px 10px;font-size:14px}"""


@dataclass
class ReportBundle:
    """What :func:`build_report` produces: the HTML text and the tables behind it (CSV exports)."""

    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, html_path: str | Path, csv_dir: str | Path | None = None) -> list[Path]:
        """Write the HTML (and every table as ``<name>.csv`` into ``csv_dir``) atomically; returns the files."""
        out = [atomic_write_text(self.html, html_path)]
        if csv_dir is not None:
            for name, df in self.tables.items():
                out.append(atomic_write_text(df.to_csv(index=False), Path(csv_dir) / f"{name}.csv"))
        return out


def overall_table(results: Sequence[ConfigResult]) -> pd.DataFrame:
    """One row per configuration: overall accuracy with interval, weighted F1, loss, n."""
    return pd.DataFrame([{"configuration": r.name, "kind": r.kind, "source": r.source, **r.overall, "note": r.note}
                         for r in results])


def groups_table(results_by_attr: dict[str, list[ConfigResult]]) -> pd.DataFrame:
    """Long table: configuration, attribute, group, accuracy, interval, weighted F1, n samples, n persons, flag."""
    rows = []
    for attr, results in results_by_attr.items():
        for r in results:
            if r.report is None:
                continue
            for g, row in r.report.table.iterrows():
                rows.append({"configuration": r.name, "attribute": attr, "group": g, **row.to_dict()})
    return pd.DataFrame(rows)


def fairness_table(results_by_attr: dict[str, list[ConfigResult]]) -> pd.DataFrame:
    """Long table of disparity summaries: raw std (ddof=1) with CI, gap, ratio with CIs, their versions
    corrected for sampling noise (``*_corrected``), flagged groups."""
    keys = ("n_groups", "std", "std_ci_low", "std_ci_high", "gap", "gap_ci_low", "gap_ci_high", "ratio",
            "ratio_ci_low", "ratio_ci_high", "std_corrected", "std_corrected_ci_low", "std_corrected_ci_high",
            "gap_corrected", "gap_corrected_ci_low", "gap_corrected_ci_high", "ratio_corrected",
            "ratio_corrected_ci_low", "ratio_corrected_ci_high", "best_group", "worst_group", "std_published",
            "ci_method")
    rows = []
    for attr, results in results_by_attr.items():
        for r in results:
            if r.report is None:
                continue
            s = r.report.summary
            rows.append({"configuration": r.name, "attribute": attr, **{k: s.get(k) for k in keys},
                         "flagged_groups": "; ".join(s.get("flagged_groups", []))})
    return pd.DataFrame(rows)


def audit_table(predictions: pd.DataFrame, attributes: Iterable[str]) -> pd.DataFrame:
    """Composition of a test set: per attribute and group, samples, persons, share and label counts."""
    pcol = person_column(predictions, None)
    rows = []
    for attr in attributes:
        try:
            g = resolve_attribute(predictions, attr)
        except Exception:  # attribute not provided by this table
            continue
        for name, sub in predictions.groupby(g.fillna("(missing)").to_numpy()):
            labels = sub["true"].value_counts()
            rows.append({"attribute": attr, "group": name, "n_samples": len(sub),
                         "n_persons": sub[pcol].nunique() if pcol else None, "share": len(sub) / len(predictions),
                         **{f"n_{e}": int(labels.get(e, 0)) for e in ref_labels()}})
    return pd.DataFrame(rows)


def ref_labels() -> tuple[str, ...]:
    from ..labels import EMOTIONS

    return EMOTIONS


def _table_html(df: pd.DataFrame, index: bool = True) -> str:
    if df is None or df.empty:
        return "<p class='note'>(nothing to show)</p>"
    return df.to_html(index=index, escape=True, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)


def _dataset_audit(info: RunInfo) -> str:
    """The evaluated dataset's own audit (``audit.parquet`` from preprocessing) and load report, when present."""
    ds = info.config.get("dataset") or {}
    path = Path(str(ds.get("path", "")))
    folder = path if path.is_dir() else path.parent
    parts = []
    audit = folder / "audit.parquet"
    if str(path) and audit.is_file():
        try:
            table = pd.read_parquet(audit)
        except Exception:  # an unreadable audit must not break the report
            table = None
        if table is not None:
            parts.append(f"<p class='note'>Preprocessing audit ({html.escape(str(audit))}): who was kept between "
                         f"annotation rows and face crops.</p>" + _table_html(table.head(300), index=False))
    meta = folder / "info.json"
    if str(path) and meta.is_file():
        try:
            report = read_json(meta).get("load_report", {})
        except (OSError, ValueError):
            report = {}
        if report:
            parts.append(f"<details><summary>load report of {html.escape(str(folder))}</summary><pre>"
                         f"{html.escape(json.dumps(report, indent=2, default=str)[:20000])}</pre></details>")
    return "".join(parts)


def build_report(runs: Sequence[str | Path | RunInfo] = (), include_reference: bool = True,
                 attributes: Sequence[str] | None = None, n_boot: int = 1000, confidence: float = 0.95,
                 min_persons: int = 5, seed: int = 0, baseline: int = 0,
                 title: str = "FER Bias Lab report", unit: str = "person") -> ReportBundle:
    """Build the HTML report and its tables.

    Parameters
    ----------
    runs : sequence
        Run folders (trained runs or evaluations).
    include_reference : bool
        Add the seed's published results (race only) as configurations.
    attributes : sequence of str, optional
        Group attributes; default race plus what the runs' predictions provide.
    n_boot, confidence, min_persons, seed
        Interval settings (recorded in the report).
    baseline : int
        Index in ``runs`` of the run every other run with predictions is compared to.
    title : str
    unit : {"person", "clip", "video"}
        Unit of resampling of the intervals.

    Runs evaluated on persons they were trained on get an extra row each,
    ``<run> (unseen persons only)``; the identity-leakage section lists every
    run's ``leakage.json`` and warns about groups mostly of seen persons.

    Returns
    -------
    ReportBundle
    """
    infos = [r if isinstance(r, RunInfo) else read_run(r) for r in runs]
    if not infos and not include_reference:
        raise ValueError("nothing to report: pass run folders or include the reference results")
    kw = {"n_boot": n_boot, "confidence": confidence, "seed": seed}
    first = run_results(infos, "race", min_persons=min_persons, unit=unit, **kw)
    if attributes is None:
        attributes = ["race"]
        for r in first:
            if r.predictions is not None:
                attributes += [a for a in available_attributes(r.predictions) if a not in attributes]
    results_by_attr: dict[str, list[ConfigResult]] = {}
    for attr in attributes:
        runs_r = first if attr == "race" else run_results(infos, attr, min_persons=min_persons, unit=unit, **kw)
        refs = reference_results(attr, **kw) if include_reference and attr == "race" else []
        results_by_attr[attr] = refs + runs_r + unseen_only(infos, runs_r, attr, min_persons=min_persons, unit=unit,
                                                            **kw)
    comps, comp_rows = [], []
    with_pred = [r for r in first if r.predictions is not None]
    if len(with_pred) >= 2:
        base = with_pred[min(max(baseline, 0), len(with_pred) - 1)]
        for other in with_pred:
            if other is base:
                continue
            try:
                c = compare_runs(base.predictions, other.predictions, "race", min_persons=min_persons, **kw)
            except Exception as exc:  # runs on different test sets cannot be paired
                comps.append((base.name, other.name, None, str(exc)))
                continue
            comps.append((base.name, other.name, c, ""))
            comp_rows.append({"run_a": base.name, "run_b": other.name, **c["overall"], **c["outcomes"]})
    per_class = pd.concat([per_class_metrics(r.predictions["true"], r.predictions["pred"]).reset_index()
                           .assign(configuration=r.name) for r in with_pred]) if with_pred else pd.DataFrame()
    tables = {"overall": overall_table(results_by_attr.get("race", first)), "groups": groups_table(results_by_attr),
              "fairness": fairness_table(results_by_attr), "comparisons": pd.DataFrame(comp_rows),
              "per_class": per_class}
    audited = [(i, read_leakage(i.path)) for i in infos]
    leakage = pd.concat([leakage_table(a).assign(configuration=i.label, run_id=i.run_id,
                                                 split_rule=split_rule_of(i.config))
                         for i, a in audited if a is not None],
                        ignore_index=True) if any(a is not None for _, a in audited) else pd.DataFrame()
    if not leakage.empty:
        tables["leakage"] = leakage
    audits = {r.name: audit_table(r.predictions, attributes) for r in with_pred}
    if audits:
        tables["audit"] = pd.concat([a.assign(configuration=n) for n, a in audits.items()], ignore_index=True)
    settings = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "n_boot": n_boot, "confidence": confidence,
                "min_persons": min_persons, "seed": seed, "unit of resampling": unit, "attributes": list(attributes),
                "runs": [str(i.path) for i in infos], "reference included": include_reference}
    body = _render(title, settings, results_by_attr, comps, per_class, audits, infos)
    body = body.replace("<!--leakage-->", _leakage_html(infos, leakage), 1)
    return ReportBundle(html=body, tables=tables)


def unseen_only(infos: Sequence[RunInfo], results: Sequence[ConfigResult], attribute: str,
                **kwargs: Any) -> list[ConfigResult]:
    """``<run> (unseen persons only)`` results for the runs whose evaluation includes persons seen in training."""
    leaky = [i for i, r in zip(infos, results) if r.predictions is not None and "seen_person" in r.predictions
             and r.predictions["seen_person"].astype("boolean").fillna(False).any()]
    out = run_results(leaky, attribute, persons="unseen", **kwargs)
    return [replace(r, name=f"{r.name} (unseen persons only)") for r in out]


def _leakage_html(infos: Sequence[RunInfo], table: pd.DataFrame) -> str:
    e = html.escape
    warnings_, notes = runs_leakage_notes([(f"{i.label} ({i.run_id})", i.path) for i in infos])
    parts = ["<h2>Identity leakage</h2><p class='note'>Evaluation persons (and clips) also in each run's training "
             "data (train + validation). The seed's EiLA split rule (annotator count) keeps clips apart but not "
             "persons; rows '(unseen persons only)' above score runs on new faces only.</p>"]
    parts += [f"<p class='warn'>⚠ {e(w)}</p>" for w in warnings_]
    if notes:
        parts.append("<p class='note'>" + "<br>".join(e(n) for n in notes) + "</p>")
    if not table.empty:
        parts.append(_table_html(table, index=False))
    return "\n".join(parts) if infos else ""


def _render(title: str, settings: dict[str, Any], results_by_attr: dict[str, list[ConfigResult]],
            comps: list, per_class: pd.DataFrame, audits: dict[str, pd.DataFrame], infos: list[RunInfo]) -> str:
    figs_done = [False]

    def fig_html(fig: Any) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=not figs_done[0], config={"displaylogo": False})
        figs_done[0] = True
        return out

    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{_CSS}</style>"
             f"</head><body><h1>{e(title)}</h1>"]
    parts.append("<h2>Settings</h2>" + _table_html(pd.DataFrame(
        [{"setting": k, "value": ", ".join(map(str, v)) if isinstance(v, list) else str(v)}
         for k, v in settings.items()]), index=False))
    parts.append("<p class='note'>Accuracies in percent with confidence intervals in brackets. Intervals are "
                 "cluster-robust logit-t intervals over persons (or the chosen unit) when ids exist (frames of one "
                 "person are not independent), otherwise Wilson intervals over frames; groups with fewer persons "
                 "than the minimum are marked ⚠. Raw std is the standard deviation (ddof=1) of group accuracies, the "
                 "seed's %Std, biased upward by sampling noise; corrected std is the between-group sd after removing "
                 "that noise (Paule-Mandel, Q-profile interval), the one the Pareto front ranks on.</p>")
    parts.append("<!--leakage-->")
    if any(r.kind == "reference" for rs in results_by_attr.values() for r in rs):
        parts.append(f"<p class='note'>Published reference results: {e(ref.CITATION)} They carry no person ids, so "
                     f"their Wilson intervals treat the 815 test frames as independent and are too narrow. "
                     f"{e(' '.join(ref.KNOWN_INCONSISTENCIES))}</p>")
    for attr, results in results_by_attr.items():
        parts.append(f"<h2>Results by {e(attr)}</h2>")
        parts.append(_table_html(results_table(results, formatted=True)))
        if any(r.report is not None for r in results):
            parts.append(fig_html(group_accuracy_figure(results, f"Accuracy per {attr} group")))
            parts.append(fig_html(tradeoff_figure(results, f"Overall accuracy vs {attr} disparity")))
        notes = [f"{r.name}: {r.note}" for r in results if r.note and r.kind == "run"]
        if notes:
            parts.append("<p class='note'>" + "<br>".join(e(n) for n in notes) + "</p>")
    if comps:
        parts.append("<h2>Paired comparisons</h2><p class='note'>Difference B − A in accuracy on the shared samples: "
                     "paired bootstrap over persons, and McNemar's test (which treats samples as independent).</p>")
        for a, b, c, err in comps:
            parts.append(f"<h3>{e(a)} (A) vs {e(b)} (B)</h3>")
            if c is None:
                parts.append(f"<p class='note'>not comparable: {e(err)}</p>")
                continue
            o = c["overall"]
            parts.append(f"<p>Δ accuracy = {100 * o['diff']:+.1f} points [{100 * o['ci_low']:+.1f}, "
                         f"{100 * o['ci_high']:+.1f}], bootstrap p = {o['p_value']:.3g} ({e(o['method'])}); "
                         f"McNemar p = {o['mcnemar_p_value']:.3g} ({e(o['mcnemar_method'])}, "
                         f"{o['mcnemar_only_a']} only A right, {o['mcnemar_only_b']} only B right); "
                         f"n = {o['n_samples']}</p>")
            parts.append(_table_html(c["groups"], index=False))
    if not per_class.empty:
        parts.append("<h2>Per-class metrics</h2>" + _table_html(per_class.set_index(["configuration", "class"])))
    if audits:
        parts.append("<h2>Dataset audit</h2><p class='note'>Composition of each run's evaluated samples.</p>")
        for info in infos:
            name = info.label
            if name in audits:
                parts.append(f"<h3>{e(name)}</h3>" + _dataset_audit(info) + _table_html(audits[name], index=False))
    if infos:  # float32 reproduces published numbers; bfloat16 agreement is measured in the README
        from .._precision import recorded_precision

        parts.append("<p class='note'>Backbone precision of each run: " + "; ".join(
            f"{e(info.label)}: {e(recorded_precision(info.config))}" for info in infos) + ".</p>")
    parts.append(f"<p class='note'>Generated by FER Bias Lab on {e(settings['generated'])}.</p></body></html>")
    return "\n".join(parts)
