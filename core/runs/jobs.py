"""Background jobs: long CLI commands run in their own process, watched from the app.

A job is a folder ``<artifacts>/jobs/<job_id>/`` holding ``spec.json`` (what
it runs: a :class:`~core.runs.spec.RunSpec`), ``job.json`` (its id, kind and the
``python -m core run`` command line), ``progress.json`` (written by the command through
:class:`core.common.progress.StatusFileProgress`), ``log.txt`` (stdout and stderr) and,
once the process ends, ``result.json`` with its exit code. The process is
detached from the Streamlit session, so the job survives a page reload and
the page only reads files. Folders of jobs started before specs existed have
no ``spec.json`` (their ``job.json`` holds the command's own arguments); they
are still read, with ``spec`` None.

Run as ``python -m core.runs.jobs <job_dir>`` to execute the job described there.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..common._io import atomic_write_json, pid_alive, read_json
from ..common.paths import REPO_ROOT, jobs_dir
from .spec import RunSpec


@dataclass(frozen=True)
class JobStatus:
    """Snapshot of a job read from its folder.

    ``argv`` is the ``python -m core`` command line the job ran; ``spec`` what
    it runs (None for job folders made before specs existed).
    """

    job_id: str
    kind: str
    state: str  # "running", "finished", "failed", "interrupted"
    argv: list[str]
    progress: dict | None
    returncode: int | None
    created: float
    log_tail: str
    path: Path
    spec: RunSpec | None = None


def start_job(spec: RunSpec, artifacts: Path, env: dict[str, str] | None = None) -> Path:
    """Save ``spec`` in a new job folder and run ``python -m core run <job>/spec.json`` in a detached process.

    Parameters
    ----------
    spec : RunSpec
        What to run; its kind is the job's kind (shown in the app, used to list jobs).
    artifacts : Path
        Artifacts folder; the job folder is created under ``jobs/`` and the
        process gets it as ``$FERBIAS_ARTIFACTS``.
    env : dict, optional
        More environment variables for the process.

    Returns
    -------
    Path
        The job folder.

    Raises
    ------
    ValueError
        When ``spec`` is not a :class:`RunSpec`.
    """
    if not isinstance(spec, RunSpec):
        raise ValueError(f"start_job needs a RunSpec (core.runs.spec), received {type(spec).__name__}")
    artifacts = Path(artifacts).resolve()  # the child runs in the repo root, so relative paths would move
    job_id = time.strftime("%Y%m%d-%H%M%S") + "-" + spec.kind + "-" + uuid.uuid4().hex[:6]
    job = jobs_dir(artifacts) / job_id
    job.mkdir(parents=True, exist_ok=False)
    spec.save(job / "spec.json")
    argv = ["run", str(job / "spec.json"), "--status-file", str(job / "progress.json")]
    atomic_write_json({"job_id": job_id, "kind": spec.kind, "argv": argv, "created": time.time()}, job / "job.json")
    child_env = dict(os.environ)
    child_env["FERBIAS_ARTIFACTS"] = str(artifacts)  # the job's own folder, even if the caller's env names another
    child_env.update(env or {})
    with open(job / "log.txt", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "core.runs.jobs", str(job)], cwd=str(REPO_ROOT),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=child_env, start_new_session=True)
    atomic_write_json({"pid": proc.pid}, job / "pid.json")
    return job


def job_status(job: Path, tail_chars: int = 4000) -> JobStatus:
    """Read a job folder (one without ``spec.json``, from before specs, gives ``spec`` None)."""
    job = Path(job)
    meta = read_json(job / "job.json")
    spec = RunSpec.load(job / "spec.json") if (job / "spec.json").is_file() else None
    progress = read_json(job / "progress.json") if (job / "progress.json").is_file() else None
    rc = read_json(job / "result.json")["returncode"] if (job / "result.json").is_file() else None
    if rc is None:
        pid = read_json(job / "pid.json")["pid"] if (job / "pid.json").is_file() else None
        state = "running" if pid is not None and pid_alive(pid) else "interrupted"
    else:
        state = "finished" if rc == 0 else "failed"
    log = job / "log.txt"
    tail = log.read_text(errors="replace")[-tail_chars:] if log.is_file() else ""
    return JobStatus(job_id=meta["job_id"], kind=meta["kind"], state=state, argv=meta["argv"], progress=progress,
                     returncode=rc, created=meta["created"], log_tail=tail, path=job, spec=spec)


def list_jobs(artifacts: Path, kind: str | None = None) -> list[JobStatus]:
    """All jobs, newest first, optionally of one kind."""
    root = jobs_dir(artifacts)
    if not root.is_dir():
        return []
    out = [job_status(d) for d in root.iterdir() if (d / "job.json").is_file()]
    out = [j for j in out if kind is None or j.kind == kind]
    return sorted(out, key=lambda j: j.created, reverse=True)


#: log lines of the frameworks' start-up (CUDA probing, TensorFlow/oneDNN/XLA notices, absl), not of the job
FRAMEWORK_NOISE = re.compile(
    r"cuda|cudnn|cublas|cufft|tensorrt|TF-TRT|oneDNN|tensorflow/|TensorFlow binary is optimized|rebuild TensorFlow"
    r"|compiler flags|absl::|^[EWI]0000 |computation_placer|Unable to register|GPU will not be used"
    r"|onednn|XLA service|StreamExecutor|^\s*$", re.IGNORECASE)
_PATH = re.compile(r"(/[^\s'\"(),;]+)")


def readable_log(text: str) -> str:
    """``text`` without the frameworks' start-up noise (:data:`FRAMEWORK_NOISE`); the log file keeps every line."""
    return "\n".join(line for line in text.splitlines() if not FRAMEWORK_NOISE.search(line))


def job_error(job: JobStatus) -> str | None:
    """The job's own one-line message (``error: ...`` as every command prints it), or None."""
    lines = [ln for ln in job.log_tail.splitlines() if ln.startswith("error: ")]
    return lines[-1][len("error: "):] if lines else None


def job_runs(job: JobStatus, artifacts: Path) -> list[Path]:
    """Run folders a finished job wrote or kept: those its log names that exist under ``<artifacts>/runs``.

    Every command that makes runs prints their folders (``wrote <run>``, one line per configuration of a
    sweep), so this reads them back from ``log.txt``, in the order printed, each once.
    """
    from ..common.paths import runs_dir

    root = runs_dir(artifacts).resolve()
    log = job.path / "log.txt"
    text = readable_log(log.read_text(errors="replace")) if log.is_file() else ""
    out: list[Path] = []
    for token in _PATH.findall(text):
        path = Path(token.rstrip(".:"))
        if path.name in ("predictions.parquet", "metrics.json"):
            path = path.parent
        if path.parent.resolve() == root and (path / "metrics.json").is_file() and path not in out:
            out.append(path)
    return out


def cancel_job(job: Path) -> bool:
    """Send SIGTERM to a running job's process group; returns True if a signal was sent."""
    import signal

    pid_file = Path(job) / "pid.json"
    if not pid_file.is_file():
        return False
    pid = read_json(pid_file)["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _run(job: Path) -> int:
    from ..cli import main

    argv = read_json(job / "job.json")["argv"]
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    atomic_write_json({"returncode": rc, "ended": time.time()}, job / "result.json")
    return rc


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1])))
