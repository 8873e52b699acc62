"""`oracle`: the synthetic benchmark of SeqGAN (Yu et al. 2017).

A randomly initialised LSTM (every parameter drawn from N(0, 1), fixed seed) plays the real data distribution.
Generated text is scored by the oracle's own negative log-likelihood (NLL-oracle), which no text corpus can give.
SeqGAN's oracle: vocabulary 5000, embedding 32, hidden 32, length 20, 10,000 training sequences; we also sample
a 5,000-sequence test split for NLL-gen. Token 0 is the start token, as in SeqGAN; there is no padding or EOS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..nets.rnn import RNNGenerator, RNNGeneratorConfig
from .base import Corpus, CorpusError


class OracleCorpus(Corpus):
    def __init__(self, vocab_size: int = 5000, seq_len: int = 20, emb_dim: int = 32, hidden: int = 32,
                 n_train: int = 10_000, n_test: int = 5_000, seed: int = 0) -> None:
        if vocab_size < 2 or seq_len < 2 or emb_dim < 1 or hidden < 1:
            raise CorpusError(f"oracle: need vocab_size>=2, seq_len>=2, emb_dim>=1, hidden>=1 "
                              f"(got {vocab_size}, {seq_len}, {emb_dim}, {hidden})")
        if n_train < 1 or n_test < 1:
            raise CorpusError(f"oracle: n_train and n_test must be >= 1 (got {n_train}, {n_test})")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.oracle = RNNGenerator(RNNGeneratorConfig("lstm", emb_dim, hidden), vocab_size, seq_len, start_id=0)
            for p in self.oracle.parameters():
                torch.nn.init.normal_(p, 0.0, 1.0)
        self.oracle.requires_grad_(False).eval()
        rng = torch.Generator().manual_seed(seed)
        # Gumbel-max draws exactly the oracle's categorical distribution, 3x faster than `multinomial` on a
        # CPU at V=5000; batched to bound memory at large vocabularies.
        data = torch.cat([self.oracle.sample(min(2500, n_train + n_test - i), rng=rng)
                          for i in range(0, n_train + n_test, 2500)])
        spec = {"kind": "oracle", "vocab_size": vocab_size, "seq_len": seq_len, "emb_dim": emb_dim,
                "hidden": hidden, "n_train": n_train, "n_test": n_test, "seed": seed}
        super().__init__(name="oracle", vocab=[str(i) for i in range(vocab_size)], train=data[:n_train],
                         test=data[n_train:], spec=spec, has_specials=False, start_id=0)

    @torch.no_grad()
    def nll(self, tokens: Tensor, batch_size: int = 1000) -> float:
        """NLL-oracle: mean per-token negative log-likelihood (nats) of `tokens (N, L)` under the oracle."""
        device = tokens.device
        if next(self.oracle.parameters()).device != device:
            self.oracle.to(device)
        total = 0.0
        for chunk in tokens.split(batch_size):
            logits = self.oracle(chunk)  # (B, L, V)
            total += F.cross_entropy(logits.flatten(0, 1), chunk.flatten(), reduction="sum").item()
        return total / tokens.numel()

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        return {"nll_oracle": self.nll(samples)}
