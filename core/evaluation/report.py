"""Self-contained HTML report and CSV exports of evaluated configurations, written as findings.

The HTML (``templates/report.html.j2``, plotly.js inlined once, no external
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

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from .. import reference as ref
from .._io import atomic_write_text, read_json
from .compare import compare_runs
from .fairness import available_attributes, person_column, resolve_attribute
from .findings import pct, set_findings
from .metrics import per_class_metrics
from .plots import group_accuracy_figure, tradeoff_figure
from .recall import largest_recall_gap, recall_by_group, recall_matrix
from .results import ConfigResult, reference_results, results_table, run_results
from .runs import RunInfo, read_run
from .sets import group_by_set

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:13px}
h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}code{background:#f3f3f3;padding:1px 3px}
.warn{background:#fff4e5;border-left:4px solid #f0a030;padding:2px 12px;margin:.5em 0}
table.card th{text-align:left;width:16em;vertical-align:top}table.card td{text-align:left}
ul.findings li{margin:.35em 0}details{margin:.3em 0}"""
MIN_CELL = 5
_TEMPLATES = Path(__file__).resolve().parent / "templates"


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
    """Long table of disparity summaries: std (ddof=1) with CI, gap, ratio with CIs, flagged groups."""
    keys = ("n_groups", "std", "std_ci_low", "std_ci_high", "gap", "gap_ci_low", "gap_ci_high", "ratio",
            "ratio_ci_low", "ratio_ci_high", "best_group", "worst_group", "std_published", "ci_method")
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
                         **{f"n_{e}": int(labels.get(e, 0)) for e in ref_labels()}})
    return pd.DataFrame(rows)


def ref_labels() -> tuple[str, ...]:
    from ..labels import EMOTIONS

    return EMOTIONS


def clean_text(text: str) -> str:
    """Remove file-system detail from a message: temporary ``.partial`` folders and absolute run paths."""
    text = re.sub(r"\S*/\.partial-[^\s/]+(/\S*)?", "(the run being written)", str(text or ""))
    return re.sub(r"(?<!\w)/\S*/runs/([^/\s]+)(/[^\s:]*)?", r"run \1", text)


def _pct_cols(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        if c in out.columns:
            out[c] = out[c].map(lambda v: pct(v) if v is not None and not pd.isna(v) else "")
    return out


def _table_html(df: pd.DataFrame | None, index: bool = True) -> str:
    if df is None or df.empty:
        return "<p class='note'>(nothing to show)</p>"
    return df.to_html(index=index, escape=True, na_rep="", float_format=lambda v: f"{v:.3g}", border=0)


_HUMAN = {"n_samples": "frames", "n_persons": "persons", "share": "share", "attribute": "attribute", "group": "group",
          "accuracy_a": "accuracy A", "accuracy_b": "accuracy B", "diff": "B − A", "ci_low": "interval low",
          "ci_high": "interval high", "p_value": "bootstrap p", "mcnemar_p": "McNemar p", "low_n": "few persons",
          "mcnemar_method": "McNemar method", "precision": "precision", "recall": "recall", "f1": "F1",
          "support": "frames"}


def _human(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns=lambda c: _HUMAN.get(c, str(c).replace("_", " ")))


def _load_report_text(report: dict[str, Any]) -> str:
    excluded = report.get("excluded_labels") or {}
    skipped = report.get("skipped") or []
    parts = []
    if excluded:
        parts.append("labels outside the 7 classes left out: " + ", ".join(f"{k} ({v:,})" for k, v in
                                                                           sorted(excluded.items())))
    if skipped:
        parts.append(f"{len(skipped):,} file(s) or row(s) skipped when loading")
    return ("When the dataset was loaded: " + "; ".join(parts) + ".") if parts else ""


def _dataset_audit(info: RunInfo) -> dict[str, str]:
    """The evaluated dataset's preprocessing audit (``audit.parquet``) and load report, as readable HTML."""
    ds = info.config.get("dataset") or {}
    path = Path(str(ds.get("path", "")))
    out = {"preprocessing": "", "load": ""}
    if not str(ds.get("path", "")):
        return out
    folder = path if path.is_dir() else path.parent
    audit = folder / "audit.parquet"
    if audit.is_file():
        try:
            table = pd.read_parquet(audit)
        except Exception:  # an unreadable audit must not break the report
            table = None
        if table is not None and len(table):
            keep = [c for c in ("detector", "split", "race", "gender", "stage", "n", "kept", "retention", "wilson_low",
                                "wilson_high", "n_persons") if c in table.columns]
            t = _pct_cols(table[keep].head(120) if keep else table.head(120), ("retention", "wilson_low", "wilson_high"))
            out["preprocessing"] = _table_html(_human(t), index=False)
    meta = folder / "info.json"
    if meta.is_file():
        try:
            out["load"] = _load_report_text(read_json(meta).get("load_report", {}) or {})
        except (OSError, ValueError, AttributeError):
            pass
    return out


def _comparisons(members: list[ConfigResult], baseline: int, min_persons: int, kw: dict) -> tuple[list, list, dict]:
    """Paired comparisons of one set's runs with predictions against its baseline run."""
    with_pred = [r for r in members if r.predictions is not None]
    shown, rows, paired = [], [], {}
    if len(with_pred) < 2:
        return shown, rows, paired
    base = with_pred[min(max(baseline, 0), len(with_pred) - 1)]
    attr = base.report.attribute if base.report is not None else None
    for other in with_pred:
        if other is base:
            continue
        item: dict[str, Any] = {"a": base.name, "b": other.name, "error": ""}
        try:
            c = compare_runs(base.predictions, other.predictions, attr, min_persons=min_persons, **kw)
        except Exception as exc:  # runs on different frames cannot be paired
            item["error"] = clean_text(str(exc))
            shown.append((other.name, item))
            continue
        o = c["overall"]
        paired[(base.name, other.name)] = o
        g = _pct_cols(c["groups"], ("accuracy_a", "accuracy_b"))
        g["low_n"] = c["groups"]["low_n"].map(lambda v: "⚠" if v else "")
        for col in ("diff", "ci_low", "ci_high"):
            g[col] = c["groups"][col].map(lambda v: "" if pd.isna(v) else f"{100 * v:+.1f} points")
        item.update(diff=f"{100 * o['diff']:+.1f} points [{100 * o['ci_low']:+.1f}, {100 * o['ci_high']:+.1f}]",
                    n=f"{o['n_samples']:,}", p=f"{o['p_value']:.3g}", method=o["method"],
                    mcnemar=f"{o['mcnemar_p_value']:.3g}", only_a=o["mcnemar_only_a"], only_b=o["mcnemar_only_b"],
                    groups=_table_html(_human(g), index=False))
        shown.append((other.name, item))
        rows.append({"run_a": base.name, "run_b": other.name, **o, **c["outcomes"]})
    return shown, rows, paired


def _recall_parts(members: list[ConfigResult]) -> tuple[list, str, list[pd.DataFrame]]:
    tables, gaps, frames = [], [], []
    for r in members:
        if r.predictions is None or r.report is None:
            continue
        try:
            t = recall_by_group(r.predictions, r.report.attribute)
        except ValueError:
            continue
        gap = largest_recall_gap(t, MIN_CELL)
        frames.append(t.assign(configuration=r.name, attribute=r.report.attribute))
        tables.append((r.name, _table_html(recall_matrix(t, MIN_CELL))))
        gaps.append({"run": r.name, "largest recall gap": f"n/a (no emotion with {MIN_CELL}+ frames in two groups)"
                     if pd.isna(gap["gap"]) else f"{100 * gap['gap']:.1f} points", "emotion": gap["emotion"] or "", "best group": f"{gap['best_group'] or ''} "
                     f"{pct(gap['best_recall'], 0) if gap['best_group'] else ''}".strip(),
                     "worst group": f"{gap['worst_group'] or ''} "
                     f"{pct(gap['worst_recall'], 0) if gap['worst_group'] else ''}".strip()})
    return tables, (_table_html(pd.DataFrame(gaps), index=False) if gaps else ""), frames


def build_report(runs: Sequence[str | Path | RunInfo] = (), include_reference: bool = True,
                 attributes: Sequence[str] | None = None, n_boot: int = 1000, confidence: float = 0.95,
                 min_persons: int = 5, seed: int = 0, baseline: int = 0,
                 title: str = "FER Bias Lab report") -> ReportBundle:
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

    Returns
    -------
    ReportBundle
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    infos = [r if isinstance(r, RunInfo) else read_run(r) for r in runs]
    if not infos and not include_reference:
        raise ValueError("nothing to report: pass run folders or include the reference results")
    kw = {"n_boot": n_boot, "confidence": confidence, "seed": seed}
    first = run_results(infos, "race", min_persons=min_persons, **kw)
    if attributes is None:
        attributes = ["race"]
        for r in first:
            if r.predictions is not None:
                attributes += [a for a in available_attributes(r.predictions) if a not in attributes]
    results_by_attr: dict[str, list[ConfigResult]] = {}
    for attr in attributes:
        runs_r = first if attr == "race" else run_results(infos, attr, min_persons=min_persons, **kw)
        refs = reference_results(attr, **kw) if include_reference and attr == "race" else []
        results_by_attr[attr] = runs_r + refs
    figs_done = [False]

    def fig_html(fig: Any) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=not figs_done[0], config={"displaylogo": False})
        figs_done[0] = True
        return out

    sections, comp_rows, recall_frames = [], [], []
    for attr, results in results_by_attr.items():
        for eset, members in group_by_set(results).items():
            if not any(r.report is not None for r in members) and eset.published:
                continue  # the paper publishes race only
            comps, rows, paired = _comparisons(members, baseline, min_persons, kw)
            comp_rows += [{"evaluation_set": eset.label, "attribute": attr, **r} for r in rows]
            recall_tables, recall_gaps, frames = _recall_parts(members)
            recall_frames += [f.assign(evaluation_set=eset.label) for f in frames]
            with_groups = any(r.report is not None for r in members)
            sections.append({
                "label": eset.label, "published": eset.published, "findings": set_findings(members, paired, MIN_CELL),
                "table": _table_html(results_table(members, formatted=True)),
                "chance": [r.name for r in members if not r.better_than_chance],
                "bars": fig_html(group_accuracy_figure(members, f"Accuracy per {attr} group")) if with_groups else "",
                "tradeoff": fig_html(tradeoff_figure(members, f"Overall accuracy vs {attr} disparity"))
                if with_groups else "",
                "recall": recall_tables, "recall_gaps": recall_gaps, "comparisons": comps,
                "notes": [f"{r.name}: {clean_text(r.note)}" for r in members if r.note and r.kind == "run"]})
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
    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    by_info = {i.display_name: i for i in infos}
    body = env.get_template("report.html.j2").render(
        title=title, css=_CSS, generated=time.strftime("%Y-%m-%d %H:%M"), n_runs=len(infos),
        include_reference=include_reference, citation=ref.CITATION, citation_short=ref.SHORT_CITATION,
        confidence=f"{confidence:.0%}", general_warnings=general, sections=sections, min_cell=MIN_CELL,
        provenance=[{"name": p.display_name, "warnings": p.warnings, "rows": [(k, clean_text(v)) for k, v in p.rows()]}
                    for p in provs],
        method_note=("Intervals come from a cluster bootstrap over persons when person ids exist (frames of one "
                     "person are not independent), otherwise Wilson intervals over frames; groups with fewer persons "
                     f"than {min_persons} are marked ⚠ and their intervals widened. Std is the standard deviation "
                     "(ddof=1) of group accuracies, the seed's %Std. Marks: 'not better than chance' (interval "
                     "includes 1/7), 'random weights', 'synthetic', 'trained on these rows', 'persons seen in "
                     "training'."),
        published_note=(f"{ref.CITATION} No person ids are published, so their Wilson intervals treat the 815 test "
                        f"frames as independent and are too narrow. {' '.join(ref.KNOWN_INCONSISTENCIES)}"),
        per_class=[(r.name, _table_html(_human(_pct_cols(per_class_metrics(r.predictions["true"],
                                                                           r.predictions["pred"]),
                                                         ("precision", "recall", "f1"))))) for r in with_pred],
        audits=[{"name": n, "composition": _table_html(_human(_pct_cols(a, ("share",))), index=False),
                 **(_dataset_audit(by_info[n]) if n in by_info else {})} for n, a in audits.items()],
        settings=(f"{n_boot:,} bootstrap replicates, {confidence:.0%} intervals, groups flagged below {min_persons} "
                  f"persons, seed {seed}; group attributes: {', '.join(attributes)}; the published results "
                  f"{'included' if include_reference else 'not included'}."))
    return ReportBundle(html=body, tables=tables)
