"""Image decoding with errors that name the file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Literal

import cv2
import numpy as np

from ..common._errors import DataFormatError

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
ColorMode = Literal["gray", "rgb"]


def read_image(path: str | Path, mode: ColorMode = "rgb") -> np.ndarray:
    """Decode an image file.

    Parameters
    ----------
    path : str or Path
        Image file.
    mode : {"gray", "rgb"}
        ``gray`` returns HxW uint8, ``rgb`` returns HxWx3 uint8 in RGB order.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DataFormatError
        If the file is missing or cannot be decoded as an image.
    """
    path = Path(path)
    if mode not in ("gray", "rgb"):
        raise ValueError(f"mode must be 'gray' or 'rgb', received {mode!r}")
    if not path.is_file():
        raise DataFormatError("image file not found", path)
    data = np.fromfile(str(path), dtype=np.uint8)
    flag = cv2.IMREAD_GRAYSCALE if mode == "gray" else cv2.IMREAD_COLOR
    img = cv2.imdecode(data, flag) if data.size else None
    if img is None:
        raise DataFormatError("cannot be decoded as an image (corrupt or not an image file); "
                              f"expected one of {sorted(IMAGE_EXTENSIONS)}", path)
    if mode == "rgb":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def find_unreadable(paths: Iterable[str | Path]) -> list[str]:
    """Return the paths among ``paths`` that do not decode as images (cheap: decodes headers+data)."""
    bad = []
    for p in paths:
        try:
            read_image(p, "gray")
        except DataFormatError:
            bad.append(str(p))
    return bad


def is_image_file(path: Path) -> bool:
    """True for a regular file with a known image extension (hidden files excluded)."""
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def to_model_input(img: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Resize an RGB or gray uint8 image to ``size`` x ``size`` with ``channels`` (1 or 3), float32 0-255."""
    if img.ndim == 3 and channels == 1:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif img.ndim == 2 and channels == 3:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[0] != size or img.shape[1] != size:
        interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    if img.ndim == 2:
        img = img[:, :, None]
    return img.astype(np.float32)


def thumbnail(path: str | Path, size: int = 96) -> np.ndarray | None:
    """RGB uint8 thumbnail whose longest side is ``size``, or None when ``path`` is not a readable image.

    For galleries: a missing file, a ``<video>#<frame>`` locator or an undecodable
    file gives None instead of an error, so one bad sample never breaks a grid.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        img = read_image(path, "rgb")
    except DataFormatError:
        return None
    h, w = img.shape[:2]
    scale = size / max(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    return cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)
