"""Turning logits into tokens and into the `[.., V]` vectors a critic reads.

Gumbel-max gives an exact categorical sample (argmax of logits + Gumbel noise) and is cheaper than
`multinomial` on large vocabularies; the same noise gives the Gumbel-softmax relaxation, so the token fed back to
an autoregressive generator and the relaxed vector shown to the critic always agree.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from . import gumbel

Relaxation = Literal["softmax", "gumbel", "st"]
"""How generated tokens reach the critic: the softmax itself, Gumbel-softmax, or straight-through one-hots."""
RELAXATIONS: tuple[str, ...] = get_args(Relaxation)


def gumbel_noise(shape: torch.Size | tuple[int, ...], rng: torch.Generator | None, device, dtype=torch.float32) -> Tensor:
    """Standard Gumbel(0, 1) samples; the epsilons keep log(0) out when `rand` returns exactly 0.

    In-place ops: on a CPU this is memory-bound, and skipping the temporaries halves its cost at V=5000.
    """
    u = torch.rand(shape, generator=rng, device=device, dtype=dtype)
    return u.add_(1e-10).log_().neg_().add_(1e-10).log_().neg_()


def sample_logits(logits: Tensor, temperature: float = 1.0, method: str = "gumbel",
                  rng: torch.Generator | None = None) -> Tensor:
    """Draw token ids from `(..., V)` logits. temperature 0 means greedy (argmax)."""
    if temperature == 0:
        return logits.argmax(-1)
    scaled = logits / temperature
    if method == "gumbel":
        return (scaled + gumbel_noise(scaled.shape, rng, scaled.device, scaled.dtype)).argmax(-1)
    if method == "multinomial":
        probs = F.softmax(scaled, -1)
        flat = probs.reshape(-1, probs.shape[-1])
        return torch.multinomial(flat, 1, generator=rng).reshape(probs.shape[:-1])
    raise ValueError(f"unknown sampling method {method!r}; use 'gumbel' or 'multinomial'")


def gumbel_max(logits: Tensor, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Gumbel-max tokens `(..)` and the noise `(.., V)` they came from, drawn exactly as `relax` draws fresh noise
    (the same generator use, so the same noise for the same generator state)."""
    if gumbel.use_kernel(logits):
        tokens, _, g = gumbel.sample(logits, 1.0, rng, soft=False, noise=True)
        return tokens, g
    g = gumbel_noise(logits.shape, rng, logits.device, logits.dtype)
    return (logits + g).argmax(-1), g


def relax(logits: Tensor, relaxation: str, tau: float, rng: torch.Generator | None,
          noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Sampled token ids `(...)` and the differentiable vector `(..., V)` the critic sees.

    - softmax: softmax(logits / tau); the token is a Gumbel-max sample (fed back, not differentiated).
    - gumbel:  Gumbel-softmax, softmax((logits + g) / tau); the token is its argmax.
    - st:      straight-through: forward is the exact one-hot of the Gumbel-max token, the backward pass is
               the gradient of the Gumbel-softmax.
    `noise`: Gumbel noise drawn earlier (same shape as `logits`) instead of a fresh draw from `rng`.
    Fresh noise over a wide vocabulary on a CPU comes from the one-pass kernel (`gumbel.py`: its own random
    stream, seeded from `rng`; the same distribution).
    """
    if relaxation not in RELAXATIONS:
        raise ValueError(f"unknown relaxation {relaxation!r}; choose one of {RELAXATIONS}")
    if tau <= 0:
        raise ValueError(f"relaxation temperature must be > 0, got {tau}")
    if noise is None and gumbel.use_kernel(logits):
        return _kernel_relax(logits, relaxation, tau, rng)
    g = gumbel_noise(logits.shape, rng, logits.device, logits.dtype) if noise is None else noise
    perturbed = logits + g
    tokens = perturbed.argmax(-1)
    if relaxation == "softmax":
        return tokens, F.softmax(logits / tau, -1)
    soft = F.softmax(perturbed / tau, -1)
    if relaxation == "gumbel":
        return tokens, soft
    hard = F.one_hot(tokens, logits.shape[-1]).to(soft.dtype)
    return tokens, _StraightThrough.apply(soft, hard)


def _kernel_relax(logits: Tensor, relaxation: str, tau: float, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """`relax` through the one-pass kernel: the same outputs for the kernel's noise."""
    if relaxation == "softmax":
        tokens, _, _ = gumbel.sample(logits, tau, rng, soft=False)
        return tokens, F.softmax(logits / tau, -1)
    soft, tokens = _KernelGumbelSoftmax.apply(logits, tau, rng)
    if relaxation == "gumbel":
        return tokens, soft
    hard = F.one_hot(tokens, logits.shape[-1]).to(soft.dtype)
    return tokens, _StraightThrough.apply(soft, hard)


class _KernelGumbelSoftmax(torch.autograd.Function):
    """softmax((logits + g) / tau) and its Gumbel-max tokens from the kernel; the backward pass is the softmax's,
    scaled by 1 / tau (first order)."""

    @staticmethod
    def forward(ctx, logits: Tensor, tau: float, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        tokens, soft, _ = gumbel.sample(logits, tau, rng)
        ctx.tau = tau
        ctx.save_for_backward(soft)
        ctx.mark_non_differentiable(tokens)
        return soft, tokens

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_tokens: Tensor | None) -> tuple[Tensor, None, None]:
        (soft,) = ctx.saved_tensors
        return soft * (grad - (grad * soft).sum(-1, keepdim=True)) / ctx.tau, None, None


class _StraightThrough(torch.autograd.Function):
    """Forward: exactly `hard` (`hard + soft - soft.detach()` is off by rounding). Backward: the gradient goes
    to `soft` unchanged."""

    @staticmethod
    def forward(ctx, soft: Tensor, hard: Tensor) -> Tensor:
        return hard.clone()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None
