"""`gan`: the standard GAN (Goodfellow et al. 2014) on relaxed generator outputs.

The critic is a binary classifier trained with the cross-entropy loss; the generator minimises the
non-saturating loss -log D(G(z)) rather than log(1 - D(G(z))), which gives it gradients early on when the critic
wins easily. Discrete tokens block gradients, so the critic reads a relaxed output: the plain softmax, the
Gumbel-softmax (Jang et al. 2017; Kusner & Hernández-Lobato 2016) or the straight-through estimator (Bengio et
al. 2013). Comparing the three on one corpus is the point of the `relaxation` switch.

Kusner & Hernández-Lobato's discriminator is an LSTM and they anneal the temperature; our default critic is the CNN
of `wgan`/`seqgan` (like for like across the relaxed family) and `tau` is fixed. The README's `gan` table lists what
we could and could not verify of their settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import LearningRate, Positive, PretrainSteps, Steps
from ..nets.relax import Relaxation
from .base import AdversarialVariant, one_hot


@dataclass
class GANConfig:
    relaxation: Relaxation = "gumbel"
    """How generated tokens reach the critic: 'softmax', 'gumbel' or 'st' (straight-through)."""
    tau: Positive = 1.0
    """Temperature of the relaxation (lower is closer to one-hot, with noisier gradients)."""
    lr_gen: LearningRate = 1e-3
    lr_critic: LearningRate = 1e-3
    beta1: float = 0.5
    """Adam beta1 (DCGAN's 0.5)."""
    critic_steps: Steps = 1
    pretrain_steps: PretrainSteps = 0
    """MLE steps before adversarial training (0 = train adversarially from scratch)."""
    pretrain_lr: LearningRate = 5e-3


class GAN(AdversarialVariant):
    name = "gan"
    Config = GANConfig
    summary = ("A critic tells real from fake; the generator's relaxed (Gumbel/softmax/straight-through) one-hots let its "
               "gradient flow back.")
    paper = ("Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661); on token sequences with the "
             "Gumbel-softmax as Kusner & Hernández-Lobato 2016 (arXiv:1611.04051; Jang et al. 2017, "
             "arXiv:1611.01144) or straight-through (Bengio et al. 2013, arXiv:1308.3432)")
    default_generator = {"kind": "lstm"}
    default_critic = {"kind": "cnn"}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: GANConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        betas = (cfg.beta1, 0.999)
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen, betas=betas)
        self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic, betas=betas)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            fake = self.fake(real.shape[0])  # (B, L, V)
        d_real = self.critic(one_hot(real, self.corpus.vocab_size))  # (B,) logits
        d_fake = self.critic(fake)
        # -log D(x) - log(1 - D(G(z))), with softplus for numerical stability on logits.
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/p_real": torch.sigmoid(d_real).mean().detach(),
                "critic/p_fake": torch.sigmoid(d_fake).mean().detach()}

    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        d_fake = self.critic(self.fake(batch_size))
        loss = F.softplus(-d_fake).mean()  # non-saturating: -log D(G(z))
        norm = self.optimize("gen", loss, list(self.gen.parameters()))
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm}
