"""Self-contained HTML report and CSV exports of evaluated configurations, written as findings.

The HTML (Jinja2 template ``templates/report.html.j2`` with autoescaping, its
style ``templates/report.css`` inlined, plotly.js inlined once, no external
``<script src>``) reads top-down: **Key findings** in words from the numbers
(:mod:`core.evaluation.findings`: lowest group and by how much with its interval,
whether configurations can be told apart, chance-level results, leakage,
random-weight and synthetic-data warnings), then the **provenance** card of every
run, then per evaluation set (:func:`core.evaluation.sets.group_by_set`; sets
never share a table or a front) the Tables 5/6-style results, figures, recall by
emotion and group, and paired comparisons; then per-class metrics, the dataset
audit and the settings. Runs are named by their unique display names, numbers are
percentages, and no raw JSON or file-system path is printed.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from . import reference as ref
from ..data.labels import EMOTIONS
from ..common._io import atomic_write_text
from ._report_parts import (MIN_CELL, clean_text, comparisons, dataset_audit, human, pct_cols, recall_parts,
                            table_html)
from ..attributes import available_attributes, resolve_attribute
from ._report_seeds import seed_sections, seed_values, seed_verdict, with_seed_sd
from .findings import set_findings
from .metrics import per_class_metrics
from ..common.figure_style import export_config
from .plots import group_accuracy_figure, group_order, tradeoff_figure
from .leakage import leakage_table, read_leakage, runs_leakage_notes
from ..data.datasets import split_rule_label
from .results import ConfigResult, reference_results, results_table, run_results, split_rule_of
from .runs import RunInfo, read_run
from .sets import group_by_set
from .validation import person_column

_TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The report's Jinja2 environment: ``templates/``, autoescaping on (values are text; HTML pieces the
    report builds itself, tables and figures, are marked ``| safe`` in the template)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))


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
    return pd.DataFrame([{"configuration": r.name, "kind": r.kind, "source": r.source,
                          "evaluation_set": r.eval_set.label if r.eval_set else "", **r.overall,
                          "marks": "; ".join(r.marks), "note": clean_text(r.note)} for r in results])


def groups_table(results_by_attr: dict[str, list[ConfigResult]]) -> pd.DataFrame:
    """Long table: configuration, attribute, group, accuracy, interval, weighted F1, n samples, n persons, flag."""
    rows = []
    for attr, results in results_by_attr.items():
        for r in results:
            if r.report is None:
                continue
            for g, row in r.report.table.iterrows():
                rows.append({"configuration": r.name, "evaluation_set": r.eval_set.label if r.eval_set else "",
                             "attribute": attr, "group": g, **row.to_dict()})
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
            rows.append({"configuration": r.name, "evaluation_set": r.eval_set.label if r.eval_set else "",
                         "attribute": attr, **{k: s.get(k) for k in keys},
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
                         **{f"n_{e}": int(labels.get(e, 0)) for e in EMOTIONS}})
    return pd.DataFrame(rows)


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
        Index, among an evaluation set's runs with predictions, of the run the others are compared to.
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
        results_by_attr[attr] = runs_r + unseen_only(infos, runs_r, attr, min_persons=min_persons, unit=unit,
                                                     **kw) + refs
    figs_done = [False]

    def fig_html(fig: Any, name: str) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=not figs_done[0], config=export_config(name))
        figs_done[0] = True
        return out

    sections, comp_rows, recall_frames = [], [], []
    values = seed_values(infos)  # each trained run's configuration across seeds (from metrics.json)

    def verdict(a: str, b: str, overall: dict) -> str:
        return seed_verdict(a, b, values, overall, confidence)

    for attr, results in results_by_attr.items():
        groups = group_order(results)  # one colour per group in every section of this attribute
        for k, (eset, members) in enumerate(group_by_set(results).items()):
            if not any(r.report is not None for r in members) and eset.published:
                continue  # the paper publishes race only
            comps, rows, paired = comparisons(members, baseline, min_persons, kw, verdict)
            comp_rows += [{"evaluation_set": eset.label, "attribute": attr, **r} for r in rows]
            recall_tables, recall_gaps, frames = recall_parts(members)
            recall_frames += [f.assign(evaluation_set=eset.label) for f in frames]
            with_groups = any(r.report is not None for r in members)
            sections.append({
                "label": eset.label, "published": eset.published, "findings": set_findings(members, paired, MIN_CELL),
                "table": table_html(with_seed_sd(results_table(members, formatted=True),
                                                 [(r.name, r.source) for r in members], values)),
                "chance": [r.name for r in members if not r.better_than_chance],
                "bars": fig_html(group_accuracy_figure(members, f"Accuracy per {attr} group", groups, attr),
                                 f"accuracy_per_{attr}_group_{k + 1}") if with_groups else "",
                "tradeoff": fig_html(tradeoff_figure(members, f"Overall accuracy vs {attr} disparity"),
                                     f"accuracy_vs_{attr}_disparity_{k + 1}") if with_groups else "",
                "recall": recall_tables, "recall_gaps": recall_gaps, "comparisons": comps,
                "notes": [f"{r.name}: {clean_text(r.note)}" for r in members if r.note and r.kind == "run"]})
    seeds, seeds_table, seeds_note = seed_sections(infos, attributes, fig_html)
    with_pred = [r for r in first if r.predictions is not None]
    per_class = pd.concat([per_class_metrics(r.predictions["true"], r.predictions["pred"]).reset_index()
                           .assign(configuration=r.name) for r in with_pred]) if with_pred else pd.DataFrame()
    provs = [r.provenance for r in first if r.provenance is not None]
    tables = {"overall": overall_table(results_by_attr.get("race", first)), "groups": groups_table(results_by_attr),
              "fairness": fairness_table(results_by_attr), "comparisons": pd.DataFrame(comp_rows),
              "per_class": per_class,
              "recall": pd.concat(recall_frames, ignore_index=True) if recall_frames else pd.DataFrame(),
              "provenance": pd.DataFrame([{"run": p.display_name, **dict(p.rows())} for p in provs])}
    audits = {r.name: audit_table(r.predictions, attributes) for r in with_pred}
    if not seeds_table.empty:
        tables["seeds"] = seeds_table
    if audits:
        tables["audit"] = pd.concat([a.assign(configuration=n) for n, a in audits.items()], ignore_index=True)
    general = []
    random_runs = [p.display_name for p in provs if p.random_weights]
    if random_runs:
        general.append(f"{len(random_runs)} of {len(provs)} run(s) used a randomly initialised backbone instead of "
                       "ImageNet weights (named in each evaluation set below).")
    if any(p.synthetic for p in provs):
        general.append("Some results come from the synthetic demo (drawn faces with a planted bias), not from real "
                       "people.")
    if len({s["label"] for s in sections}) > 1:
        general.append("The results come from different evaluation sets; each is reported in its own section and "
                       "never on a shared table or Pareto front.")
    leakage, leak_warnings, leak_notes = _leakage(infos)
    if not leakage.empty:
        tables["leakage"] = leakage
    general += [f"Identity leakage · {w}" for w in leak_warnings]
    by_info = {i.display_name: i for i in infos}
    body = _environment().get_template("report.html.j2").render(
        leakage={"warnings": leak_warnings, "notes": [clean_text(n) for n in leak_notes],
                 "table": table_html(human(leakage), index=False) if not leakage.empty else ""} if infos else None,
        seeds=seeds, seeds_note=seeds_note, unit=unit, title=title, generated=time.strftime("%Y-%m-%d %H:%M"), n_runs=len(infos),
        include_reference=include_reference, citation=ref.CITATION, citation_short=ref.SHORT_CITATION,
        confidence=f"{confidence:.0%}", general_warnings=general, sections=sections, min_cell=MIN_CELL,
        provenance=[{"name": p.display_name, "warnings": p.warnings, "rows": [(k, clean_text(v)) for k, v in p.rows()]}
                    for p in provs],
        method_note=(f"Unit of resampling: {unit}. Intervals are cluster-robust logit-t intervals over persons (or "
                     "the chosen unit) when ids exist (frames of one person are not independent), otherwise Wilson "
                     "intervals over frames; rows '(unseen persons only)' score a run evaluated on persons it was "
                     "trained on on the other persons only; groups with fewer "
                     f"persons than {min_persons} are marked ⚠. Raw std is the standard deviation (ddof=1) of group "
                     "accuracies, the seed's %Std, biased upward by sampling noise; corrected std is the "
                     "between-group sd after removing that noise (Paule-Mandel, Q-profile interval), the one the "
                     "Pareto front ranks on. Marks: 'not better than chance' (interval includes 1/7, never on the "
                     "front), 'random weights', 'synthetic', 'trained on these rows', 'persons seen in training'."),
        published_note=(f"{ref.CITATION} No person ids are published, so their Wilson intervals treat the 815 test "
                        f"frames as independent and are too narrow. {' '.join(ref.KNOWN_INCONSISTENCIES)}"),
        per_class=[(r.name, table_html(human(pct_cols(per_class_metrics(r.predictions["true"],
                                                                           r.predictions["pred"]),
                                                         ("precision", "recall", "f1"))))) for r in with_pred],
        audits=[{"name": n, "composition": table_html(human(pct_cols(a, ("share",))), index=False),
                 **(dataset_audit(by_info[n]) if n in by_info else {})} for n, a in audits.items()],
        settings=(f"{n_boot:,} bootstrap replicates, {confidence:.0%} intervals resampling by {unit}, groups "
                  f"flagged below {min_persons} persons, seed {seed}; group attributes: {', '.join(attributes)}; "
                  f"the published results {'included' if include_reference else 'not included'}."))
    return ReportBundle(html=body, tables=tables)


def unseen_only(infos: Sequence[RunInfo], results: Sequence[ConfigResult], attribute: str,
                **kwargs: Any) -> list[ConfigResult]:
    """``<run> (unseen persons only)`` results for the runs whose evaluation includes persons seen in training
    (a set of their own: other frames)."""
    leaky = [i for i, r in zip(infos, results) if r.predictions is not None and "seen_person" in r.predictions
             and r.predictions["seen_person"].astype("boolean").fillna(False).any()]
    out = run_results(leaky, attribute, persons="unseen", **kwargs)
    return [replace(r, name=f"{r.name} (unseen persons only)") for r in out]


def _leakage(infos: Sequence[RunInfo]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(leakage table of every run with a leakage.json, warnings of groups mostly of seen persons, notes)."""
    warnings_, notes = runs_leakage_notes([(i.display_name, i.path) for i in infos])
    audited = [(i, read_leakage(i.path)) for i in infos]
    frames = [leakage_table(a).assign(configuration=i.display_name, run_id=i.run_id,
                                      split_rule=split_rule_label(split_rule_of(i.config)))
              for i, a in audited if a is not None]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), warnings_, notes
