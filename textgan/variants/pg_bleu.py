"""`pg-bleu`: policy gradient with BLEU as the reward — SeqGAN's PG-BLEU baseline (Yu et al. 2017, Sec. 5) and the
"RL with a reward function" of the seed survey. No discriminator: the reward of a complete sequence is its
sentence-level BLEU against the training set (the fast exact BLEU of `textgan.metrics`, index built once), and
each prefix gets the mean BLEU of its Monte-Carlo rollouts, exactly as SeqGAN's discriminator reward.

Differs from the paper: the reference set is the training split (the paper does not say which set PG-BLEU used
on the oracle), BLEU order `bleu_n` (default 4); rollouts are batched as in `seqgan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..metrics import ReferenceIndex
from .policy import BaselineConfig, PolicyConfig, RolloutConfig
from .seqgan import SeqGAN


@dataclass
class PGBLEUConfig(BaselineConfig, RolloutConfig, PolicyConfig):
    bleu_n: int = 4
    """BLEU order of the reward."""
    max_references: int = 10000
    """Training sentences in the reference index (the first ones; all of the oracle's 10,000)."""
    baseline: Literal["none", "mean"] = "mean"
    """'mean' (default: BLEU rewards are all positive, a baseline is what makes bad samples less likely) or
    'none'."""


class PGBLEU(SeqGAN):
    name = "pg-bleu"
    Config = PGBLEUConfig
    summary = "SeqGAN's policy gradient with BLEU against the training set as the reward: RL without a discriminator."
    paper = "Yu et al. 2017, SeqGAN's PG-BLEU baseline (arXiv:1609.05473); BLEU: Papineni et al. 2002"
    needs_critic = False
    default_critic = None
    lr_fields = {"gen": "lr_gen"}

    def __init__(self, gen, critic, corpus, cfg: PGBLEUConfig, device, rng=None) -> None:
        super().__init__(gen, None, corpus, cfg, device, rng)
        self._index = None

    @property
    def batches_per_step(self) -> int:
        return 1

    def reference_index(self):
        if self._index is None:
            refs = [self.corpus.strip(r) for r in self.corpus.train[: self.cfg.max_references]]
            self._index = ReferenceIndex(refs, max_n=self.cfg.bleu_n)
        return self._index

    def score(self, tokens: Tensor) -> Tensor:
        hyps = [self.corpus.strip(row) for row in tokens.cpu()]
        bleu = self.reference_index().sentence_bleu(hyps, self.cfg.bleu_n)
        return torch.as_tensor(bleu, dtype=torch.float32, device=tokens.device)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        raise ValueError("pg-bleu has no discriminator to update: its reward is BLEU; step the generator instead")

    def step(self, real: Tensor) -> dict[str, Tensor]:
        return self.gen_step(real.shape[0])
