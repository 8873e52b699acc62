"""`wgan-gp`: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

Instead of clipping weights, the critic pays lambda * (||grad_x f(x_hat)|| - 1)^2 at random interpolates
x_hat = eps * real + (1 - eps) * fake, one eps per sample. The norm is taken per sample over the WHOLE `(L, V)`
input: the Lipschitz constraint is on f as a function of the entire sequence. (A popular port takes the norm
over one axis only, which penalises each position separately and is a different, wrong constraint.)
Optimisation defaults are the paper's: lambda 10, Adam lr 1e-4 with betas (0.5, 0.9), 5 critic steps (10 in its
language model). The paper's nets — the 1-D conv residual generator whose plain softmax the conv critic reads —
are one flag away (`--generator conv --critic conv --set relaxation=softmax`); by default the variant uses the
same LSTM generator with Gumbel-softmax and CNN critic as `gan` and `wgan`, so comparisons isolate the loss, and
because the conv generator learns the `modes` corpus far more slowly on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import LearningRate, NonNegative, Positive, PretrainSteps, Steps
from ..nets.relax import Relaxation
from .base import AdversarialVariant, one_hot


@dataclass
class WGANGPConfig:
    gp_lambda: NonNegative = 10.0
    """Weight of the gradient penalty."""
    lr_gen: LearningRate = 1e-4
    lr_critic: LearningRate = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    critic_steps: Steps = 5
    relaxation: Relaxation = "gumbel"
    """How generated tokens reach the critic: 'gumbel' (default), 'st', or 'softmax' (the paper, with the conv
    generator)."""
    tau: Positive = 1.0
    pretrain_steps: PretrainSteps = 0
    pretrain_lr: LearningRate = 5e-3


def gradient_penalty(critic, real: Tensor, fake: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
    """(penalty, per-sample input-gradient norms) at x_hat = eps*real + (1-eps)*fake, eps of shape (B, 1, 1)."""
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)  # (B, L, V)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)  # (B, L, V)
    norms = grad.flatten(1).norm(dim=1)  # (B,): one norm per sample over all of L x V
    return ((norms - 1) ** 2).mean(), norms


class WGANGP(AdversarialVariant):
    name = "wgan-gp"
    Config = WGANGPConfig
    summary = "Wasserstein critic kept Lipschitz by a gradient penalty on interpolated samples instead of clipping."
    paper = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)"
    default_generator = {"kind": "lstm"}
    default_critic = {"kind": "cnn"}
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: WGANGPConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen, betas=betas)
        self.optimizers["critic"] = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic, betas=betas)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        b = real.shape[0]
        real_x = one_hot(real, self.corpus.vocab_size)  # (B, L, V)
        with torch.no_grad():
            fake = self.fake(b)
        d_real = self.critic(real_x).mean()
        d_fake = self.critic(fake).mean()
        eps = torch.rand(b, 1, 1, generator=self.rng, device=real_x.device)
        gp, norms = gradient_penalty(self.critic, real_x, fake, eps)
        loss = d_fake - d_real + self.cfg.gp_lambda * gp
        norm = self.optimize("critic", loss, list(self.critic.parameters()))
        return {"loss/critic": loss.detach(), "wasserstein": (d_real - d_fake).detach(), "gp": gp.detach(),
                "grad_norm/critic": norm, "grad_norm/critic_input": norms.mean().detach()}

    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        loss = -self.critic(self.fake(batch_size)).mean()
        norm = self.optimize("gen", loss, list(self.gen.parameters()))
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm}
