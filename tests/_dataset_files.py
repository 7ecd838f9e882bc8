"""Tiny image files for the dataset loader tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, value: int = 100, size: int = 8, color: bool = False) -> Path:
    """A uniform ``size`` x ``size`` gray (or colour) image at ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size, size, 3) if color else (size, size), value, np.uint8)
    assert cv2.imwrite(str(path), arr)
    return path


def write_corrupt(path: Path) -> Path:
    """A file with a JPEG start marker that does not decode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 this is not really a jpeg")
    return path
