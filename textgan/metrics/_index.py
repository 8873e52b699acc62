"""Exact, vectorized n-gram ids for a corpus of token sequences (shared by BLEU, Self-BLEU and JS-n).

Why not hash n-grams into int64? With a 5k vocabulary a 5-gram needs 65 bits, and a hash can collide, so the
scores would only be "probably" equal to nltk's. Instead n-gram ids are built one order at a time: the id of a
k-gram is the rank of the pair (id of its (k-1)-gram prefix, its last token) among the distinct pairs of the
indexed corpus. The pair fits in int64 (< positions * vocab), and the ids are exact and dense.

Notation: T = total tokens of a corpus (all sentences concatenated), S = sentences, G_k = distinct k-grams.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

UNSEEN = -1  # id of a token / n-gram that the indexed corpus does not contain (or an invalid position)


@dataclass(frozen=True)
class Flat:
    """A corpus flattened to one token array."""

    tok: np.ndarray  # (T,) int64 token ids, UNSEEN for tokens outside the vocabulary
    sid: np.ndarray  # (T,) int64 sentence index of each token
    lens: np.ndarray  # (S,) int64 sentence lengths


def flatten(seqs: Sequence[Sequence[Hashable]], vocab: dict, grow: bool) -> Flat:
    """Map tokens to ints through `vocab` (adding new tokens when `grow`, else UNSEEN)."""
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    if grow:
        get = vocab.setdefault
        ids = [get(t, len(vocab)) for s in seqs for t in s]
    else:
        get = vocab.get
        ids = [get(t, UNSEEN) for s in seqs for t in s]
    tok = np.asarray(ids, dtype=np.int64).reshape(-1)
    sid = np.repeat(np.arange(len(seqs), dtype=np.int64), lens)
    return Flat(tok, sid, lens)


def _pair_keys(prev: np.ndarray, flat: Flat, k: int, vocab_size: int) -> np.ndarray:
    """(T,) int64 key of the k-gram starting at each position, UNSEEN where there is none (or it is unseen)."""
    T = len(flat.tok)
    keys = np.full(T, UNSEEN, dtype=np.int64)
    if T < k:
        return keys
    head = prev[: T - k + 1]  # (k-1)-gram id at p
    last = flat.tok[k - 1 :]  # token at p+k-1
    ok = (head >= 0) & (last >= 0) & (flat.sid[: T - k + 1] == flat.sid[k - 1 :])
    keys[: T - k + 1][ok] = head[ok] * vocab_size + last[ok]
    return keys


class NgramIndex:
    """Dense ids of all 1..max_n-grams of a corpus; other corpora can be looked up against it.

    `ids[k]` is a (T,) array giving the id of the k-gram starting at each position of the indexed corpus
    (UNSEEN where the sentence ends before k tokens); `sizes[k]` is G_k.
    """

    def __init__(self, seqs: Sequence[Sequence[Hashable]], max_n: int):
        if max_n < 1:
            raise ValueError(f"max_n must be >= 1, got {max_n}")
        self.max_n = max_n
        self.vocab: dict = {}
        self.flat = flatten(seqs, self.vocab, grow=True)
        self.vocab_size = max(len(self.vocab), 1)
        self._keys: dict[int, np.ndarray] = {}  # k -> sorted distinct pair keys (k >= 2)
        self.ids: dict[int, np.ndarray] = {1: self.flat.tok}
        self.sizes: dict[int, int] = {1: len(self.vocab)}
        for k in range(2, max_n + 1):
            keys = _pair_keys(self.ids[k - 1], self.flat, k, self.vocab_size)
            valid = keys >= 0
            uniq, inv = np.unique(keys[valid], return_inverse=True)
            ids = np.full_like(keys, UNSEEN)
            ids[valid] = inv
            self._keys[k], self.ids[k], self.sizes[k] = uniq, ids, len(uniq)

    def lookup(self, seqs: Sequence[Sequence[Hashable]]) -> tuple[Flat, dict[int, np.ndarray]]:
        """Flatten `seqs` and give each position's k-gram id in this index (UNSEEN if absent), k = 1..max_n."""
        flat = flatten(seqs, self.vocab, grow=False)
        ids = {1: flat.tok}
        for k in range(2, self.max_n + 1):
            keys = _pair_keys(ids[k - 1], flat, k, self.vocab_size)
            uniq = self._keys[k]
            out = np.full_like(keys, UNSEEN)
            valid = np.flatnonzero(keys >= 0)
            if len(uniq) and len(valid):
                pos = np.searchsorted(uniq, keys[valid]).clip(max=len(uniq) - 1)
                hit = uniq[pos] == keys[valid]
                out[valid[hit]] = pos[hit]
            ids[k] = out
        return flat, ids


def sentence_counts(sid: np.ndarray, gid: np.ndarray, n_ids: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (sentence, n-gram) pairs among positions with gid >= 0, and how often each occurs.

    Returns (s, g, c), sorted by sentence then n-gram id.
    """
    m = gid >= 0
    key = sid[m] * max(n_ids, 1) + gid[m]
    uniq, cnt = np.unique(key, return_counts=True)
    return uniq // max(n_ids, 1), uniq % max(n_ids, 1), cnt
