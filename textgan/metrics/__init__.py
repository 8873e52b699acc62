"""Evaluation metrics: pure functions over token sequences (or strings). Temperature sweeps, which drive a model,
live in `textgan.experiments.temperature`.

Sequences are lists of tokens (str or int) that the caller has tokenized and stripped of padding.
Importing this package is cheap (numpy only): heavy dependencies (transformers for FED) are
imported inside the functions that need them.
"""

from textgan.metrics.bleu import ReferenceIndex, bleu
from textgan.metrics.frechet import fed, frechet_distance
from textgan.metrics.modes import mode_stats
from textgan.metrics.ngram import avg_length, distinct_n, js_divergence, js_n, unique_ratio
from textgan.metrics.nll import nll_gen, nll_oracle
from textgan.metrics.self_bleu import self_bleu, self_bleu_scores

__all__ = [
    "ReferenceIndex",
    "avg_length",
    "bleu",
    "distinct_n",
    "fed",
    "frechet_distance",
    "js_divergence",
    "js_n",
    "mode_stats",
    "nll_gen",
    "nll_oracle",
    "self_bleu",
    "self_bleu_scores",
    "unique_ratio",
]
