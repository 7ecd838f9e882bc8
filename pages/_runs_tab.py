"""The Runs tab of Train or load (every training and evaluation, provenance, rename, notes, trash) and curves."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.common._errors import FerBiasError
from core.models._precision import recorded_precision
from core.common.figure_style import paper_layout
from core.common.palette import MEASURE_COLOUR, MEASURE_DASH
from pages._figures import show_figure


def curves(history: pd.DataFrame, key: str) -> None:
    """Loss and accuracy per epoch (train and validation), phase 2 marked."""
    if history.empty:
        st.caption("No epoch finished yet.")
        return
    c1, c2 = st.columns(2)
    for col, metric, title in ((c1, "loss", "Loss"), (c2, "accuracy", "Accuracy")):
        fig = go.Figure()
        for name, split in ((metric, "train"), (f"val_{metric}", "validation")):
            if name in history.columns:
                fig.add_trace(go.Scatter(x=history["epoch"], y=history[name], name=f"{split}", mode="lines+markers",
                                         line={"dash": MEASURE_DASH[split], "color": MEASURE_COLOUR}))
        if "phase" in history.columns and (history["phase"] == 2).any():
            fig.add_vline(x=float(history.loc[history["phase"] == 2, "epoch"].min()) - 0.5, line_dash="dot",
                          annotation_text="phase 2")
        fig.update_layout(xaxis_title="epoch", yaxis_title=metric, legend_title_text="split", height=320)
        show_figure(paper_layout(fig, title, top=70), f"{key}_{metric}", f"training_{metric}", container=col)


@st.cache_data(show_spinner=False, max_entries=64)
def _provenance(path: str, stamp: float):
    from core.evaluation.provenance import provenance

    return provenance(Path(path))


def _stamp(run) -> float:
    files = [run.path / n for n in ("config.json", "metrics.json", "label.json", "leakage.json")]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def runs_section(artifacts: Path) -> None:
    """Every training and evaluation with its provenance; rename, notes, trash and restore."""
    from core.evaluation import identity
    from core.evaluation.runs import list_runs, read_run
    from core.runs.layout import read_history
    from pages._ui import provenance_card

    runs = list_runs(artifacts)
    if not runs:
        st.caption("No trained run or evaluation yet.")
    else:
        provs = {str(r.path): _provenance(str(r.path), _stamp(r)) for r in runs}
        rows = []
        for r in runs:
            m, pv = r.metrics or {}, provs[str(r.path)]
            rows.append({"run": r.display_name, "kind": r.kind, "weights": pv.weights,
                         "precision": recorded_precision(r.config),
                         "trained on": pv.training_data, "evaluated on": f"{pv.evaluation_dataset} "
                         f"({pv.evaluation_split})", "accuracy": m.get("accuracy"),
                         "weighted F1": m.get("weighted_f1"), "synthetic": pv.synthetic,
                         "warnings": len(pv.warnings), "notes": r.notes})
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="tl_runs", width="stretch",
                     column_config={"accuracy": st.column_config.NumberColumn(format="percent"),
                                    "weighted F1": st.column_config.NumberColumn(format="%.3f")})
        if any(pv.random_weights for pv in provs.values()):
            st.warning("Some runs used a randomly initialised backbone: their results are not those of the seed's "
                       "pretrained model (see the weights column).", icon=":material/warning:")
        by_path = {str(r.path): r for r in runs}
        pick = st.selectbox("run or evaluation", list(by_path), key="tl_run_pick",
                            format_func=lambda p: f"{by_path[p].display_name} · {by_path[p].kind}")
        run = by_path[pick]
        provenance_card(provs[pick], expanded=True, key="tl_run_prov")
        if run.kind == "training":
            curves(read_history(run.path), "tl_run")
        with st.form("tl_run_edit", border=True):
            st.caption("Rename or annotate: stored in the run's label.json; the run's own files never change.")
            label = st.text_input("display label (empty: the configuration name)", value=run.label
                                  if run.label != run.configuration else "", key="tl_run_label")
            notes = st.text_area("notes", value=run.notes, key="tl_run_notes")
            if st.form_submit_button("Save label and notes", icon=":material/save:"):
                identity.rename_run(run.path, label)
                identity.set_notes(run.path, notes)
                st.rerun()
        if st.button("Move to trash", key="tl_run_delete", icon=":material/delete:",
                     help="Moves the folder to artifacts/trash/runs; restore it below."):
            identity.delete_run(run.path, artifacts)
            st.rerun()
        st.caption(f"Folder: `runs/{run.run_id}`. Compare runs on the Trade-offs page.")
    trashed = identity.trashed_runs(artifacts)
    if trashed:
        with st.expander(f"Trash ({len(trashed)} run(s), restorable)"):
            for i, t in enumerate(trashed):
                c1, c2 = st.columns([4, 1])
                try:
                    name = read_run(t).display_name
                except FerBiasError:
                    name = t.name
                c1.write(f"{name} (deleted {t.name.rsplit(identity.TRASH_SUFFIX, 1)[-1]})")
                if c2.button("Restore", key=f"tl_restore_{i}", icon=":material/restore_from_trash:"):
                    try:
                        identity.restore_run(t, artifacts)
                    except FerBiasError as exc:
                        st.error(str(exc))
                    else:
                        st.rerun()
