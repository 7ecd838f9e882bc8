"""The preprocessing audit's figure (core.preprocess.plots) and its filter (retention_by_stage)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.preprocess import STAGE_LABELS, STAGES, compute_audit, prepare_eila, retention_by_stage
from core.preprocess.plots import SEED_TRACE, retention_figure
from tests.preprocess_video_fixture import eila_video  # noqa: F401 - module-scoped fixture
from tests.test_preprocess_audit import _rows  # 40 rows of 8 persons; Black persons lose rows at detection


@pytest.fixture(scope="module")
def audit() -> pd.DataFrame:
    return compute_audit(_rows(), detector="demo", n_boot=50)


def test_retention_by_stage_keeps_one_row_per_group_and_stage(audit):
    sub = retention_by_stage(audit, by="race", split="test")
    assert len(sub) == 2 * len(STAGES)
    assert (sub["split"] == "test").all() and (sub["gender"] == "All").all()
    assert list(sub["race"].unique()) == ["Black", "White"]
    black = sub[sub["race"] == "Black"].set_index("stage")
    assert list(black.index) == list(STAGES)
    assert black.loc["rows", "n_rows"] == 12 and black.loc["frame_read", "n_reached"] == 12
    assert black.loc["face_found", "n_reached"] == 8 and black.loc["kept", "rate"] == pytest.approx(8 / 12)
    assert (sub.loc[sub["race"] == "White", "rate"] == 1).all()
    by_gender = retention_by_stage(audit, by="gender")  # split defaults to the All margin
    assert set(by_gender["gender"]) == {"Female", "Male"} and (by_gender["race"] == "All").all()
    assert (by_gender["split"] == "All").all() and by_gender.loc[by_gender["stage"] == "rows", "n_rows"].sum() == 40
    with pytest.raises(ValueError, match="no column 'age'"):
        retention_by_stage(audit, by="age")


def test_figure_has_a_bar_per_group_with_whiskers_and_the_seed_reference(audit):
    fig = retention_figure({"demo": audit}, split="test")
    names = [t.name for t in fig.data]
    assert names == ["Black", "White", SEED_TRACE]
    black = fig.data[0]
    assert black.type == "bar" and list(black.x) == [STAGE_LABELS[s] for s in STAGES]
    expected = retention_by_stage(audit, "race", "test").query("race == 'Black'")
    np.testing.assert_allclose(black.y, expected["rate"])
    np.testing.assert_allclose(black.error_y.array, (expected["ci_high"] - expected["rate"]).clip(0))
    np.testing.assert_allclose(black.error_y.arrayminus, (expected["rate"] - expected["ci_low"]).clip(0))
    assert list(fig.data[2].x) == ["kept (seed)<br>Black", "kept (seed)<br>White", "kept (seed)<br>Mixed"]
    assert fig.data[2].marker.color[0] == fig.data[0].marker.color  # the seed's Black bar in Black's colour
    assert fig.layout.yaxis.title.text == "share of annotation rows" and fig.layout.legend.title.text == "race"
    assert fig.layout.barmode == "group"


def test_figure_compares_audits_and_leaves_the_seed_out_elsewhere(audit):
    other = compute_audit(_rows().assign(stage_reached=1), detector="other", n_boot=50)
    fig = retention_figure({"demo": audit, "other": other}, split="train", by="gender")
    names = [t.name for t in fig.data]
    assert names == ["Female (demo)", "Male (demo)", "Female (other)", "Male (other)"]  # no seed: not test/race
    kept = {t.name: t.y[-1] for t in fig.data}
    assert kept["Female (other)"] == 0 and kept["Male (other)"] == 0
    assert retention_figure({"demo": audit}, split="test", include_seed=False).data[-1].name == "White"
    with pytest.raises(ValueError, match="at least one audit"):
        retention_figure({}, split="test")


def test_retention_figure_compares_detectors_with_whiskers(eila_video, yunet_model, tmp_path):  # noqa: F811
    res = prepare_eila(eila_video.annotations, eila_video.demographics, eila_video.videos, tmp_path / "o",
                       detector="yunet", weights=yunet_model, n_boot=50)
    other = compute_audit(res.rows.assign(stage_reached=res.rows["stage_reached"].clip(upper=1)), detector="other",
                          n_boot=50)
    fig = retention_figure({"yunet": res.audit, "other": other}, split="test")
    names = [t.name for t in fig.data]
    assert "Black (yunet)" in names and "Black (other)" in names and SEED_TRACE in names
    black = next(t for t in fig.data if t.name == "Black (yunet)")
    assert list(black.x) == ["annotation rows", "frame read", "face found", "kept"]
    assert black.error_y.array is not None and len(black.error_y.array) == 4
