"""What the policy-gradient variants share: their settings and the loop around their own math.

SeqGAN, RankGAN, MaliGAN, DPGAN, PG-BLEU and LeakGAN all treat the generator as a policy rewarded by a judge. They
share settings (the configs below, combined by each variant's Config) and one iteration: `critic_warmup`
judge-only iterations first (counted in the checkpoint), then one generator update followed by `critic_steps`
judge updates, with Monte-Carlo rollouts drawn by a delayed copy of the generator (`rollout_rate`) and an optional
per-time-step mean baseline. Each variant's file keeps only its reward and its updates.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from ..checks import LearningRate, PretrainSteps, Steps
from .base import AdversarialVariant, check_config
from .rollout import blend_, pg_loss


@dataclass
class PolicyConfig:
    """Every policy-gradient variant: its generator updates and its MLE pre-training."""

    lr_gen: LearningRate = 1e-2
    """Adam learning rate of the policy-gradient generator updates (SeqGAN code: 0.01)."""
    clip_grad: float = 5.0
    """Generator gradient-norm clipping (SeqGAN code: 5)."""
    pretrain_steps: PretrainSteps = 0
    """MLE steps before everything else (the papers pre-train, e.g. 80 epochs on the oracle; set it for real runs)."""
    pretrain_lr: LearningRate = 1e-2
    """Adam learning rate of MLE pre-training (SeqGAN code: 0.01)."""


@dataclass
class DiscriminatorConfig:
    """Variants whose reward is a trained judge (a discriminator, a ranker, a language model)."""

    lr_critic: LearningRate = 1e-4
    """Adam learning rate of the judge (SeqGAN code: 1e-4)."""
    critic_steps: Steps = 3
    """Judge updates per adversarial iteration, each on its own real batch (SeqGAN paper: 5 × 3 epochs)."""
    critic_warmup: int = 3
    """Judge-only iterations before the first generator update (SeqGAN paper: 50 × 3 epochs)."""


@dataclass
class RolloutConfig:
    """Variants that reward each prefix by Monte-Carlo rollouts (textgan/variants/rollout.py)."""

    rollouts: int = 16
    """Monte-Carlo rollouts per prefix (SeqGAN paper: 16)."""
    rollout_rate: float = 0.8
    """Delay of the rollout network: θ_roll <- rate·θ_roll + (1 − rate)·θ_gen after each generator update."""
    rescale_delta: float = 12.0
    """Sharpness of LeakGAN's rank rescaling of rewards (LeakGAN: 12)."""


@dataclass
class BaselineConfig:
    """How rollout rewards become advantages."""

    baseline: Literal["none", "mean"] = "none"
    """'none' (SeqGAN paper) or 'mean': subtract each time step's batch-mean reward."""
    rescale: bool = False
    """Replace rewards by LeakGAN's rank-based rescaled activation (against vanishing gradients)."""


class PolicyGradient(AdversarialVariant):
    """The loop of a policy-gradient variant: warm-up counter, delayed rollout network, baseline, checkpoint state.

    Subclasses implement `gen_step` (their reward and update) and `critic_step` (their judge's), and name the keys
    `gen_step` returns in `GEN_KEYS` (logged as zeros while the judge warms up)."""

    needs_log_prob = True
    GEN_KEYS: ClassVar[tuple[str, ...]] = ("loss/gen", "grad_norm/gen", "reward/mean", "reward/final")
    COPY_AT_RATE_ZERO: ClassVar[bool] = True
    """Whether rollouts use a copy of the generator even at rollout_rate 0 (SeqGAN's code keeps one; LeakGAN's
    rolls out with the generator itself)."""

    def __init__(self, gen, critic, corpus, cfg: Any, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        check_config(cfg)  # the declared choices (baseline, score_precision) even when built without a Run
        self.warmup_done = 0
        """Judge-only iterations done (`critic_warmup`)."""
        self.rollout_net: nn.Module | None = None
        """The delayed copy of the generator that draws rollouts, made when the adversarial phase starts."""

    def rollout_policy(self) -> nn.Module:
        """The network that completes prefixes: the delayed copy (made on first use, after MLE pre-training)."""
        if self.cfg.rollout_rate == 0 and not self.COPY_AT_RATE_ZERO:
            return self.gen
        if self.rollout_net is None:
            self.rollout_net = copy.deepcopy(self.gen).requires_grad_(False)
        return self.rollout_net

    def follow(self) -> None:
        """After a generator update: the rollout network moves toward the generator by (1 − rollout_rate)."""
        if self.rollout_net is not None:
            blend_(self.rollout_net, self.gen, self.cfg.rollout_rate)

    def policy_loss(self, tokens: Tensor, rewards: Tensor) -> Tensor:
        """The REINFORCE loss of sampled `tokens` `(B, L)` under per-token `rewards` `(B, L)`, with the baseline."""
        return pg_loss(self.gen.log_prob(tokens), rewards, getattr(self.cfg, "baseline", "none"))

    def after_gen_step(self, real: Tensor, out: dict[str, Tensor]) -> None:
        """Called after each adversarial generator update (LeakGAN interleaves MLE here); default: nothing."""

    def step(self, real: Tensor) -> dict[str, Tensor]:
        chunks = real.chunk(self.cfg.critic_steps)
        out: dict[str, Tensor] = {}
        if self.warmup_done < self.cfg.critic_warmup:
            self.warmup_done += 1  # judge pre-training: no generator update yet
            zero = torch.zeros((), device=real.device)
            out.update({k: zero for k in self.GEN_KEYS})
        else:
            out.update(self.gen_step(chunks[0].shape[0]))
            self.after_gen_step(chunks[0], out)
        for chunk in chunks:
            out.update(self.critic_step(chunk))
        return out

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
