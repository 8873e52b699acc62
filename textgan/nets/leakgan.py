"""LeakGAN's hierarchical generator (Guo et al. 2018): a MANAGER that reads the discriminator's features of the
text so far and sets goals, and a WORKER that writes the next token toward them.

At step j (choosing token y_j) the prefix y_<j, padded with PAD to length L, goes through the critic's feature
extractor: f_j = F(y_<j) (the "leaked" information). The manager LSTM reads f_j and emits a unit goal g_j in the
same feature space; the goals of the last c steps are summed and projected without bias to w_j (size k); the
worker LSTM over token embeddings emits O_j (V × k) and the logits are O_j · w_j.

The generator does not own the critic: a variant attaches the critic's feature function with `attach_features`
(a plain attribute, so the critic's weights are neither duplicated in generator.safetensors nor trained by the
generator's optimizers; features are computed without gradients). Sampling and log-probabilities without one
attached raise an error that says so. A deep copy of the generator (a delayed rollout network) shares it.

Dimension letters: B batch, L sequence length, V vocabulary, E embedding, H hidden, D feature size (= goal
size), K worker goal embedding (w_j), C step size c, N rows of a step (batch, or rollouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..tokens import PAD
from .autoregressive import AutoregressiveGenerator

FeatureFn = Callable[[Tensor], Tensor]
"""Token ids `(N, L)` -> the discriminator's features `(N, D)`."""


@dataclass
class LeakGANGeneratorConfig:
    kind: str = "leakgan"
    emb_dim: int = 32
    """Worker token embedding size (authors' code: 32 at L=20)."""
    hidden: int = 32
    """State size of both the worker and the manager LSTM (authors' code: 32)."""
    goal_size: int = 16
    """k: size of the worker's goal embedding w_t (paper: 16). The goals g_t themselves have `feature_dim` entries."""
    step_size: int = 4
    """c: how many recent goals form w_t, and how far ahead a goal looks, f_{t+c} − f_t (paper: 4)."""
    feature_dim: int = 64
    """D: size of the critic's features, which is also the size of the goals. Must equal the critic's (a CNN
    critic has filters × len(widths); the paper's has 1720); the leakgan variant checks it."""


class _Leak:
    """Holds the feature function. A deep copy of the generator (e.g. a delayed rollout network) gets this very
    object, so it keeps reading the live critic instead of a frozen copy of it."""

    def __init__(self, fn: FeatureFn) -> None:
        self.fn = fn

    def __deepcopy__(self, memo) -> "_Leak":
        return self


class LeakGANGenerator(AutoregressiveGenerator):
    """Manager/worker generator; see the module docstring. Needs `attach_features(fn)` before use."""

    def __init__(self, cfg: LeakGANGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        if cfg.step_size > seq_len:
            raise ValueError(f"leakgan generator: step_size={cfg.step_size} exceeds the sequence length {seq_len}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        H, D, K = cfg.hidden, cfg.feature_dim, cfg.goal_size
        # Worker: its parameters are the embedding, the LSTM, O_t and ψ (as in the authors' code).
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim)
        self.worker = nn.LSTM(cfg.emb_dim, H, batch_first=True)
        self.worker_out = nn.Linear(H, vocab_size * K)  # O_t, read as (V, K)
        self.psi = nn.Linear(D, K, bias=False)  # w_t = W_ψ Σ g
        # Manager: reads features, emits goals in feature space.
        self.manager = nn.LSTM(D, H, batch_first=True)
        self.manager_out = nn.Linear(H, D)
        self._leak: _Leak | None = None

    # ---- the leak -----------------------------------------------------------------------------------------

    def attach_features(self, fn: FeatureFn | None) -> None:
        """Give the generator the discriminator's feature function (token ids `(N, L)` -> `(N, D)`)."""
        self._leak = _Leak(fn) if fn is not None else None

    def leaked_features(self, prefixes: Tensor) -> Tensor:
        """Features `(N, D)` of padded prefixes `(N, L)`; observations only: no gradient reaches the critic."""
        if self._leak is None:
            raise RuntimeError("the leakgan generator reads the discriminator's features at every step but has no "
                               "critic attached: train it with the 'leakgan' variant (Run does this), or call "
                               "gen.attach_features(fn) with the critic's feature function")
        with torch.no_grad():
            f = self._leak.fn(prefixes)
        if f.shape != (prefixes.shape[0], self.cfg.feature_dim):
            raise ValueError(f"the attached features have shape {tuple(f.shape)}; the generator expects "
                             f"({prefixes.shape[0]}, {self.cfg.feature_dim}): set its feature_dim to the critic's")
        return f

    def manager_parameters(self) -> list[nn.Parameter]:
        return [*self.manager.parameters(), *self.manager_out.parameters()]

    def worker_parameters(self) -> list[nn.Parameter]:
        return [*self.embed.parameters(), *self.worker.parameters(), *self.worker_out.parameters(),
                *self.psi.parameters()]

    # ---- pieces shared by the teacher-forced pass and the step --------------------------------------------

    @staticmethod
    def prefixes(tokens: Tensor) -> Tensor:
        """All prefixes `(B, L+1, L)`: row j keeps `tokens[:, :j]` and is PAD after (row 0 empty, row L whole)."""
        L = tokens.shape[1]
        pos = torch.arange(L, device=tokens.device)
        keep = pos < torch.arange(L + 1, device=tokens.device).unsqueeze(1)  # (L+1, L)
        return torch.where(keep, tokens.unsqueeze(1), PAD)

    def goal_sums(self, goals: Tensor) -> Tensor:
        """`(B, L, D)` -> Σ_{i=0}^{c−1} g_{j−i} `(B, L, D)` (goals before the start count as zero)."""
        c = self.cfg.step_size
        padded = F.pad(goals, (0, 0, c - 1, 0))  # (B, L+c−1, D)
        return padded.unfold(1, c, 1).sum(-1)  # (B, L, D)

    def worker_logits(self, h: Tensor, w: Tensor) -> Tensor:
        """O_t · w_t for worker states `(..., H)` and goal embeddings `(..., K)` -> logits `(..., V)`.

        O_t = W h + b viewed as (V, K); contracting over K first would build a (..., V, K) tensor (400 MB at the
        oracle setting), so the product is taken as (w ⊗ h) · W + b · w instead.
        """
        V, K, H = self.vocab_size, self.cfg.goal_size, self.cfg.hidden
        weight = self.worker_out.weight.view(V, K * H)  # rows v, columns (k, h)
        bias = self.worker_out.bias.view(V, K)
        wh = (w.unsqueeze(-1) * h.unsqueeze(-2)).flatten(-2)  # (..., K·H)
        return wh @ weight.t() + w @ bias.t()  # (..., V)

    # ---- teacher forcing ----------------------------------------------------------------------------------

    def unroll(self, tokens: Tensor, detach_goals: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher-forced pass: logits `(B, L, V)`, features of every prefix `(B, L+1, D)` (f_0 empty ... f_L whole)
        and goals `(B, L, D)`. `detach_goals`: the worker's logits do not pass gradients to the manager (each
        module is trained by its own objective)."""
        B, L = tokens.shape
        f = self.leaked_features(self.prefixes(tokens).flatten(0, 1)).view(B, L + 1, -1)  # one critic call
        h_m, _ = self.manager(f[:, :L])  # (B, L, H)
        goals = F.normalize(self.manager_out(h_m), dim=-1)  # (B, L, D) unit goals
        w = self.psi(self.goal_sums(goals.detach() if detach_goals else goals))  # (B, L, K)
        inputs = torch.cat([self._start(B), tokens[:, :-1]], 1)  # (B, L)
        h_w, _ = self.worker(self.embed(inputs))  # (B, L, H)
        return self.worker_logits(h_w, w), f, goals

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)` for target `tokens (B, L)`."""
        return self.unroll(tokens)[0]

    # ---- one step -----------------------------------------------------------------------------------------

    def step(self, token: Tensor, state) -> tuple[Tensor, tuple[Tensor, ...]]:
        """`token (N,)` (start first) -> logits `(N, V)` and the new state.

        The state is a tuple of tensors with rows on dim 1, so the batched rollouts (variants/rollout.py) can
        concatenate and repeat it: worker (h, c) and manager (h, c) `(1, N, H)`, the prefix `(1, N, L)`, the
        last c−1 goals `(C−1, N, D)` (oldest first), and the position `(1, N, 1)` (tokens read so far).
        """
        N, L, c = token.shape[0], self.seq_len, self.cfg.step_size
        if state is None:
            dev = token.device
            prefix = torch.full((1, N, L), PAD, dtype=torch.long, device=dev)
            recent = torch.zeros(c - 1, N, self.cfg.feature_dim, device=dev)
            pos = torch.zeros(1, N, 1, dtype=torch.long, device=dev)
            worker_state = manager_state = None
        else:
            h_w, c_w, h_m, c_m, prefix, recent, pos = state
            worker_state, manager_state = (h_w, c_w), (h_m, c_m)
            # the token just drawn (never the start token: pos is 0 then) joins the prefix at pos − 1
            at = torch.arange(L, device=token.device) == pos - 1  # (1, N, L)
            prefix = torch.where(at, token.view(1, N, 1), prefix)
        f = self.leaked_features(prefix[0])  # (N, D)
        h_m, manager_state = self.manager(f.unsqueeze(1), manager_state)  # (N, 1, H)
        goal = F.normalize(self.manager_out(h_m.squeeze(1)), dim=-1)  # (N, D)
        w = self.psi(goal + recent.sum(0))  # (N, K)
        h_w, worker_state = self.worker(self.embed(token).unsqueeze(1), worker_state)  # (N, 1, H)
        logits = self.worker_logits(h_w.squeeze(1), w)  # (N, V)
        recent = torch.cat([recent, goal.unsqueeze(0)])[1:]  # keep the last c−1
        return logits, (*worker_state, *manager_state, prefix, recent, pos + 1)
