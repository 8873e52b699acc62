"""`relgan`: RelGAN (Nie, Narodytska & Patel, ICLR 2019, "RelGAN: Relational Generative Adversarial Networks for
Text Generation").

Three parts: a relational-memory generator (`nets/relational.py`), a multi-representation CNN critic
(`nets/multirep.py`), and Gumbel-softmax outputs whose inverse temperature beta is annealed from 1 to `beta_max`
during adversarial training; the loss is the relativistic standard GAN (Jolicoeur-Martineau 2018):

    critic:    softplus(-(D(x_real) - D(x_fake))).mean()        generator: softplus(-(D(x_fake) - D(x_real))).mean()

with real and fake batches paired row by row (and per representation when the critic has `scores`).

The schedule's horizon N: the paper describes beta rising to beta_max over adversarial training. RelGAN's released
code computes the `exp` schedule as beta_max ** (i / N), with N its number of adversarial steps, hard-coded at
N = 5000 (weilinie/RelGAN `real/real_gan/real_train.py:388`) whatever the run length; ours
is the same formula, with N = `beta_horizon`, or `adv_iters` when that is 0. beta_max is therefore reached at
i = N, one step after the last planned iteration (i = N - 1 gives beta_max ** ((N-1)/N): 99.97 % of log beta_max
at N = 3000). The code's published 3,000-iteration oracle runs ended at beta = 100 ** (2999/5000) ~ 15.8, not at
beta_max; `beta_horizon=5000` reproduces that. Its code also clips gradient norms at 5.0 in pre-training and in
both adversarial updates (`clip_grad`). Pre-training with MLE (the paper: 150 epochs on the oracle) is
`pretrain_steps`; the iteration counter starts after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import LearningRate, PretrainSteps, Steps
from ..nets.relax import Relaxation
from .base import AdversarialVariant, one_hot

SCHEDULES = ("const", "lin", "exp", "log", "quad", "sqrt", "sigmoid")


def beta_at(i: int, n: int, beta_max: float, schedule: str) -> float:
    """Inverse temperature at adversarial iteration `i` (0-based) of a horizon `n`: 1 at i = 0, beta_max from the
    end of the horizon on.

    The paper's schedules (its appendix): with p = i / (n - 1),
    lin 1 + (b-1) p;  exp b ** (i / n), as RelGAN's code has it (so beta_max at i = n, not at i = n - 1);
    log 1 + (b-1) log(1+i) / log(n);  quad 1 + (b-1) p^2;  sqrt 1 + (b-1) sqrt p;
    sigmoid 1 + (b-1) s(p), s the logistic of 20 (p - 1/2) rescaled to run exactly from 0 to 1; const b.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown temperature schedule {schedule!r}; choose one of {SCHEDULES}")
    if schedule == "const":
        return float(beta_max)
    if n <= 1:
        return float(beta_max)
    b = beta_max
    if schedule == "exp":
        return b ** (min(max(i, 0), n) / n)
    i = min(max(i, 0), n - 1)
    p = i / (n - 1)
    if schedule == "lin":
        return 1 + (b - 1) * p
    if schedule == "log":
        return 1 + (b - 1) * math.log(1 + i) / math.log(n)
    if schedule == "quad":
        return 1 + (b - 1) * p * p
    if schedule == "sqrt":
        return 1 + (b - 1) * math.sqrt(p)
    lo, hi = 1 / (1 + math.exp(10)), 1 / (1 + math.exp(-10))
    s = (1 / (1 + math.exp(-20 * (p - 0.5))) - lo) / (hi - lo)
    return 1 + (b - 1) * s


@dataclass
class RelGANConfig:
    beta_max: float = 100.0
    """Final inverse temperature of the Gumbel-softmax (RelGAN oracle: 100; the paper also tries 1, 10, 1000)."""
    schedule: Literal["const", "lin", "exp", "log", "quad", "sqrt", "sigmoid"] = "exp"
    """How beta goes from 1 to beta_max: 'exp' (the paper's default), 'lin', 'log', 'quad', 'sqrt', 'sigmoid',
    'const'."""
    adv_iters: int = 3000
    """Adversarial iterations you plan to run, the schedule's N unless `beta_horizon` is set (paper: 3,000 on the
    oracle): beta reaches beta_max at i = N, as in RelGAN's code. Set it to your --steps minus pretrain_steps."""
    beta_horizon: int = 0
    """N of the schedule: 0 = adv_iters; RelGAN's released code: 5000 (`real_train.py:388`)."""
    clip_grad: float = 5.0
    """Gradient-norm clipping of pre-training and of the generator and critic updates (RelGAN's code: 5.0; 0 = off)."""
    relaxation: Relaxation = "gumbel"
    """'gumbel' (the paper) or 'st' / 'softmax' for comparison; the temperature is 1 / beta either way."""
    lr_gen: LearningRate = 1e-4
    lr_critic: LearningRate = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    critic_steps: Steps = 5
    """Critic updates per generator update (TextGAN-PyTorch's oracle setting: 5)."""
    critic_bf16: bool = False
    """Run the critic under bfloat16 autocast (matmuls in bf16, fp32 weights and optimizer). Pays off where bf16
    matmuls are fast: CUDA, or CPUs with AVX-512 BF16 / AMX (bench/relgan.py measures it). Off: exact fp32."""
    head_bf16: bool = False
    """Sample with the generator's output layer (memory -> vocabulary logits, its largest product) in bfloat16,
    fp32 weights: logits move by ~1e-2 (tested); the memory core, the noise, the softmax and pre-training stay
    fp32. Needs the relational generator. Pays off like `critic_bf16` (2-10 % of an oracle iteration); off:
    exact fp32."""
    pretrain_steps: PretrainSteps = 0
    """MLE steps before adversarial training (the paper pre-trains 150 epochs)."""
    pretrain_lr: LearningRate = 1e-2

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r}; choose one of {SCHEDULES}")
        if not 1 <= self.beta_max < 1e6:
            raise ValueError(f"beta_max={self.beta_max}: must be in [1, 1e6)")
        if isinstance(self.adv_iters, bool) or not isinstance(self.adv_iters, int) or not 1 <= self.adv_iters <= 10**9:
            raise ValueError(f"adv_iters={self.adv_iters!r}: must be a positive integer (the planned adversarial "
                             "iterations)")
        if isinstance(self.beta_horizon, bool) or not isinstance(self.beta_horizon, int) or \
                not 0 <= self.beta_horizon <= 10**9:
            raise ValueError(f"beta_horizon={self.beta_horizon!r}: must be 0 (= adv_iters) or a positive integer")
        if not 0 <= self.clip_grad < 1e6:
            raise ValueError(f"clip_grad={self.clip_grad}: must be >= 0 (0 = no clipping)")


class RelGAN(AdversarialVariant):
    name = "relgan"
    Config = RelGANConfig
    summary = ("Relational-memory generator, multi-representation critic and a relativistic loss through Gumbel-softmax with"
               " an annealed temperature.")
    paper = "Nie et al. 2019, RelGAN: Relational Generative Adversarial Networks for Text Generation (ICLR 2019)"
    # CPU-friendly defaults for the app and the tests; the paper's sizes are the nets' own defaults
    # ({"kind": "relational"}, {"kind": "multirep"}), which bench/oracle.py uses.
    default_generator = {"kind": "relational", "head_size": 32}
    default_critic = {"kind": "multirep", "reps": 16, "filters": 32, "hidden": 32}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: RelGANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen, betas=betas)
        self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic, betas=betas)
        self._apply_head_dtype(self._head_dtype(bool(getattr(cfg, "head_bf16", False))))
        self.adv_iter = 0
        """Adversarial iterations done (generator updates): the schedule's i."""
        self._last_real: Tensor | None = None

    def _head_dtype(self, head_bf16: bool) -> torch.dtype | None:
        """The generator's sampling-head precision for `head_bf16`; refused where the generator cannot do it."""
        if head_bf16 and not hasattr(self.gen, "head_dtype"):
            raise ValueError(f"head_bf16 needs the relational generator, not {type(self.gen).__name__}")
        return torch.bfloat16 if head_bf16 else None

    def _apply_head_dtype(self, dtype: torch.dtype | None) -> None:
        if hasattr(self.gen, "head_dtype"):
            self.gen.head_dtype = dtype

    def update(self, **changes) -> None:
        """As `Variant.update`; `head_bf16` reaches the generator once every change has been accepted."""
        dtype = self._head_dtype(bool(changes.get("head_bf16", getattr(self.cfg, "head_bf16", False))))
        super().update(**changes)
        self._apply_head_dtype(dtype)

    @property
    def beta(self) -> float:
        horizon = getattr(self.cfg, "beta_horizon", 0) or self.cfg.adv_iters
        return beta_at(self.adv_iter, horizon, self.cfg.beta_max, self.cfg.schedule)

    @property
    def clip(self) -> float | None:
        return getattr(self.cfg, "clip_grad", 0) or None

    def fake(self, n: int) -> Tensor:
        _, soft = self.gen.relaxed(n, self.cfg.relaxation, 1.0 / self.beta, self.rng)  # (n, L, V)
        return soft

    def _scores(self, real: Tensor | None, fake: Tensor | None = None) -> Tensor:
        """Critic logits of the one-hot rows of `real` (token ids), then of `fake`'s rows, in one pass."""
        score = getattr(self.critic, "scores", None) or self.critic
        device = (real if real is not None else fake).device
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.cfg.critic_bf16):
            if getattr(self.critic, "fast", False):  # the multirep critic looks real tokens up: no one-hot rows
                return score(fake, real=real).float()  # (B, R)
            parts = [] if real is None else [one_hot(real, self.corpus.vocab_size)]
            parts += [] if fake is None else [fake]
            return score(parts[0] if len(parts) == 1 else torch.cat(parts)).float()  # (B, R) or (B,)

    def critic_step(self, real: Tensor, fake: Tensor | None = None) -> dict[str, Tensor]:
        self._last_real = real
        if fake is None:
            with torch.no_grad():
                fake = self.fake(real.shape[0])  # (B, L, V)
        d = self._scores(real, fake)  # one pass for both halves
        d_real, d_fake = d.chunk(2)
        loss = F.softplus(-(d_real - d_fake)).mean()
        norm = self.optimize("critic", loss, list(self.critic.parameters()), clip=self.clip)
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/p_real_beats_fake": torch.sigmoid(d_real - d_fake).mean().detach()}

    def gen_step(self, batch_size: int, real: Tensor | None = None) -> dict[str, Tensor]:
        if real is None:  # the app's lone generator update: pair with the last critic batch
            if self._last_real is None:
                raise ValueError("relgan's generator loss compares with a real batch: run a critic update first")
            real = self._last_real
        fake = self.fake(batch_size)
        # Only D(fake) depends on the generator: D(real) is a constant here, and the critic's own weights need no
        # gradients, so the backward pass runs through the fake half's activations only.
        with torch.no_grad():
            d_real = self._scores(real[:batch_size])
        self.critic.requires_grad_(False)
        try:
            d_fake = self._scores(None, fake)
        finally:
            self.critic.requires_grad_(True)
        loss = F.softplus(-(d_fake - d_real)).mean()
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.clip)
        beta = torch.tensor(self.beta)
        self.adv_iter += 1
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "beta": beta}

    def step(self, real: Tensor) -> dict[str, Tensor]:
        chunks = real.chunk(self.cfg.critic_steps)
        # The generator does not change during the critic updates, so their fake batches are drawn in one pass
        # (the same distribution as one draw per update; 20 sequential steps cost the same for 64 or 320 rows).
        with torch.no_grad():
            fakes = self.fake(real.shape[0]).chunk(self.cfg.critic_steps)
        out: dict[str, Tensor] = {}
        for chunk, fake in zip(chunks, fakes):
            out.update(self.critic_step(chunk, fake))
        # The relativistic generator loss needs a real batch too: the first chunk, as TextGAN-PyTorch reuses one.
        out.update(self.gen_step(chunks[0].shape[0], chunks[0]))
        return out

    def state_dict(self):
        return {**super().state_dict(), "adv_iter": self.adv_iter}

    def load_state_dict(self, sd) -> None:
        super().load_state_dict(sd)
        self.adv_iter = int(sd["adv_iter"])
