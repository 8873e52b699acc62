"""`maligan`: Maximum-Likelihood Augmented Discrete GAN (Che et al. 2017).

With an optimal discriminator, D/(1−D) = p_data/p_θ, so weighting the generator's own samples by the
discriminator's odds turns sampling from p_θ into importance sampling from p_data: the generator does MLE on its
own samples, each weighted by its normalised odds r_i / Σ_j r_j, minus a baseline b = 1/m (the mean weight).
That estimator has far lower variance than REINFORCE with raw scores, and needs no rollouts.
Since D/(1−D) = exp(logit), the normalised odds are exactly softmax(logits) over the batch.

Differs from the paper: no mixed MLE/MaliGAN schedule on prefixes (the paper's variance-reduction for long
sequences; here the whole sequence is weighted); the sequence log-likelihood is averaged over tokens; the
discriminator is SeqGAN's CNN, trained and pre-trained exactly as in `seqgan`. We found no code released by the
authors; Texygen's re-implementation normalises D itself rather than the odds D/(1−D) (ours is the paper's form).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import LearningRate
from .base import judging
from .policy import DiscriminatorConfig, PolicyConfig
from .seqgan import SeqGAN


def mali_weights(logits: Tensor) -> Tensor:
    """Normalised odds `(m,)` from discriminator logits `(m,)`: (D/(1−D)) / Σ (D/(1−D)) = softmax(logits)."""
    return torch.softmax(logits, 0)


def mali_loss(seq_log_probs: Tensor, logits: Tensor) -> Tensor:
    """−Σ_i (w_i − 1/m) · log p_θ(y_i): its gradient is the MaliGAN estimator. `seq_log_probs (m,)`."""
    w = mali_weights(logits.detach())
    return -((w - 1.0 / w.shape[0]) * seq_log_probs).sum()


@dataclass
class MaliGANConfig(DiscriminatorConfig, PolicyConfig):
    lr_gen: LearningRate = 1e-3
    """Adam learning rate of the generator updates."""


class MaliGAN(SeqGAN):
    name = "maligan"
    Config = MaliGANConfig
    summary = ("Maximum likelihood on the generator's own samples, each weighted by the discriminator's odds that it is "
               "real.")
    paper = "Che et al. 2017, Maximum-Likelihood Augmented Discrete Generative Adversarial Networks " \
            "(arXiv:1702.07983)"

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (m, L)
        with torch.no_grad():
            logits = self.critic_logits(tokens)  # (m,)
        loss = mali_loss(self.gen.log_prob(tokens).mean(1), logits)
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        w = mali_weights(logits)
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "reward/mean": torch.sigmoid(logits).mean(),
                # effective sample size of the importance weights, as a fraction of m (1 = uniform)
                "mali/ess": 1.0 / (w.square().sum() * w.shape[0])}
