"""Settings of an EiLA preparation and the schema of its per-row record (shared by the pipeline and its runner)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..data.datasets import SEED_CODE_SPLIT_RULE
from ._detectors import DEFAULT_MIN_CONFIDENCE, DETECTORS
from ._pose import LANDMARK_COLUMNS, SIDE_PROFILE_YAW_DEG
from ._video import DEFAULT_SEEK_GAP

#: reason -> (stage reached, whether a rerun retries the row, description)
REASONS: dict[str, tuple[int, bool, str]] = {
    "missing_video": (0, True, "no <videos>/<tag>.mp4 or <videos>/<tag>/Complete.mp4"),
    "unreadable_frame": (0, True, "the frame could not be decoded (past the end, corrupt video)"),
    "invalid_box": (0, False, "the person box is not a positive finite percentage box"),
    "box_outside_frame": (0, False, "the person box lies (almost) entirely outside the frame"),
    "no_face": (1, False, "the detector found no face in the person box"),
    "low_confidence": (2, False, "the most confident face is below the threshold"),
    "write_failed": (2, True, "the crop could not be written"),
}
ROW_COLUMNS = ("row", "status", "reason", "detail", "stage_reached", "n_faces", "face_confidence",
               "face_x0", "face_y0", "face_x1", "face_y1", *LANDMARK_COLUMNS, "yaw", "pitch", "crop_path")
FLUSH_EVERY_S = 2.0


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of one preparation; all but ``batch_size``/``seek_gap`` must match to resume a folder."""

    detector: str = "mtcnn"
    weights: str | None = None
    size: int = 48
    color: str = "gray"
    threshold: float = 0.6
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    side_profile_deg: float = SIDE_PROFILE_YAW_DEG
    split_rule: tuple[tuple[int, str], ...] = tuple(sorted(SEED_CODE_SPLIT_RULE.items()))
    jpeg_quality: int = 95
    seek_gap: int = DEFAULT_SEEK_GAP
    batch_size: int | None = None
    detect_max_side: int = 640

    def __post_init__(self) -> None:
        if not isinstance(self.detector, str) or not self.detector:
            raise ValueError(f"detector must be one of {list(DETECTORS)} (or a custom detector's name), "
                             f"received {self.detector!r}")
        if not isinstance(self.size, int) or not 8 <= self.size <= 1024:
            raise ValueError(f"size must be an integer in [8, 1024] pixels, received {self.size!r}")
        if self.color not in ("gray", "rgb"):
            raise ValueError(f"color must be 'gray' or 'rgb', received {self.color!r}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], received {self.threshold}")
        if not 0 <= self.min_confidence <= self.threshold:
            raise ValueError(f"min_confidence must be in [0, threshold={self.threshold}], received "
                             f"{self.min_confidence}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [1, 100], received {self.jpeg_quality}")
        if self.detect_max_side < 64:
            raise ValueError(f"detect_max_side must be >= 64 pixels, received {self.detect_max_side}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, received {self.batch_size}")

    def identity(self) -> dict[str, Any]:
        """The settings that define the output (compared when resuming)."""
        d = asdict(self)
        for k in ("seek_gap", "batch_size", "detect_max_side"):
            d.pop(k)
        d["split_rule"] = [list(p) for p in self.split_rule]
        return d
