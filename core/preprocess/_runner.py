"""One preparation run: read annotated frames, batch detections, write crops, record every row's outcome.

Used by :func:`core.preprocess.prepare_eila`. The face crop is the detector's
box (clipped to the frame), converted to gray or RGB and resized to
``size x size`` as the seed did (no margin, aspect not preserved); landmarks,
box and pose are recorded in frame pixels.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..common._io import atomic_write_bytes
from ..data.labels import EMOTIONS
from ..data.manifest import atomic_write_parquet
from ..common.progress import ProgressFn
from ._config import REASONS, ROW_COLUMNS, PrepareConfig
from ._detectors import FaceDetector
from ._pose import landmark_columns, pose_from_landmarks
from ._video import crop_box, find_video, iter_annotated_frames, person_box_pixels





def crop_file_name(row: int, label: str, video: str, clip: str, person_id: str) -> str:
    """``<row>_label_<k>_video_<tag>_clip_<cid>_person_<pid>.jpg`` with ``k`` the EMOTIONS index."""
    return f"{int(row)}_label_{EMOTIONS.index(label)}_video_{video}_clip_{clip}_person_{person_id}.jpg"


def _failed(row: int, reason: str, detail: str = "", n_faces: int = 0, confidence: float = np.nan) -> dict:
    rec = {k: np.nan for k in ROW_COLUMNS}
    rec.update(row=int(row), status="failed", reason=reason, detail=detail, stage_reached=REASONS[reason][0],
               n_faces=int(n_faces), face_confidence=float(confidence), crop_path=None)
    return rec


def _to_output(img: np.ndarray, size: int, color: str) -> np.ndarray:
    out = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if color == "gray" else img
    interp = cv2.INTER_AREA if min(out.shape[:2]) > size else cv2.INTER_LINEAR
    return cv2.resize(out, (size, size), interpolation=interp)


class FrameRunner:
    """Holds the state of one preparation run (pending detections, records, flushing)."""

    def __init__(self, ann: pd.DataFrame, out: Path, cfg: PrepareConfig, detector: FaceDetector,
                 state: dict[int, dict], progress: ProgressFn, flush_every_s: float):
        self.ann, self.out, self.cfg, self.detector = ann, out, cfg, detector
        self.records = state
        self.progress = progress
        self.flush_every_s = flush_every_s
        self.pending: list[tuple[dict, np.ndarray, tuple[int, int, int, int], np.ndarray, float]] = []
        self.batch = cfg.batch_size or max(8, detector.batch_size)
        self._last_flush = time.monotonic()
        self.total = len(ann)
        self._where: tuple[str, int] = ("", -1)

    def record(self, rec: dict) -> None:
        self.records[int(rec["row"])] = rec
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        df = pd.DataFrame([self.records[r] for r in sorted(self.records)], columns=list(ROW_COLUMNS))
        atomic_write_parquet(df, self.out / "rows.parquet")
        self._last_flush = time.monotonic()

    def add(self, row: dict, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        box, reason = person_box_pixels(row["x"], row["y"], row["width"], row["height"], w, h)
        if box is None:
            self.record(_failed(row["row"], reason, f"box x={row['x']:.1f}% y={row['y']:.1f}% "
                                                   f"w={row['width']:.1f}% h={row['height']:.1f}% on {w}x{h}"))
            return
        crop = crop_box(frame, box)
        scale = min(1.0, self.cfg.detect_max_side / max(crop.shape[:2]))
        if scale < 1:  # faces in a person box are large: detect on a smaller copy, map back to pixels
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
        self.pending.append((row, frame, box, crop, scale))

    def detect_pending(self) -> None:
        if not self.pending:
            return
        dets = self.detector.detect([p[3] for p in self.pending])
        for (row, frame, box, _, scale), det in zip(self.pending, dets):
            self.record(self._finish(row, frame, box, det, scale))
        self.pending = []
        self.report(f"video {self._where[0]}, frame {self._where[1]}")

    def _finish(self, row: dict, frame: np.ndarray, box: tuple[int, int, int, int], det, scale: float) -> dict:
        b = det.best()
        if b is None:
            return _failed(row["row"], "no_face")
        conf = float(det.confidences[b])
        if conf < self.cfg.threshold:
            return _failed(row["row"], "low_confidence", f"best face {conf:.3f} < {self.cfg.threshold}",
                           len(det), conf)
        ox, oy = box[0], box[1]
        fx0, fy0, fx1, fy1 = det.boxes[b] / scale + np.array([ox, oy, ox, oy])
        h, w = frame.shape[:2]
        cx0, cy0 = int(max(0, np.floor(fx0))), int(max(0, np.floor(fy0)))
        cx1, cy1 = int(min(w, np.ceil(fx1))), int(min(h, np.ceil(fy1)))
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:
            return _failed(row["row"], "no_face", f"degenerate face box {det.boxes[b].round(1).tolist()}",
                           len(det), conf)
        face = _to_output(frame[cy0:cy1, cx0:cx1], self.cfg.size, self.cfg.color)
        ok, buf = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        dest = (self.out / row["split"] / row["label"].capitalize() /
                crop_file_name(row["row"], row["label"], row["video"], row["clip"], row["eila_person_id"]))
        try:
            if not ok:
                raise OSError("JPEG encoding failed")
            atomic_write_bytes(buf.tobytes(), dest)
        except OSError as exc:
            return _failed(row["row"], "write_failed", f"{dest}: {exc}", len(det), conf)
        lm = None if det.landmarks is None else det.landmarks[b] / scale + np.array([ox, oy])
        yaw, pitch = pose_from_landmarks(lm) if lm is not None else (np.array([np.nan]), np.array([np.nan]))
        rec = {"row": int(row["row"]), "status": "kept", "reason": None, "detail": "", "stage_reached": 3,
               "n_faces": len(det), "face_confidence": conf, "face_x0": float(fx0), "face_y0": float(fy0),
               "face_x1": float(fx1), "face_y1": float(fy1), **landmark_columns(lm),
               "yaw": float(yaw[0]), "pitch": float(pitch[0]), "crop_path": str(dest.resolve())}
        return rec

    def report(self, message: str) -> None:
        self.progress(len(self.records), self.total, message)

    def run(self, todo_rows: set[int], videos: Path, retry: set[int] = frozenset()) -> None:
        """Process the rows in ``todo_rows``, in chunks fixed by the whole annotation table.

        Each video's rows, in (frame, row) order, are cut into chunks of
        ``batch`` rows; the faces of one chunk are detected together. A chunk
        with any row to do is done whole (its finished rows give the same
        result again), and every video is walked with the frames of all its
        rows, so a resumed run decodes the same pixels and sends the detector
        the same batches as an uninterrupted one: its output is the same, byte
        for byte (batch composition changes MTCNN's padding and YOLO's
        letterbox, and a seek can decode a frame differently). Rows in
        ``retry`` (their video or frame was unavailable, so they never reached
        the detector) are redone on their own.
        """
        self.report(f"{len(self.records)} rows already done, {len(todo_rows)} to go")
        for video, vrows in self.ann.groupby("video", sort=True):
            vrows = vrows.sort_values(["frame", "row"], kind="stable")
            if not vrows["row"].isin(list(todo_rows)).any():
                continue
            path = find_video(videos, str(video))
            if path is None:
                for r in vrows["row"]:
                    if int(r) in todo_rows:
                        self.record(_failed(r, "missing_video", f"{videos}/{video}.mp4 or "
                                                                f"{videos}/{video}/Complete.mp4 not found"))
                self.report(f"video {video}: missing")
                continue
            records = vrows.to_dict("records")
            chunks = [records[i:i + self.batch] for i in range(0, len(records), self.batch)]
            fresh = todo_rows - set(retry)
            redo = [c if any(int(r["row"]) in fresh for r in c) else [r for r in c if int(r["row"]) in todo_rows]
                    for c in chunks]
            redo = [c for c in redo if c]
            left = {id(c): len(c) for c in redo}
            chunk_of = {int(r["row"]): id(c) for c in redo for r in c}
            by_frame: dict[int, list[dict]] = {}
            for c in redo:
                for r in c:
                    by_frame.setdefault(int(r["frame"]), []).append(r)
            for fr in iter_annotated_frames(path, vrows["frame"].astype(int), seek_gap=self.cfg.seek_gap,
                                            needed=by_frame):
                self._where = (str(video), fr.frame)
                for row in by_frame[fr.frame]:
                    if fr.image is None:
                        self.record(_failed(row["row"], "unreadable_frame", f"{path}: {fr.error}"))
                    else:
                        self.add(row, fr.image)
                    c = chunk_of[int(row["row"])]
                    left[c] -= 1
                    if left[c] == 0:
                        self.detect_pending()
            self.detect_pending()
            self.report(f"video {video}: done")
