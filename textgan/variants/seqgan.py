"""`seqgan`: SeqGAN (Yu et al. 2017) — the generator is a policy, the discriminator's judgement is the reward.

Phases: MLE pre-training (`pretrain_steps`, scheduled by the run), discriminator pre-training (`critic_warmup`
iterations of critic-only updates on fresh negatives, counted in the variant's state), then adversarial
iterations: one policy-gradient generator update with Monte-Carlo rollout rewards (`rollouts` = 16 rollouts by a
copy of the generator that follows it with delay, rate 0.8), then `critic_steps` discriminator updates.

Differs from the paper / its code:
- rollouts are batched (textgan/variants/rollout.py) and drawn by Gumbel-max: same distribution, one pass;
- the PG loss is a mean over tokens and sentences (the TF code sums), so learning rates do not scale with B·L;
- discriminator pre-training is `critic_warmup` single-batch updates (paper: 50 rounds × 3 epochs), and each
  adversarial round does `critic_steps` single-batch updates (paper: 5 × 3 epochs) — scale them up for papers'
  numbers; the defaults keep a demo interactive;
- optional: a per-time-step mean baseline, and LeakGAN's rank rescaling of rewards (`rescale`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..device import fast_bf16
from .base import judging
from .policy import BaselineConfig, DiscriminatorConfig, PolicyConfig, PolicyGradient, RolloutConfig
from .rollout import cnn_rollout_logits, critic_logits, rank_rescale, rollout_rewards, shares_prefix_windows


def _from_bf16(x: Tensor) -> Tensor:
    """Autocast's bf16 results back to fp32; other dtypes (a float64 critic in tests) unchanged."""
    return x.float() if x.dtype == torch.bfloat16 else x


@dataclass
class SeqGANConfig(BaselineConfig, RolloutConfig, DiscriminatorConfig, PolicyConfig):
    """SeqGAN's settings: the policy-gradient family's (textgan/variants/policy.py, SeqGAN's values) and its own."""

    critic_l2: float = 0.0
    """L2 penalty on the discriminator's output layer, λ·(‖W‖² + ‖b‖²)/2 added to its loss, as tf.nn.l2_loss
    (SeqGAN code: dis_l2_reg_lambda = 0.2, LantaoYu/SeqGAN `sequence_gan.py:29`, `discriminator.py:119-130`;
    the paper preset's value). The code's layer has two softmax columns and one mean over a mixed batch, ours one
    logit and a mean per class: the two factors of 2 cancel, so the same λ is the same penalty (tested). Needs a
    critic with an `out` linear layer (the CNN)."""
    score_precision: Literal["fp32", "bf16", "auto"] = "fp32"
    """Precision of the discriminator when it scores the rollouts (rewards only; its training stays fp32):
    'fp32', 'bf16' (autocast), or 'auto' = bf16 where it is fast (CUDA, CPUs with AVX-512 BF16 / AMX), else fp32.
    At the paper's critic size bf16 makes the whole adversarial step 1.8x faster on such a CPU (bench/rollout.py),
    changing rewards by ~1e-4."""


class SeqGAN(PolicyGradient):
    name = "seqgan"
    Config = SeqGANConfig
    summary = ("The generator is a policy: Monte-Carlo rollouts turn the discriminator's verdict on whole sentences into "
               "per-token rewards.")
    paper = "Yu et al. 2017, SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient (arXiv:1609.05473)"
    default_generator = {"kind": "lstm", "emb_dim": 32, "hidden": 32}
    default_critic = {"kind": "cnn", "emb_dim": 64, "filters": 64}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: SeqGANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        l2 = getattr(cfg, "critic_l2", 0.0)
        if not 0 <= l2 <= 1e3:
            raise ValueError(f"critic_l2={l2!r}: must be in [0, 1000] (SeqGAN's code: 0.2)")
        if l2 and not isinstance(getattr(critic, "out", None), torch.nn.Linear):
            raise ValueError(f"critic_l2={l2} penalises the critic's output layer, and this critic has none "
                             "(use the CNN critic, or critic_l2=0)")
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen)
        if critic is not None:
            self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic)

    # ---- reward -------------------------------------------------------------------------------------------

    def critic_logits(self, tokens: Tensor) -> Tensor:
        """Discriminator logits `(N,)` for token ids `(N, L)`."""
        return critic_logits(self.critic, tokens, self.corpus.vocab_size)

    def score(self, tokens: Tensor) -> Tensor:
        """Reward of complete sequences `(N, L)` -> `(N,)`: the discriminator's probability of 'real'."""
        return torch.sigmoid(self.critic_logits(tokens))

    def rollout_score(self, tokens: Tensor) -> Tensor:
        """`score` at the rollouts' precision (`score_precision`): only the discriminator runs in bf16, never
        the rollout policy, whose sampling stays exact."""
        if not self._bf16_scores(tokens.device) or not self._scores_by_critic():
            return self.score(tokens)
        with torch.autocast(tokens.device.type, dtype=torch.bfloat16):
            logits = self.critic_logits(tokens)
        return torch.sigmoid(_from_bf16(logits))

    def _scores_by_critic(self) -> bool:
        """Whether `score` is this class's sigmoid of the critic's logits (subclasses such as RankGAN and PG-BLEU
        score otherwise, and then the critic-specific fast paths must not replace their `score`)."""
        return type(self).score is SeqGAN.score

    def _bf16_scores(self, device: torch.device) -> bool:
        precision = getattr(self.cfg, "score_precision", "fp32")
        return precision == "bf16" or (precision == "auto" and fast_bf16(device))

    def rollout_block_scores(self, seqs: Tensor, tokens: Tensor) -> Tensor:
        """Scores `(L−1, R, B)` of all rollouts at once, pooling the windows of the real prefixes once
        (`cnn_rollout_logits`), at the rollouts' precision."""
        with torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=self._bf16_scores(tokens.device)):
            logits = cnn_rollout_logits(self.critic, seqs, tokens)
        return torch.sigmoid(_from_bf16(logits))

    @judging
    def rewards(self, tokens: Tensor) -> Tensor:
        """Per-token rewards `(B, L)` for a batch of samples (rollouts by the delayed network), scored with the
        critic in eval mode whoever calls it (its mode is restored after)."""
        shared = self._scores_by_critic() and shares_prefix_windows(self.critic)
        blocks = self.rollout_block_scores if shared else None
        r = rollout_rewards(self.rollout_policy(), tokens, self.cfg.rollouts, self.rollout_score, self.rng,
                            score_rollouts=blocks)
        return rank_rescale(r, self.cfg.rescale_delta) if self.cfg.rescale else r

    # ---- updates ------------------------------------------------------------------------------------------

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        d_real = self.critic_logits(real)  # (B,)
        d_fake = self.critic_logits(fake)
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # binary cross-entropy on logits
        l2 = getattr(self.cfg, "critic_l2", 0.0)
        if l2:  # SeqGAN's code: l2_reg_lambda · tf.nn.l2_loss on the output layer's weight and bias
            loss = loss + l2 * sum(p.square().sum() for p in self.critic.out.parameters()) / 2
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/p_real": torch.sigmoid(d_real).mean().detach(),
                "critic/p_fake": torch.sigmoid(d_fake).mean().detach()}

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (B, L)
        rewards = self.rewards(tokens)  # (B, L)
        loss = self.policy_loss(tokens, rewards)
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        self.follow()
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "reward/mean": rewards.mean(),
                "reward/final": rewards[:, -1].mean()}
