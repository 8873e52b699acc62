"""`mle`: maximum likelihood with teacher forcing.

Not a GAN, but the baseline every GAN must be compared with: Caccia et al. 2020 ("Language GANs Falling
Short") show that MLE with a tuned sampling temperature beats most text GANs on the quality-diversity curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import LearningRate
from ..corpora import PAD
from .base import Variant, mle_loss


@dataclass
class MLEConfig:
    lr_gen: LearningRate = 5e-3
    """Adam learning rate (SeqGAN's pre-training uses 1e-2 on the oracle)."""
    clip_grad: float = 5.0
    """Gradient-norm clipping, as in SeqGAN's pre-training."""


class MLE(Variant):
    name = "mle"
    Config = MLEConfig
    summary = ("Teacher forcing: maximise the likelihood of each real next token; no critic, the baseline every GAN is "
               "compared with.")
    paper = "Teacher-forced maximum likelihood (the baseline; see Caccia et al. 2020, arXiv:1811.02549)"
    needs_critic = False
    needs_log_prob = True
    default_critic = None
    lr_fields = {"gen": "lr_gen"}

    def __init__(self, gen, critic, corpus, cfg: MLEConfig, device, rng=None) -> None:
        super().__init__(gen, critic, corpus, cfg, device, rng)
        self.optimizers["gen"] = torch.optim.Adam(gen.parameters(), lr=cfg.lr_gen)

    def step(self, real: Tensor) -> dict[str, Tensor]:
        # PAD targets are left out, so loss/gen is the training-set NLL-gen (same tokens, same units): the two can
        # be read on one axis. Nothing after EOS reaches a sample, so nothing is lost by not learning to pad.
        loss = mle_loss(self.gen, real, PAD if self.corpus.has_specials else None)
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm}
