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

import copy
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import LearningRate, PretrainSteps, Steps
from ..device import fast_bf16
from .base import AdversarialVariant, judging
from .rollout import (blend_, cnn_rollout_logits, critic_logits, pg_loss, rank_rescale, rollout_rewards,
                      shares_prefix_windows)


SCORE_PRECISIONS = ("fp32", "bf16", "auto")


def _from_bf16(x: Tensor) -> Tensor:
    """Autocast's bf16 results back to fp32; other dtypes (a float64 critic in tests) unchanged."""
    return x.float() if x.dtype == torch.bfloat16 else x


@dataclass
class SeqGANConfig:
    lr_gen: LearningRate = 1e-2
    """Adam learning rate of the adversarial generator updates (SeqGAN code: 0.01)."""
    lr_critic: LearningRate = 1e-4
    """Adam learning rate of the discriminator (SeqGAN code: 1e-4)."""
    rollouts: int = 16
    """Monte-Carlo rollouts per prefix (paper: 16)."""
    rollout_rate: float = 0.8
    """Delay of the rollout network: θ_roll <- rate·θ_roll + (1 − rate)·θ_gen after each generator update."""
    baseline: Literal["none", "mean"] = "none"
    """'none' (paper) or 'mean': subtract each time step's batch-mean reward."""
    rescale: bool = False
    """Replace rewards by LeakGAN's rank-based rescaled activation (against vanishing gradients)."""
    rescale_delta: float = 12.0
    """Sharpness of the rank rescaling (LeakGAN: 12)."""
    critic_steps: Steps = 3
    """Discriminator updates per adversarial iteration, each on its own real batch (paper: 5 × 3 epochs)."""
    critic_warmup: int = 3
    """Discriminator-only iterations before the first generator update (paper: 50 × 3 epochs)."""
    clip_grad: float = 5.0
    """Generator gradient-norm clipping (SeqGAN code: 5)."""
    score_precision: Literal["fp32", "bf16", "auto"] = "fp32"
    """Precision of the discriminator when it scores the rollouts (rewards only; its training stays fp32):
    'fp32', 'bf16' (autocast), or 'auto' = bf16 where it is fast (CUDA, CPUs with AVX-512 BF16 / AMX), else fp32.
    At the paper's critic size bf16 makes the whole adversarial step 1.8x faster on such a CPU (bench/rollout.py),
    changing rewards by ~1e-4."""
    pretrain_steps: PretrainSteps = 0
    """MLE steps before everything else (paper: 80 epochs on the oracle; set it for real runs)."""
    pretrain_lr: LearningRate = 1e-2
    """Adam learning rate of MLE pre-training (SeqGAN code: 0.01)."""


class SeqGAN(AdversarialVariant):
    name = "seqgan"
    Config = SeqGANConfig
    summary = ("The generator is a policy: Monte-Carlo rollouts turn the discriminator's verdict on whole sentences into "
               "per-token rewards.")
    paper = "Yu et al. 2017, SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient (arXiv:1609.05473)"
    needs_log_prob = True
    default_generator = {"kind": "lstm", "emb_dim": 32, "hidden": 32}
    default_critic = {"kind": "cnn", "emb_dim": 64, "filters": 64}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: SeqGANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        if getattr(cfg, "baseline", "none") not in ("none", "mean"):
            raise ValueError(f"baseline={cfg.baseline!r}; choose 'none' or 'mean'")
        if getattr(cfg, "score_precision", "fp32") not in SCORE_PRECISIONS:
            raise ValueError(f"score_precision={cfg.score_precision!r}; choose one of {SCORE_PRECISIONS}")
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen)
        if critic is not None:
            self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic)
        self.warmup_done = 0
        self.rollout_net = None  # copied from the generator when the adversarial phase starts (after MLE)

    @property
    def batches_per_step(self) -> int:
        return self.cfg.critic_steps

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

    def rewards(self, tokens: Tensor) -> Tensor:
        """Per-token rewards `(B, L)` for a batch of samples (rollouts by the delayed network)."""
        if self.rollout_net is None:
            self.rollout_net = copy.deepcopy(self.gen).requires_grad_(False)
        shared = self._scores_by_critic() and shares_prefix_windows(self.critic)
        blocks = self.rollout_block_scores if shared else None
        r = rollout_rewards(self.rollout_net, tokens, self.cfg.rollouts, self.rollout_score, self.rng,
                            score_rollouts=blocks)
        return rank_rescale(r, self.cfg.rescale_delta) if self.cfg.rescale else r

    # ---- updates ------------------------------------------------------------------------------------------

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        d_real = self.critic_logits(real)  # (B,)
        d_fake = self.critic_logits(fake)
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # binary cross-entropy on logits
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/p_real": torch.sigmoid(d_real).mean().detach(),
                "critic/p_fake": torch.sigmoid(d_fake).mean().detach()}

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (B, L)
        rewards = self.rewards(tokens)  # (B, L)
        loss = pg_loss(self.gen.log_prob(tokens), rewards, self.cfg.baseline)
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        blend_(self.rollout_net, self.gen, self.cfg.rollout_rate)
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "reward/mean": rewards.mean(),
                "reward/final": rewards[:, -1].mean()}

    def step(self, real: Tensor) -> dict[str, Tensor]:
        chunks = real.chunk(self.cfg.critic_steps)
        out: dict[str, Tensor] = {}
        if self.warmup_done < self.cfg.critic_warmup:
            self.warmup_done += 1  # discriminator pre-training: no generator update yet
            zero = torch.zeros((), device=real.device)
            out.update({"loss/gen": zero, "grad_norm/gen": zero, "reward/mean": zero, "reward/final": zero})
        else:
            out.update(self.gen_step(chunks[0].shape[0]))
        for chunk in chunks:
            out.update(self.critic_step(chunk))
        return out

    # ---- checkpoint ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        sd = super().state_dict()
        sd["warmup_done"] = self.warmup_done
        if self.rollout_net is not None:
            sd["rollout_net"] = {k: v.detach().clone() for k, v in self.rollout_net.state_dict().items()}
        return sd

    def load_state_dict(self, sd: dict) -> None:
        super().load_state_dict(sd)
        self.warmup_done = int(sd.get("warmup_done", 0))
        if "rollout_net" in sd:
            self.rollout_net = copy.deepcopy(self.gen).requires_grad_(False)
            self.rollout_net.load_state_dict(sd["rollout_net"])
