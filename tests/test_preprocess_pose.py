"""Head pose from 5 landmarks: exact on a projected face model, sign flips on mirrored real faces."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from core.preprocess import (SIDE_PROFILE_YAW_DEG, estimate_pose_for_manifest, load_detector, pose_from_landmarks,
                             pose_summary, side_profile)
from core.preprocess._pose import MOUTH_DROP_OVER_A, NOSE_DEPTH_OVER_A, NOSE_DROP_OVER_A

SFEW_SAMPLE = 24


def _project(yaw: float, pitch: float, roll: float = 0.0, scale: float = 40.0) -> np.ndarray:
    """Orthographic image (y down) of the module's face model turned by yaw, pitch and roll (degrees)."""
    pts = np.array([[-1, 0, 0], [1, 0, 0], [0, NOSE_DROP_OVER_A, NOSE_DEPTH_OVER_A],
                    [-0.8, MOUTH_DROP_OVER_A, 0], [0.8, MOUTH_DROP_OVER_A, 0]])
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    return ((pts @ ry.T @ rx.T)[:, :2] @ rz.T) * scale + 100


def _mirror(lm: np.ndarray, width: float) -> np.ndarray:
    """Landmarks of the horizontally flipped image, in the image-left-first order."""
    m = lm.copy()
    m[..., 0] = width - m[..., 0]
    return m[..., [1, 0, 2, 4, 3], :]


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (30, 0, 0), (-40, 0, 10), (0, 20, 0), (0, -15, -20),
                                            (60, 0, 0)])
def test_exact_on_projected_model_and_mirror_flips_yaw(yaw, pitch, roll):
    lm = _project(yaw, pitch, roll)
    y, p = pose_from_landmarks(lm)
    assert y[0] == pytest.approx(yaw, abs=1e-6) and p[0] == pytest.approx(pitch, abs=1e-6)
    ym, pm = pose_from_landmarks(_mirror(lm, 200))
    assert ym[0] == pytest.approx(-yaw, abs=1e-6) and pm[0] == pytest.approx(pitch, abs=1e-6)


def test_signs_and_side_profile_threshold():
    y, p = pose_from_landmarks(np.stack([_project(25, 0), _project(0, 15), _project(50, 0), _project(-50, 0)]))
    assert y[0] > 0 and p[1] > 0  # turned toward the image's right; looking up
    flags = side_profile(np.array([*y, np.nan]))
    assert list(flags[:4]) == [False, False, True, True] and pd.isna(flags[4])
    assert SIDE_PROFILE_YAW_DEG == 45.0
    degenerate = np.zeros((1, 5, 2))
    assert np.isnan(pose_from_landmarks(degenerate)[0][0])


@pytest.fixture(scope="module")
def sfew_manifest(sfew_dir, tmp_path_factory):
    """SFEW aligned faces and their mirror images, plus an unreadable file and a blank image."""
    root = tmp_path_factory.mktemp("pose_faces")
    files = sorted((sfew_dir / "Train_Aligned_Faces").glob("*/*.png"))[::37][:SFEW_SAMPLE]
    rows = []
    for i, f in enumerate(files):
        img = cv2.imread(str(f))
        for kind, im in (("orig", img), ("mirror", cv2.flip(img, 1))):
            p = root / f"{i}_{kind}.png"
            cv2.imwrite(str(p), im)
            rows.append({"sample_id": f"{i}_{kind}", "path": str(p), "dataset": "SFEW", "split": "train",
                         "label": "neutral", "pair": i, "kind": kind, "race": "unknown"})
    (root / "bad.png").write_bytes(b"broken")
    cv2.imwrite(str(root / "blank.png"), np.full((48, 48), 128, np.uint8))
    for name in ("bad", "blank"):
        rows.append({"sample_id": name, "path": str(root / f"{name}.png"), "dataset": "SFEW", "split": "train",
                     "label": "neutral", "pair": -1, "kind": name, "race": "unknown"})
    return pd.DataFrame(rows)


def test_mirrored_real_faces_flip_yaw_sign_yunet(sfew_manifest, yunet_model):
    det = load_detector("yunet", yunet_model)
    calls = []
    out = estimate_pose_for_manifest(sfew_manifest, det, progress=lambda d, t, m="": calls.append((d, t)))
    assert calls[-1] == (len(sfew_manifest), len(sfew_manifest))
    st = out.set_index("sample_id")["pose_status"]
    assert st["bad"] == "unreadable_image" and st["blank"] == "no_face"
    ok = out[(out["pose_status"] == "ok")]
    pairs = ok.pivot_table(index="pair", columns="kind", values=["yaw", "pitch"]).dropna()
    assert len(pairs) >= SFEW_SAMPLE * 3 // 4
    yo, ym = pairs[("yaw", "orig")], pairs[("yaw", "mirror")]
    # YuNet's landmarks are not exactly mirror-equivariant (a few degrees of noise), so: strongly
    # anti-correlated, opposite signs wherever both are clearly turned, and small asymmetry overall
    assert np.corrcoef(yo, ym)[0, 1] < -0.8
    turned = (yo.abs() >= 10) & (ym.abs() >= 10)
    assert turned.sum() >= 8
    assert (np.sign(yo[turned]) == -np.sign(ym[turned])).all()
    assert np.median(np.abs(yo + ym)) < 10
    assert np.median(np.abs(pairs[("pitch", "orig")] - pairs[("pitch", "mirror")])) < 10
    # landmarks are in the original image's pixels (143x181 SFEW faces)
    assert ok["lm_nose_x"].between(0, 143).all() and ok["lm_nose_y"].between(0, 181).all()
    assert out.loc[out["pose_status"] != "ok", "yaw"].isna().all()
    summary = pose_summary(out)
    assert summary["n"].sum() == len(out)


def test_mirrored_real_face_flips_yaw_sign_mtcnn(sfew_manifest):
    sub = sfew_manifest[sfew_manifest["pair"].between(0, 7)]
    out = estimate_pose_for_manifest(sub, load_detector("mtcnn"))
    ok = out[out["pose_status"] == "ok"].pivot_table(index="pair", columns="kind", values="yaw").dropna()
    turned = ok[(ok["orig"].abs() > 5) & (ok["mirror"].abs() > 5)]
    assert len(turned) >= 4
    assert (np.sign(turned["orig"]) == -np.sign(turned["mirror"])).all()
