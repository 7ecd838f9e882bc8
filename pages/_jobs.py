"""The one job panel of the app: each background job's state, progress bar, result or error, and log tail.

Used by Train or load, the Data page's preparation section, the Home page's
demo study and Misclassified faces. Thin: :func:`core.jobs.list_jobs` ->
widgets; what a finished job produced is drawn by the page's own ``result``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import streamlit as st

from core.jobs import JobStatus, cancel_job, list_jobs
from core.progress import eta_text

#: what a job's progress counts, by kind
UNITS: dict[str, str] = {"sweep": "epochs", "train": "epochs", "evaluate": "images", "clusters": "images",
                         "prepare-eila": "rows", "estimate-pose": "images", "demo-study": "steps"}
#: said under a failed job of these kinds
RESUME_HINTS: dict[str, str] = {
    "sweep": "Start it again to resume: finished configurations are kept.",
    "train": "Start it again: a finished configuration is kept.",
    "prepare-eila": "Start it again with the same output folder to resume: finished rows are kept.",
}

JobView = Callable[[JobStatus], None]


def _title(job: JobStatus) -> str:
    return f"{job.kind} `{job.job_id}`"


def _progress(job: JobStatus, key: str, live: JobView | None) -> None:
    p = job.progress or {}
    done, total = int(p.get("done", 0)), int(p.get("total", 0))
    elapsed = float(p.get("elapsed_s") or (time.time() - job.created))
    status = f"{UNITS.get(job.kind, 'steps')} {eta_text(done, total, elapsed)}" if total else \
        "starting (loading libraries)"
    st.progress(min(done / total, 1.0) if total else 0.0,
                text=f"{_title(job)}: {status}" + (f" - {p['message']}" if p.get("message") else ""))
    if st.button("Cancel", key=f"{key}_cancel_{job.job_id}", icon=":material/stop:"):
        cancel_job(job.path)
        st.rerun()
    if live is not None:
        live(job)


def _one(job: JobStatus, key: str, result: JobView | None, live: JobView | None) -> None:
    if job.state == "running":
        _progress(job, key, live)
    elif job.state == "finished":
        p = job.progress or {}
        done, total = int(p.get("done", 0)), int(p.get("total", 0))
        st.success(f"{_title(job)}: finished" + (f", {done}/{total} {UNITS.get(job.kind, 'steps')}" if total else ""))
        if result is not None:
            result(job)
    else:
        code = f", exit code {job.returncode}" if job.returncode is not None else ""
        st.error(f"{_title(job)} stopped ({job.state}{code}). {RESUME_HINTS.get(job.kind, '')}".rstrip())
    if job.state != "running" or job.log_tail:
        with st.expander("log", expanded=job.state != "running" and job.state != "finished"):
            st.code(job.log_tail[-3000:] or "(empty)", language="text")


def job_panel(artifacts: Path, kinds: Sequence[str], key: str, limit: int = 4, result: JobView | None = None,
              live: JobView | None = None, empty: str | None = None, refresh: bool = False) -> list[JobStatus]:
    """The newest jobs of some kinds, refreshed every 2 seconds while one runs.

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
        Draws what a finished job produced (called with its :class:`~core.jobs.JobStatus`).
    live : callable, optional
        Draws more for a running job (e.g. live training curves).
    empty : str, optional
        Caption shown when there is no job.
    refresh : bool
        Show a Refresh button above the jobs.

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
            _one(job, key, result, live)

    st.fragment(body, run_every=2 if running else None)()
    return jobs
