"""The mode-collapse meter for corpora whose modes are known exactly (the synthetic `modes` corpus).

The corpus classifies each generated sample to one of `k` modes, or -1 when it belongs to none (invalid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def mode_stats(mode_ids: Sequence[int], k: int) -> dict:
    """Quality and diversity of samples over `k` known modes.

    - `precision`: fraction of samples with a valid mode (id != -1): quality.
    - `coverage`: fraction of the k modes hit at least once: diversity.
    - `entropy`: Shannon entropy of the histogram over modes divided by log(k), in [0, 1]; 1 means the
      valid samples are spread uniformly, 0 means all on one mode (or no valid sample). For k == 1 it is 0.
    - `histogram`: list of k counts.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
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
    entropy = 0.0
    if valid and k > 1:
        h = -sum(c / valid * math.log(c / valid) for c in hist if c)
        entropy = max(0.0, min(1.0, h / math.log(k)))
    return {
        "precision": valid / n if n else 0.0,
        "coverage": sum(1 for c in hist if c) / k,
        "entropy": entropy,
        "histogram": hist,
    }
