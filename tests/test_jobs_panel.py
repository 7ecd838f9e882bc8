"""pages/_jobs.job_panel: running, finished, failed and old-layout jobs in one panel (AppTest)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.paths import jobs_dir
from core.runs.spec import RunSpec
from tests._jobs import job_folder

REPO = Path(__file__).resolve().parent.parent


def _panel(artifacts: str) -> None:
    import streamlit as st

    from pages._jobs import job_panel

    shown = job_panel(artifacts, ("prepare-eila", "evaluate"), "t", result=lambda job: st.caption(f"result of "
                                                                                                  f"{job.job_id}"),
                      empty="No job yet.")
    st.caption(f"shown: {len(shown)}")


def test_panel_shows_each_state_and_reads_old_job_folders(artifacts, monkeypatch):
    monkeypatch.chdir(REPO)
    spec = RunSpec("prepare-eila", {"annotations": "a.csv", "demographics": "d.csv", "videos": "v", "out": "o"})
    running = job_folder(artifacts, spec, pid=os.getpid(), created=4.0, job_id="4-prepare-eila-run",
                         progress={"done": 30, "total": 90, "elapsed_s": 6.0, "message": "video abc"})
    failed = job_folder(artifacts, spec, rc=2, created=3.0, job_id="3-prepare-eila-bad")
    (failed / "log.txt").write_text("error: annotations.csv: missing column 'tag'\n")
    job_folder(artifacts, RunSpec("evaluate", {"model": "fer", "data": "x"}), rc=0, created=2.0,
               job_id="2-evaluate-ok", progress={"done": 5, "total": 5})
    old = jobs_dir(artifacts) / "1-evaluate-old"  # a job from before specs: argv only
    old.mkdir()
    (old / "job.json").write_text(json.dumps({"job_id": old.name, "kind": "evaluate", "created": 1.0,
                                              "argv": ["evaluate", "--model", "fer", "--data", "x"]}))
    (old / "result.json").write_text(json.dumps({"returncode": 0}))
    job_folder(artifacts, RunSpec("demo-study", {}), rc=0, created=5.0, job_id="5-demo-study-other")  # not shown

    at = AppTest.from_function(_panel, args=(str(artifacts),), default_timeout=60).run()
    assert not at.exception
    texts = [p.proto.text for p in at.get("progress")]
    assert texts == ["prepare-eila `4-prepare-eila-run`: rows 30/90, ETA 0m 12s - video abc"], texts
    assert at.button(key=f"t_cancel_{running.name}") is not None
    errors = [e.value for e in at.error]
    assert errors == ["prepare-eila `3-prepare-eila-bad` stopped (failed, exit code 2). Start it again with the "
                      "same output folder to resume: finished rows are kept."]
    assert any("missing column 'tag'" in c.value for c in at.code)
    successes = [s.value for s in at.success]
    assert successes == ["evaluate `2-evaluate-ok`: finished, 5/5 images", "evaluate `1-evaluate-old`: finished"]
    captions = [c.value for c in at.caption]
    assert "result of 2-evaluate-ok" in captions and "result of 1-evaluate-old" in captions
    assert "shown: 4" in captions


def test_panel_without_jobs_says_so(artifacts, monkeypatch):
    monkeypatch.chdir(REPO)
    at = AppTest.from_function(_panel, args=(str(artifacts),), default_timeout=60).run()
    assert not at.exception
    assert [c.value for c in at.caption] == ["No job yet.", "shown: 0"]
