"""RelGAN's relational-memory generator (Nie et al. 2019), built on the relational memory core of Santoro et al.
2018 (arXiv:1806.01822).

The recurrent state is a memory of S slots of width D = heads * head_size. At each step the slots attend over
themselves and the current input (multi-head attention; queries from the memory, keys and values from memory +
input), pass through a residual MLP with layer norms, and are blended into the old memory by LSTM-style input and
forget gates. The flattened memory `(B, S*D)` is the output that the linear head turns into logits.
RelGAN's oracle setting: embedding 32, 1 slot, 2 heads, head size 256 (D = 512).

Differences from the Sonnet/TextGAN-PyTorch core: queries come from the memory rows only (the input row's own
update is discarded there anyway), and the MLP has 2 layers of width D. Dimension letters: B batch, L length,
V vocabulary, E embedding, S slots, D slot width (heads * head size), h heads, k head size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .autoregressive import AutoregressiveGenerator
from .relax import gumbel_max, relax


@dataclass
class RelationalGeneratorConfig:
    kind: str = "relational"
    emb_dim: int = 32
    """Token embedding size (RelGAN: 32)."""
    mem_slots: int = 1
    """Memory slots S (RelGAN oracle: 1)."""
    heads: int = 2
    """Attention heads (RelGAN: 2)."""
    head_size: int = 256
    """Width of one head; a slot is heads * head_size wide (RelGAN oracle: 256)."""


class RelationalMemory(nn.Module):
    """One step of the relational memory core: `(x (B, E), memory (B, S, D)) -> new memory (B, S, D)`."""

    def __init__(self, input_size: int, slots: int, heads: int, head_size: int) -> None:
        super().__init__()
        self.slots, self.heads, self.head_size = slots, heads, head_size
        d = heads * head_size
        self.d = d
        self.input_proj = nn.Linear(input_size, d)
        self.q = nn.Linear(d, d, bias=False)
        self.kv = nn.Linear(d, 2 * d, bias=False)
        self.mlp = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.ln_attn, self.ln_mlp = nn.LayerNorm(d), nn.LayerNorm(d)
        # Gates from the input and from tanh(memory), as in an LSTM; forget bias +1 keeps memory early on.
        self.gate_x = nn.Linear(d, 2 * d)
        self.gate_m = nn.Linear(d, 2 * d, bias=False)

    def initial(self, n: int, device) -> Tensor:
        """Sonnet's initial memory: an identity matrix per batch row, zero-padded to width D."""
        eye = torch.eye(self.slots, self.d, device=device, dtype=self.q.weight.dtype)  # (S, D)
        return eye.unsqueeze(0).expand(n, -1, -1)  # (B, S, D)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        b, s, d = memory.shape
        h, k = self.heads, self.head_size
        xi = self.input_proj(x).unsqueeze(1)  # (B, 1, D)
        both = torch.cat([memory, xi], 1)  # (B, S+1, D)
        q = self.q(memory).view(b, s, h, k).transpose(1, 2)  # (B, h, S, k)
        key, val = self.kv(both).view(b, s + 1, 2, h, k).permute(2, 0, 3, 1, 4)  # 2 x (B, h, S+1, k)
        att = torch.softmax(q @ key.transpose(-1, -2) / math.sqrt(k), -1)  # (B, h, S, S+1)
        attended = (att @ val).transpose(1, 2).reshape(b, s, d)  # (B, S, D)
        m = self.ln_attn(memory + attended)
        m = self.ln_mlp(m + self.mlp(m))  # (B, S, D)
        gi, gf = (self.gate_x(xi) + self.gate_m(torch.tanh(memory))).chunk(2, -1)  # 2 x (B, S, D)
        return torch.sigmoid(gi) * torch.tanh(m) + torch.sigmoid(gf + 1.0) * memory


class RelationalGenerator(AutoregressiveGenerator):
    """Embedding -> relational memory -> linear head. Token t is predicted from tokens < t (start token first)."""

    def __init__(self, cfg: RelationalGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim)
        self.memory = RelationalMemory(cfg.emb_dim, cfg.mem_slots, cfg.heads, cfg.head_size)
        self.out = nn.Linear(cfg.mem_slots * cfg.heads * cfg.head_size, vocab_size)
        self.batched_head = True
        """`relaxed` with gradients runs the head once on all memories; False: step by step (benches, tests)."""
        self.head_dtype: torch.dtype | None = None
        """Precision of the output layer's products when sampling (RelGAN's `head_bf16`); None: the weights'."""



    state_rows_dim = 0  # the memory `(B, S, D)`

    def step(self, token: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        """One step: `token (B,)` -> logits `(B, V)` and the new memory `(B, S, D)`."""
        if state is None:
            state = self.memory.initial(token.shape[0], token.device)
        state = self.memory(self.embed(token), state)
        return self._head(state.flatten(1)), state

    def _head(self, flat: Tensor) -> Tensor:
        """The output layer on `flat` `(n, S·D)` for sampling, in `head_dtype` when set (fp32 weights and result)."""
        dt = self.head_dtype
        if dt is None or dt == flat.dtype:
            return self.out(flat)
        return F.linear(flat.to(dt), self.out.weight.to(dt), self.out.bias.to(dt)).to(flat.dtype)

    def relaxed(self, n: int, relaxation: str = "gumbel", tau: float = 1.0,
                rng: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """As `AutoregressiveGenerator.relaxed`, but with gradients on, the linear head's backward pass (the largest
        products) runs once on all L memories: two large products instead of 2L small ones (RelGAN's generator
        step; issue 16). Each step's logits come from a no-grad head on that step's memory and its token from that
        step's noise, exactly as the step-by-step path draws them (same noise, same tokens; the same relaxed vectors
        on the torch path, equal up to rounding where the Gumbel kernel makes the step path's); the step's logits
        are kept for the relaxed vectors, so the head runs forward once per step."""
        if not (torch.is_grad_enabled() and self.batched_head):
            return super().relaxed(n, relaxation, tau, rng)
        token = self._start(n).squeeze(1)
        state = self.memory.initial(n, token.device)
        memories, tokens, noise, step_logits = [], [], [], []
        for _ in range(self.seq_len):
            state = self.memory(self.embed(token), state)
            flat = state.flatten(1)  # (n, S·D)
            with torch.no_grad():
                logits = self._head(flat)  # (n, V)
                token, g = gumbel_max(logits, rng)  # relax's token and noise
            memories.append(flat)
            tokens.append(token)
            noise.append(g)
            step_logits.append(logits)
        logits = _KnownLinear.apply(torch.stack(memories, 1), self.out.weight, self.out.bias,
                                    torch.stack(step_logits, 1), self.head_dtype)  # (n, L, V), with gradients
        _, soft = relax(logits, relaxation, tau, rng, noise=torch.stack(noise, 1))
        return torch.stack(tokens, 1), soft

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)`. The memory is recurrent, so this loops over L; the linear head,
        the largest matmul, runs once on all steps."""
        return self.out(self.head_input(tokens))  # (B, L, V)

    def head_input(self, tokens: Tensor) -> Tensor:
        """Teacher-forced flattened memories `(B, L, S·D)` that the linear head `out` turns into logits."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], 1)  # (B, L)
        emb = self.embed(inputs)  # (B, L, E)
        state = self.memory.initial(tokens.shape[0], tokens.device)
        states = []
        for t in range(inputs.shape[1]):
            state = self.memory(emb[:, t], state)
            states.append(state.flatten(1))
        return torch.stack(states, 1)  # (B, L, S·D)


class _KnownLinear(torch.autograd.Function):
    """`F.linear(x, weight, bias)` whose value was already computed (`known`): the forward pass returns it, the
    backward pass is the linear layer's, with 2-D products over all leading dimensions at once (in `dtype` when
    given: the head's sampling precision; gradients are returned in the inputs' dtypes)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, known: Tensor,
                dtype: torch.dtype | None = None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.dtype = bias is not None, dtype or x.dtype
        return known

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        dt = ctx.dtype
        g2, x2 = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        gp = g2.to(dt)
        dx = (gp @ weight.to(dt)).to(x.dtype).view(x.shape) if ctx.needs_input_grad[0] else None
        dw = (gp.t() @ x2.to(dt)).to(weight.dtype) if ctx.needs_input_grad[1] else None
        db = g2.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db, None, None
