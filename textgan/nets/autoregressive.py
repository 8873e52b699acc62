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


def _tree_map(fn, *trees):
    """`fn` over the tensors of equally shaped states (a tensor, or nested tuples/lists of tensors)."""
    first = trees[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_tree_map(fn, *parts) for parts in zip(*trees))
    return fn(*trees)


class AutoregressiveGenerator(nn.Module):
    """Base of LSTM/GRU, relational-memory, self-attention, GPT-2, LeakGAN and mixture generators.

    Subclasses set `seq_len` and `start_id` and implement `forward(tokens) -> (B, L, V)` logits (token t
    predicted from tokens < t, start token first) and `step(token, state) -> (logits (B, V), state)`.
    Optionally, a subclass whose logits are `self.out(self.head_input(tokens))` with `out` an `nn.Linear` defines
    `head_input(tokens) -> (B, L, H)`: teacher-forced losses then fuse the head with the cross-entropy
    (nets/fused_ce.py) instead of materialising `(B, L, V)` logits.
    Batched Monte-Carlo rollouts (variants/rollout.py) also join and copy states row-wise: `cat_states` and
    `repeat_state` do it for states whose tensors all keep their rows on `state_rows_dim`; a generator with
    another kind of state overrides the two.
    """

    autoregressive = True
    seq_len: int
    start_id: int
    state_rows_dim: int = 1
    """Where the rows (batch) are in every tensor of `step`'s state: 1 for torch RNN states `(layers, B, H)`."""

    def cat_states(self, a, b):
        """The state of rows `a` followed by rows `b` (`a` may be None: no rows yet)."""
        if a is None:
            return b
        return _tree_map(lambda x, y: torch.cat([x, y], self.state_rows_dim), a, b)

    def repeat_state(self, s, r: int):
        """`r` blocks, each a copy of every row of `s` (block-major: row k·B + b is row b)."""
        d = self.state_rows_dim
        return _tree_map(lambda x: x.repeat(*[r if i == d else 1 for i in range(x.dim())]), s)

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
