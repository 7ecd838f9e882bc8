"""AppTest: the Home page offers the demo study first, starts it as a job, follows it and shows its finding."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.demo import DemoConfig, ensure_demo
from core.common.paths import runs_dir
from core.runs.spec import RunSpec
from tests._jobs import job_folder

from tests._app_pages import REPO

SMALL = DemoConfig(n_persons={"Light": 3, "Medium": 3, "Dark": 3}, images_per_person=7, image_size=48)


def _home(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    ensure_demo(artifacts, config=SMALL)
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "pages" / "home.py"), default_timeout=120)


def _job(artifacts: Path, out: Path, pid: int, progress: dict | None = None, rc: int | None = None) -> Path:
    return job_folder(artifacts, RunSpec("demo-study", {"out": str(out)}), pid=pid, progress=progress, rc=rc)


def test_button_is_the_first_step_and_starts_the_job(artifacts, monkeypatch):
    import core.runs.jobs

    started = []
    monkeypatch.setattr(core.runs.jobs, "start_job", lambda spec, arts, env=None: started.append((spec, arts)) or arts / "j")
    at = _home(artifacts, monkeypatch).run()
    assert not at.exception
    assert at.subheader[0].value == "First step: run the demo study"
    assert any("persons it never saw (22 Light, 22 Medium, 14 Dark)" in m.value for m in at.markdown)
    at.button(key="home_demo_study").click().run()
    assert not at.exception
    (spec, arts), = started
    assert spec.kind == "demo-study" and arts == artifacts
    out = Path(spec.config["out"])
    assert out.parent == runs_dir(artifacts) and out.name.startswith("demo-study-")
    assert spec.config["artifacts"] == str(artifacts) and spec.parse().out == str(out)


def test_running_job_shows_progress_and_disables_the_button(artifacts, monkeypatch):
    _job(artifacts, runs_dir(artifacts) / "s", os.getpid(),
         {"done": 3, "total": 10, "message": "demo study: phase 1 epoch 3/10", "elapsed_s": 12.0})
    at = _home(artifacts, monkeypatch).run()
    assert not at.exception
    assert at.button(key="home_demo_study").disabled
    assert any("epoch 3/10" in str(p.proto.text) for p in at.get("progress"))


def test_finished_job_shows_the_finding(artifacts, monkeypatch):
    out = runs_dir(artifacts) / "demo-study-x"
    out.mkdir(parents=True)

    def g(acc, lo, hi, persons):
        return {"accuracy": acc, "ci_low": lo, "ci_high": hi, "n_persons": persons, "n_samples": 14 * persons}

    (out / "metrics.json").write_text(json.dumps({
        "accuracy": 0.746, "weighted_f1": 0.747, "n_samples": 812, "n_persons": 58,
        "groups": {"race": {"Dark": g(0.49, 0.418, 0.577, 14), "Light": g(0.805, 0.756, 0.854, 22),
                            "Medium": g(0.851, 0.799, 0.896, 22)}}}))
    (out / "config.json").write_text(json.dumps({"weights_used": "fer (FER2013-trained)"}))
    _job(artifacts, out, 999_999_999, rc=0)
    at = _home(artifacts, monkeypatch).run()
    assert not at.exception
    assert at.metric[0].value == "74.6%"
    assert any("Planted bias found" in s.value and "31.5 points below Light" in s.value for s in at.success)
    assert any("fer (FER2013-trained)" in c.value for c in at.caption)


def test_failed_job_shows_its_log(artifacts, monkeypatch):
    job = _job(artifacts, runs_dir(artifacts) / "s", 999_999_999, rc=2)
    (job / "log.txt").write_text("error: the registered 'Synthetic demo' was drawn with other settings\n")
    at = _home(artifacts, monkeypatch).run()
    assert not at.exception
    assert any("failed (exit code 2): the registered 'Synthetic demo' was drawn with other settings" in e.value
               for e in at.error)
    assert any("drawn with other settings" in c.value for c in at.code)
