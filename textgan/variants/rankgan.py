"""`rankgan`: RankGAN (Lin et al. 2017) — a ranker instead of a binary discriminator.

The ranker embeds sentences (here: the CNN critic's `features`) and scores a sentence s against a reference
sentence u by cosine relevance α(s|u). Its rank score within a comparison set C is a softmax,
P(s|u, C) = exp(γα(s|u)) / Σ_{s' ∈ C ∪ {s}} exp(γα(s'|u)), and R(s|U, C) averages P over references u ∈ U
(human-written). The ranker learns to rank real text above generated text: it maximises
log R(real | U, C⁻) + log(1 − R(fake | U, C⁺)), with C⁻ generated and C⁺ real sentences. The generator is
rewarded, via SeqGAN's Monte-Carlo rollouts, with the rank score of its sentences against real ones, R(· | U, C⁺).

Differs from the paper / the authors' code (Dianqi Li's TensorFlow code, `cookielee77/RankGan-NIPS2017`):
- references (|U|) and comparison sets (|C|) are drawn from the training split with the variant's RNG at every
  update, C⁻ from fresh samples; the code draws 16 references per batch and ranks each sentence against the rest of
  its batch (64 mixed real and generated for the ranker, the 32 generated sentences of a rollout step for rewards);
- the code's rank score is a softmax over C of γ·Σ_u cos(s, u) (one softmax of the summed relevances), ours the
  paper's mean over u of the per-reference softmax; γ = 1 in the code (the `paper` preset), 4 by default here;
- the generator's reward is R itself (as SeqGAN's D(·)); by default (`baseline='mean'`) each time step's batch
  mean is subtracted, which neither paper nor code does (the `paper` preset sets 'none').
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import LearningRate
from .base import judging
from .policy import BaselineConfig, DiscriminatorConfig, PolicyConfig, RolloutConfig
from .rollout import token_input
from .seqgan import SeqGAN


def rank_scores(cand: Tensor, refs: Tensor, comp: Tensor, gamma: float) -> Tensor:
    """R(s | U, C) `(N,)` for candidate features `(N, F)`, references `(U, F)`, comparison set `(C, F)`."""
    cs = gamma * F.normalize(cand, dim=-1) @ F.normalize(refs, dim=-1).t()  # (N, U) γ·cosine
    cc = gamma * F.normalize(comp, dim=-1) @ F.normalize(refs, dim=-1).t()  # (C, U)
    lse = torch.logsumexp(cc, 0)  # (U,) the comparison set's share of each reference's softmax
    log_p = cs - torch.logaddexp(cs, lse.unsqueeze(0))  # (N, U) log P(s | u, C ∪ {s})
    return log_p.exp().mean(1)


@dataclass
class RankGANConfig(BaselineConfig, RolloutConfig, DiscriminatorConfig, PolicyConfig):
    lr_gen: LearningRate = 1e-3
    """Adam learning rate of the policy-gradient updates."""
    gamma: float = 4.0
    """Inverse temperature of the rank softmax over cosine relevances (paper: set empirically; authors' code: 1)."""
    ref_size: int = 16
    """Reference sentences U per update."""
    comparison_size: int = 16
    """Comparison set size |C|."""
    baseline: Literal["none", "mean"] = "mean"
    """'mean' or 'none'."""


class RankGAN(SeqGAN):
    name = "rankgan"
    Config = RankGANConfig
    summary = ("A ranker scores each sentence by its similarity to real references relative to a comparison set; the rank is"
               " the reward.")
    paper = "Lin et al. 2017, Adversarial Ranking for Language Generation (arXiv:1705.11001)"

    def features(self, tokens: Tensor) -> Tensor:
        """Ranker embedding `(N, F)` of token ids `(N, L)`."""
        with token_input(self.critic):
            return self.critic.features(tokens)

    def real_sample(self, n: int) -> Tensor:
        train = self.corpus.train
        idx = torch.randint(0, train.shape[0], (n,), generator=self.rng, device=self.rng.device if self.rng else None)
        return train[idx.cpu()].to(self.device)

    def score(self, tokens: Tensor) -> Tensor:
        return rank_scores(self.features(tokens), self._refs, self._comp, self.cfg.gamma)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        refs = self.features(self.real_sample(self.cfg.ref_size))
        comp_real = self.features(self.real_sample(self.cfg.comparison_size))  # C⁺
        comp_fake = self.features(self.gen.sample(self.cfg.comparison_size, rng=self.rng))  # C⁻
        r_real = rank_scores(self.features(real), refs, comp_fake, self.cfg.gamma)  # (B,)
        r_fake = rank_scores(self.features(fake), refs, comp_real, self.cfg.gamma)
        loss = -(r_real.clamp_min(1e-12).log().mean() + (1 - r_fake).clamp_min(1e-12).log().mean())
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/rank_real": r_real.mean().detach(), "critic/rank_fake": r_fake.mean().detach()}

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        with torch.no_grad():  # this update's references and real comparison set, fixed for all rollouts
            self._refs = self.features(self.real_sample(self.cfg.ref_size))
            self._comp = self.features(self.real_sample(self.cfg.comparison_size))
        return super().gen_step(batch_size)
