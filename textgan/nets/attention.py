"""Seed 004's self-attention generator: an LSTM whose outputs pass through causal multi-head self-attention
(residual + layer norm) before the output layer, so each step reads every earlier step directly instead of only
through the recurrent state: the seed's answer to long-range coherence.

Stepping keeps the LSTM state and the LSTM outputs so far (the attention's keys and values): state =
(lstm state, (B, t, H) history). Dimension letters: B batch, L length, V vocabulary, E embedding, H hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

from .autoregressive import AutoregressiveGenerator


@dataclass
class AttentionGeneratorConfig:
    kind: str = "attention"
    emb_dim: int = 32
    """Token embedding size."""
    hidden: int = 64
    """LSTM state size, also the attention width."""
    heads: int = 4
    """Self-attention heads; must divide hidden."""


class AttentionGenerator(AutoregressiveGenerator):
    def __init__(self, cfg: AttentionGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        if cfg.hidden % cfg.heads:
            raise ValueError(f"attention generator: heads={cfg.heads} must divide hidden={cfg.hidden}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden, batch_first=True)
        self.attn = nn.MultiheadAttention(cfg.hidden, cfg.heads, batch_first=True)
        self.norm = nn.LayerNorm(cfg.hidden)
        self.out = nn.Linear(cfg.hidden, vocab_size)



    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)`: one LSTM pass, one causally masked attention pass."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], 1)  # (B, L)
        h, _ = self.rnn(self.embed(inputs))  # (B, L, H)
        n = h.shape[1]
        mask = torch.ones(n, n, dtype=torch.bool, device=h.device).triu(1)  # True = may not attend (future)
        a, _ = self.attn(h, h, h, attn_mask=mask, need_weights=False)  # (B, L, H)
        return self.out(self.norm(h + a))  # (B, L, V)

    def cat_states(self, a, b):
        if a is None:
            return b
        (ha, ca), pa = a
        (hb, cb), pb = b
        return (torch.cat([ha, hb], 1), torch.cat([ca, cb], 1)), torch.cat([pa, pb], 0)

    def repeat_state(self, s, r: int):
        (h, c), past = s  # LSTM state (1, B, H), history (B, t, H)
        return (h.repeat(1, r, 1), c.repeat(1, r, 1)), past.repeat(r, 1, 1)

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        """`token (B,)` -> logits `(B, V)`; the state carries the LSTM state and all LSTM outputs so far."""
        rnn_state, past = state if state is not None else (None, None)
        h, rnn_state = self.rnn(self.embed(token).unsqueeze(1), rnn_state)  # (B, 1, H)
        past = h if past is None else torch.cat([past, h], 1)  # (B, t, H)
        a, _ = self.attn(h, past, past, need_weights=False)  # (B, 1, H): the newest step attends to all so far
        return self.out(self.norm(h + a)).squeeze(1), (rnn_state, past)

