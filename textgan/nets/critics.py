"""Critics over `(B, L, V)` token vectors: SeqGAN's multi-width CNN with a highway layer, and an LSTM critic.

Real text enters as exact one-hot rows and generated text as relaxed rows, so the first layer is a bias-free
linear map V -> E: on a one-hot row it is exactly an embedding lookup, on a soft row the expected embedding.
Dimension letters: B batch, L length, V vocabulary, E embedding, F filters, H hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .highway import reference as reference_highway


@dataclass
class CNNCriticConfig:
    kind: str = "cnn"
    emb_dim: int = 64
    """Token embedding size (SeqGAN: 64)."""
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    """Filter widths; each must be <= the sequence length."""
    filters: int = 64
    """Filters per width (SeqGAN: 100-200)."""
    dropout: float = 0.0
    """Dropout before the output layer (SeqGAN: 0.25). Off by default so CPU runs resume bit-exactly."""
    outputs: int = 1
    """Logits per sentence: 1 (real/fake; forward gives `(B,)`) or more (classes, e.g. SentiGAN's k+1: `(B, n)`)."""


class CNNCritic(nn.Module):
    """Yu et al. 2017's discriminator: convolutions of several widths, max over time, highway, linear."""

    def __init__(self, cfg: CNNCriticConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        bad = [w for w in cfg.widths if w > seq_len]
        if bad:
            raise ValueError(f"CNN critic filter widths {bad} exceed the sequence length {seq_len}")
        self.cfg = cfg
        self.embed = nn.Linear(vocab_size, cfg.emb_dim, bias=False)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.emb_dim, cfg.filters, w) for w in cfg.widths)
        total = cfg.filters * len(cfg.widths)
        self.highway = nn.Linear(total, 2 * total)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(total, cfg.outputs)

    def features(self, x: Tensor) -> Tensor:
        """Sentence features `(B, F*widths)` (LeakGAN leaks these to its generator)."""
        e = self.embed(x).transpose(1, 2)  # (B, E, L)
        # relu after the max over time: the same values and gradients (relu is monotone), one pass less
        h = torch.cat([F.relu(conv(e).amax(-1)) for conv in self.convs], 1)  # (B, F*widths)
        return self.highway_features(h)

    def highway_features(self, h: Tensor) -> Tensor:
        """The highway over pooled features `(.., F*widths)` (split out so that SeqGAN's rollouts can pool the
        windows their real prefixes share once: variants/rollout.py, `cnn_rollout_logits`)."""
        return reference_highway(h, self.highway.weight, self.highway.bias, shared=False)  # gate, transform apart

    def logits_from_pooled(self, h: Tensor) -> Tensor:
        """Logits `(..,)` (or `(.., outputs)`) from relu'd, max-pooled convolution features `(.., F*widths)`."""
        out = self.out(self.drop(self.highway_features(h)))  # (.., outputs)
        return out.squeeze(-1) if self.cfg.outputs == 1 else out

    def forward(self, x: Tensor) -> Tensor:
        out = self.out(self.drop(self.features(x)))  # (B, outputs)
        return out.squeeze(-1) if self.cfg.outputs == 1 else out  # (B,) for a real/fake critic


@dataclass
class LSTMCriticConfig:
    kind: str = "lstm"
    emb_dim: int = 64
    hidden: int = 64


class LSTMCritic(nn.Module):
    """Reads the sequence left to right and scores the final state."""

    def __init__(self, cfg: LSTMCriticConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(vocab_size, cfg.emb_dim, bias=False)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(self.embed(x))  # (B, L, H)
        return self.out(h[:, -1]).squeeze(-1)  # (B,)
