"""The mode-collapse meter for corpora whose modes are known exactly (the synthetic `modes` corpus).

The corpus classifies each generated sample to one of `k` modes, or -1 when it belongs to none (invalid).
Quality and diversity are kept apart: `precision` counts the valid samples; everything about modes (effective
modes, coverage, divergence, entropy) is computed over the valid samples only, so a generator that writes half
nonsense but spreads its good sentences evenly is not called collapsed, and one that writes perfect sentences of
one mode is.

Why the headline is the effective number of modes rather than coverage: a generator with 93 % of its samples in
one mode and a handful of stray samples in the seven others "hits" all eight modes, yet writes like a one-mode
model. exp(entropy) says ~1.3 modes for it, and `coverage` below only counts a mode that holds a fair share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FAIR_SHARE = 0.25
"""A mode is *covered* when its share of the valid samples is at least this fraction of its true weight (with
uniform weights over 8 modes: at least 1/32 ≈ 3.1 % of the valid samples instead of the true 12.5 %). One stray
sample in 500 is not coverage."""


def effective_modes(counts: Sequence[float]) -> float:
    """exp(Shannon entropy) of the histogram: the number of equally likely modes with the same entropy.
    k for a uniform spread over k modes, 1 for one mode, 0 when there is no sample at all."""
    total = float(sum(counts))
    if total <= 0:
        return 0.0
    h = -sum(c / total * math.log(c / total) for c in counts if c > 0)
    return math.exp(h)


def js_divergence(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint) between two histograms over the
    same modes; each is normalised first. Unlike KL it stays finite when the generator drops a mode."""
    sp, sq = float(sum(p)), float(sum(q))
    if sp <= 0 or sq <= 0:
        return 1.0
    p = [x / sp for x in p]
    q = [x / sq for x in q]

    def kl(a, b):
        return sum(x * math.log2(x / y) for x, y in zip(a, b) if x > 0)

    m = [(x + y) / 2 for x, y in zip(p, q)]
    return max(0.0, min(1.0, 0.5 * kl(p, m) + 0.5 * kl(q, m)))


def covered_modes(counts: Sequence[float], weights: Sequence[float], fair_share: float = FAIR_SHARE) -> list[bool]:
    """Per mode: does it hold at least `fair_share` of its true weight among the samples in `counts`?"""
    total = float(sum(counts))
    wsum = float(sum(weights))
    if total <= 0:
        return [False] * len(counts)
    return [c / total >= fair_share * w / wsum and c > 0 for c, w in zip(counts, weights)]


def mode_stats(mode_ids: Sequence[int], k: int, weights: Sequence[float] | None = None) -> dict:
    """Quality and diversity of samples over `k` known modes whose true weights are `weights` (uniform if None).

    - `precision`: fraction of samples with a valid mode (id != -1): quality.
    - `effective`: effective number of modes, exp(entropy) of the valid samples' histogram, in [0, k]: the
      headline of diversity.
    - `divergence`: Jensen-Shannon divergence (bits, [0, 1]) between the valid samples' mode shares and the true
      weights; 1 when there is no valid sample.
    - `coverage`: fraction of the k modes that are covered (hold a fair share, see FAIR_SHARE).
    - `hit`: fraction of the k modes with at least one sample (the old, lenient coverage).
    - `entropy`: Shannon entropy of the histogram divided by log(k), in [0, 1]; 0 for k == 1 or no valid sample.
    - `histogram`: list of k counts.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    weights = [1.0 / k] * k if weights is None else list(weights)
    if len(weights) != k:
        raise ValueError(f"{len(weights)} weights for {k} modes")
    hist = [0] * k
    n = 0
    for m in mode_ids:
        m = int(m)
        n += 1
        if m == -1:
            continue
        if not 0 <= m < k:
            raise ValueError(f"mode id {m} outside [0, {k}) and not -1 (invalid)")
        hist[m] += 1
    valid = sum(hist)
    eff = effective_modes(hist)
    entropy = max(0.0, min(1.0, math.log(eff) / math.log(k))) if valid and k > 1 else 0.0
    return {
        "precision": valid / n if n else 0.0,
        "effective": eff,
        "divergence": js_divergence(hist, weights),
        "coverage": sum(covered_modes(hist, weights)) / k,
        "hit": sum(1 for c in hist if c) / k,
        "entropy": entropy,
        "histogram": hist,
    }
