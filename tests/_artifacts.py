"""Test helper: a private copy of a prepared artifacts folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def private_artifacts(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copy ``source`` to ``tmp_path/artifacts`` for one test and export it as $FERBIAS_ARTIFACTS."""
    path = tmp_path / "artifacts"
    shutil.copytree(source, path)
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(path))
    return path
