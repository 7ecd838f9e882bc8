"""pages/_jobs.job_panel: running, finished, failed and old-layout jobs in one panel (AppTest)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.common.paths import jobs_dir
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
    assert texts == [f"EiLA video preparation `4-prepare-eila-run` ({_started(4.0)}): rows 30/90, ETA 0m 12s - "
                     "video abc"], texts
    assert at.button(key=f"t_cancel_{running.name}") is not None
    errors = [e.value for e in at.error]
    assert errors == [f"EiLA video preparation `3-prepare-eila-bad` ({_started(3.0)}) failed (exit code 2): "
                      "annotations.csv: missing column 'tag' Start it again with the same output folder to resume: "
                      "finished rows are kept."], errors
    assert any("missing column 'tag'" in c.value for c in at.code)
    successes = [s.value for s in at.success]
    assert successes == [f"Evaluation `2-evaluate-ok` ({_started(2.0)}): finished, 5/5 images",
                         f"Evaluation `1-evaluate-old` ({_started(1.0)}): finished"]
    captions = [c.value for c in at.caption]
    assert "result of 2-evaluate-ok" in captions and "result of 1-evaluate-old" in captions
    assert "shown: 4" in captions


def _started(created: float) -> str:
    return "started " + time.strftime("%H:%M", time.localtime(created))


def test_finished_job_shows_its_runs_accuracy_and_the_log_without_framework_noise(artifacts, monkeypatch):
    from tests._evaluation_data import make_run, synthetic_predictions

    monkeypatch.chdir(REPO)
    run = make_run(artifacts, "eval-fer-demo", synthetic_predictions(seed=1, skill=0.7), "fer on Demo")
    job = job_folder(artifacts, RunSpec("evaluate", {"model": "fer", "data": "x"}), rc=0, created=2.0,
                     job_id="2-evaluate-ok", progress={"done": 72, "total": 72})
    (job / "log.txt").write_text(
        "2026-12-02 10:00:00.1: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1 cuda_dnn.cc:8310] Unable to register cuDNN factory\n"
        "W0000 00:00:1 gpu_device.cc] Cannot dlopen some GPU libraries. GPU will not be used.\n"
        f"wrote {run}/predictions.parquet, metrics.json and leakage.json\n"
        "n=72 accuracy=0.750\n")
    at = AppTest.from_function(_panel, args=(str(artifacts),), default_timeout=60).run()
    assert not at.exception
    import json as _json

    m = _json.loads((run / "metrics.json").read_text())
    expected = (f"**fer on Demo**: accuracy {100 * m['accuracy']:.1f} % [{100 * m['accuracy_ci_low']:.1f}, "
                f"{100 * m['accuracy_ci_high']:.1f}] on 72 images · [see it in Runs](train_or_load?tl_tab=Runs)")
    assert expected in [md.value for md in at.markdown]
    shown = at.code[0].value
    assert "wrote" in shown and "n=72" in shown
    assert not any(w in shown for w in ("tensorflow", "cuDNN", "GPU will not be used"))
    assert "oneDNN" in (job / "log.txt").read_text()  # the file keeps every line


def test_sweep_feature_pass_counts_images_and_training_counts_epochs(artifacts, monkeypatch):
    monkeypatch.chdir(REPO)
    from core.training.config import TrainConfig

    spec = RunSpec("sweep", {"preset": "table3", "eila": "E", "fer2013": "F", "sfew": "S"}, TrainConfig())
    job_folder(artifacts, spec, pid=os.getpid(), created=2.0, job_id="2-sweep-features",
               progress={"done": 928, "total": 1204, "elapsed_s": 10.0,
                         "message": "frozen-backbone features of 1204 unique images (once per image): computing "
                                    "features"})
    job_folder(artifacts, spec, pid=os.getpid(), created=1.0, job_id="1-sweep-epochs",
               progress={"done": 3, "total": 30, "elapsed_s": 9.0, "message": "SFEW only: epoch 3/15"})

    def panel(art: str) -> None:
        from pages._jobs import job_panel

        job_panel(art, ("sweep",), "t")

    at = AppTest.from_function(panel, args=(str(artifacts),), default_timeout=60).run()
    assert not at.exception
    texts = [p.proto.text.split(": ", 1)[1] for p in at.get("progress")]
    assert texts[0].startswith("images 928/1204") and texts[1].startswith("epochs 3/30"), texts


def test_panel_without_jobs_says_so(artifacts, monkeypatch):
    monkeypatch.chdir(REPO)
    at = AppTest.from_function(_panel, args=(str(artifacts),), default_timeout=60).run()
    assert not at.exception
    assert [c.value for c in at.caption] == ["No job yet.", "shown: 0"]
