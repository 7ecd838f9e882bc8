"""Shared fixtures. Real data lives in ../shared/data; tests that need it skip when it is absent."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
YUNET = SHARED / "models" / "face_detection_yunet.onnx"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (real data lives outside the repo in ../shared)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test when absent."""
    return _need(SHARED_DATA, "shared test data")


@pytest.fixture(scope="session")
def eila_dir(shared_data: Path) -> Path:
    return _need(shared_data / "eila", "EiLA data")


@pytest.fixture(scope="session")
def utkface_dir(shared_data: Path) -> Path:
    return _need(shared_data / "utkface", "UTKFace data")


@pytest.fixture(scope="session")
def sfew_dir(shared_data: Path) -> Path:
    return _need(shared_data / "sfew", "SFEW data")


@pytest.fixture(scope="session")
def fer2013_dir(shared_data: Path) -> Path:
    return _need(shared_data / "fer2013", "FER2013 slice")


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    return _need(YUNET, "YuNet ONNX model")


@pytest.fixture()
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh artifacts folder, also exported as $FERBIAS_ARTIFACTS."""
    path = tmp_path / "artifacts"
    path.mkdir()
    monkeypatch.setenv("FERBIAS_ARTIFACTS", str(path))
    return path
