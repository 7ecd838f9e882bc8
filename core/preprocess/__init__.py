"""EiLA video preprocessing: annotated-frame reading, pluggable face detection, head pose and a bias audit.

Nothing here imports TensorFlow or Ultralytics at import time; a detector
loads its backend when it is built (:func:`load_detector`). The audit's
figure is in :mod:`core.preprocess.plots` (plotly, not imported here).
"""
from ._audit import (AUDIT_KEYS, SEED_TEST_SPLIT_REFERENCE, STAGE_LABELS, STAGES, audit_slice, compare_audits,
                     compute_audit, load_audit, reason_counts, retention_by_stage, retention_table, save_audit,
                     seed_reference_audit)
from ._detectors import DETECTORS, Detections, FaceDetector, load_detector
from ._config import REASONS, PrepareConfig
from ._pipeline import PrepareResult, crop_file_name, prepare_eila
from ._pose import (LANDMARK_COLUMNS, SIDE_PROFILE_YAW_DEG, estimate_pose_for_manifest, pose_from_landmarks,
                    pose_summary, side_profile)
from ._video import FrameResult, find_video, iter_annotated_frames, person_box_pixels, read_frame_seek

__all__ = [
    "AUDIT_KEYS", "DETECTORS", "Detections", "FaceDetector", "FrameResult", "LANDMARK_COLUMNS", "PrepareConfig",
    "PrepareResult", "REASONS", "SEED_TEST_SPLIT_REFERENCE", "SIDE_PROFILE_YAW_DEG", "STAGE_LABELS", "STAGES",
    "audit_slice", "compare_audits", "compute_audit", "crop_file_name", "estimate_pose_for_manifest", "find_video",
    "iter_annotated_frames", "load_audit", "load_detector", "pose_from_landmarks", "pose_summary", "prepare_eila",
    "person_box_pixels", "read_frame_seek", "reason_counts", "retention_by_stage", "retention_table", "save_audit",
    "seed_reference_audit", "side_profile",
]
