import math

import pytest

from textgan.metrics import avg_length, distinct_n, mode_stats, unique_ratio


def test_distinct_n_hand_computed():
    seqs = [["a", "b", "a", "b"], ["a", "b", "c"]]
    # bigrams: ab ba ab | ab bc -> 5 total, 3 unique
    assert distinct_n(seqs, 2) == pytest.approx(3 / 5)
    # unigrams: 7 total, 3 unique
    assert distinct_n(seqs, 1) == pytest.approx(3 / 7)
    assert distinct_n(seqs, 4) == pytest.approx(1.0)
    assert distinct_n(seqs, 5) == 0.0
    assert distinct_n([], 1) == 0.0
    assert distinct_n([[1, 2, 3], [1, 2]], 2) == pytest.approx(2 / 3)


def test_unique_ratio_and_avg_length():
    seqs = [[1, 2], [1, 2], [3], []]
    assert unique_ratio(seqs) == pytest.approx(3 / 4)
    assert avg_length(seqs) == pytest.approx(5 / 4)
    assert unique_ratio([]) == 0.0 and avg_length([]) == 0.0


def test_mode_stats():
    s = mode_stats([0, 0, 1, -1], k=4)
    assert s["precision"] == pytest.approx(0.75)
    assert s["coverage"] == pytest.approx(0.5)
    assert s["histogram"] == [2, 1, 0, 0]
    p = [2 / 3, 1 / 3]
    assert s["entropy"] == pytest.approx(-sum(x * math.log(x) for x in p) / math.log(4))
    assert mode_stats([0, 1, 2, 3], k=4)["entropy"] == pytest.approx(1.0)
    assert mode_stats([2, 2, 2], k=4)["entropy"] == 0.0
    none = mode_stats([-1, -1], k=3)
    assert none == {"precision": 0.0, "effective": 0.0, "divergence": 1.0, "coverage": 0.0, "hit": 0.0,
                    "entropy": 0.0, "histogram": [0, 0, 0]}
    with pytest.raises(ValueError, match="outside"):
        mode_stats([5], k=3)
