"""Build a small real EiLA-like video set for the preprocessing tests.

EiLA videos are not public. This pastes real SFEW faces into 1280x720 frames
at the person boxes of a handful of real annotations.csv rows (frames
renumbered so the videos are short), writes real MP4 files with OpenCV, and a
small annotations.csv with those rows. Bad rows are built in on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

W, H = 1280, 720
#: SFEW faces that both MTCNN and YuNet detect when pasted as below.
SFEW_FACES = (
    "Train_Aligned_Faces/Angry/Airheads_000519240_00000005.png",
    "Train_Aligned_Faces/Angry/HarryPotter_Half_Blood_Prince_002409374_00000004.png",
    "Train_Aligned_Faces/Disgust/Bridesmaids_000519240_00000057.png",
    "Train_Aligned_Faces/Fear/DeepBlueSea_005814360_00000032.png",
    "Train_Aligned_Faces/Happy/NotSuitableForChildren_004026600_00000017.png",
    "Train_Aligned_Faces/Happy/Town_002712120_00000064.png",
    "Train_Aligned_Faces/Neutral/HarryPotter_Deathly_Hallows_1_004552400_00000001.png",
    "Train_Aligned_Faces/Surprise/LittleManhattan_000102534_00000036.png",
)
#: Original annotations.csv rows with a face: two frames with two persons (train), test and validation rows.
FACE_ROWS = (3541, 3600, 3542, 3601, 568, 569, 1225, 811)
NO_FACE_ROW = 570          # box left empty -> no_face
BOX_OUTSIDE_ROW = 571      # X moved to 150 % -> box_outside_frame
PAST_END_ROW = 572         # frame moved past the end -> unreadable_frame
MISSING_VIDEO_ROWS = (0, 1)  # aJKL0ahn1Dk has no video file -> missing_video
#: Where each video goes: the two layouts prepare-eila accepts.
LAYOUT = {"Uh00UIl7-bo": "{tag}.mp4", "Ul53TVUR4NM": "{tag}/Complete.mp4", "uLpLviZ4Hc4": "{tag}.mp4"}


@dataclass
class EilaFixture:
    root: Path
    annotations: Path
    demographics: Path
    videos: Path
    rows: pd.DataFrame                  # the written annotation rows + original row and new row index
    face_rects: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # new row -> pasted face
    expected_reason: dict[int, str | None] = field(default_factory=dict)            # new row -> reason


def _background(rng: np.random.Generator) -> np.ndarray:
    grad = np.linspace(40, 200, W, dtype=np.float32)[None, :, None]
    img = np.broadcast_to(grad, (H, W, 3)).copy()
    img[..., 0] *= 0.8
    img += rng.normal(0, 3, size=(H // 8, W // 8, 3)).repeat(8, 0).repeat(8, 1)
    return np.clip(img, 0, 255).astype(np.uint8)


def build_eila_fixture(root: Path, eila_dir: Path, sfew_dir: Path) -> EilaFixture:
    """Write videos and a small annotations.csv under ``root`` (see module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    src = pd.read_csv(eila_dir / "annotations.csv")
    picked = [*FACE_ROWS, NO_FACE_ROW, BOX_OUTSIDE_ROW, PAST_END_ROW, *MISSING_VIDEO_ROWS]
    rows = src.iloc[list(picked)].copy()
    rows["orig_row"] = picked
    # renumber frames per video: 2, 8, 14, ... (one annotated frame every 6, as in EiLA)
    for tag, g in rows.groupby("Video Tag"):
        uniq = sorted(g["Frame Number"].unique())
        rows.loc[g.index, "Frame Number"] = g["Frame Number"].map({f: 2 + 6 * i for i, f in enumerate(uniq)})
    rows.loc[rows["orig_row"] == BOX_OUTSIDE_ROW, "X"] = 150.0
    rows = rows.reset_index(drop=True)
    rows["new_row"] = range(len(rows))
    past_end = rows["orig_row"] == PAST_END_ROW
    faces = [cv2.imread(str(sfew_dir / f)) for f in SFEW_FACES]
    fix = EilaFixture(root, root / "annotations.csv", eila_dir / "demographics.csv", root / "videos", rows)
    rng = np.random.default_rng(0)
    face_i = 0
    for tag, layout in LAYOUT.items():
        g = rows[(rows["Video Tag"] == tag) & ~past_end]
        n_frames = int(g["Frame Number"].max()) + 5
        frames = {}
        for r in g.to_dict("records"):
            img = frames.setdefault(int(r["Frame Number"]), _background(rng))
            x0, y0 = int(r["X"] / 100 * W), int(r["Y"] / 100 * H)
            x1, y1 = int((r["X"] + r["Width"]) / 100 * W), int((r["Y"] + r["Height"]) / 100 * H)
            if r["orig_row"] in (NO_FACE_ROW, BOX_OUTSIDE_ROW) or x0 >= W:
                if x0 < W:
                    img[y0:y1, x0:x1] = (90, 100, 110)
                continue
            img[y0:y1, x0:x1] = (70, 80, 95)  # a plain "body"
            face = faces[face_i % len(faces)]
            face_i += 1
            fh = int(min(0.5 * (y1 - y0), 0.8 * (x1 - x0) * face.shape[0] / face.shape[1]))
            fw = int(fh * face.shape[1] / face.shape[0])
            fx, fy = x0 + ((x1 - x0) - fw) // 2, y0 + int(0.06 * (y1 - y0))
            img[fy:fy + fh, fx:fx + fw] = cv2.resize(face, (fw, fh), interpolation=cv2.INTER_AREA)
            fix.face_rects[int(r["new_row"])] = (fx, fy, fx + fw, fy + fh)
        path = fix.videos / layout.format(tag=tag)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H))
        blank = _background(rng)
        for i in range(n_frames):
            writer.write(frames.get(i, blank))
        writer.release()
    rows.loc[past_end, "Frame Number"] = 10_000
    rows.drop(columns=["orig_row", "new_row"]).to_csv(fix.annotations, index=False)
    for r in rows.itertuples():
        reason = None
        if r.orig_row == NO_FACE_ROW:
            reason = "no_face"
        elif r.orig_row == BOX_OUTSIDE_ROW:
            reason = "box_outside_frame"
        elif r.orig_row == PAST_END_ROW:
            reason = "unreadable_frame"
        elif r.orig_row in MISSING_VIDEO_ROWS:
            reason = "missing_video"
        fix.expected_reason[int(r.new_row)] = reason
    return fix


@pytest.fixture(scope="module")
def eila_video(tmp_path_factory, eila_dir, sfew_dir) -> EilaFixture:
    """The fixture videos, built once per test module (import this fixture into the test module)."""
    return build_eila_fixture(tmp_path_factory.mktemp("eila_video"), eila_dir, sfew_dir)
