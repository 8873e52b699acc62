"""Self-BLEU-n (Zhu et al. 2018, Texygen): how similar the generated sentences are to each other.

Definition: for each generated sentence h_i, nltk's `sentence_bleu(others, h_i, weights=(1/n,)*n,
smoothing_function=method1)` with `others` = all generated sentences **except h_i** (leave-one-out), averaged
over i. Higher means less diverse. Texygen's implementation scores h_i against a list that still contains h_i
(so every n-gram matches itself) and caches its reference list across calls (Texygen issues #46, #27); both
inflate or freeze the score, and we do neither.

Leave-one-out made exact and fast: for every n-gram we keep the largest per-sentence count, which sentence holds
it, and the second largest count (over other sentences). The max count over "all sentences but i" is then the
second largest if i holds the largest, else the largest. Likewise the closest reference length leaves out one
occurrence of |h_i| from the length histogram. BLEU arithmetic is shared with `bleu.py`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from textgan.metrics._index import NgramIndex, sentence_counts
from textgan.metrics.bleu import combine, ngram_denominators

Seqs = Sequence[Sequence[Hashable]]


def _top2(s: np.ndarray, g: np.ndarray, c: np.ndarray, size: int):
    """Per n-gram id: largest count, a sentence holding it, and the second largest count (0 if none)."""
    order = np.lexsort((-c, g))  # by n-gram, then count descending
    gs, cs, ss = g[order], c[order], s[order]
    top1 = np.zeros(size, dtype=np.int64)
    holder = np.full(size, -1, dtype=np.int64)
    top2 = np.zeros(size, dtype=np.int64)
    if len(gs) == 0:
        return top1, holder, top2
    first = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    top1[gs[first]], holder[gs[first]] = cs[first], ss[first]
    nxt = first + 1
    has2 = nxt < len(gs)
    has2[has2] = gs[nxt[has2]] == gs[first[has2]]
    top2[gs[first[has2]]] = cs[nxt[has2]]
    return top1, holder, top2


def _closest_other_lengths(lens: np.ndarray) -> np.ndarray:
    """For each sentence, the length among the *other* sentences closest to its own (ties: shorter)."""
    ul, uc = np.unique(lens, return_counts=True)
    idx = np.searchsorted(ul, lens)
    big = np.iinfo(np.int64).max // 4
    lo = np.where(idx > 0, ul[np.clip(idx - 1, 0, None)], -big)
    hi = np.where(idx + 1 < len(ul), ul[np.clip(idx + 1, None, len(ul) - 1)], big)
    nearest = np.where(lens - lo <= hi - lens, lo, hi)
    return np.where(uc[idx] >= 2, lens, nearest)


def self_bleu_counts(sentences: Seqs, max_n: int):
    """Leave-one-out clipped matches (S, max_n), denominators (S, max_n), lengths and closest other lengths."""
    S = len(sentences)
    if S < 2:
        raise ValueError(f"Self-BLEU needs at least 2 sentences (each is scored against the others); got {S}")
    ix = NgramIndex(sentences, max_n)
    num = np.zeros((S, max_n), dtype=np.int64)
    for k in range(1, max_n + 1):
        s, g, c = sentence_counts(ix.flat.sid, ix.ids[k], ix.sizes[k])
        top1, holder, top2 = _top2(s, g, c, ix.sizes[k])
        others_max = np.where(holder[g] == s, top2[g], top1[g])
        num[:, k - 1] = np.bincount(s, weights=np.minimum(c, others_max), minlength=S)
    lens = ix.flat.lens
    return num, ngram_denominators(lens, max_n), lens, _closest_other_lengths(lens)


def self_bleu_scores(sentences: Seqs, n: int = 4) -> np.ndarray:
    """(S,) leave-one-out BLEU-n of each sentence against all the others."""
    return combine(*self_bleu_counts(sentences, n), n)


def self_bleu(sentences: Seqs, n: int | Iterable[int] = 4) -> float | dict[int, float]:
    """Mean leave-one-out Self-BLEU-n; for several orders (e.g. n=(2, 3, 4, 5)) a dict {n: Self-BLEU-n}."""
    ns = [n] if isinstance(n, int) else list(n)
    counts = self_bleu_counts(sentences, max(ns))
    out = {k: float(combine(*counts, k).mean()) for k in ns}
    return out[n] if isinstance(n, int) else out
