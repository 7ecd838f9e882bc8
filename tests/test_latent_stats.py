"""Composition tables, independence tests, linear probe and KMeans curves (no model needed).

Group labels come from the real UTKFace file names (300 faces per race) in
../shared/data/utkface; clusters are planted from them or shuffled.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import load_utkface
from core.latent import (ClusterConfig, check_k, composition, fit_kmeans, independence_test, kmeans_curves,
                         linear_probe)


@pytest.fixture(scope="module")
def utk(utkface_dir) -> pd.DataFrame:
    return load_utkface(utkface_dir)


def _planted_clusters(race: pd.Series, strength: float, seed: int = 0) -> np.ndarray:
    """Cluster = the race's index with probability ``strength``, else a random cluster of 4."""
    rng = np.random.default_rng(seed)
    codes = pd.factorize(race, sort=True)[0] % 4
    random = rng.integers(0, 4, len(race))
    return np.where(rng.random(len(race)) < strength, codes, random)


def test_utkface_fixture_has_300_per_race(utk):
    assert utk["race"].value_counts().to_dict() == {r: 300 for r in ("White", "Black", "Asian", "Indian", "Others")}


def test_composition_sums(utk):
    clusters = _planted_clusters(utk["race"], 0.5)
    comp = composition(clusters, utk["race"], "race")
    assert int(comp.counts["n"].sum()) == len(utk) == 1500
    np.testing.assert_allclose(comp.row_percent.sum(axis=1), 100.0)
    np.testing.assert_array_equal(comp.counts.drop(columns="n").sum(axis=1), comp.counts["n"])
    np.testing.assert_allclose(comp.overall_percent.to_numpy(), 20.0)  # 300 of each race
    assert comp.overall_percent.sum() == pytest.approx(100.0)
    table = comp.table()
    assert list(table.index)[-1] == "All" and int(table.loc["All", "n"]) == 1500
    # lift: row share / overall share, so the count-weighted mean lift of each group is 1
    weights = comp.counts["n"] / comp.counts["n"].sum()
    np.testing.assert_allclose((comp.lift.mul(weights, axis=0)).sum(axis=0), 1.0)
    d = comp.to_dict()
    assert set(d["groups"]) == {"White", "Black", "Asian", "Indian", "Others"}
    assert sum(sum(v.values()) for v in d["counts"].values()) == 1500


def test_composition_leaves_out_missing_values_and_counts_them():
    comp = composition([0, 0, 1, 1, 1], ["A", None, "B", "A", ""], "race")
    assert comp.n_missing == 2 and int(comp.counts["n"].sum()) == 3
    with pytest.raises(ValueError, match="same length"):
        composition([0, 1], ["A"], "race")
    with pytest.raises(ValueError, match="no sample has a value"):
        composition([0, 1], [None, None], "race")


def test_independence_detects_planted_dependence(utk):
    clusters = _planted_clusters(utk["race"], 0.6)
    res = independence_test(clusters, utk["race"], "race", n_permutations=499, seed=1)
    assert res.n == 1500 and res.n_clusters == 4 and res.n_groups == 5 and res.dof == 12
    assert res.chi2_p < 1e-12
    assert res.permutation_p == pytest.approx(1 / 500)  # no shuffle reaches the observed statistic
    assert res.cramers_v > 0.4 and res.cramers_v_corrected <= res.cramers_v
    assert res.ami > 0.1
    # a weaker planted dependence gives a smaller effect size
    weak = independence_test(_planted_clusters(utk["race"], 0.2), utk["race"], "race", n_permutations=0)
    assert weak.cramers_v < res.cramers_v and np.isnan(weak.permutation_p)


def test_independence_on_shuffled_labels_finds_nothing(utk):
    clusters = _planted_clusters(utk["race"], 0.6)
    rng = np.random.default_rng(7)
    p_values, perm_p = [], []
    for _ in range(20):
        shuffled = rng.permutation(utk["race"].to_numpy())
        res = independence_test(clusters, shuffled, "race", n_permutations=199, seed=int(rng.integers(1 << 30)))
        assert res.cramers_v < 0.1 and abs(res.ami) < 0.01
        p_values.append(res.chi2_p)
        perm_p.append(res.permutation_p)
    # under independence p-values are uniform: few are small, and both tests agree
    assert np.mean(np.array(p_values) < 0.05) <= 0.2
    assert np.median(p_values) > 0.2
    assert np.max(np.abs(np.array(p_values) - np.array(perm_p))) < 0.12


def test_independence_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 clusters and 2 race groups"):
        independence_test([0, 0, 1, 1], ["A", "A", "A", "A"], "race")
    with pytest.raises(ValueError, match="n_permutations"):
        independence_test([0, 1], ["A", "B"], "race", n_permutations=-1)


def test_linear_probe_planted_and_shuffled(utk):
    rng = np.random.default_rng(0)
    codes = pd.factorize(utk["race"], sort=True)[0]
    x = rng.normal(size=(len(utk), 64)).astype(np.float32)
    x[:, :5] += 1.5 * np.eye(5)[codes]  # race is linearly readable from 5 dimensions
    res = linear_probe(x, utk["race"], "race", folds=5, pca_dims=None)
    assert res.n == 1500 and res.n_classes == 5 and res.folds == 5
    assert res.baseline_accuracy == pytest.approx(0.2, abs=0.02)  # balanced races: majority class is 20%
    assert res.accuracy > res.baseline_accuracy + 0.3
    assert res.balanced_accuracy > res.chance_balanced_accuracy + 0.3
    shuffled = linear_probe(x, rng.permutation(utk["race"].to_numpy()), "race", folds=5, pca_dims=16)
    assert abs(shuffled.accuracy - shuffled.baseline_accuracy) < 0.06


def test_linear_probe_groups_persons_and_bad_inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8))
    y = np.repeat(["A", "B"], 30)
    persons = np.repeat(np.arange(12), 5)
    res = linear_probe(x, y, "race", persons=persons, folds=3, pca_dims=None)
    assert res.grouped_by == "person" and res.folds == 3
    with pytest.raises(ValueError, match="at least 2 race groups"):
        linear_probe(x, ["A"] * 60, "race")
    with pytest.raises(ValueError, match="at least 2 samples"):
        linear_probe(x[:31], list(y[:30]) + ["B"], "race")
    with pytest.raises(ValueError, match="values for 60 embedding rows"):
        linear_probe(x, y[:10], "race")


def test_kmeans_curves_and_k_range():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=10, size=(3, 16))
    x = np.concatenate([c + rng.normal(size=(40, 16)) for c in centers])
    cfg = ClusterConfig(normalize="none", pca_dims=None)
    curves = kmeans_curves(x, range(2, 7), cfg)
    assert list(curves["k"]) == [2, 3, 4, 5, 6]
    assert curves["inertia"].is_monotonic_decreasing
    assert int(curves.loc[curves["silhouette"].idxmax(), "k"]) == 3  # the planted number of blobs
    res = fit_kmeans(x, 3, cfg)
    assert sorted(res.sizes) == [40, 40, 40] and len(np.unique(res.labels)) == 3
    for bad in (1, 120, 0, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            fit_kmeans(x, bad, cfg)
    with pytest.raises(ValueError, match="at least 3 samples"):
        check_k(2, 2)
    with pytest.raises(ValueError, match="k must be between 2 and 119"):
        kmeans_curves(x, [2, 500], cfg)


def _person_design(seed: int, effect: float, persons: int = 40, frames: int = 20):
    """Person-specific embedding clusters; race is a person-level property; clusters = sign of two axes."""
    rng = np.random.default_rng(seed)
    race = rng.permutation(np.repeat(["Black", "White"], persons // 2))
    centres = rng.normal(0, 1, (persons, 2))
    centres[:, 0] += effect * (race == "Black")
    x = np.repeat(centres, frames, axis=0) + rng.normal(0, 0.3, (persons * frames, 2))
    clusters = (x[:, 0] > 0).astype(int) * 2 + (x[:, 1] > 0).astype(int)
    return clusters, np.repeat(race, frames), np.repeat([f"p{i}" for i in range(persons)], frames)


def test_independence_by_person_keeps_its_size_and_power():
    null_p, frame_p, power_p = [], [], []
    for seed in range(30):
        c, g, ids = _person_design(seed, 0.0)
        res = independence_test(c, g, "race", n_permutations=199, seed=seed, persons=ids)
        assert res.permutation_unit == "person" and res.n_persons == 40 and not res.chi2_valid
        null_p.append(res.permutation_p)
        frame_p.append(res.chi2_p)
        c, g, ids = _person_design(seed, 3.0)
        power_p.append(independence_test(c, g, "race", n_permutations=199, seed=seed, persons=ids).permutation_p)
    assert np.mean(np.array(null_p) < 0.05) <= 0.15
    assert np.mean(np.array(frame_p) < 0.05) >= 0.5  # frames counted as independent: false "dependence"
    assert np.mean(np.array(power_p) < 0.05) >= 0.8


def test_independence_numbers_match_scipy_and_units():
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import association

    c = [0, 0, 1, 1, 1, 2, 2, 0, 1, 2, 2, 2]
    g = ["A", "B", "A", "A", "B", "B", "B", "A", "A", "B", "A", "B"]
    res = independence_test(c, g, "race", n_permutations=0)
    table = pd.crosstab(pd.Series(c), pd.Series(g)).to_numpy()
    assert res.chi2 == pytest.approx(chi2_contingency(table, correction=False)[0])
    assert res.chi2 == pytest.approx(47 / 15)  # by hand: table [[2,1],[3,1],[1,4]], expected [[1.5]*2,[2]*2,[2.5]*2]
    assert res.cramers_v == pytest.approx(association(table, method="cramer", correction=False))
    assert res.chi2_valid and res.permutation_unit == "frame"
    # an attribute that varies within persons cannot be shuffled by person
    mixed = independence_test(c, g, "race", n_permutations=20, persons=["p1"] * 6 + ["p2"] * 6)
    assert mixed.permutation_unit == "frame" and not mixed.chi2_valid


def _pinned_design() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """30 persons x 6 frames; each person mostly in a favourite cluster; vectors shifted by race."""
    rng = np.random.default_rng(7)
    persons = np.repeat([f"p{i:02d}" for i in range(30)], 6)
    race = np.repeat(rng.choice(["Black", "Mixed", "White"], 30, p=[0.3, 0.2, 0.5]), 6)
    codes = pd.factorize(race, sort=True)[0]
    favourite = np.repeat(rng.integers(0, 4, 30), 6)
    clusters = np.where(rng.random(len(race)) < 0.7, favourite, rng.integers(0, 4, len(race)))
    vectors = rng.normal(size=(len(race), 12)) + codes[:, None] * 0.4
    return persons, race, clusters, vectors


def test_independence_numbers_are_pinned():
    """Exact numbers of one design, frame- and person-level (held fixed when the implementation changes)."""
    persons, race, clusters, _ = _pinned_design()
    common = {"chi2": 25.454754270129104, "chi2_p": 0.0002811991831821792, "dof": 6,
              "cramers_v": 0.2659091024210315, "cramers_v_corrected": 0.23357537266081696,
              "ami": 0.046090357309313525, "min_expected": 6.333333333333333, "share_expected_below_5": 0.0}
    for kw, unit, perm_p in (({}, "frame", 0.002), ({"persons": persons}, "person", 0.278)):
        res = independence_test(clusters, race, "race", n_permutations=499, seed=3, **kw)
        assert res.permutation_unit == unit and res.permutation_p == pytest.approx(perm_p, abs=1e-12)
        for key, value in common.items():
            assert getattr(res, key) == pytest.approx(value, rel=1e-9), key


def test_linear_probe_numbers_are_pinned():
    """Exact fold means of one design, with and without person ids."""
    persons, race, _, vectors = _pinned_design()
    pinned = {
        None: (0.7055555555555556, 0.07264831572567791, 0.5554945054945055, 0.060690095064724496,
               0.5666666666666667),
        "person": (0.7008928571428571, 0.06917642439981823, 0.5548611111111111, 0.045021214135363176,
                   0.5669642857142857),
    }
    for unit, expected in pinned.items():
        res = linear_probe(vectors, race, "race", folds=4, persons=persons if unit else None, pca_dims=8, seed=1)
        got = (res.accuracy, res.accuracy_std, res.balanced_accuracy, res.balanced_accuracy_std,
               res.baseline_accuracy)
        assert res.folds == 4 and got == pytest.approx(expected, rel=1e-9), unit


def test_permutation_p_has_the_definition_of_scipy_permutation_test():
    """Same statistic and p-value definition as scipy.stats.permutation_test; only the random stream differs."""
    from scipy.stats import permutation_test

    from core.latent.stats import _chi2_of_tables

    persons, race, clusters, _ = _pinned_design()
    c_codes = pd.factorize(pd.Series(clusters), sort=True)[0]
    g_codes = pd.factorize(pd.Series(race), sort=True)[0]
    units = pd.factorize(pd.Series(persons))[0]
    unit_group = g_codes[np.unique(units, return_index=True)[1]]
    per_unit = np.zeros((units.max() + 1, c_codes.max() + 1))
    np.add.at(per_unit, (units, c_codes), 1.0)
    eye = np.eye(g_codes.max() + 1)

    def chi2_of(groups, axis=-1):
        return _chi2_of_tables(np.einsum("ur,...uk->...rk", per_unit, eye[np.asarray(groups)]))

    res = independence_test(clusters, race, "race", n_permutations=499, seed=3, persons=persons)
    sp = permutation_test((unit_group,), chi2_of, permutation_type="pairings", n_resamples=499, vectorized=True,
                          alternative="greater", rng=np.random.default_rng(3))
    assert sp.statistic == pytest.approx(res.chi2, rel=1e-12)
    assert sp.pvalue == pytest.approx(0.28, abs=1e-12)  # scipy's own shuffles; the pinned value is 0.278
    assert abs(sp.pvalue - res.permutation_p) < 3 * np.sqrt(0.28 * 0.72 / 499)  # within Monte Carlo error
    assert sp.pvalue * 500 == pytest.approx(round(sp.pvalue * 500))  # (1 + k) / (1 + n_permutations)
