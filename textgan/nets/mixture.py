"""A uniform mixture of k LSTM/GRU generators: SentiGAN's one-generator-per-class, held by a run as one net.

As a distribution it is p(Y) = (1/k) Σ_i p_i(Y). Its per-token conditionals are posterior-weighted:

    p(y_t | y_<t) = Σ_i w_i(t) p_i(y_t | y_<t),    w_i(t) ∝ p_i(y_<t)   (the posterior of component i)

so the per-token log-probabilities sum to the exact sequence log-likelihood and NLL-gen stays correct. With
c_i(t) = log(1/k) + log p_i(y_<t):  log p(y_t | y_<t) = logsumexp_i c_i(t+1) − logsumexp_i c_i(t).

Sampling gives rows to components in equal contiguous blocks (`component_of_rows`): row r of `sample(n)` comes
from component ⌊r·k/n⌋, so a variant that trains each component on its own samples knows which rows are whose.
That is a stratified draw from the mixture (each component exactly n/k rows, not Binomial(n, 1/k)).

Dimension letters: B batch, L length, V vocabulary, K components, H hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .autoregressive import AutoregressiveGenerator
from .rnn import RNNGenerator, RNNGeneratorConfig


@dataclass
class MixtureGeneratorConfig:
    kind: str = "mixture"
    k: int = 2
    """Components; variants that condition on labels (sentigan) set it from the corpus's number of labels."""
    cell: str = "lstm"
    """'lstm' or 'gru', for every component."""
    emb_dim: int = 32
    """Token embedding size of each component."""
    hidden: int = 32
    """Recurrent state size of each component."""
    layers: int = 1
    """Stacked recurrent layers of each component."""


class MixtureGenerator(AutoregressiveGenerator):
    """k independent `RNNGenerator`s in `components`, seen from outside as their uniform mixture."""

    def __init__(self, cfg: MixtureGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        if cfg.cell not in ("lstm", "gru"):
            raise ValueError(f"mixture generator cell must be 'lstm' or 'gru', got {cfg.cell!r}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        part = RNNGeneratorConfig(kind=cfg.cell, emb_dim=cfg.emb_dim, hidden=cfg.hidden, layers=cfg.layers)
        self.components = nn.ModuleList(RNNGenerator(part, vocab_size, seq_len, start_id) for _ in range(cfg.k))

    @property
    def k(self) -> int:
        return len(self.components)

    def component_of_rows(self, n: int) -> Tensor:
        """Component of each row of `sample(n)`: equal contiguous blocks, row r -> ⌊r·k/n⌋. `(n,)`"""
        return torch.arange(n, device=self._device()) * self.k // n

    def _block_sizes(self, n: int) -> list[int]:
        return torch.bincount(self.component_of_rows(n).cpu(), minlength=self.k).tolist()

    # ---- likelihood ---------------------------------------------------------------------------------------

    def component_log_probs(self, tokens: Tensor) -> Tensor:
        """Every component's teacher-forced log-probabilities `(K, B, L, V)`."""
        return torch.stack([F.log_softmax(c(tokens), -1) for c in self.components])

    def forward(self, tokens: Tensor) -> Tensor:
        """The mixture's normalised next-token log-probabilities `(B, L, V)` (valid logits for cross-entropy)."""
        logp = self.component_log_probs(tokens)  # (K, B, L, V)
        K, B, L, _ = logp.shape
        tok = logp.gather(-1, tokens.expand(K, B, L).unsqueeze(-1)).squeeze(-1)  # (K, B, L) log p_i(y_t | y_<t)
        prefix = torch.cat([tok.new_zeros(K, B, 1), tok[..., :-1]], -1).cumsum(-1)  # (K, B, L) log p_i(y_<t)
        post = F.log_softmax(prefix, 0)  # (K, B, L) log w_i(t); the 1/k prior cancels
        return torch.logsumexp(post.unsqueeze(-1) + logp, 0)  # (B, L, V)

    # ---- generation ---------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, method: str = "gumbel",
               rng: torch.Generator | None = None) -> Tensor:
        """`(n, L)` rows; block i (see `component_of_rows`) drawn by component i, components in order."""
        parts = [c.sample(m, temperature, method, rng) for c, m in zip(self.components, self._block_sizes(n)) if m]
        return torch.cat(parts)

    def relaxed(self, n: int, relaxation: str = "gumbel", tau: float = 1.0,
                rng: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Tokens `(n, L)` and relaxed one-hots `(n, L, V)`, in the same blocks as `sample`."""
        parts = [c.relaxed(m, relaxation, tau, rng) for c, m in zip(self.components, self._block_sizes(n)) if m]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        """One step of the mixture's predictive: normalised log-probabilities `(B, V)` and the new state.

        The state is a flat tuple of `(layers or 1, B, ·)` tensors (batch on dim 1, as rollout.py expects): the
        components' states concatenated on the last dim, the log posterior weights `(1, B, K)`, and the last
        step's component log-probabilities `(1, B, K·V)`, needed to update the weights with the token read now.
        """
        B, K, V = token.shape[0], self.k, self.vocab_size
        if state is None:
            parts, logw = [None] * K, token.new_full((B, K), -math.log(K), dtype=torch.float)
        else:
            *packed, logw, last = state
            parts = self._unpack(packed)
            seen = last[0].view(B, K, V).gather(-1, token.view(B, 1, 1).expand(B, K, 1)).squeeze(-1)  # (B, K)
            logw = F.log_softmax(logw[0] + seen, -1)
        logps, new = [], []
        for c, s in zip(self.components, parts):
            logits, s = c.step(token, s)
            logps.append(F.log_softmax(logits, -1))
            new.append(s)
        logp = torch.stack(logps, 1)  # (B, K, V)
        out = torch.logsumexp(logw.unsqueeze(-1) + logp, 1)  # (B, V)
        return out, (*self._pack(new), logw.unsqueeze(0), logp.reshape(1, B, K * V))

    def _pack(self, states: list) -> tuple[Tensor, ...]:
        if self.cfg.cell == "lstm":  # each (h, c), (layers, B, H)
            return torch.cat([s[0] for s in states], -1), torch.cat([s[1] for s in states], -1)
        return (torch.cat(states, -1),)

    def _unpack(self, packed: list[Tensor]) -> list:
        chunks = [p.split(self.cfg.hidden, -1) for p in packed]
        if self.cfg.cell == "lstm":
            return [(h.contiguous(), c.contiguous()) for h, c in zip(*chunks)]
        return [h.contiguous() for h in chunks[0]]
