"""RelGAN's multi-representation CNN critic (Nie et al. 2019, section 2.3).

The input `(B, L, V)` is embedded R times (one bias-free V -> E map, split into R representations of size E/R);
the same convolutions (several widths, max over time) and a highway layer score each representation, giving R
logits per sequence. More representations give the generator more, and more diverse, gradient signals.
RelGAN's setting: E = 64, R = 64 (each representation is 1-dimensional), widths 2-5 with 300 filters each.

`scores(x)` returns the `(B, R)` logits that RelGAN's loss uses; `forward` averages them to the `(B,)` score every
other variant expects, so this critic also serves `gan`, `wgan-gp`... Dimension letters: B batch, L length,
V vocabulary, E embedding, R representations, e = E/R, F filters, T = L − w + 1 window positions.

Speed: with RelGAN's 1-dimensional representations, the convolution outputs `(B, F, T, R)` are huge (168 M floats
per 128-row pass) and cheap to compute, so autograd's conv + relu + max-over-time is memory-bound (~3 s per critic
step on 2 CPU cores). `conv_max_over_time` finds the argmax window without gradients, then recomputes only the
winning windows differentiably: the same values and gradients (equal in float64), ~10x faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .highway import highway as fused_highway
from .highway import reference as reference_highway
from .winmax import conv_max_pool, use_kernel


@dataclass
class MultiRepCriticConfig:
    kind: str = "multirep"
    emb_dim: int = 64
    """Total embedding size E, split into `reps` representations (RelGAN: 64)."""
    reps: int = 64
    """Number of representations R; must divide emb_dim (RelGAN: 64)."""
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    """Filter widths (RelGAN: 2, 3, 4, 5); each must be <= the sequence length."""
    filters: int = 300
    """Filters per width (RelGAN: 300)."""
    hidden: int = 100
    """Width of the layer between the highway and the logit (RelGAN: 100)."""
    dropout: float = 0.0
    """Dropout before the output layers (RelGAN: 0.25). Off by default so CPU runs resume bit-exactly."""
    highway: str = "shared"
    """'shared': one projection is both gate and transform (TextGAN-PyTorch's form, fewer weights); 'separate':
    gate and transform projected apart (RelGAN's code, as SeqGAN's)."""


def conv_max_over_time(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """relu(max over t of conv(x)) as `(B, F, R)`, for `x` `(B, L, R, e)` and a `(w, e)` kernel with stride e.

    Step 1 (no autograd): the index of the best window of each (row, representation, filter), by a running max
    over the T window positions, each a `(B, R, w·e) @ (w·e, F)` product: no `(B, F, T, R)` tensor is ever held
    (on 2 CPU cores 7x faster than Conv2d + argmax, whose strided reduction dominates). Step 2 (autograd): the
    output at that window, recomputed as a sum over the w window rows of gathered inputs times the kernel. Max
    is piecewise that function, so values and gradients (also second order, for gradient penalties) are the
    conv's own; ties go to the first window, as argmax does.
    """
    B, L, R, e = x.shape
    n_filters, _, w, _ = conv.weight.shape
    kernel = conv.weight.view(n_filters, w, e)
    with torch.no_grad():
        windows = x.detach().permute(0, 2, 1, 3).unfold(2, w, 1)  # (B, R, T, e, w)
        windows = windows.transpose(3, 4).reshape(B, R, L - w + 1, w * e)  # (B, R, T, w·e), kernel's order
        k = kernel.detach().reshape(n_filters, w * e).t()  # (w·e, F)
        best = windows[:, :, 0] @ k  # (B, R, F)
        small = torch.uint8 if L - w < 256 else torch.int32  # 1 byte per entry: this loop is memory-bound
        idx = torch.zeros(best.shape, dtype=small, device=x.device)
        for t in range(1, L - w + 1):
            z = windows[:, :, t] @ k
            better = z > best
            idx.mul_(~better).add_(better, alpha=t)  # = masked_fill_(better, t), which is ~15x slower on a CPU
            torch.maximum(best, z, out=best)
        idx = idx.transpose(1, 2).long()  # (B, F, R): the winning window's first row
    z = conv.bias.view(1, n_filters, 1)
    for i in range(w):
        rows = torch.gather(x, 1, (idx + i).unsqueeze(-1).expand(B, n_filters, R, e))  # (B, F, R, e)
        z = z + torch.einsum("bfrj,fj->bfr", rows, kernel[:, i])
    return F.relu(z)


class MultiRepCritic(nn.Module):
    def __init__(self, cfg: MultiRepCriticConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        if cfg.emb_dim % cfg.reps:
            raise ValueError(f"multirep critic: reps={cfg.reps} must divide emb_dim={cfg.emb_dim}")
        bad = [w for w in cfg.widths if w > seq_len]
        if bad:
            raise ValueError(f"multirep critic filter widths {bad} exceed the sequence length {seq_len}")
        self.cfg = cfg
        self.e = cfg.emb_dim // cfg.reps
        self.embed = nn.Linear(vocab_size, cfg.emb_dim, bias=False)
        # A (w, e) kernel with stride e along the embedding axis: the same filter reads every representation.
        self.convs = nn.ModuleList(nn.Conv2d(1, cfg.filters, (w, self.e), stride=(1, self.e)) for w in cfg.widths)
        total = cfg.filters * len(cfg.widths)
        if cfg.highway not in ("shared", "separate"):
            raise ValueError(f"highway={cfg.highway!r}; choose 'shared' or 'separate'")
        self.highway = nn.Linear(total, total if cfg.highway == "shared" else 2 * total)
        self.drop = nn.Dropout(cfg.dropout)
        self.hidden = nn.Linear(total, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, 1)
        self.fast = True
        """Run the one-pass window search (`winmax.py`) where it can; False: the reference path (benches, tests)."""

    def scores(self, x: Tensor | None, real: Tensor | None = None) -> Tensor:
        """Per-representation logits `(B, R)` of the rows of `x` `(B, L, V)`; with `real` (token ids `(Br, L)`),
        of the one-hot rows of `real` first, then `x`'s, without building the `(Br, L, V)` one-hot tensor (its
        embedding is a lookup: the same values)."""
        parts = []
        if real is not None:
            parts.append(F.embedding(real, self.embed.weight.t()))  # (Br, L, E) = embed(one_hot(real))
        if x is not None:
            parts.append(self.embed(x))  # (B, L, E)
        e = parts[0] if len(parts) == 1 else torch.cat(parts)
        B, L, _ = e.shape
        e = e.view(B, L, self.cfg.reps, self.e)  # (B, L, R, e)
        if self.fast and use_kernel(e):
            h = conv_max_pool(self.convs, e)  # (B, R, F*widths)
        else:
            h = torch.cat([conv_max_over_time(conv, e) for conv in self.convs], 1)  # (B, F*widths, R)
            h = h.transpose(1, 2)  # (B, R, F*widths)
        # 'shared': one projection serves as gate and transform: TextGAN-PyTorch's form of the highway. RelGAN's code
        # (like SeqGAN's, and our CNN critic) projects the gate and the transform separately: 'separate'.
        shared = self.cfg.highway == "shared"
        if self.fast:  # (B·R, F·widths): plain 2-D products, also in the backward pass
            h = fused_highway(h.reshape(B * self.cfg.reps, -1), self.highway.weight, self.highway.bias, shared)
        else:  # the path before issue 16 (autograd ops on (B, R, F·widths))
            h = reference_highway(h, self.highway.weight, self.highway.bias, shared)
        return self.out(self.hidden(self.drop(h))).view(B, self.cfg.reps)  # (B, R)

    def forward(self, x: Tensor) -> Tensor:
        return self.scores(x).mean(-1)  # (B,)
