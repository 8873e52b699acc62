"""What the critic thinks: its score on each displayed sentence (real and generated), the two score
distributions side by side, and which words of a sentence make it look fake.

Scores are the critic's raw output, higher = "looks real": a logit for cross-entropy critics (gan, seqgan, ...;
0 means 50/50) and an unbounded score for Wasserstein critics (only differences matter). The critic reads
`(B, L, V)` one-hot rows, so real and generated sentences are scored the same way, as token ids.

Per-word attribution is gradient × input on the one-hot, centred per position: for word w at position t it is
dS/dx[t, w] − mean_v dS/dx[t, v], the first-order change of the score when that word is blurred into an average
word. Negative = this word pulls the sentence towards "fake". It works for every critic that is differentiable
in its input (all of ours); critics with several outputs per sentence (SentiGAN's classes) are not scored.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..variants.base import eval_mode


class NoCritic(ValueError):
    """The run has no single-score critic to ask (MLE, pg-bleu, SentiGAN's class critic)."""


def _critic(run) -> torch.nn.Module:
    critic = getattr(run, "critic", None)
    if critic is None:
        raise NoCritic(f"{run.config.variant} trains without a critic: there is no critic score to show")
    return critic


@torch.no_grad()
def critic_scores(run, ids: Tensor) -> list[float]:
    """The critic's score of each `(B, L)` row of token ids (real or generated), higher = looks real."""
    critic = _critic(run)
    if ids.numel() == 0:
        return []
    with eval_mode(critic):
        x = F.one_hot(ids.to(run.device), run.corpus.vocab_size).float()  # (B, L, V)
        s = critic(x)
    if s.dim() != 1:
        raise NoCritic(f"the {run.config.variant} critic gives {s.shape[-1]} scores per sentence, not one")
    return s.float().cpu().tolist()


def score_histogram(run, n: int = 256, seed: int = 0) -> dict[str, Any]:
    """Critic scores of `n` real test sentences and `n` fresh generated ones (sampling seed `seed`):
    {"real": [...], "fake": [...], "step": int}, for `plots.score_histogram`."""
    n = max(1, min(int(n), 4096))
    test = run.corpus.test if run.corpus.test.shape[0] else run.corpus.train
    g = torch.Generator().manual_seed(seed)
    real = test[torch.randint(0, test.shape[0], (min(n, test.shape[0]),), generator=g)]
    fake = run.sample_tokens(n, seed=seed)
    return {"real": critic_scores(run, real), "fake": critic_scores(run, fake), "step": run.step}


def token_attribution(run, ids: Tensor) -> list[list[tuple[str, float]]]:
    """Per sentence, (word, attribution) for each word up to its end (see the module docstring): negative
    values are the words that make the critic call it fake."""
    critic = _critic(run)
    if ids.numel() == 0:
        return []
    with eval_mode(critic):
        x = F.one_hot(ids.to(run.device), run.corpus.vocab_size).float().requires_grad_(True)  # (B, L, V)
        s = critic(x)
        if s.dim() != 1:
            raise NoCritic(f"the {run.config.variant} critic gives {s.shape[-1]} scores per sentence, not one")
        (grad,) = torch.autograd.grad(s.sum(), x)  # (B, L, V)
    chosen = (grad * x.detach()).sum(-1)  # (B, L): gradient at the word actually there
    attr = (chosen - grad.mean(-1)).cpu()  # (B, L): relative to an average word at that position
    out = []
    for row, a in zip(ids.cpu(), attr):
        words = run.corpus.tokens(row)
        out.append([(w, float(v)) for w, v in zip(words, a.tolist())])
    return out


def scored_samples(run, n: int = 8, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """`n` real and `n` generated sentences with their critic score and, on `modes`, their mode:
    {"real": [{"text", "score", "mode"}...], "fake": [...]} (scores None when the run has no critic)."""
    test = run.corpus.test if run.corpus.test.shape[0] else run.corpus.train
    real = test[: max(0, min(n, test.shape[0]))]
    fake = run.sample_tokens(n, seed=seed)
    out = {}
    for name, ids in (("real", real), ("fake", fake)):
        try:
            scores: list[float | None] = critic_scores(run, ids)
        except NoCritic:
            scores = [None] * ids.shape[0]
        modes = run.corpus.classify_ids(ids).tolist() if hasattr(run.corpus, "classify_ids") else [None] * len(scores)
        out[name] = [{"text": t, "score": s, "mode": m}
                     for t, s, m in zip(run.corpus.decode_batch(ids), scores, modes)]
    return out
