"""Shared pieces of the policy-gradient family: batched Monte-Carlo rollouts, reward rescaling, the PG loss.

SeqGAN (Yu et al. 2017) rewards token t of a sampled sentence with the mean discriminator score of R rollouts
that keep the sentence's prefix y_1..y_t and complete it with the rollout policy. Done naively (a loop over
prefixes, each replaying the prefix and sampling the rest) that is B·R·(L−1) short generations; TextGAN-PyTorch
needs ~70 s per generator step on 2 CPU cores for the oracle setting. Here, all of them are one batch:

- the prefix states are computed once by a single teacher-forced pass over the sample (cached prefix states);
- the rollouts for prefix length t join the batch at position t (rows already running keep running), so a row
  only ever runs the positions it has to sample: B·R·L(L−1)/2 row-steps instead of B·R·(L−1)·L;
- tokens are drawn by Gumbel-max on a GPU, by a two-level inverse CDF on a CPU (4-5x cheaper there), with
  randomness from the variant's generator (exact resume);
- the completed B·R·(L−1) sequences (plus the B samples themselves, which score the last token) go to the
  scorer in one call.

Reward alignment (the subtle part). Rows are laid out as (prefix block k = t−1, rollout r, sentence b), and the
scores are reshaped with the same layout: `scores.view(L−1, R, B).mean(1).T` is `(B, L−1)`. A widely used
implementation instead views `[R·(L−1), B]`-ordered scores as `(B, L−1, R)`, which pairs almost every cell with
another sentence's rollouts; tests/test_rl_seqgan.py compares ours with a slow per-sentence reference loop.

Dimension letters: B batch, L length, R rollouts, V vocabulary, H hidden, N = B·R·(L−1) rollout rows.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nets.relax import gumbel_noise

Scorer = Callable[[Tensor], Tensor]
"""Token ids `(N, L)` -> one reward per sequence `(N,)` (no gradients needed)."""


def _prefix_states(gen: nn.Module, tokens: Tensor) -> tuple[list, list[Tensor]]:
    """Teacher-forced pass: `states[j]`, `logits[j]` after reading start, y_0..y_{j-1} (logits predict y_j)."""
    B, L = tokens.shape
    token = torch.full((B,), gen.start_id, dtype=torch.long, device=tokens.device)
    states, logits, state = [], [], None
    for j in range(L):
        lg, state = gen.step(token, state)  # (B, V)
        states.append(state)
        logits.append(lg)
        token = tokens[:, j]
    return states, logits


CDF_BLOCK = 64
"""Columns per block of the two-level inverse CDF ('icdf2')."""
WIDE_VOCAB = 512
"""From this vocabulary on, the CPU rollout uses the two-level sampler and the buffered head; below it their extra
small ops cost more than they save (a whole rollout on 1 core: V=68 85 ms plain vs 107 ms; V=300 equal;
V=1,000 1.43 s vs 0.64 s)."""


def _icdf_two_level(logits: Tensor, rng: torch.Generator | None, block: int = CDF_BLOCK,
                    overwrite: bool = False, uniform: Tensor | None = None) -> Tensor:
    """Inverse-CDF sampling without a full-width cumulative sum: softmax (one fused, cache-friendly kernel per
    row), the sums of blocks of `block` columns, a search in the cumulative block sums for the block, then a
    search in the cumulative sums of that block's `block` probabilities. The same uniform picks the same token
    as the one-level search (up to rounding at the boundaries), so it is exact in distribution; only the
    softmax and one reading pass touch all V columns (the one-level version writes and reads (N, V) three more
    times). `overwrite`: the probabilities replace the logits in their memory (CPU only; a fresh (N, V)
    tensor costs more in page faults than the softmax itself). `uniform` `(N, 1)`: the rows' uniforms, drawn by
    the caller (instead of from `rng` here)."""
    n, v = logits.shape
    if overwrite and logits.device.type == "cpu" and logits.is_contiguous():
        p = torch._softmax(logits, -1, False, out=logits)  # (N, V), in place
    else:
        p = torch.softmax(logits, -1)  # (N, V)
    full = v // block * block
    sums = p[:, :full].view(n, v // block, block).sum(-1)  # (N, V/block)
    if full < v:
        sums = torch.cat([sums, p[:, full:].sum(-1, keepdim=True)], 1)
    cum = sums.cumsum_(-1)  # (N, n_blocks)
    if uniform is None:
        uniform = torch.rand(n, 1, generator=rng, device=p.device, dtype=p.dtype)
    u = uniform * cum[:, -1:]
    k = torch.searchsorted(cum, u).clamp_(max=cum.shape[1] - 1)  # (N, 1) the block
    below = torch.where(k > 0, cum.gather(1, (k - 1).clamp(min=0)), torch.zeros_like(u))
    cols = k * block + torch.arange(block, device=p.device)  # (N, block)
    inside = cols < v
    rows = p.gather(1, cols.clamp(max=v - 1)).mul_(inside).cumsum_(-1)  # (N, block) CDF inside the block
    j = torch.searchsorted(rows, u - below).clamp_(max=block - 1)
    width = (v - k * block).clamp(max=block)  # the last block may be short
    return (k * block + torch.minimum(j, width - 1)).squeeze(1)


def draw(logits: Tensor, rng: torch.Generator | None, method: str = "auto", overwrite: bool = False) -> Tensor:
    """Categorical samples `(N,)` from logits `(N, V)`.

    'gumbel': argmax(logits + Gumbel noise), one fused pass on a GPU. 'icdf': inverse CDF, one uniform per row
    and a binary search in the cumulative sums — 3x faster than Gumbel-max on a CPU at V=5000 (V uniforms and two
    logs per row are what costs there). 'icdf2': the same inverse CDF in two levels (blocks, then within the
    block; `_icdf_two_level`), fewer passes over `(N, V)`. 'auto': Gumbel on CUDA, elsewhere 'icdf2' from
    `WIDE_VOCAB` columns on and 'icdf' below. All exact.
    `overwrite=True` lets 'icdf2' reuse the logits' memory (the caller no longer needs them).
    """
    if method == "auto":
        method = "gumbel" if logits.device.type == "cuda" else "icdf2" if logits.shape[-1] >= WIDE_VOCAB else "icdf"
    if method == "gumbel":
        return (logits + gumbel_noise(logits.shape, rng, logits.device, logits.dtype)).argmax(-1)
    if method == "icdf":
        c = (logits - logits.amax(-1, keepdim=True)).exp_().cumsum_(-1)  # (N, V) unnormalised CDF
        u = torch.rand(c.shape[0], 1, generator=rng, device=c.device, dtype=c.dtype) * c[:, -1:]
        return torch.searchsorted(c, u).squeeze(1).clamp_(max=c.shape[1] - 1)
    if method == "icdf2":
        return _icdf_two_level(logits, rng, overwrite=overwrite)
    raise ValueError(f"sampling method {method!r}; choose 'auto', 'gumbel', 'icdf' or 'icdf2'")


DRAW_ROWS = 256
"""Rows per chunk of the CPU rollout's head + sampler: 256 × 5,000 logits are 5 MB, cache-sized."""


class _HeadIntoBuffer:
    """A generator's linear head `out` (divided by the temperature) writing its logits into one reused buffer.

    On a CPU a fresh `(N, V)` result costs more in page faults than the matmul: at the oracle setting
    `F.linear` into new memory took 3x as long as the same product written into a buffer. The bias rides as an
    extra column of ones on the hidden states, so one `mm` writes the logits once (addmm first copies the bias
    into every row). Used only for generators with `step_hidden(token, state) -> (h, state)` and a linear `out`.
    """

    def __init__(self, head: nn.Linear, temperature: float) -> None:
        bias = head.bias if head.bias is not None else head.weight.new_zeros(head.weight.shape[0])
        self.w_t = (torch.cat([head.weight, bias.unsqueeze(1)], 1) / temperature).t()  # (H+1, V)
        self.buffer: Tensor | None = None

    @classmethod
    def of(cls, gen: nn.Module, temperature: float) -> "_HeadIntoBuffer | None":
        head = getattr(gen, "out", None)
        if not callable(getattr(gen, "step_hidden", None)) or not isinstance(head, nn.Linear):
            return None
        if head.weight.device.type != "cpu" or head.weight.shape[0] < WIDE_VOCAB:  # a GPU's allocator reuses
            return None  # memory already; a small vocabulary gains nothing
        return cls(head, temperature)

    def __call__(self, h: Tensor, max_rows: int) -> Tensor:
        return self._logits(torch.cat([h, h.new_ones(h.shape[0], 1)], 1), max_rows)

    def _logits(self, h_aug: Tensor, max_rows: int) -> Tensor:
        """Logits `(n, V)`, a view of the buffer (grown to `max_rows` rows at once), for `h_aug` `(n, H+1)`."""
        n = h_aug.shape[0]
        if self.buffer is None or self.buffer.shape[0] < n:
            self.buffer = h_aug.new_empty(max(n, max_rows), self.w_t.shape[1])
        return torch.mm(h_aug, self.w_t, out=self.buffer[:n])

    def draw(self, h: Tensor, rng: torch.Generator | None) -> Tensor:
        """Tokens `(n,)` for hidden states `(n, H)`: 'icdf2' on logits made and used `rows` rows at a time, so
        they stay in the cache (the full `(n, V)` logits would go to memory and back four times; 12 % less CPU
        time for a whole rollout at the oracle setting). The same uniforms in the same order as
        `draw(self(h), rng, 'icdf2')`, hence the same tokens."""
        n, rows = h.shape[0], DRAW_ROWS
        uniform = torch.rand(n, 1, generator=rng, device=h.device, dtype=h.dtype)
        h_aug = torch.cat([h, h.new_ones(n, 1)], 1)  # (n, H+1)
        tokens = torch.empty(n, dtype=torch.long, device=h.device)
        for a in range(0, n, rows):
            b = min(a + rows, n)
            logits = self._logits(h_aug[a:b], rows)  # (≤ rows, V)
            tokens[a:b] = _icdf_two_level(logits, None, overwrite=True, uniform=uniform[a:b])
        return tokens


@torch.no_grad()
def rollout_sequences(gen: nn.Module, tokens: Tensor, n_rollouts: int, rng: torch.Generator | None = None,
                      temperature: float = 1.0, noise: Tensor | None = None, method: str = "auto") -> Tensor:
    """All Monte-Carlo completions `(L−1, R, B, L)`: `[t−1, r, b]` keeps `tokens[b, :t]` and samples the rest.

    `noise` (tests only), `(L−1, R, B, L, V)` Gumbel noise: the completion `[t−1, r, b]` draws position j with
    `noise[t−1, r, b, j]`, so a slow reference loop can reproduce every sample exactly.
    """
    B, L = tokens.shape
    R = n_rollouts
    states, logits = _prefix_states(gen, tokens)
    out = tokens.unsqueeze(0).repeat(L - 1, R, 1).view(L - 1, R * B, L).clone()  # (L−1, R·B, L)
    state, lg = None, None
    head = _HeadIntoBuffer.of(gen, temperature) if noise is None else None
    chunked = head is not None and method in ("auto", "icdf2")  # the head draws its own rows, chunk by chunk

    def sample(logits: Tensor, blocks: slice, scaled: bool = False) -> Tensor:
        logits = logits / temperature if temperature != 1.0 and not scaled else logits
        if noise is None:
            return draw(logits, rng, method, overwrite=True)  # the logits are not needed after their draw
        return (logits + noise[blocks, :, :, j].reshape(logits.shape)).argmax(-1)

    for j in range(1, L):
        # Prefix length t = j joins: R copies of every sentence's state after reading y_0..y_{j−1}. Rows already
        # running (blocks 0..j−2) and the new block j−1 are sampled apart: concatenating their (N, V) logits
        # would copy ~4 GB per generator step at the oracle setting.
        new = sample(logits[j].repeat(R, 1), slice(j - 1, j))  # (R·B,)
        if lg is None:
            tok = new
        else:  # (j·R·B,)
            tok = torch.cat([head.draw(lg, rng) if chunked else sample(lg, slice(0, j - 1), head is not None), new])
        state = gen.cat_states(state, gen.repeat_state(states[j], R))
        out[:j, :, j] = tok.view(j, R * B)
        if j < L - 1:
            if head is None:
                lg, state = gen.step(tok, state)
            else:
                h, state = gen.step_hidden(tok, state)
                lg = h if chunked else head(h, (L - 2) * R * B)  # the head is already divided by the temperature
    return out.view(L - 1, R, B, L)


@torch.no_grad()
def rollout_rewards(gen: nn.Module, tokens: Tensor, n_rollouts: int, score: Scorer,
                    rng: torch.Generator | None = None, temperature: float = 1.0, noise: Tensor | None = None,
                    chunk: int = 8192, method: str = "auto",
                    score_rollouts: Callable[[Tensor, Tensor], Tensor] | None = None) -> Tensor:
    """SeqGAN's rewards `(B, L)`: `[b, t−1]` = mean score of the R rollouts of sentence b's prefix of length t
    (t < L); the last column is the score of the complete sample itself (no rollout needed).

    `score_rollouts(seqs (L−1, R, B, L), tokens (B, L)) -> (L−1, R, B)`, when given, scores the rollouts knowing
    their layout (e.g. `cnn_rollout_logits`, which pools the windows of the real prefixes once); it must give
    what `score` gives row by row."""
    B, L = tokens.shape
    seqs = rollout_sequences(gen, tokens, n_rollouts, rng, temperature, noise, method)  # (L−1, R, B, L)
    if score_rollouts is not None:
        roll = score_rollouts(seqs, tokens).mean(1)  # (L−1, B)
        return torch.cat([roll.t(), score(tokens).unsqueeze(1)], 1)  # (B, L)
    flat = torch.cat([seqs.reshape(-1, L), tokens], 0)  # (N + B, L)
    scores = torch.cat([score(part) for part in flat.split(chunk)])  # (N + B,)
    roll = scores[:-B].view(L - 1, n_rollouts, B).mean(1)  # (L−1, B): the layout of rollout_sequences
    return torch.cat([roll.t(), scores[-B:].unsqueeze(1)], 1)  # (B, L)


def shares_prefix_windows(critic: nn.Module) -> bool:
    """Whether `cnn_rollout_logits` applies: a CNN critic (max-pooled convolutions, then `logits_from_pooled`)
    with one logit per sentence and a bias-free `Linear(V, E)` embedding."""
    embed = getattr(critic, "embed", None)
    return (callable(getattr(critic, "logits_from_pooled", None)) and isinstance(embed, nn.Linear)
            and embed.bias is None and getattr(critic.cfg, "outputs", 1) == 1)


def cnn_rollout_logits(critic: nn.Module, seqs: Tensor, tokens: Tensor, chunk: int = 8192,
                       by_product: bool | None = None) -> Tensor:
    """A CNN critic's logits `(L−1, R, B)` for the rollouts `seqs (L−1, R, B, L)` of `tokens (B, L)`, with the
    convolution windows that lie inside the real prefix computed once per sentence instead of once per rollout.

    A rollout of prefix length t keeps `tokens[b, :t]`, so a window of width w starting at s ≤ t − w reads only
    real tokens: its value is the same for all R rollouts (and for every longer prefix). Max-pooling composes:
    max over all windows = max(running max of the real windows up to t − w, max of the windows from t − w + 1 on,
    which touch sampled tokens). At the oracle setting that skips ~32 % of the convolution FLOPs.

    The rollouts are embedded once, in the autocast dtype when autocast is on. In bf16 each block's windows are
    one matrix product (`_window_conv_max`): on a CPU 1.2x faster for the whole scoring than bf16 Conv1d, whose
    `(N, F, T)` output also makes the max over time slow; in fp32 Conv1d stays faster (`by_product`: None
    chooses by dtype, as here; True/False force one, for tests). Same values as
    `critic(one_hot(seqs))` up to summation order and the bias being added after the max (tests compare in
    float64).
    """
    n_prefix, R, B, L = seqs.shape
    device_type = seqs.device.type
    dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) \
        else critic.embed.weight.dtype
    by_product = dtype == torch.bfloat16 if by_product is None else by_product
    table = critic.embed.weight.t().to(dtype)  # (V, E): the embedding of one-hot rows
    E = table.shape[1]
    x = F.embedding(seqs.reshape(n_prefix, R * B, L), table).view(n_prefix, R * B, L * E)  # token-major rows
    real = F.embedding(tokens, table).view(B, L * E)
    pooled = []  # per width: (L−1, R·B, F)
    for conv in critic.convs:
        w = conv.kernel_size[0]
        weight = conv.weight.to(dtype)  # (F, E, w)
        # the real windows' running max: [b, s] = max over the windows 0..s of sentence b
        prefix_max = _window_conv_max(real, weight, w, E, 0, by_product, running=True)  # (B, L−w+1, F)
        blocks = [_window_conv_max(x[:w - 1].reshape(-1, L * E), weight, w, E, 0, by_product).view(w - 1, R * B, -1)] \
            if w > 1 else []  # prefix lengths t < w: every window touches a sampled token
        for t in range(max(w, 1), n_prefix + 1):
            start = t - w + 1  # the first window that reads a sampled token
            z = _window_conv_max(x[t - 1], weight, w, E, start, by_product).view(R, B, -1)  # (R, B, F)
            blocks.append(torch.maximum(z, prefix_max[:, start - 1].unsqueeze(0)).view(1, R * B, -1))
        pooled.append(torch.cat(blocks) + conv.bias.to(dtype))  # max(z) + bias = max(z + bias)
    h = F.relu(torch.cat(pooled, -1)).view(n_prefix * R * B, -1)  # (N, F*widths)
    return torch.cat([critic.logits_from_pooled(part) for part in h.split(chunk)]).view(n_prefix, R, B)


def _window_conv_max(rows: Tensor, weight: Tensor, w: int, emb: int, start: int, by_product: bool,
                     running: bool = False) -> Tensor:
    """Bias-free convolution of width `w` (`weight (F, E, w)`) over embedded rows `(N, L·E)` (token-major), over
    the windows from `start` on, then the max over those windows `(N, F)` — or, with `running`, the running max
    `(N, T, F)`. `by_product`: one matrix product of the windows (a window is `w·E` contiguous numbers of a row)
    with the `(w·E, F)` weight; otherwise Conv1d."""
    n = rows.shape[0]
    if by_product:
        windows = rows.unfold(1, w * emb, emb)[:, start:]  # (N, T, w·E), a view
        t = windows.shape[1]
        z = (windows.reshape(n * t, w * emb) @ weight.permute(2, 1, 0).reshape(w * emb, -1)).view(n, t, -1)
        return z.cummax(1).values if running else z.amax(1)  # over T
    x = rows.view(n, -1, emb)[:, start:].transpose(1, 2)  # (N, E, L − start)
    z = F.conv1d(x, weight)  # (N, F, T)
    return z.cummax(-1).values.transpose(1, 2) if running else z.amax(-1)


def rank_rescale(rewards: Tensor, delta: float = 12.0) -> Tensor:
    """LeakGAN's bootstrapped rescaled activation (Guo et al. 2018, Sec. 3.3): at each time step the rewards of
    the batch are replaced by sigmoid(delta·(0.5 − rank/B)), rank 1 = best. Only the order within the batch
    counts, so a discriminator that saturates (all scores ~0) still gives a spread of rewards."""
    B = rewards.shape[0]
    rank = rewards.argsort(0, descending=True).argsort(0).to(rewards.dtype) + 1  # (B, L), 1 = highest
    return torch.sigmoid(delta * (0.5 - rank / B))


def pg_loss(log_probs: Tensor, rewards: Tensor, baseline: str = "none") -> Tensor:
    """REINFORCE: −mean_{b,t} log π(y_t | y_<t) · (Q_t − b). `baseline` 'mean' subtracts the batch mean of each
    time step's rewards (variance reduction; SeqGAN's optional baseline)."""
    if baseline == "mean":
        rewards = rewards - rewards.mean(0, keepdim=True)
    elif baseline != "none":
        raise ValueError(f"baseline={baseline!r}; choose 'none' or 'mean'")
    return -(log_probs * rewards.detach()).mean()


class _TokenEmbed(nn.Module):
    """A critic's bias-free `Linear(V, E)` read as an embedding table: on a one-hot row, the same result."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, ids: Tensor) -> Tensor:
        return F.embedding(ids, self.linear.weight.t())


@contextmanager
def token_input(critic: nn.Module):
    linear = critic.embed
    critic.embed = _TokenEmbed(linear)
    try:
        yield
    finally:
        critic.embed = linear


def critic_logits(critic: nn.Module, tokens: Tensor, vocab_size: int) -> Tensor:
    """Critic logits `(B,)` for token ids `(B, L)`, without building `(B, L, V)` one-hots when the critic opens
    with a bias-free `Linear(V, E)` (all of ours do): at V=5000 the one-hots of 20k rollouts would take 8 GB."""
    embed = getattr(critic, "embed", None)
    if isinstance(embed, nn.Linear) and embed.bias is None:
        with token_input(critic):
            return critic(tokens)
    return critic(F.one_hot(tokens, vocab_size).float())


def blend_(target: nn.Module, source: nn.Module, rate: float) -> None:
    """SeqGAN's delayed rollout network: θ_roll <- rate·θ_roll + (1 − rate)·θ_gen."""
    with torch.no_grad():
        for pt, ps in zip(target.parameters(), source.parameters()):
            pt.mul_(rate).add_(ps, alpha=1 - rate)
