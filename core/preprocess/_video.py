"""Reading annotated frames from videos: once, in frame order (and the seed's seek-per-row reader).

EiLA ``Frame Number`` is taken as the 0-based index of a decoded frame, which
is what OpenCV's ``CAP_PROP_POS_FRAMES`` counts. :func:`iter_annotated_frames`
opens a video once and walks it forward, decoding (``grab``) the frames in
between but converting (``retrieve``) only the annotated ones; a gap longer
than ``seek_gap`` frames (a jump between clips) is crossed with one seek, whose
landing position is verified. :func:`read_frame_seek` is the seed's strategy
(open, seek, read, close for every row), kept for the benchmark and as a
reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

#: File layouts tried for a video tag, in order.
VIDEO_LAYOUTS: tuple[str, ...] = ("{tag}.mp4", "{tag}/Complete.mp4", "{tag}.mkv", "{tag}.webm", "{tag}/Complete.mkv")
#: Gaps (in frames) longer than this are crossed by seeking instead of decoding every frame in between.
DEFAULT_SEEK_GAP = 300


def find_video(videos: str | Path, tag: str) -> Path | None:
    """The video file of ``tag`` under ``videos`` (``<tag>.mp4`` or ``<tag>/Complete.mp4``, ...), or None."""
    videos = Path(videos)
    for layout in VIDEO_LAYOUTS:
        candidate = videos / layout.format(tag=tag)
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class FrameResult:
    """One requested frame: the BGR image, or None with the reason it could not be read."""

    frame: int
    image: np.ndarray | None
    error: str | None = None


def _open(path: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(path))
    return cap


def iter_annotated_frames(path: str | Path, frames: Iterable[int], seek_gap: int = DEFAULT_SEEK_GAP,
                          needed: Iterable[int] | None = None) -> Iterator[FrameResult]:
    """Yield each distinct requested frame once, in increasing order, reading the video once.

    The walk through the video (where it seeks, what it decodes) depends on
    ``frames`` alone; ``needed`` only picks which of them are converted and
    yielded. A resumed run passes every annotated frame as ``frames`` and the
    ones still to do as ``needed``, so each frame it gets decodes to the same
    pixels as in an uninterrupted run (a seek can land on a frame decoded
    differently from one reached by decoding forward).

    Parameters
    ----------
    path : str or Path
        Video file.
    frames : iterable of int
        Frame numbers (0-based); duplicates are read once.
    seek_gap : int
        Gaps longer than this many frames are crossed with one verified seek.
    needed : iterable of int, optional
        Frames to yield (default: all of ``frames``); the others are decoded
        (``grab``) but not converted, and reading stops after the last needed one.

    Yields
    ------
    FrameResult
        ``image`` is an HxWx3 BGR uint8 array, or None with ``error`` saying why
        (the video cannot be opened, negative frame number, past the end).
    """
    if seek_gap < 1:
        raise ValueError(f"seek_gap must be >= 1, received {seek_gap}")
    wanted = sorted({int(f) for f in frames})
    need = set(wanted) if needed is None else {int(f) for f in needed} & set(wanted)
    if not need:
        return
    last_needed = max(need)
    path = Path(path)
    cap = _open(path)
    try:
        if not cap.isOpened():
            for f in wanted:
                yield FrameResult(f, None, f"{path}: cannot be opened as a video")
            return
        pos = 0  # index of the next frame a grab() would decode
        for i, f in enumerate(wanted):
            if f > last_needed:
                return
            if f < 0:
                if f in need:
                    yield FrameResult(f, None, f"frame number {f} is negative")
                continue
            if f - pos > seek_gap:
                cap.set(cv2.CAP_PROP_POS_FRAMES, f)
                landed = int(round(cap.get(cv2.CAP_PROP_POS_FRAMES)))
                if landed != f:  # inexact seek: fall back to decoding from the start
                    cap.release()
                    cap = _open(path)
                    pos = 0
                else:
                    pos = f
            ended = False
            while pos < f:
                if not cap.grab():
                    ended = True
                    break
                pos += 1
            if ended:
                ok, img = False, None
            elif f in need:
                ok, img = cap.read()
            else:
                ok, img = cap.grab(), True
            if ok and img is not None:
                pos += 1
                if f in need:
                    yield FrameResult(f, img)
                continue
            # past the end: every later frame is unreadable too
            for g in wanted[i:]:
                if g in need:
                    yield FrameResult(g, None, f"frame {g} is past the end of the video ({pos} frames decoded)")
            return
    finally:
        cap.release()


def read_frame_seek(path: str | Path, frame: int) -> np.ndarray | None:
    """The seed's strategy: open ``path``, seek to ``frame``, read it, close. None if unreadable."""
    cap = _open(Path(path))
    try:
        if not cap.isOpened():
            return None
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(frame))
        ok, img = cap.read()
        return img if ok else None
    finally:
        cap.release()


def person_box_pixels(x: float, y: float, width: float, height: float, frame_w: int, frame_h: int,
                      min_side: int = 16) -> tuple[tuple[int, int, int, int] | None, str | None]:
    """Turn an EiLA box in percent of the frame into clipped pixel bounds ``(x0, y0, x1, y1)``.

    Returns ``(None, reason)`` for a box that is not finite / not positive
    (``invalid_box``) or whose part inside the frame is narrower or lower than
    ``min_side`` pixels (``box_outside_frame``).
    """
    vals = np.array([x, y, width, height], dtype=float)
    if not np.all(np.isfinite(vals)) or width <= 0 or height <= 0:
        return None, "invalid_box"
    x0, y0 = x / 100.0 * frame_w, y / 100.0 * frame_h
    x1, y1 = x0 + width / 100.0 * frame_w, y0 + height / 100.0 * frame_h
    cx0, cy0 = int(max(0, np.floor(x0))), int(max(0, np.floor(y0)))
    cx1, cy1 = int(min(frame_w, np.ceil(x1))), int(min(frame_h, np.ceil(y1)))
    if cx1 - cx0 < min_side or cy1 - cy0 < min_side:
        return None, "box_outside_frame"
    return (cx0, cy0, cx1, cy1), None


def crop_box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``image[y0:y1, x0:x1]`` as a contiguous copy."""
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])
