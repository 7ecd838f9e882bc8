"""A small, fast run of bench/calibration.py: the statistical guarantees stay regression-tested.

The bench's default (4,000 draws per cell) measures accuracy coverage >= 0.938
(2-20 persons), paired-difference coverage >= 0.948, disparity false claims
<= 0.04 and coverage >= 0.98, latent false claims 0.045. With a few hundred
draws a cell's coverage has a standard error of about 0.01, so the asserted
bounds leave a tolerance of about 3 standard errors.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("calibration_bench", ROOT / "bench" / "calibration.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def frames(bench) -> np.ndarray:
    return bench.eila_frames()[0]


def test_fallback_frames_are_the_real_eila_test_split(bench) -> None:
    real, origin = bench.eila_frames()
    if "fallback" in origin:
        pytest.skip("../shared/data/eila is absent: nothing to compare the fallback with")
    assert sorted(real.tolist()) == sorted(bench.EILA_TEST_FRAMES_FALLBACK.tolist())


def test_group_accuracy_intervals_cover_at_every_size(bench, frames) -> None:
    t = pd.DataFrame(bench.accuracy_rows(frames, draws=400))
    assert set(t["persons"]) == set(range(2, 21)) and len(t) == 2 * 4 * 19
    assert t["coverage"].min() >= 0.90
    assert t.loc[t["persons"] == 20, "mean_width"].max() <= 0.40
    # no cliff: width falls with every added person in every design
    for _, d in t.groupby("design"):
        assert (np.diff(d.sort_values("persons")["mean_width"].to_numpy()) < 0.01).all()


def test_paired_difference_covers(bench, frames) -> None:
    t = pd.DataFrame(bench.paired_rows(frames, draws=400))
    assert t["coverage"].min() >= 0.90


def test_disparity_is_not_faked_by_noise(bench, frames) -> None:
    t = pd.DataFrame(bench.disparity_rows(frames, draws=600))
    null, real = t[t["design"].str.contains("null")], t[t["design"].str.contains("std=0.15")]
    assert null["false_claim"].max() <= 0.10
    assert real["coverage"].min() >= 0.90
    raw = t.dropna(subset=["raw_std_mean"])
    corrected = raw["estimate_mean"].to_numpy()
    assert (corrected < raw["raw_std_mean"].to_numpy()).all()  # the raw std is biased upward


def test_latent_permutation_by_person_keeps_its_size(bench) -> None:
    t = pd.DataFrame(bench.latent_rows(draws=40, permutations=99, effects=(0.0, 3.0)))
    person = t[t["design"].str.contains("person permutation")]
    frame = t[t["design"].str.contains("frame chi-square")]
    assert person["false_claim"].dropna().iloc[0] <= 0.15
    assert frame["false_claim"].dropna().iloc[0] >= 0.5  # what counting frames as independent does
    assert person["power"].dropna().iloc[0] >= 0.7
