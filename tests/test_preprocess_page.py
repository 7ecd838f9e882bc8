"""The Data page's "Prepare EiLA videos" section: start a real background job, watch it, read the audit."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs.jobs import list_jobs
from tests.preprocess_video_fixture import eila_video  # noqa: F401 - module-scoped fixture

SCRIPT = """
import os
from pathlib import Path
from pages._data_prepare import render_prepare_section
render_prepare_section(Path(os.environ["FERBIAS_ARTIFACTS"]))
"""


def _wait_for_jobs(artifacts: Path, kind: str, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        jobs = list_jobs(artifacts, kind=kind)
        if jobs and all(j.state != "running" for j in jobs):
            return
        time.sleep(0.5)
    raise AssertionError(f"{kind} job still running after {timeout}s")


def _app() -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_section_renders_without_jobs(artifacts):
    at = _app()
    assert any("No preparation job yet" in c.value for c in at.caption)


def test_running_job_shows_progress_rows_and_eta(artifacts):
    import os

    from core.runs.spec import RunSpec
    from tests._jobs import job_folder

    spec = RunSpec("prepare-eila", {"annotations": "a.csv", "demographics": "d.csv", "videos": "v",
                                    "out": str(artifacts / "x")})
    job = job_folder(artifacts, spec, pid=os.getpid(), created=time.time() - 60,  # a live process: running
                     progress={"done": 300, "total": 900, "message": "video abc, frame 1200", "elapsed_s": 60.0,
                               "eta_s": 120.0, "updated": time.time()})
    at = _app()
    texts = [p.proto.text for p in at.get("progress")]
    assert any("rows 300/900, ETA 2m 00s" in t and "video abc" in t for t in texts), texts
    assert at.button(key=f"prep_cancel_{job.name}") is not None


def test_missing_inputs_are_named_before_starting(artifacts, tmp_path):
    at = _app()
    at.text_input(key="prep_videos").input(str(tmp_path / "no_videos"))
    at.selectbox(key="prep_detector").select("yolo")
    at.button(key="prep_start").click().run()
    assert not at.exception
    err = " ".join(e.value for e in at.error)
    assert "videos folder not found" in err and "weights file not found" in err and "yolov8n-face.pt" in err
    assert not list_jobs(artifacts)


@pytest.mark.slow
def test_start_job_progress_result_audit_chart_and_pose(artifacts, eila_video, yunet_model, tmp_path):  # noqa: F811
    at = _app()
    at.text_input(key="prep_annotations").input(str(eila_video.annotations))
    at.text_input(key="prep_demographics").input(str(eila_video.demographics))
    at.text_input(key="prep_videos").input(str(eila_video.videos))
    at.selectbox(key="prep_detector").select("yunet")
    at.text_input(key="prep_weights").input(str(yunet_model))
    at.text_input(key="prep_out").input(str(tmp_path / "prepared"))
    at.text_input(key="prep_register").input("EiLA page test")
    at.button(key="prep_start").click().run()
    assert not at.exception, at.exception
    assert any("Started in the background" in s.value for s in at.success)
    _wait_for_jobs(artifacts, "prepare-eila")
    job = list_jobs(artifacts, kind="prepare-eila")[0]
    assert job.state == "finished", job.log_tail
    at = _app()
    assert any("13/13 rows" in s.value for s in at.success)
    assert [m.value for m in at.metric] == ["13", "9", "8", "8"]
    assert len(at.get("plotly_chart")) == 1
    # pose estimation on the registered crops, in the background, updating the dataset in place
    at.selectbox(key="pose_detector").select("yunet")
    at.text_input(key="pose_weights").input(str(yunet_model))
    at.button(key="pose_start").click().run()
    assert not at.exception, at.exception
    _wait_for_jobs(artifacts, "estimate-pose")
    pose_job = list_jobs(artifacts, kind="estimate-pose")[0]
    assert pose_job.state == "finished", pose_job.log_tail
    from core.data.registry import load_dataset

    man = load_dataset("EiLA page test", artifacts)
    assert {"yaw", "pitch", "side_profile", "pose_status"} <= set(man.columns)
    at = _app()  # the audit stays with the dataset after the in-place pose update
    assert "EiLA page test (yunet)" in at.multiselect(key="prep_audits").options

