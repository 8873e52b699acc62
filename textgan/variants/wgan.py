"""`wgan`: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

The critic maximises E[f(real)] - E[f(fake)] over functions kept (roughly) K-Lipschitz by clipping every
weight into [-c, c] after each update; the generator minimises -E[f(fake)]. Defaults are the paper's: c = 0.01,
RMSprop with learning rate 5e-5 (momentum-based optimizers were unstable for them), 5 critic steps per generator
step; their code also runs 100 critic steps for the first 25 generator iterations and every 500th, so the critic
stays near optimal while the generator moves fastest (`critic_burst`, on in the `paper` preset). Clipping is known
to push critics towards too-simple functions; WGAN-GP was the fix. Nets and relaxation default to those of `gan`
(LSTM generator, Gumbel-softmax, CNN critic) so the three compare like for like.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import LearningRate, Positive, PretrainSteps, Steps
from ..nets.relax import Relaxation
from .base import AdversarialVariant, one_hot

BURST_FIRST, BURST_EVERY = 25, 500
"""The authors' code: `critic_burst` critic steps while the generator iteration is < 25 or a multiple of 500."""


@dataclass
class WGANConfig:
    clip: Positive = 0.01
    """Every critic weight is clamped into [-clip, clip] after each critic update."""
    lr_gen: LearningRate = 5e-5
    lr_critic: LearningRate = 5e-5
    critic_steps: Steps = 5
    critic_burst: int = 0
    """Critic steps of the first 25 generator iterations and of every 500th (authors' code: 100); 0 = always
    `critic_steps`."""
    relaxation: Relaxation = "gumbel"
    """How generated tokens reach the critic: 'softmax', 'gumbel' or 'st'."""
    tau: Positive = 1.0
    pretrain_steps: PretrainSteps = 0
    pretrain_lr: LearningRate = 5e-3


class WGAN(AdversarialVariant):
    name = "wgan"
    Config = WGANConfig
    summary = ("The critic estimates the Wasserstein distance; weight clipping keeps it Lipschitz, losses have no log and "
               "saturate less.")
    paper = "Arjovsky, Chintala & Bottou 2017, Wasserstein GAN (arXiv:1701.07875)"
    default_generator = {"kind": "lstm"}
    default_critic = {"kind": "cnn"}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: WGANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        self.optimizers["gen"] = torch.optim.RMSprop(gen.parameters(), lr=cfg.lr_gen)
        self.optimizers["critic"] = torch.optim.RMSprop(critic.parameters(), lr=cfg.lr_critic)
        if not 0 <= cfg.critic_burst <= 1000:
            raise ValueError(f"critic_burst={cfg.critic_burst}: must be between 0 (off) and 1000")
        self.gen_iters = 0  # generator updates done by `step` (drives the critic bursts)

    @property
    def batches_per_step(self) -> int:
        """Critic steps of the next iteration: `critic_burst` in the bursts, else `critic_steps`."""
        burst, n = self.cfg.critic_burst, self.gen_iters
        return burst if burst and (n < BURST_FIRST or n % BURST_EVERY == 0) else self.cfg.critic_steps

    def step(self, real: Tensor) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        chunks = real.chunk(self.batches_per_step)
        for chunk in chunks:
            out.update(self.critic_step(chunk))
        out.update(self.gen_step(chunks[0].shape[0]))
        self.gen_iters += 1
        return out

    def state_dict(self) -> dict:
        return {**super().state_dict(), "gen_iters": self.gen_iters}

    def load_state_dict(self, sd: dict) -> None:
        super().load_state_dict(sd)
        self.gen_iters = int(sd.get("gen_iters", 0))

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            fake = self.fake(real.shape[0])
        d_real = self.critic(one_hot(real, self.corpus.vocab_size)).mean()
        d_fake = self.critic(fake).mean()
        loss = d_fake - d_real
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        with torch.no_grad():
            for p in self.critic.parameters():
                p.clamp_(-self.cfg.clip, self.cfg.clip)
        return {"loss/critic": loss.detach(), "wasserstein": (d_real - d_fake).detach(), "grad_norm/critic": norm}

    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        loss = -self.critic(self.fake(batch_size)).mean()
        norm = self.optimize("gen", loss, list(self.gen.parameters()))
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm}
