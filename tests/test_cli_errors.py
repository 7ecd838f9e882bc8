"""One exit path for input errors: every command raises, ``core.cli.main`` prints one ``error:`` line, returns 2."""
from __future__ import annotations

import pytest

from core.cli import main


@pytest.mark.parametrize("argv, message", [
    (["train", "--base", "SFEW", "--epochs1", "0"], "error: phase1_epochs must be an integer >= 1, received 0"),
    (["train", "--base", "SFEW", "--extra", "EiLA", "--fraction", "2", "--weights", "random"],
     "error: MixSpec.fraction must be in [0, 1], received 2.0"),
    (["sweep", "--mix", "SFEW", "--only", "FER2013", "--weights", "random"],
     "error: --only ['FER2013'] not among the configurations ['SFEW only']"),
    (["sweep", "--mix", "SFEW+EiLA:0.1", "--eval-dataset", "EiLA", "--eval-split", "validation", "--weights",
      "random"], "error: 1 configuration(s) (SFEW + 10% EiLA) train on EiLA's validation rows"),
    (["demo-study", "--epochs", "0"], "error: epochs must be"),
    (["demo", "--image-size", "4"], "error: image_size"),
])
def test_input_errors_exit_2_with_one_line(argv, message, artifacts, capsys):
    assert main([*argv, "--artifacts", str(artifacts)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message), captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "error" not in captured.out
