"""Surface n-gram statistics of generated text: distinct-n, unique-sentence ratio, average length.

All functions take already-tokenized sequences (lists of str or int tokens, padding stripped by the caller),
so the same code serves word corpora and token-id corpora.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence

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
