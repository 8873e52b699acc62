"""The 1-D convolutional residual generator and critic of Gulrajani et al. 2017 ("Improved Training of WGANs",
language model section): noise -> `(B, L, V)` softmax with no sampling; 5 residual blocks, residual scale 0.3,
no normalisation layers (batch norm would break the per-sample gradient penalty).

Dimension letters: B batch, L sequence length, V vocabulary, C channels, Z noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .relax import relax, sample_logits


@dataclass
class ConvConfig:
    kind: str = "conv"
    channels: int = 128
    """Channels of every residual block (the paper: 512; smaller is much faster on a CPU)."""
    blocks: int = 5
    """Residual blocks."""
    kernel: int = 5
    """Convolution width."""
    noise_dim: int = 128
    """Generator input noise size (ignored by the critic)."""


class ResBlock(nn.Module):
    """x + 0.3 * conv(relu(conv(relu(x)))): the 0.3 keeps a deep un-normalised stack stable."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.c2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, L)
        return x + 0.3 * self.c2(F.relu(self.c1(F.relu(x))))


class ConvGenerator(nn.Module):
    """Noise `(B, Z)` -> logits `(B, L, V)`; all positions are produced at once (not autoregressive)."""

    autoregressive = False

    def __init__(self, cfg: ConvConfig, vocab_size: int, seq_len: int, start_id: int = 0) -> None:
        super().__init__()
        self.cfg, self.vocab_size, self.seq_len = cfg, vocab_size, seq_len
        self.fc = nn.Linear(cfg.noise_dim, cfg.channels * seq_len)
        self.blocks = nn.Sequential(*[ResBlock(cfg.channels, cfg.kernel) for _ in range(cfg.blocks)])
        self.out = nn.Conv1d(cfg.channels, vocab_size, 1)

    def logits(self, n: int, rng: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.cfg.noise_dim, generator=rng, device=self.out.weight.device)  # (B, Z)
        h = self.fc(z).view(n, self.cfg.channels, self.seq_len)  # (B, C, L)
        return self.out(self.blocks(h)).transpose(1, 2)  # (B, L, V)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, method: str = "gumbel",
               rng: torch.Generator | None = None) -> Tensor:
        """Positions are independent given the noise, so each is drawn from its own softmax (0: argmax)."""
        return sample_logits(self.logits(n, rng), temperature, method, rng)

    def relaxed(self, n: int, relaxation: str = "softmax", tau: float = 1.0,
                rng: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """The paper feeds the plain softmax to the critic; Gumbel and straight-through are available too."""
        return relax(self.logits(n, rng), relaxation, tau, rng)


class ConvCritic(nn.Module):
    """`(B, L, V)` -> score `(B,)`: a 1x1 conv embeds the (one-hot or relaxed) tokens, then residual blocks."""

    def __init__(self, cfg: ConvConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv1d(vocab_size, cfg.channels, 1)
        self.blocks = nn.Sequential(*[ResBlock(cfg.channels, cfg.kernel) for _ in range(cfg.blocks)])
        self.out = nn.Linear(cfg.channels * seq_len, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.embed(x.transpose(1, 2)))  # (B, C, L)
        return self.out(h.flatten(1)).squeeze(-1)  # (B,)
