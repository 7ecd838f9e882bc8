"""The one job panel of the app: every background job's state, progress bar, result or error, and log.

Used by Train or load, the Data page's preparation section, the Home page's
demo study and Misclassified faces. Thin: :func:`core.runs.jobs.list_jobs` ->
widgets. A finished job shows the accuracy (with its interval) of each run it
wrote and a link to it; a failed one its error. The log shown leaves out the
frameworks' start-up noise (the job's ``log.txt`` keeps every line).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import streamlit as st

from core.common._io import read_json
from core.runs.jobs import JobStatus, cancel_job, job_error, job_runs, list_jobs, readable_log
from core.common.progress import eta_text, progress_unit
from pages._words import gui_message

#: said under a failed job of these kinds
RESUME_HINTS: dict[str, str] = {
    "sweep": "Start it again to resume: finished configurations are kept.",
    "train": "Start it again: a finished configuration is kept.",
    "prepare-eila": "Start it again with the same output folder to resume: finished rows are kept.",
}
#: how a job's kind reads in the panel
KIND_WORDS: dict[str, str] = {"sweep": "Training sweep", "train": "Training", "evaluate": "Evaluation",
                              "clusters": "Latent-space clustering", "prepare-eila": "EiLA video preparation",
                              "estimate-pose": "Head-pose estimation", "demo-study": "Demo study"}
#: where a run is listed (Train or load's Runs tab, opened through its query parameter)
RUNS_LINK = "train_or_load?tl_tab=Runs"

JobView = Callable[[JobStatus], None]


def _title(job: JobStatus) -> str:
    started = time.strftime("%H:%M", time.localtime(job.created))
    return f"{KIND_WORDS.get(job.kind, job.kind)} `{job.job_id}` (started {started})"


def _pct(v) -> str:
    return f"{100 * float(v):.1f} %"


def run_result_text(run: Path) -> str:
    """``"**label**: accuracy 74.6 % [70.1, 78.9] on 812 images"`` from a run folder's metrics.json."""
    m = read_json(run / "metrics.json")
    cfg = read_json(run / "config.json") if (run / "config.json").is_file() else {}
    label = cfg.get("label") or cfg.get("name") or run.name
    if m.get("accuracy") is None:
        return f"**{label}**: no accuracy (no labelled images)"
    interval = (f" [{100 * m['accuracy_ci_low']:.1f}, {100 * m['accuracy_ci_high']:.1f}]"
                if m.get("accuracy_ci_low") is not None and m.get("accuracy_ci_high") is not None else "")
    return f"**{label}**: accuracy {_pct(m['accuracy'])}{interval} on {int(m.get('n_samples', 0)):,} images"


def _progress(job: JobStatus, key: str, live: JobView | None) -> None:
    p = job.progress or {}
    done, total = int(p.get("done", 0)), int(p.get("total", 0))
    elapsed = float(p.get("elapsed_s") or (time.time() - job.created))
    status = f"{progress_unit(job.kind, p.get('message', ''))} {eta_text(done, total, elapsed)}" if total else \
        "queued: starting (loading libraries)"
    st.progress(min(done / total, 1.0) if total else 0.0,
                text=f"{_title(job)}: {status}" + (f" - {p['message']}" if p.get("message") else ""))
    if st.button("Cancel", key=f"{key}_cancel_{job.job_id}", icon=":material/stop:"):
        cancel_job(job.path)
        st.rerun()
    if live is not None:
        live(job)


def _finished(job: JobStatus, artifacts: Path, result: JobView | None) -> None:
    runs = job_runs(job, artifacts)
    p = job.progress or {}
    done, total = int(p.get("done", 0)), int(p.get("total", 0))
    count = f", {done}/{total} {progress_unit(job.kind, p.get('message', ''))}" if total else ""
    st.success(f"{_title(job)}: finished{count}" + (f", {len(runs)} runs" if len(runs) > 1 else ""),
               icon=":material/check_circle:")
    for run in runs[:12]:
        st.markdown(f"{run_result_text(run)} · [see it in Runs]({RUNS_LINK})")
    if len(runs) > 12:
        st.caption(f"... and {len(runs) - 12} more runs: see the Runs tab.")
    if result is not None:
        result(job)


def _one(job: JobStatus, artifacts: Path, key: str, result: JobView | None, live: JobView | None,
         widgets: dict[str, str] | None = None) -> None:
    if job.state == "running":
        _progress(job, key, live)
    elif job.state == "finished":
        _finished(job, artifacts, result)
    else:
        why = job_error(job)
        why = gui_message(why, widgets) if why else None
        what = "was interrupted (its process ended without a result)" if job.state == "interrupted" else \
            "failed" + (f" (exit code {job.returncode})" if job.returncode is not None else "")
        st.error(f"{_title(job)} {what}" + (f": {why}" if why else ".") + " "
                 + RESUME_HINTS.get(job.kind, ""), icon=":material/error:")
    log = readable_log(job.log_tail)
    if job.state != "running" or log:
        with st.expander("log (framework start-up lines left out; the full log is in the job folder)",
                         expanded=job.state not in ("running", "finished")):
            st.code(log[-3000:] or "(empty)", language="text")
            st.caption(f"Full log: `{job.path / 'log.txt'}`")


def job_panel(artifacts: Path, kinds: Sequence[str], key: str, limit: int = 4, result: JobView | None = None,
              live: JobView | None = None, empty: str | None = None, refresh: bool = False,
              widgets: dict[str, str] | None = None) -> list[JobStatus]:
    """The newest jobs of some kinds (queued, running, finished, failed), refreshed every 2 seconds while one runs.

    When a running job ends, the whole page reruns, so what the job changed
    (runs, plans, buttons) shows without a reload.

    Parameters
    ----------
    artifacts : Path
        The app's artifacts folder (its ``jobs/``).
    kinds : sequence of str
        Job kinds shown (``"sweep"``, ``"evaluate"``...).
    key : str
        Prefix of the panel's widget keys (``<key>_cancel_<job id>``, ``<key>_refresh``).
    limit : int
        Most jobs shown, newest first.
    result : callable, optional
        Draws what a finished job produced (called with its :class:`~core.runs.jobs.JobStatus`).
    live : callable, optional
        Draws more for a running job (e.g. live training curves).
    empty : str, optional
        Caption shown when there is no job.
    refresh : bool
        Show a Refresh button above the jobs.
    widgets : dict, optional
        The page's widgets by the command-line flag they set: a failed job's
        message names them instead of the flags (:func:`pages._words.gui_message`).

    Returns
    -------
    list of JobStatus
        The jobs shown (empty when there are none).
    """
    def newest() -> list[JobStatus]:
        return [j for j in list_jobs(artifacts) if j.kind in kinds][:limit]

    jobs = newest()
    if not jobs:
        if empty:
            st.caption(empty)
        return jobs
    if refresh:
        st.button("Refresh", key=f"{key}_refresh", icon=":material/refresh:")
    running = any(j.state == "running" for j in jobs)

    def body() -> None:
        now = newest()
        if running and not any(j.state == "running" for j in now):
            st.rerun()  # the whole page: what the finished job changed (plans, buttons, results) shows
        for job in now:
            _one(job, Path(artifacts), key, result, live, widgets)

    st.fragment(body, run_every=2 if running else None)()
    return jobs
