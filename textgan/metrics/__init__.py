"""Evaluation metrics: pure functions over token sequences (or strings), plus temperature sweeps.

Importing this package is cheap: heavy dependencies (transformers for FED, the run engine for sweeps) are
imported inside the functions that need them.
"""

from textgan.metrics.modes import mode_stats
from textgan.metrics.ngram import avg_length, distinct_n, unique_ratio

__all__ = ["avg_length", "distinct_n", "mode_stats", "unique_ratio"]
