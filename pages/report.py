"""Report: a self-contained HTML file and CSV tables from chosen runs and the published results."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import streamlit as st

from core.evaluation import reference as ref
from core.evaluation.leakage import runs_leakage_notes
from core.evaluation.report import ReportBundle, build_report
from core.evaluation.runs import list_runs
from pages._ui import artifacts_dir, run_through_app

run_through_app()


@st.cache_data(show_spinner="Building the report (bootstrap intervals, figures)...")
def _build(paths: tuple[str, ...], stamps: tuple[float, ...], include_reference: bool, attributes: tuple[str, ...],
           n_boot: int, confidence: float, min_persons: int, baseline: int, title: str,
           unit: str = "person") -> ReportBundle:
    return build_report([Path(p) for p in paths], include_reference=include_reference,
                        attributes=list(attributes) or None, n_boot=n_boot, confidence=confidence,
                        min_persons=min_persons, baseline=baseline, title=title, unit=unit)


def _zip(tables: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, df in tables.items():
            zf.writestr(f"{name}.csv", df.to_csv(index=False))
    return buf.getvalue()


st.title("Report")
st.caption("One self-contained HTML file (figures inlined, opens offline) that starts with key findings in words "
           "and the provenance of every run, then per evaluation set the results tables with intervals and n, "
           "per-group figures, recall by emotion and group, paired comparisons; per-class metrics and the dataset "
           "audit; plus every table as CSV. The same from a terminal: `python -m core report --runs <run folders> --out "
           "report.html --csv-dir tables/`.")

artifacts = artifacts_dir()
runs = list_runs(artifacts)
labels = {str(r.path): f"{r.display_name} · {r.kind}" for r in runs}
c1, c2 = st.columns([3, 2])
chosen = c1.multiselect("Runs and evaluations", list(labels), default=list(labels)[:6],
                        format_func=lambda p: labels[p], key="rp_runs",
                        placeholder="no runs yet" if not runs else "choose runs")
include_reference = c2.toggle("Include the published results (race)", value=True, key="rp_ref",
                              help=ref.CITATION)
title = c2.text_input("Title", "FER Bias Lab report", key="rp_title")
attr_options = ["race", "gender", "skin_tone", "skin_tone_tertile", "race x gender"]
for p in chosen:
    info = next(r for r in runs if str(r.path) == p)
    attr_options += [a for a in ((info.metrics or {}).get("groups") or {}) if a not in attr_options]
attributes = st.multiselect("Group attributes", attr_options, default=["race"], key="rp_attrs",
                            help="Attributes a run lacks are reported as unavailable for that run.")
with st.expander("Interval and comparison settings"):
    s1, s2, s3, s4 = st.columns(4)
    n_boot = s1.select_slider("Bootstrap replicates", [200, 500, 1000, 2000, 5000], value=1000, key="rp_nboot")
    confidence = s2.select_slider("Confidence", [0.8, 0.9, 0.95, 0.99], value=0.95, key="rp_conf",
                                   format_func="{:.0%}".format)
    min_persons = s3.number_input("Flag groups with fewer persons than", 2, 50, 5, key="rp_minp")
    baseline = s4.selectbox("Compare every run with", range(len(chosen)) if chosen else [0],
                            format_func=lambda i: labels[chosen[i]] if chosen else "(no runs)", key="rp_base")
    unit = st.selectbox("Unit of resampling", ["person", "clip", "video"], key="rp_unit",
                        help="Intervals resample whole persons (default), clips or videos. Runs evaluated on persons "
                             "they were trained on also get '(unseen persons only)' rows.")

if not chosen and not include_reference:
    st.warning("Choose runs or include the published results.")
    st.stop()
if not runs:
    st.info("No runs yet: the report will contain the published results only. Evaluate a model on the "
            "Misclassified faces page or with `python -m core evaluate`.")

if st.button("Build report", type="primary", key="rp_build") or st.session_state.get("rp_built"):
    st.session_state["rp_built"] = True
    stamps = tuple(max((Path(p) / n).stat().st_mtime for n in ("config.json", "label.json", "leakage.json")
                       if (Path(p) / n).is_file()) for p in chosen)
    try:
        bundle = _build(tuple(chosen), stamps, include_reference, tuple(attributes), n_boot, confidence,
                        int(min_persons), int(baseline), title, unit)
    except (ValueError, OSError) as exc:
        st.error(str(exc))
        st.stop()
    for line in runs_leakage_notes([(labels[p], p) for p in chosen])[0][:8]:
        st.warning(f"Identity leakage · {line}", icon=":material/visibility:")
    d1, d2 = st.columns(2)
    d1.download_button("Download HTML report", bundle.html.encode("utf-8"), file_name="fer_bias_report.html",
                       mime="text/html", type="primary", key="rp_dl_html")
    d2.download_button("Download all tables (ZIP of CSVs)", _zip(bundle.tables), file_name="fer_bias_tables.zip",
                       mime="application/zip", key="rp_dl_zip")
    st.caption(f"HTML size: {len(bundle.html) / 1e6:.1f} MB (plotly.js is inlined so the file opens offline).")
    names = [n for n, df in bundle.tables.items() if not df.empty]
    for tab, name in zip(st.tabs(names), names):
        with tab:
            st.dataframe(bundle.tables[name], key=f"rp_tab_{name}")
            st.download_button(f"Download {name}.csv", bundle.tables[name].to_csv(index=False).encode("utf-8"),
                               file_name=f"{name}.csv", mime="text/csv", key=f"rp_dl_{name}")
