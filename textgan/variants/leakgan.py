"""`leakgan`: LeakGAN (Guo et al. 2018) — the discriminator leaks its features to a manager/worker generator.

The generator (textgan/nets/leakgan.py) reads the CNN discriminator's features f_t of the text so far at every
step: a MANAGER turns them into a goal g_t (a direction in feature space), a WORKER writes tokens toward the sum
of the last c goals. Training:
- MLE pre-training (`pretrain_steps`, scheduled by the run): worker by maximum likelihood, manager by aligning
  each goal with the real text's feature change, cos(f_{t+c} − f_t, g_t) (both in one `pretrain_step`);
- discriminator pre-training (`critic_warmup` iterations), then adversarial iterations: one generator update,
  then `critic_steps` discriminator updates (binary cross-entropy on token ids, as SeqGAN);
- the generator update: Monte-Carlo rollouts give each prefix its expected discriminator score, replaced by the
  bootstrapped rescaled activation (rank within the batch); the manager maximises Q · cos(f_{t+c} − f_t, g_t);
  the worker is REINFORCE with the intrinsic reward (1/c) Σ_{i=1}^{c} cos(f_t − f_{t−i}, g_{t−i}): did the
  text move the way its recent goals pointed;
- interleaved training: one MLE step (as in pre-training) after every `mle_every` adversarial iterations.

Differs from the paper / its code (Guo et al.'s TensorFlow code, "authors' code" below):
- w_t sums the goals g_t, g_{t−1}, .., g_{t−c+1}, the current one included; the paper's Eq. 5 sums g_{t−1} ..
  g_{t−c}, which leaves the first token goal-less (the code patches that with a learned initial goal) and gives
  a token's intrinsic reward to goals that did not steer it. Ours credits each token to exactly the goals in its
  w_t. The code also resets the goal sum at block boundaries (every c steps) and l2-normalises w_t; we follow
  the paper's sliding sum and plain projection, and use no temperature α (α = 1);
- Q of the goal g_t is the rollout value of the prefix it leads to, s_{t+c} (the code pairs them likewise), and
  rewards are estimated at every step with SeqGAN's batched rollouts (the code: only every c steps);
- rank rescaling is the paper's σ(δ·(0.5 − rank/B)) per time step with rank the sorted order, δ = 12 (the code:
  δ = 16, and its "rank" is the dict order in which the rewards first appear: it never sorts them);
- the discriminator is SeqGAN's CNN (4 widths) with a highway layer, small by default (64 features; the paper's
  has 12 widths and 1720 features); dropout off; no L2 penalty;
- no temperature α in sampling (the code scales the logits by 1.5 when it samples outside adversarial updates);
- losses are means over tokens and sentences; constant learning rates, as the code's optimizers have them (the code
  defines rates decayed ×0.96 every 200 pre-training and every 30 adversarial steps, CR-Gjx/LeakGAN
  `Synthetic Data/LeakGANModel.py:30-36`, but its optimizers take the constant rate, `:247,265,274,297`);
  discriminator schedule as in seqgan.py
  (`critic_warmup`, `critic_steps` single batches instead of 10 × 5 × 3 epochs);
- rollouts use the current generator by default (`rollout_rate` 0, as the code); set it for SeqGAN's delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import LearningRate
from ..nets import CRITICS, net_config
from ..nets.leakgan import LeakGANGenerator
from .base import grad_norm, judging
from .policy import DiscriminatorConfig, PolicyConfig, PolicyGradient, RolloutConfig
from .rollout import token_input, critic_logits, pg_loss, rank_rescale, rollout_rewards


@dataclass
class LeakGANConfig(RolloutConfig, DiscriminatorConfig, PolicyConfig):
    """LeakGAN's settings: the policy-gradient family's (textgan/variants/policy.py) with the authors' values where
    they differ, and its own. `clip_grad` clips the manager and the worker separately (authors' code: 5)."""

    lr_gen: LearningRate = 1.5e-3
    """Adam learning rate of the manager and the worker in adversarial updates (authors' code: 0.0015 at L=20)."""
    rollouts: int = 4
    """Monte-Carlo rollouts per prefix (authors' code: 4)."""
    rollout_rate: float = 0.0
    """0: roll out with the current generator (authors' code). r > 0: a delayed copy, θ_roll <- r·θ_roll + (1−r)·θ."""
    mle_every: int = 15
    """Interleaved training: one MLE step after every n adversarial iterations (paper: one MLE epoch per 15
    adversarial epochs); 0 = never."""
    pretrain_lr: LearningRate = 1.5e-3
    """Adam learning rate of MLE pre-training and of the interleaved MLE steps (authors' code: 0.0015)."""


def token_features(critic: nn.Module, tokens: Tensor, vocab_size: int) -> Tensor:
    """The critic's features `(N, D)` of token ids `(N, L)`; as `critic_logits`, no `(N, L, V)` one-hots when the
    critic opens with a bias-free `Linear(V, E)` (an embedding table on one-hot rows)."""
    embed = getattr(critic, "embed", None)
    if isinstance(embed, nn.Linear) and embed.bias is None:
        with token_input(critic):
            return critic.features(tokens)
    return critic.features(F.one_hot(tokens, vocab_size).float())


def _cos(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine along the last axis; 0 where a vector is zero (a PAD token leaves the features unchanged)."""
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(eps)


def manager_loss(features: Tensor, goals: Tensor, q: Tensor, c: int) -> Tensor:
    """−mean over b and t = 0..L−c of Q[b, t+c−1] · cos(f_{t+c} − f_t, g_t).

    features `(B, L+1, D)` (f_t: prefix of length t), goals `(B, L, D)` (g_t: set after reading f_t), q `(B, L)`
    (q[:, j]: value of the prefix of length j+1), so Q[b, t+c−1] is the value of s_{t+c}, where goal g_t leads.
    Pre-training uses q = 1: goals learn the direction real text moves in.
    """
    L = goals.shape[1]
    change = features[:, c:] - features[:, :L + 1 - c]  # (B, L+1−c, D): f_{t+c} − f_t
    return -(q[:, c - 1:] * _cos(change, goals[:, :L + 1 - c])).mean()


@torch.no_grad()
def intrinsic_rewards(features: Tensor, goals: Tensor, c: int) -> Tensor:
    """The worker's rewards `(B, L)`: token y_j (reaching f_{j+1}) gets (1/c) Σ_{i=1}^{c} cos(f_{j+1} − f_{j+1−i},
    g_{j+1−i}), terms before the start left out — the goals summed in the w_j that chose it."""
    B, L, _ = goals.shape
    r = torch.zeros(B, L, device=goals.device, dtype=goals.dtype)
    for i in range(1, min(c, L) + 1):
        r[:, i - 1:] += _cos(features[:, i:] - features[:, :L + 1 - i], goals[:, :L + 1 - i])
    return r / c


class LeakGAN(PolicyGradient):
    name = "leakgan"
    Config = LeakGANConfig
    paper = ("Guo et al. 2018, Long Text Generation via Adversarial Training with Leaked Information "
             "(arXiv:1709.08624)")
    summary = ("The discriminator leaks its features: a manager turns them into goals, a worker writes words toward "
               "them, rewarded by rollouts.")
    GEN_KEYS = ("loss/gen", "grad_norm/gen", "loss/manager", "loss/worker", "reward/mean", "reward/intrinsic")
    COPY_AT_RATE_ZERO = False  # the authors roll out with the generator itself
    default_generator = {"kind": "leakgan", "emb_dim": 16, "hidden": 32, "goal_size": 16, "step_size": 4,
                         "feature_dim": 64}
    default_critic = {"kind": "cnn", "emb_dim": 32, "filters": 16}  # 4 widths × 16 filters = 64 features
    lr_fields = {"manager": "lr_gen", "worker": "lr_gen", "critic": "lr_critic"}

    @classmethod
    def fit_specs(cls, gen_spec, critic_spec, corpus):
        """The generator's `feature_dim` is not a free choice: it is the CNN critic's feature count (filters ×
        widths), filled in here so that resizing the critic (as the app's form does) keeps the two in step."""
        if gen_spec.get("kind") == "leakgan" and critic_spec is not None and critic_spec.get("kind") == "cnn":
            _, ccfg = net_config(CRITICS, critic_spec, "critic")
            gen_spec = {**gen_spec, "feature_dim": ccfg.filters * len(ccfg.widths)}
        return gen_spec, critic_spec

    def __init__(self, gen, critic, corpus, cfg: LeakGANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        if not isinstance(gen, LeakGANGenerator):
            raise ValueError(f"variant 'leakgan' needs the manager/worker generator: set the generator kind to "
                             f"'leakgan' (got {type(gen).__name__})")
        if not callable(getattr(critic, "features", None)):
            raise ValueError(f"variant 'leakgan' leaks the discriminator's features to its generator, but the "
                             f"{type(critic).__name__} has no features(): use the critic kind 'cnn'")
        if cfg.rollouts < 1 or not 0 <= cfg.rollout_rate < 1 or cfg.mle_every < 0 or cfg.rescale_delta <= 0:
            raise ValueError(f"leakgan: rollouts={cfg.rollouts} must be >= 1, rollout_rate={cfg.rollout_rate} in "
                             f"[0, 1), mle_every={cfg.mle_every} >= 0, rescale_delta={cfg.rescale_delta} > 0")
        V = corpus.vocab_size
        with torch.no_grad():
            probe = token_features(critic, torch.full((1, corpus.seq_len), 0, dtype=torch.long, device=device), V)
        if probe.shape[-1] != gen.cfg.feature_dim:
            raise ValueError(f"the leakgan generator's feature_dim={gen.cfg.feature_dim} must equal the size of the "
                             f"critic's features, {probe.shape[-1]} (a CNN critic has filters × len(widths)): set "
                             f"the generator's feature_dim to {probe.shape[-1]}")
        gen.attach_features(lambda ids: token_features(critic, ids, V))
        self.optimizers["manager"] = torch.optim.Adam(gen.manager_parameters(), lr=cfg.lr_gen)
        self.optimizers["worker"] = torch.optim.Adam(gen.worker_parameters(), lr=cfg.lr_gen)
        self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic)
        self.adversarial_done = 0  # generator updates done by `step` (drives the interleaved MLE)

    # ---- reward -------------------------------------------------------------------------------------------

    def score(self, tokens: Tensor) -> Tensor:
        """D(Y) `(N,)` for complete sequences `(N, L)`: the discriminator's probability of 'real'."""
        return torch.sigmoid(critic_logits(self.critic, tokens, self.corpus.vocab_size))

    def rollout_values(self, tokens: Tensor) -> Tensor:
        """`(B, L)`: [:, j] = mean D of the rollouts that complete the prefix y_0..y_j (the last: D of the sample).
        The rollout policy reads the leaked features at every step too (it is a LeakGAN generator)."""
        net = self.rollout_policy()  # a delayed copy shares the critic's features too
        return rollout_rewards(net, tokens, self.cfg.rollouts, self.score, self.rng)

    # ---- updates ------------------------------------------------------------------------------------------

    def _update(self, manager: Tensor, worker: Tensor, opts: list[torch.optim.Optimizer]) -> Tensor:
        """Backward both losses (their gradients touch disjoint parameters), clip each module, step."""
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        (manager + worker).backward()
        norm = grad_norm(self.gen.parameters())
        torch.nn.utils.clip_grad_norm_(self.gen.manager_parameters(), self.cfg.clip_grad)
        torch.nn.utils.clip_grad_norm_(self.gen.worker_parameters(), self.cfg.clip_grad)
        for opt in opts:
            opt.step()
        return norm

    def _mle(self, real: Tensor) -> dict[str, Tensor]:
        """Pre-training objective: worker by MLE, manager by goal alignment on real text (Q = 1)."""
        self.pretrain_step_setup()
        logits, f, goals = self.gen.unroll(real, detach_goals=True)
        mle = F.cross_entropy(logits.flatten(0, 1), real.flatten())
        goal = manager_loss(f, goals, torch.ones_like(real, dtype=f.dtype), self.gen.cfg.step_size)
        norm = self._update(goal, mle, [self.pretrain_opt])
        return {"loss/mle": mle.detach(), "loss/manager": goal.detach(), "grad_norm/gen": norm}

    def pretrain_step(self, real: Tensor) -> dict[str, Tensor]:
        return self._mle(real)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        V = self.corpus.vocab_size
        d_real, d_fake = critic_logits(self.critic, real, V), critic_logits(self.critic, fake, V)  # (B,)
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # binary cross-entropy on logits
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/p_real": torch.sigmoid(d_real).mean().detach(),
                "critic/p_fake": torch.sigmoid(d_fake).mean().detach()}

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        c = self.gen.cfg.step_size
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (B, L)
        values = self.rollout_values(tokens)  # (B, L)
        q = rank_rescale(values, self.cfg.rescale_delta)  # (B, L), against vanishing rewards
        logits, f, goals = self.gen.unroll(tokens, detach_goals=True)  # (B, L, V), (B, L+1, D), (B, L, D)
        log_probs = F.log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, L)
        manager = manager_loss(f, goals, q, c)
        intrinsic = intrinsic_rewards(f, goals.detach(), c)  # (B, L)
        worker = pg_loss(log_probs, intrinsic)
        norm = self._update(manager, worker, [self.optimizers["manager"], self.optimizers["worker"]])
        self.follow()
        return {"loss/gen": (manager + worker).detach(), "grad_norm/gen": norm, "loss/manager": manager.detach(),
                "loss/worker": worker.detach(), "reward/mean": values.mean(), "reward/intrinsic": intrinsic.mean()}

    def after_gen_step(self, real: Tensor, out: dict[str, Tensor]) -> None:
        self.adversarial_done += 1
        if self.cfg.mle_every and self.adversarial_done % self.cfg.mle_every == 0:
            out["loss/mle"] = self._mle(real)["loss/mle"]  # interleaved supervised step

    # ---- checkpoint ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {**super().state_dict(), "adversarial_done": self.adversarial_done}

    def load_state_dict(self, sd: dict) -> None:
        super().load_state_dict(sd)
        self.adversarial_done = int(sd.get("adversarial_done", 0))
