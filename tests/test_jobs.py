import json
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.runs.jobs import job_status, list_jobs, start_job
from core.common.paths import jobs_dir, runs_dir
from core.common.progress import StatusFileProgress, eta_text
from core.data.registry import list_datasets
from core.runs.spec import RunSpec


def _tiny_folder(root: Path) -> Path:
    for label in ("Happy", "Sad"):
        d = root / "train" / label
        d.mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(d / f"{i}.png"), np.full((8, 8), 40 * i, np.uint8))
    return root


def test_cli_register_and_bad_input(tmp_path, artifacts, capsys):
    data = _tiny_folder(tmp_path / "tiny")
    assert main(["register", "--name", "Tiny", "--format", "folder", "--path", str(data),
                 "--artifacts", str(artifacts)]) == 0
    assert [d.name for d in list_datasets(artifacts)] == ["Tiny"]
    assert main(["register", "--name", "X", "--format", "folder", "--path", str(tmp_path / "missing"),
                 "--artifacts", str(artifacts)]) == 2
    assert "missing" in capsys.readouterr().err


def _wait(job: Path, timeout: float = 240):
    deadline = time.time() + timeout
    while job_status(job).state == "running" and time.time() < deadline:
        time.sleep(0.5)
    return job_status(job)


@pytest.mark.slow
def test_job_from_a_spec_runs_to_completion_in_its_own_artifacts_folder(tmp_path, artifacts, monkeypatch):
    """``python -m core run <job>/spec.json`` in a child process; it gets the job's artifacts folder even when
    the caller's environment names another."""
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(tmp_path / "elsewhere"))
    data = _tiny_folder(tmp_path / "tiny")
    spec = RunSpec("evaluate", {"model": "fer", "data": str(data), "split": "all", "n_boot": 20, "label": "tiny"})
    job = start_job(spec, artifacts)
    st = _wait(job)
    assert st.state == "finished", st.log_tail
    assert st.spec == spec and st.kind == "evaluate"
    assert st.argv == ["run", str(job / "spec.json"), "--status-file", str(job / "progress.json")]
    assert RunSpec.load(job / "spec.json") == spec
    runs = [d for d in runs_dir(artifacts).iterdir() if d.name.startswith("eval-")]
    assert len(runs) == 1 and (runs[0] / "predictions.parquet").is_file(), st.log_tail
    assert len(pd.read_parquet(runs[0] / "predictions.parquet")) == 4
    assert st.progress is not None and st.progress["done"] == st.progress["total"] == 4
    assert [j.job_id for j in list_jobs(artifacts, kind="evaluate")] == [st.job_id]
    assert not (tmp_path / "elsewhere").exists()


def test_failed_job_is_reported(tmp_path, artifacts):
    spec = RunSpec("evaluate", {"model": "fer", "data": str(tmp_path / "nowhere"), "artifacts": str(artifacts)})
    st = _wait(start_job(spec, artifacts))
    assert st.state == "failed" and st.returncode == 2 and "nowhere" in st.log_tail
    assert "error: " in st.log_tail and "Traceback" not in st.log_tail


def test_start_job_needs_a_spec(artifacts):
    with pytest.raises(ValueError, match="start_job needs a RunSpec"):
        start_job(["register", "--name", "X"], artifacts)  # type: ignore[arg-type]
    assert not list_jobs(artifacts)


def test_run_command_reports_bad_spec_files_in_one_line(tmp_path, capsys):
    bad = tmp_path / "spec.json"
    bad.write_text('{"kind": "evaluate", "config": {"model": "fer"}}')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: evaluate needs option(s) ['data']") and err.count("\n") == 1
    bad.write_text("{")
    assert main(["run", str(bad)]) == 2
    assert f"error: {bad}: not valid JSON" in capsys.readouterr().err


def test_job_folder_of_the_old_layout_is_still_read(tmp_path, artifacts):
    """Jobs started before specs existed: job.json holds the command's own arguments, no spec.json."""
    job = jobs_dir(artifacts) / "20260101-000000-register-abc123"
    job.mkdir(parents=True)
    argv = ["register", "--name", "Tiny", "--format", "folder", "--path", str(tmp_path / "tiny"),
            "--status-file", str(job / "progress.json")]
    (job / "job.json").write_text(json.dumps({"job_id": job.name, "kind": "register", "argv": argv,
                                              "created": 1767225600.0}))
    (job / "result.json").write_text(json.dumps({"returncode": 0, "ended": 1767225601.0}))
    (job / "log.txt").write_text("registered 'Tiny'\n")
    st = job_status(job)
    assert (st.state, st.kind, st.argv, st.spec, st.returncode) == ("finished", "register", argv, None, 0)
    assert "registered 'Tiny'" in st.log_tail
    assert [j.job_id for j in list_jobs(artifacts, kind="register")] == [job.name]


def test_status_file_progress(tmp_path):
    clock = iter([0.0, 10.0, 20.0])
    rep = StatusFileProgress(tmp_path / "p.json", min_interval_s=0, clock=lambda: next(clock))
    rep(5, 10, "half")
    import json

    data = json.loads((tmp_path / "p.json").read_text())
    assert data["done"] == 5 and data["total"] == 10 and data["eta_s"] == 10.0
    assert eta_text(5, 10, 60.0) == "5/10, ETA 1m 00s"
