"""core.evaluation.disparity: sampling variances, Paule-Mandel tau with its Q-profile interval, shrunken means."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation.disparity import (METHOD, corrected_spread, corrected_spread_arrays, sampling_variances,
                                       shrunken_means, tau_interval)


def test_one_frame_clusters_give_the_binomial_cr1_variance() -> None:
    # 3 of 4 frames right, no persons: p = 0.75, CR1 = 4/3 * sum((k - p n)^2) / N^2 = p (1 - p) / (N - 1) = 0.0625,
    # above the pooled (s_b^2 unknown, so at its maximum) pt (1 - pt) / N = 0.7 * 0.3 / 4 = 0.0525
    acc, var = sampling_variances([np.array([1, 1, 1, 0])], [np.ones(4)])
    assert acc.tolist() == [0.75] and var == pytest.approx([0.0625])


def test_pooled_variance_borrows_persons_of_other_groups() -> None:
    k, n = [np.array([1, 1, 1, 0]), np.array([3, 1])], [np.ones(4), np.array([4, 2])]
    acc, var = sampling_variances(k, n)
    assert acc == pytest.approx([0.75, 4 / 6])
    # one-way ANOVA moments over all persons: group 1 adds 0.75 - 3 * 0.1875 to the numerator and
    # 4 - 4/4 - 3 = 0 to the denominator; group 2 (person means 0.75, 0.5) adds 4/144 + 2/36 - 2/9 and 6 - 20/6 - 1
    s_b2 = (0.75 - 3 * 0.1875 + 4 / 144 + 2 / 36 - 2 / 9) / (6 - 20 / 6 - 1)
    pt = 4.5 / 7
    pooled = s_b2 * 20 / 36 + (pt * (1 - pt) - s_b2) / 6
    own = 2 / 1 * ((3 - 4 * 4 / 6) ** 2 + (1 - 2 * 4 / 6) ** 2) / 36  # the group's own CR1, smaller here
    assert own < pooled and var[1] == pytest.approx(pooled)
    assert var[0] == pytest.approx(0.0625)


def test_sampling_variances_are_vectorised_over_leading_axes() -> None:
    k = [np.array([[1, 1, 1, 0], [1, 0, 0, 0]]), np.array([[3, 1], [3, 1]])]
    n = [np.ones((2, 4)), np.array([[4, 2], [4, 2]])]
    acc, var = sampling_variances(k, n)
    assert acc.shape == var.shape == (2, 2)
    assert acc[:, 0].tolist() == [0.75, 0.25]
    one = sampling_variances([k[0][0], k[1][0]], [n[0][0], n[1][0]])
    assert var[0] == pytest.approx(one[1])


def test_sampling_variances_need_one_k_and_one_n_per_group() -> None:
    with pytest.raises(ValueError, match=r"expected one k and one n array per group, received 2 and 1"):
        sampling_variances([np.ones(2), np.ones(2)], [np.ones(2)])
    with pytest.raises(ValueError, match=r"received 0 and 0"):
        sampling_variances([], [])


def test_tau_of_two_precise_groups_is_their_sample_sd() -> None:
    # equal tiny v: Q(tau^2) = 0.18 / (v + tau^2) = G - 1 = 1 gives tau^2 = 0.18, the ddof=1 variance of 0.2 and 0.8
    tau, low, high = tau_interval(np.array([0.2, 0.8]), np.array([1e-6, 1e-6]))
    assert tau == pytest.approx(np.std([0.2, 0.8], ddof=1), rel=1e-3)
    # the lower limit solves Q = chi2(1) 97.5 % quantile 5.0239; the upper one is beyond the grid, capped at the
    # largest sd two accuracies can have, sqrt(1/2)
    assert low == pytest.approx(math.sqrt(0.18 / 5.023886), rel=1e-3)
    assert high == pytest.approx(math.sqrt(0.5))
    assert low < tau < high


def test_agreeing_groups_have_tau_zero_but_an_upper_limit_at_the_cap() -> None:
    # Q(0) = 0 is below the chi2(2) 2.5 % quantile: the Q-profile has no upper limit, so it is the cap
    # sqrt(1 * 2 / (3 * 2)) = 0.577 for 3 groups, not 0
    tau, low, high = tau_interval(np.array([0.5, 0.5, 0.5]), np.full(3, 0.01))
    assert (tau, low) == (0.0, 0.0) and high == pytest.approx(math.sqrt(1 / 3))


def test_noise_sized_differences_do_not_exclude_zero() -> None:
    # a 0.05 difference with sd 0.1 per group: homogeneity is not rejected, so the lower limit is 0
    tau, low, high = tau_interval(np.array([0.45, 0.5]), np.array([0.01, 0.01]))
    assert low == 0.0 and tau == 0.0 and high > 0.05


def test_tau_interval_checks_groups_and_confidence() -> None:
    with pytest.raises(ValueError, match=r"at least 2 groups, received 1"):
        tau_interval(np.array([0.5]), np.array([0.01]))
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match=rf"confidence must be in \(0, 1\), received {bad}"):
            tau_interval(np.array([0.4, 0.6]), np.array([0.01, 0.01]), confidence=bad)


def test_shrunken_means_move_between_the_weighted_mean_and_the_estimates() -> None:
    a, v = np.array([0.2, 0.8]), np.array([0.01, 0.03])
    # tau = 0: every group is the inverse-variance weighted mean (100 * 0.2 + 33.3 * 0.8) / 133.3 = 0.35
    assert shrunken_means(a, v, np.array(0.0)) == pytest.approx([0.35, 0.35])
    assert shrunken_means(a, v, np.array(100.0)) == pytest.approx(a, abs=1e-5)
    mid = shrunken_means(a, v, np.array(0.1))
    # the noisier group (v = 0.03) is pulled further: 0.01 / 0.02 of the way vs 0.03 / 0.04
    mw = (0.2 / 0.02 + 0.8 / 0.04) / (1 / 0.02 + 1 / 0.04)
    assert mid == pytest.approx([mw + 0.5 * (0.2 - mw), mw + 0.25 * (0.8 - mw)])


def test_gap_and_ratio_intervals_follow_from_tau_by_popoviciu() -> None:
    a, v = np.array([0.3, 0.6, 0.9]), np.full(3, 0.001)
    res = corrected_spread_arrays(a, v)
    tau, lo, hi = tau_interval(a, v)
    assert res["std_corrected"] == tau and res["std_corrected_ci_low"] == lo
    assert res["gap_corrected_ci_low"] == pytest.approx(min(2 * math.sqrt(2 / 3) * lo, 1.0))
    assert res["gap_corrected_ci_high"] == pytest.approx(min(2 * hi, 1.0))  # sqrt(2 (G - 1)) = 2
    for key in ("std", "gap", "ratio"):
        assert res[f"{key}_corrected_ci_low"] <= res[f"{key}_corrected"] <= res[f"{key}_corrected_ci_high"]
    top = shrunken_means(a, v, tau).max()
    assert res["ratio_corrected"] == pytest.approx(1 - res["gap_corrected"] / top)


def test_corrected_spread_from_counts() -> None:
    k = [np.array([30, 30]), np.array([10, 10]), np.array([20, 20])]
    out = corrected_spread(k, [np.array([40, 40])] * 3)
    assert out["disparity_method"] == METHOD
    assert 0 < out["std_corrected_ci_low"] < out["std_corrected"] < 0.25  # true sd of 0.75, 0.25, 0.5
    assert isinstance(out["gap_corrected"], float)
    single = corrected_spread([np.array([30, 30])], [np.array([40, 40])])
    assert single["disparity_method"] == METHOD
    assert all(math.isnan(single[f"{key}{end}"]) for key in ("std_corrected", "gap_corrected", "ratio_corrected")
               for end in ("", "_ci_low", "_ci_high"))
