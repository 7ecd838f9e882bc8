"""HTML pieces of the report: readable tables (percentages, human column names), comparisons, recall, audits.

Helpers of :mod:`core.evaluation.report`; nothing here prints a file-system path
or raw JSON (:func:`clean_text` strips temporary ``.partial`` folders and absolute
run paths from messages).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..common._io import read_json
from .compare import compare_runs
from .findings import pct
from .recall import largest_recall_gap, recall_by_group, recall_matrix
from .results import ConfigResult
from .runs import RunInfo

#: Smallest (emotion, group) cell counted in the largest recall gap.
MIN_CELL = 5


def clean_text(text: str) -> str:
    """Remove file-system detail from a message: temporary ``.partial`` folders and absolute run paths."""
    text = re.sub(r"\S*/\.partial-[^\s/]+(/\S*)?", "(the run being written)", str(text or ""))
    return re.sub(r"(?<!\w)/\S*/runs/([^/\s]+)(/[^\s:]*)?", r"run \1", text)


def pct_cols(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        if c in out.columns:
            out[c] = out[c].map(lambda v: pct(v) if v is not None and not pd.isna(v) else "")
    return out


def table_html(df: pd.DataFrame | None, index: bool = True) -> str:
    if df is None or df.empty:
        return "<p class='note'>(nothing to show)</p>"
    return df.to_html(index=index, escape=True, na_rep="", float_format=lambda v: f"{v:.3g}", border=0)


_HUMAN = {"n_samples": "frames", "n_persons": "persons", "share": "share", "attribute": "attribute", "group": "group",
          "accuracy_a": "accuracy A", "accuracy_b": "accuracy B", "diff": "B − A", "ci_low": "interval low",
          "ci_high": "interval high", "p_value": "bootstrap p", "mcnemar_p": "McNemar p", "low_n": "few persons",
          "mcnemar_method": "McNemar method", "precision": "precision", "recall": "recall", "f1": "F1",
          "support": "frames"}


def human(df: pd.DataFrame) -> pd.DataFrame:
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


def dataset_audit(info: RunInfo) -> dict[str, str]:
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
            t = pct_cols(table[keep].head(120) if keep else table.head(120), ("retention", "wilson_low", "wilson_high"))
            out["preprocessing"] = table_html(human(t), index=False)
    meta = folder / "info.json"
    if meta.is_file():
        try:
            out["load"] = _load_report_text(read_json(meta).get("load_report", {}) or {})
        except (OSError, ValueError, AttributeError):
            pass
    return out


def comparisons(members: list[ConfigResult], baseline: int, min_persons: int, kw: dict,
                verdict: Any = None) -> tuple[list, list, dict]:
    """Paired comparisons of one set's runs with predictions against its baseline run.

    ``verdict(source_a, source_b, overall)``, when given, adds the across-seed verdict (a sentence or ``""``).
    """
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
        g = pct_cols(c["groups"], ("accuracy_a", "accuracy_b"))
        g["low_n"] = c["groups"]["low_n"].map(lambda v: "⚠" if v else "")
        for col in ("diff", "ci_low", "ci_high"):
            g[col] = c["groups"][col].map(lambda v: "" if pd.isna(v) else f"{100 * v:+.1f} points")
        item.update(diff=f"{100 * o['diff']:+.1f} points [{100 * o['ci_low']:+.1f}, {100 * o['ci_high']:+.1f}]",
                    n=f"{o['n_samples']:,}", p=f"{o['p_value']:.3g}", method=o["method"],
                    mcnemar=f"{o['mcnemar_p_value']:.3g}", only_a=o["mcnemar_only_a"], only_b=o["mcnemar_only_b"],
                    groups=table_html(human(g), index=False),
                    seeds=verdict(base.source, other.source, o) if verdict is not None else "")
        shown.append((other.name, item))
        rows.append({"run_a": base.name, "run_b": other.name, **o, **c["outcomes"]})
    return shown, rows, paired


def recall_parts(members: list[ConfigResult]) -> tuple[list, str, list[pd.DataFrame]]:
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
        tables.append((r.name, table_html(recall_matrix(t, MIN_CELL))))
        gaps.append({"run": r.name, "largest recall gap": f"n/a (no emotion with {MIN_CELL}+ frames in two groups)"
                     if pd.isna(gap["gap"]) else f"{100 * gap['gap']:.1f} points", "emotion": gap["emotion"] or "", "best group": f"{gap['best_group'] or ''} "
                     f"{pct(gap['best_recall'], 0) if gap['best_group'] else ''}".strip(),
                     "worst group": f"{gap['worst_group'] or ''} "
                     f"{pct(gap['worst_recall'], 0) if gap['worst_group'] else ''}".strip()})
    return tables, (table_html(pd.DataFrame(gaps), index=False) if gaps else ""), frames
