"""n-gram statistics of generated text: distinct-n, unique-sentence ratio, average length, JS-n.

All functions take already-tokenized sequences (lists of str or int tokens, padding stripped by the caller),
so the same code serves word corpora and token-id corpora.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence

import numpy as np

from textgan.metrics._index import NgramIndex

Seq = Sequence[Hashable]


def ngrams(seq: Seq, n: int) -> Iterator[tuple]:
    """All contiguous n-grams of `seq` as tuples (none when len(seq) < n)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return (tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


def distinct_n(seqs: Sequence[Seq], n: int) -> float:
    """distinct-n (Li et al. 2016): unique n-grams / total n-grams, pooled over all sequences.

    Pooled (corpus-level), not averaged per sentence, so a model that repeats one sentence scores low.
    Returns 0.0 when no sequence is long enough to contain an n-gram.
    """
    seen: set[tuple] = set()
    total = 0
    for s in seqs:
        for g in ngrams(s, n):
            seen.add(g)
            total += 1
    return len(seen) / total if total else 0.0


def unique_ratio(seqs: Sequence[Seq]) -> float:
    """Unique sentences / sentences (0.0 for no sentences): the crudest mode-collapse signal."""
    if not seqs:
        return 0.0
    return len({tuple(s) for s in seqs}) / len(seqs)


def avg_length(seqs: Sequence[Seq]) -> float:
    """Mean number of tokens per sequence (0.0 for no sequences)."""
    if not seqs:
        return 0.0
    return sum(len(s) for s in seqs) / len(seqs)


def js_divergence(generated: Sequence[Seq], reference: Sequence[Seq], n: int) -> float:
    """Jensen-Shannon divergence, in bits (so in [0, 1]), between the n-gram distributions of two corpora.

    Gulrajani et al. (2017, WGAN-GP, language-model evaluation): P(g) = count of n-gram g in the generated
    sentences / all their n-grams, Q likewise for the reference; JS = KL(P||M)/2 + KL(Q||M)/2, M = (P+Q)/2.
    n-grams do not cross sentence boundaries. The estimate is biased upwards for small samples (unseen n-grams
    look like divergence), so only compare values computed on equal sample counts: see `js_n`.
    Returns nan when either corpus has no n-gram of order n.
    """
    return _js_all(generated, reference, [n])[n]


def _js_all(generated: Sequence[Seq], reference: Sequence[Seq], ns: Sequence[int]) -> dict[int, float]:
    """JS-n for several n over one shared n-gram index of both corpora."""
    ix = NgramIndex(list(generated) + list(reference), max_n=max(ns))
    is_gen = ix.flat.sid < len(generated)
    return {n: _js_from_ids(ix.ids[n], is_gen, ix.sizes[n]) for n in ns}


def _js_from_ids(ids: np.ndarray, is_gen: np.ndarray, size: int) -> float:
    p = np.bincount(ids[is_gen & (ids >= 0)], minlength=size).astype(np.float64)
    q = np.bincount(ids[~is_gen & (ids >= 0)], minlength=size).astype(np.float64)
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    kl_pm = np.sum(p[p > 0] * np.log2(p[p > 0] / m[p > 0]))
    kl_qm = np.sum(q[q > 0] * np.log2(q[q > 0] / m[q > 0]))
    return float(min(1.0, max(0.0, (kl_pm + kl_qm) / 2)))


def js_n(generated: Sequence[Seq], reference: Sequence[Seq], ns: Sequence[int] = (1, 2, 3, 4)) -> dict:
    """JS-n for each n in `ns` (keys "js1".."js4"), plus the sample counts the values depend on.

    The result states `n_generated` and `n_reference` because JS-n estimated from samples shrinks as they grow:
    Gulrajani et al. report JS-4 on equal-sized generated and held-out sets.
    """
    out: dict = {f"js{n}": v for n, v in _js_all(generated, reference, ns).items()}
    out["n_generated"], out["n_reference"] = len(generated), len(reference)
    return out
