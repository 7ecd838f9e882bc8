"""core.common.progress: the no-op, tqdm and status-file reporters, ETA text and the CLI's choice between them."""
from __future__ import annotations

import json

import pytest

from core.common.progress import (StatusFileProgress, TqdmProgress, eta_text, null_progress, progress_for_cli)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_null_progress_accepts_the_reporter_signature():
    assert null_progress(1, 2) is None
    assert null_progress(1, 2, "step") is None


@pytest.mark.parametrize("done,total,elapsed,text", [
    (0, 10, 5.0, "0/10"),
    (3, 0, 5.0, "3/0"),
    (1, 4, 10.0, "1/4, ETA 0m 30s"),
    (120, 900, 28.5, "120/900, ETA 3m 05s"),
    (10, 10, 99.0, "10/10, ETA 0m 00s"),
])
def test_eta_text(done, total, elapsed, text):
    assert eta_text(done, total, elapsed) == text


def test_status_file_reports_done_total_and_eta(tmp_path):
    clock = _Clock()
    status = tmp_path / "jobs" / "status.json"
    report = StatusFileProgress(status, min_interval_s=0.5, clock=clock)
    clock.now = 104.0
    report(2, 10, "embedding")
    got = json.loads(status.read_text())
    assert (got["done"], got["total"], got["message"]) == (2, 10, "embedding")
    assert got["elapsed_s"] == 4.0
    assert got["eta_s"] == 16.0  # 4 s for 2 items, 8 items left


def test_status_file_throttles_but_always_writes_the_last_step(tmp_path):
    clock = _Clock()
    status = tmp_path / "status.json"
    report = StatusFileProgress(status, min_interval_s=1.0, clock=clock)
    report(1, 4)
    clock.now += 0.2
    report(2, 4, "too soon")
    assert json.loads(status.read_text())["done"] == 1
    clock.now += 0.1
    report(4, 4, "finished")
    got = json.loads(status.read_text())
    assert (got["done"], got["message"], got["eta_s"]) == (4, "finished", 0.0)


def test_status_file_without_progress_has_no_eta(tmp_path):
    status = tmp_path / "status.json"
    StatusFileProgress(status, clock=_Clock())(0, 5)
    assert json.loads(status.read_text())["eta_s"] is None


def test_tqdm_bar_follows_done_and_closes_at_total(capsys):
    report = TqdmProgress("train")
    report(1, 3, "epoch 1")
    assert report._bar is not None and report._bar.n == 1
    report(3, 3)
    assert report._bar is None
    err = capsys.readouterr().err
    assert "train" in err and "3/3" in err


def test_tqdm_bar_restarts_when_total_changes(capsys):
    report = TqdmProgress()
    report(1, 5)
    first = report._bar
    report(1, 8)
    assert report._bar is not first and report._bar.total == 8
    report(8, 8)
    assert report._bar is None


def test_progress_for_cli_picks_status_file_only_when_given(tmp_path):
    assert isinstance(progress_for_cli(tmp_path / "s.json"), StatusFileProgress)
    assert isinstance(progress_for_cli(None, "x"), TqdmProgress)
    assert isinstance(progress_for_cli(""), TqdmProgress)


def test_an_error_after_an_open_bar_starts_its_own_line(capsys):
    from core.cli import main

    bar = TqdmProgress("work")
    bar(3, 10, "half way")  # a command failing here leaves the bar open

    def failing(args):
        raise ValueError("the input is wrong")

    import types
    import sys

    module = types.ModuleType("core._failing_for_test")
    module.add_arguments = lambda p: None
    module.run = failing
    sys.modules[module.__name__] = module
    from core import cli

    cli.COMMANDS["failing-for-test"] = (module.__name__, "test")
    try:
        assert main(["failing-for-test"]) == 2
    finally:
        del cli.COMMANDS["failing-for-test"]
        del sys.modules[module.__name__]
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == ["error: the input is wrong"]
