"""Where generated content lives. Everything is under one artifacts folder.

The folder is ``<repo>/artifacts`` unless the environment variable
``FERBIAS_ARTIFACTS`` names another one (tests use a temporary folder). Functions
in :mod:`core` take the folder as an explicit argument; this module only
supplies the default.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "FERBIAS_ARTIFACTS"


def default_artifacts_dir() -> Path:
    """The artifacts folder: ``$FERBIAS_ARTIFACTS`` or ``<repo>/artifacts``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else REPO_ROOT / "artifacts"


def datasets_dir(artifacts: Path) -> Path:
    return Path(artifacts) / "datasets"


def runs_dir(artifacts: Path) -> Path:
    return Path(artifacts) / "runs"


def cache_dir(artifacts: Path) -> Path:
    return Path(artifacts) / "cache"


def jobs_dir(artifacts: Path) -> Path:
    return Path(artifacts) / "jobs"


def default_shared_data() -> Path:
    """``../shared/data`` next to the repository (real data for tests; may be absent)."""
    return REPO_ROOT.parent / "shared" / "data"
