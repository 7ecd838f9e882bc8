"""Test helper: a job folder written as :func:`core.runs.jobs.start_job` writes it, with no process behind it."""
from __future__ import annotations

import json
import time
from pathlib import Path

from core.common.paths import jobs_dir
from core.runs.spec import RunSpec


def job_folder(artifacts: Path, spec: RunSpec, pid: int | None = None, progress: dict | None = None,
               rc: int | None = None, job_id: str | None = None, created: float | None = None) -> Path:
    """A job of ``spec``; ``pid`` a live process makes it running, ``rc`` finished (0) or failed."""
    job = jobs_dir(artifacts) / (job_id or f"20260101-000000-{spec.kind}-abc123")
    job.mkdir(parents=True)
    spec.save(job / "spec.json")
    argv = ["run", str(job / "spec.json"), "--status-file", str(job / "progress.json")]
    (job / "job.json").write_text(json.dumps({"job_id": job.name, "kind": spec.kind, "argv": argv,
                                              "created": time.time() if created is None else created}))
    if pid is not None:
        (job / "pid.json").write_text(json.dumps({"pid": pid}))
    if progress is not None:
        (job / "progress.json").write_text(json.dumps(progress))
    if rc is not None:
        (job / "result.json").write_text(json.dumps({"returncode": rc}))
    return job
