"""Evaluation metrics: pure functions over token sequences (or strings), plus temperature sweeps.

Importing this package is cheap: heavy dependencies (transformers for FED, the run engine for sweeps) are
imported inside the functions that need them.
"""

from textgan.metrics.bleu import ReferenceIndex, bleu
from textgan.metrics.modes import mode_stats
from textgan.metrics.ngram import avg_length, distinct_n, unique_ratio
from textgan.metrics.self_bleu import self_bleu, self_bleu_scores

__all__ = [
    "ReferenceIndex",
    "avg_length",
    "bleu",
    "distinct_n",
    "mode_stats",
    "self_bleu",
    "self_bleu_scores",
    "unique_ratio",
]
