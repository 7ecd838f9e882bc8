import time
from pathlib import Path

import cv2
import numpy as np

from core.cli import main
from core.jobs import job_status, list_jobs, start_job
from core.progress import StatusFileProgress, eta_text
from core.registry import list_datasets


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


def test_background_job_runs_and_reports(tmp_path, artifacts):
    data = _tiny_folder(tmp_path / "tiny")
    job = start_job("register", ["register", "--name", "Tiny", "--format", "folder", "--path", str(data),
                                 "--artifacts", str(artifacts)], artifacts)
    deadline = time.time() + 120
    while job_status(job).state == "running" and time.time() < deadline:
        time.sleep(0.5)
    st = job_status(job)
    assert st.state == "finished", st.log_tail
    assert "registered 'Tiny'" in st.log_tail
    assert [j.job_id for j in list_jobs(artifacts, kind="register")] == [st.job_id]


def test_failed_job_is_reported(tmp_path, artifacts):
    job = start_job("register", ["register", "--name", "X", "--format", "folder", "--path",
                                 str(tmp_path / "nowhere"), "--artifacts", str(artifacts)], artifacts)
    deadline = time.time() + 120
    while job_status(job).state == "running" and time.time() < deadline:
        time.sleep(0.5)
    st = job_status(job)
    assert st.state == "failed" and st.returncode == 2 and "nowhere" in st.log_tail


def test_status_file_progress(tmp_path):
    clock = iter([0.0, 10.0, 20.0])
    rep = StatusFileProgress(tmp_path / "p.json", min_interval_s=0, clock=lambda: next(clock))
    rep(5, 10, "half")
    import json

    data = json.loads((tmp_path / "p.json").read_text())
    assert data["done"] == 5 and data["total"] == 10 and data["eta_s"] == 10.0
    assert eta_text(5, 10, 60.0) == "5/10, ETA 1m 00s"


def test_job_uses_its_own_artifacts_folder(tmp_path, artifacts, monkeypatch):
    """The child process gets the job's artifacts folder even when the caller's environment names another."""
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(tmp_path / "elsewhere"))
    data = _tiny_folder(tmp_path / "tiny")
    job = start_job("register", ["register", "--name", "Tiny", "--format", "folder", "--path", str(data)], artifacts)
    deadline = time.time() + 120
    while job_status(job).state == "running" and time.time() < deadline:
        time.sleep(0.5)
    assert job_status(job).state == "finished", job_status(job).log_tail
    assert [d.name for d in list_datasets(artifacts)] == ["Tiny"]
    assert not (tmp_path / "elsewhere").exists()
