"""The Corpus: a vocabulary plus padded train/test token tensors, and how to turn ids back into text.

Every data source (synthetic modes, the oracle LSTM, text files) produces this one shape, so variants and
metrics never ask where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor

from ..metrics.catalog import CORPUS_METRICS
from ..tokens import BOS, EOS, PAD, SPECIALS, UNK

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "Corpus", "CorpusError", "pad_rows"]


class CorpusError(ValueError):
    """Bad corpus input (missing/empty/undecodable file, absurd settings). The message says what to fix."""


@dataclass
class Corpus:
    """Token-id data every variant trains on.

    `train`/`test` are LongTensors `[N, L]`: each row is a sentence, then EOS, then PAD up to `seq_len`.
    Corpora without specials (the oracle) set `has_specials=False`: every id is a real token and
    rows are exactly `seq_len` long.
    """

    name: str
    vocab: list[str]
    train: Tensor
    test: Tensor
    spec: dict[str, Any]
    joiner: str = " "
    has_specials: bool = True
    start_id: int = BOS
    info: dict[str, Any] = field(default_factory=dict)
    tokenizer: Any = None  # a `tokenizers.Tokenizer` for BPE corpora, used to decode

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def seq_len(self) -> int:
        return int(self.train.shape[1])

    def describe(self) -> dict[str, Any]:
        """What a run records about its data so it can be rebuilt and checked later."""
        return {
            "name": self.name,
            "vocab_size": self.vocab_size,
            "seq_len": self.seq_len,
            "n_train": int(self.train.shape[0]),
            "n_test": int(self.test.shape[0]),
            **self.info,
        }

    def strip(self, ids: Sequence[int] | Tensor) -> list[int]:
        """Ids of the sentence proper: cut at the first EOS/PAD (for corpora that have them)."""
        row = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        if not self.has_specials:
            return row
        out = []
        for t in row:
            if t in (EOS, PAD):
                break
            if t != BOS:
                out.append(t)
        return out

    def tokens(self, ids: Sequence[int] | Tensor) -> list[str]:
        """The sentence's tokens as strings, without specials (the unit of BLEU and n-gram metrics)."""
        return [self.vocab[t] for t in self.strip(ids)]

    def decode(self, ids: Sequence[int] | Tensor) -> str:
        """Readable text of one sequence."""
        stripped = self.strip(ids)
        if self.tokenizer is not None:
            return self.tokenizer.decode(stripped)
        return self.joiner.join(self.vocab[t] for t in stripped)

    def decode_batch(self, ids: Tensor) -> list[str]:
        return [self.decode(row) for row in ids]

    @property
    def n_labels(self) -> int:
        """How many class labels the sentences carry (0 = unlabelled); label-conditioned variants need them."""
        return 0

    def label_ids(self, tokens: Tensor) -> Tensor | None:
        """Class label of each `[B, L]` row (-1 for a row with none), or None for an unlabelled corpus."""
        return None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The headline metrics this corpus reports (its family's list in textgan.metrics.catalog): modes, the
        oracle, or text (files, COCO, Hub datasets)."""
        return CORPUS_METRICS.get(self.name, CORPUS_METRICS["text"])

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        """Corpus-specific quick metrics on generated `[B, L]` ids (mode coverage, NLL-oracle); none by default."""
        return {}


def pad_rows(rows: Sequence[Sequence[int]], seq_len: int) -> Tensor:
    """Rows of ids -> `[N, seq_len]` with EOS after each sentence and PAD after that."""
    out = torch.full((len(rows), seq_len), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        n = min(len(row), seq_len - 1)
        if n:
            out[i, :n] = torch.tensor(row[:n], dtype=torch.long)
        out[i, n] = EOS
    return out
