"""core.data.images: decoding in RGB order, errors that name the file, model input and thumbnails."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.common._errors import DataFormatError
from core.data.images import find_unreadable, is_image_file, read_image, thumbnail, to_model_input


@pytest.fixture()
def red(tmp_path) -> Path:
    """A 4 x 6 (h x w) pure red PNG (written by OpenCV in BGR order)."""
    path = tmp_path / "red.png"
    img = np.zeros((4, 6, 3), np.uint8)
    img[:, :, 2] = 255
    cv2.imwrite(str(path), img)
    return path


def test_read_image_returns_rgb_or_gray(red) -> None:
    rgb = read_image(red)
    assert rgb.shape == (4, 6, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [255, 0, 0]  # red first: RGB, not OpenCV's BGR
    gray = read_image(red, "gray")
    assert gray.shape == (4, 6) and gray[0, 0] == 76  # 0.299 * 255


def test_read_image_errors_name_the_file(tmp_path, red) -> None:
    with pytest.raises(ValueError, match=r"mode must be 'gray' or 'rgb', received 'bgr'"):
        read_image(red, "bgr")  # type: ignore[arg-type]
    missing = tmp_path / "gone.png"
    with pytest.raises(DataFormatError, match=r"gone\.png: image file not found"):
        read_image(missing)
    for name, data in (("empty.jpg", b""), ("text.png", b"not an image")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataFormatError, match=rf"{name}: cannot be decoded as an image .*expected one of "
                                                  r"\['\.bmp', '\.jpeg', '\.jpg', '\.png', '\.webp'\]"):
            read_image(tmp_path / name)
    (tmp_path / "dir.png").mkdir()
    assert find_unreadable([red, missing, tmp_path / "empty.jpg", tmp_path / "dir.png"]) == [
        str(missing), str(tmp_path / "empty.jpg"), str(tmp_path / "dir.png")]


def test_is_image_file(tmp_path, red) -> None:
    for name in ("a.JPG", "b.jpeg", ".hidden.png", "c.txt", "d.webp"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.png").mkdir()
    assert sorted(p.name for p in tmp_path.iterdir() if is_image_file(p)) == ["a.JPG", "b.jpeg", "d.webp", "red.png"]
    assert not is_image_file(tmp_path / "missing.png")


def test_to_model_input_channels_size_and_dtype() -> None:
    red = np.zeros((4, 6, 3), np.uint8)
    red[..., 0] = 255
    gray = to_model_input(red, 8, 1)
    assert gray.shape == (8, 8, 1) and gray.dtype == np.float32
    assert np.all(gray == 76)  # a uniform image stays uniform when resized
    rgb = to_model_input(red, 2, 3)
    assert rgb.shape == (2, 2, 3) and rgb[0, 0].tolist() == [255.0, 0.0, 0.0]
    g = np.full((5, 5), 100, np.uint8)
    assert to_model_input(g, 5, 1).shape == (5, 5, 1)
    three = to_model_input(g, 5, 3)
    assert three.shape == (5, 5, 3) and np.all(three == 100)
    same = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    np.testing.assert_array_equal(to_model_input(same, 4, 3), same.astype(np.float32))  # right size: untouched


def test_thumbnail_keeps_the_aspect_and_never_raises(tmp_path, red) -> None:
    t = thumbnail(red, size=12)  # longest side 6 -> 12
    assert t.shape == (8, 12, 3) and t[0, 0].tolist() == [255, 0, 0]
    assert thumbnail(red, size=3).shape == (2, 3, 3)
    assert thumbnail(tmp_path / "clip.mp4#12") is None
    (tmp_path / "bad.png").write_bytes(b"nope")
    assert thumbnail(tmp_path / "bad.png") is None
    tall = tmp_path / "tall.png"
    cv2.imwrite(str(tall), np.zeros((100, 1, 3), np.uint8))
    assert thumbnail(tall, size=10).shape == (10, 1, 3)  # never a zero-width image
