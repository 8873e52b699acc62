"""LSTM / GRU autoregressive generators: the policy of the RL variants and the sampler of the relaxed ones.

Dimension letters: B batch, L sequence length, V vocabulary, E embedding, H hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .relax import relax, sample_logits


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


class RNNGenerator(nn.Module):
    """Embedding -> LSTM/GRU -> linear to logits. Token t is predicted from tokens < t (start token first)."""

    autoregressive = True

    def __init__(self, cfg: RNNGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        if cfg.kind not in ("lstm", "gru"):
            raise ValueError(f"RNN generator kind must be 'lstm' or 'gru', got {cfg.kind!r}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim)
        rnn = nn.LSTM if cfg.kind == "lstm" else nn.GRU
        self.rnn = rnn(cfg.emb_dim, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.out = nn.Linear(cfg.hidden, vocab_size)

    def _device(self) -> torch.device:
        return self.out.weight.device

    def _start(self, n: int) -> Tensor:
        return torch.full((n, 1), self.start_id, dtype=torch.long, device=self._device())  # (B, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)` for target `tokens (B, L)`."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], 1)  # (B, L)
        h, _ = self.rnn(self.embed(inputs))  # (B, L, H)
        return self.out(h)  # (B, L, V)

    def log_prob(self, tokens: Tensor) -> Tensor:
        """Per-token log-probabilities `(B, L)`: NLL, MLE and policy gradients all start here."""
        logp = F.log_softmax(self(tokens), -1)  # (B, L, V)
        return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        """One recurrent step: `token (B,)` -> logits `(B, V)` and the new state."""
        h, state = self.rnn(self.embed(token).unsqueeze(1), state)  # (B, 1, H)
        return self.out(h.squeeze(1)), state

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, method: str = "gumbel",
               rng: torch.Generator | None = None) -> Tensor:
        """`n` sequences `(n, L)` sampled token by token (temperature 0: greedy)."""
        token, state = self._start(n).squeeze(1), None
        out = []
        for _ in range(self.seq_len):
            logits, state = self.step(token, state)
            token = sample_logits(logits, temperature, method, rng)
            out.append(token)
        return torch.stack(out, 1)

    def relaxed(self, n: int, relaxation: str = "gumbel", tau: float = 1.0,
                rng: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Sampled tokens `(n, L)` and their differentiable relaxed one-hots `(n, L, V)` for the critic.

        The sampled token (not the relaxed vector) is fed back, as in RelGAN: gradients reach every step's
        output distribution through the critic, without back-propagating through the sampling chain.
        """
        token, state = self._start(n).squeeze(1), None
        tokens, soft = [], []
        for _ in range(self.seq_len):
            logits, state = self.step(token, state)
            token, y = relax(logits, relaxation, tau, rng)
            tokens.append(token)
            soft.append(y)
        return torch.stack(tokens, 1), torch.stack(soft, 1)
