"""The collapse meter against hand-computed values: effective modes, JS divergence from the true weights, and
coverage that needs a fair share (not one stray sample)."""

import math

import pytest

from textgan.metrics.modes import FAIR_SHARE, covered_modes, effective_modes, js_divergence, mode_stats


def test_effective_modes_is_exp_entropy():
    assert effective_modes([5, 5, 5, 5]) == pytest.approx(4.0)
    assert effective_modes([9, 0, 0]) == pytest.approx(1.0)
    assert effective_modes([0, 0]) == 0.0
    # shares 1/2, 1/4, 1/4: H = 1.5 ln 2, exp(H) = 2 ** 1.5
    assert effective_modes([2, 1, 1]) == pytest.approx(2 ** 1.5)


def test_js_divergence_in_bits():
    assert js_divergence([1, 1], [3, 3]) == pytest.approx(0.0)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); KL(p||m) = log2(4/3); KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2)
    expect = 0.5 * math.log2(4 / 3) + 0.5 * (0.5 * math.log2(2 / 3) + 0.5)
    assert js_divergence([7, 0], [1, 1]) == pytest.approx(expect)
    assert js_divergence([0, 0], [1, 1]) == 1.0  # no valid sample: as far as can be


def test_one_stray_sample_is_not_coverage():
    # 93 % in one mode and a single stray sample in each other mode: every mode is "hit", few are covered
    counts = [93, 1, 1, 1, 1, 1, 1, 1]
    s = mode_stats([m for m, c in enumerate(counts) for _ in range(c)], k=8)
    assert s["hit"] == 1.0
    assert s["coverage"] == pytest.approx(1 / 8)
    shares = [c / 100 for c in counts]
    assert s["effective"] == pytest.approx(math.exp(-sum(p * math.log(p) for p in shares)))
    assert s["effective"] < 1.5


def test_fair_share_threshold_follows_the_true_weights():
    # true weights 0.8 / 0.2: mode 1 needs >= FAIR_SHARE * 0.2 = 5 % of the valid samples
    assert FAIR_SHARE == 0.25
    assert covered_modes([95, 5], [0.8, 0.2]) == [True, True]
    assert covered_modes([96, 4], [0.8, 0.2]) == [True, False]
    assert covered_modes([0, 0], [0.5, 0.5]) == [False, False]


def test_mode_stats_counts_modes_over_valid_samples_only():
    s = mode_stats([0, 0, 1, 1, -1, -1, -1, -1], k=2)
    assert s["precision"] == pytest.approx(0.5)
    assert s["effective"] == pytest.approx(2.0) and s["divergence"] == pytest.approx(0.0)
    assert s["coverage"] == 1.0 and s["entropy"] == pytest.approx(1.0)
    skewed = mode_stats([0, 0, 1, 1], k=2, weights=[0.9, 0.1])
    assert skewed["divergence"] > 0.1 and skewed["coverage"] == 1.0
    with pytest.raises(ValueError, match="weights"):
        mode_stats([0], k=2, weights=[1.0])
