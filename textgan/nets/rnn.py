"""LSTM / GRU autoregressive generators: the policy of the RL variants and the sampler of the relaxed ones.

Dimension letters: B batch, L sequence length, V vocabulary, E embedding, H hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

from .autoregressive import AutoregressiveGenerator


@dataclass
class RNNGeneratorConfig:
    kind: str = "lstm"
    """'lstm' or 'gru'."""
    emb_dim: int = 32
    """Token embedding size (SeqGAN: 32)."""
    hidden: int = 64
    """Recurrent state size (SeqGAN oracle: 32)."""
    layers: int = 1
    """Stacked recurrent layers."""


class RNNGenerator(AutoregressiveGenerator):
    """Embedding -> LSTM/GRU -> linear to logits. Token t is predicted from tokens < t (start token first)."""

    def __init__(self, cfg: RNNGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        if cfg.kind not in ("lstm", "gru"):
            raise ValueError(f"RNN generator kind must be 'lstm' or 'gru', got {cfg.kind!r}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim)
        rnn = nn.LSTM if cfg.kind == "lstm" else nn.GRU
        self.rnn = rnn(cfg.emb_dim, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.out = nn.Linear(cfg.hidden, vocab_size)

    def head_input(self, tokens: Tensor) -> Tensor:
        """Teacher-forced states `(B, L, H)` that the linear head `out` turns into logits (the fused MLE loss
        starts here)."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], 1)  # (B, L)
        h, _ = self.rnn(self.embed(inputs))  # (B, L, H)
        return h

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)` for target `tokens (B, L)`."""
        return self.out(self.head_input(tokens))  # (B, L, V)

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        """One recurrent step: `token (B,)` -> logits `(B, V)` and the new state."""
        h, state = self.step_hidden(token, state)
        return self.out(h), state

    def step_hidden(self, token: Tensor, state) -> tuple[Tensor, object]:
        """`step` before the linear head: `(B, H)` and the new state (batched rollouts apply the head into a
        reused buffer)."""
        h, state = self.rnn(self.embed(token).unsqueeze(1), state)  # (B, 1, H)
        return h.squeeze(1), state
