"""Units of resampling: person, clip or video clusters, counts per group and the one-clip flag."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import DataFormatError
from core.evaluation import compute_metrics, group_report, unit_ids


def _preds(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for race, n_persons, clips in (("A", 6, 1), ("B", 8, 4)):
        for p in range(n_persons):
            for k in range(10):
                clip = str(p % clips)
                rows.append({"sample_id": f"{race}{p}-{k}", "true": "happy",
                             "pred": "happy" if rng.random() < 0.7 else "sad", "race": race,
                             "person": f"{race}{p}", "dataset": "D", "video": f"v{race}" if race == "A" else
                             f"v{p % 2}", "clip": clip})
    df = pd.DataFrame(rows)
    df["correct"] = df["true"] == df["pred"]
    return df


def test_group_counts_and_one_clip_flag():
    rep = group_report(_preds(), "race", n_boot=200)
    t = rep.table
    assert t.loc["A", "n_clips"] == 1 and t.loc["A", "n_videos"] == 1 and bool(t.loc["A", "one_clip"])
    assert t.loc["B", "n_clips"] == 4 and t.loc["B", "n_videos"] == 2 and not bool(t.loc["B", "one_clip"])
    assert t.loc["A", "n_persons"] == 6 and t.loc["B", "n_persons"] == 8
    assert rep.summary["one_clip_groups"] == ["A"] and rep.summary["unit"] == "person"


def test_unit_changes_the_clusters():
    df = _preds()
    by_person = group_report(df, "race", n_boot=300, seed=1)
    by_clip = group_report(df, "race", n_boot=300, seed=1, unit="clip")
    assert by_clip.summary["unit"] == "clip" and "over clips" in by_clip.summary["ci_method"]
    # one clip cannot be resampled: a single cluster is flagged few and its interval is not the person one
    assert bool(by_clip.table.loc["A", "low_n"])
    assert (by_person.table["accuracy"] == by_clip.table["accuracy"]).all()
    assert unit_ids(df, "video").nunique() == 3 and unit_ids(df, "clip").nunique() == 5
    m = compute_metrics(df, ["race"], n_boot=100, unit="video")
    assert m["settings"]["unit"] == "video" and m["groups"]["race"]["A"]["one_clip"] is True


def test_units_need_their_columns():
    df = _preds().drop(columns=["video", "clip"])
    with pytest.raises(DataFormatError, match="resampling by clip needs"):
        group_report(df, "race", unit="clip")
    with pytest.raises(ValueError, match="unit must be one of"):
        group_report(_preds(), "race", unit="frame")
    t = group_report(df, "race", n_boot=100).table
    assert t["n_clips"].isna().all() and not t["one_clip"].any()
