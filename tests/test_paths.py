"""core.common.paths: the one default artifacts folder and the folders under it."""
from __future__ import annotations

from pathlib import Path

from core.common import paths


def test_default_artifacts_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "elsewhere"))
    assert paths.default_artifacts_dir() == tmp_path / "elsewhere"


def test_default_artifacts_dir_is_the_repo_folder_without_the_variable(monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    assert paths.default_artifacts_dir() == paths.REPO_ROOT / "artifacts"
    assert (paths.REPO_ROOT / "core" / "common" / "paths.py").is_file()


def test_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv(paths.ENV_VAR, "")
    assert paths.default_artifacts_dir() == paths.REPO_ROOT / "artifacts"


def test_subfolders_are_under_the_given_artifacts_folder():
    root = "/data/arts"
    assert paths.datasets_dir(root) == Path(root) / "datasets"
    assert paths.runs_dir(Path(root)) == Path(root) / "runs"
    assert paths.cache_dir(root) == Path(root) / "cache"
    assert paths.jobs_dir(root) == Path(root) / "jobs"


def test_shared_data_sits_next_to_the_repository():
    assert paths.default_shared_data() == paths.REPO_ROOT.parent / "shared" / "data"
