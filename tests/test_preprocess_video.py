"""Annotated-frame reading: one sequential pass gives the same frames as seeking per row."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.preprocess import find_video, iter_annotated_frames, person_box_pixels, read_frame_seek
from core.preprocess._video import crop_box

W, H, N = 320, 240, 80


def _stamp(i: int) -> np.ndarray:
    img = np.full((H, W, 3), 60, np.uint8)
    for b in range(8):
        img[0:20, b * 20:(b + 1) * 20] = 255 if (i >> b) & 1 else 0
    cv2.circle(img, (160 + int(40 * np.sin(i / 5)), 150), 30, (200, 120, 40), -1)
    return img


def _read_stamp(img: np.ndarray) -> int:
    return sum(1 << b for b in range(8) if img[5:15, b * 20 + 5:b * 20 + 15].mean() > 127)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H))
    for i in range(N):
        w.write(_stamp(i))
    w.release()
    return path


def test_sequential_equals_seek_per_row_and_reads_the_right_frames(video):
    wanted = [50, 3, 3, 9, 15, 21, 60, 79]
    got = list(iter_annotated_frames(video, wanted, seek_gap=20))  # 21 -> 50 crosses the gap with a seek
    assert [g.frame for g in got] == sorted(set(wanted))
    for g in got:
        assert g.error is None and _read_stamp(g.image) == g.frame
        assert np.array_equal(g.image, read_frame_seek(video, g.frame))


def test_past_the_end_negative_and_unopenable(video, tmp_path):
    got = {g.frame: g for g in iter_annotated_frames(video, [-1, 10, N + 5, N + 50])}
    assert "negative" in got[-1].error and got[10].image is not None
    assert got[N + 5].image is None and "past the end" in got[N + 5].error and got[N + 50].image is None
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    res = list(iter_annotated_frames(bad, [1, 2]))
    assert all(r.image is None and "cannot be opened" in r.error for r in res)
    assert read_frame_seek(bad, 1) is None


def test_find_video_layouts(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Complete.mp4").write_bytes(b"x")
    assert find_video(tmp_path, "a") == tmp_path / "a.mp4"
    assert find_video(tmp_path, "b") == tmp_path / "b" / "Complete.mp4"
    assert find_video(tmp_path, "c") is None


def test_person_box_pixels():
    assert person_box_pixels(10, 20, 50, 50, 200, 100) == ((20, 20, 120, 70), None)
    box, reason = person_box_pixels(90, 0, 30, 100, 200, 100)  # partly outside: clipped
    assert box == (180, 0, 200, 100) and reason is None
    assert person_box_pixels(150, 0, 30, 100, 200, 100) == (None, "box_outside_frame")
    assert person_box_pixels(99, 0, 30, 100, 200, 100) == (None, "box_outside_frame")  # 2 px left inside
    assert person_box_pixels(10, 10, -5, 20, 200, 100) == (None, "invalid_box")
    assert person_box_pixels(float("nan"), 10, 5, 20, 200, 100) == (None, "invalid_box")
    img = np.arange(100 * 200 * 3, dtype=np.uint8).reshape(100, 200, 3)
    assert crop_box(img, (20, 20, 120, 70)).shape == (50, 100, 3)
