"""`wgan`: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

The critic maximises E[f(real)] - E[f(fake)] over functions kept (roughly) K-Lipschitz by clipping every
weight into [-c, c] after each update; the generator minimises -E[f(fake)]. Defaults are the paper's: c = 0.01,
RMSprop with learning rate 5e-5 (momentum-based optimizers were unstable for them), 5 critic steps per generator
step (their code also runs 100 critic steps for the first 25 generator iterations and every 500th; ours keeps 5
throughout). Clipping is known to push critics towards too-simple functions; WGAN-GP was the fix. Nets and relaxation
default to those of `gan` (LSTM generator, Gumbel-softmax, CNN critic) so the three compare like for like.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import AdversarialVariant, one_hot


@dataclass
class WGANConfig:
    clip: float = 0.01
    """Every critic weight is clamped into [-clip, clip] after each critic update."""
    lr_gen: float = 5e-5
    lr_critic: float = 5e-5
    critic_steps: int = 5
    relaxation: str = "gumbel"
    """How generated tokens reach the critic: 'softmax', 'gumbel' or 'st'."""
    tau: float = 1.0
    pretrain_steps: int = 0
    pretrain_lr: float = 5e-3


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
