"""What every autoregressive generator shares: log-probabilities, sampling and relaxed sampling, all built on a
subclass's teacher-forced `forward` and one-token `step`.

Dimension letters: B batch, L sequence length, V vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .relax import relax, sample_logits


class AutoregressiveGenerator(nn.Module):
    """Base of LSTM/GRU, relational-memory, self-attention and GPT-2 generators.

    Subclasses set `seq_len` and `start_id` and implement `forward(tokens) -> (B, L, V)` logits (token t
    predicted from tokens < t, start token first) and `step(token, state) -> (logits (B, V), state)`.
    """

    autoregressive = True
    seq_len: int
    start_id: int

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _start(self, n: int) -> Tensor:
        return torch.full((n, 1), self.start_id, dtype=torch.long, device=self._device())  # (B, 1)

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        raise NotImplementedError

    def log_prob(self, tokens: Tensor) -> Tensor:
        """Per-token log-probabilities `(B, L)`: NLL, MLE and policy gradients all start here."""
        logp = F.log_softmax(self(tokens), -1)  # (B, L, V)
        return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

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
