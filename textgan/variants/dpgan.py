"""`dpgan`: Diversity-Promoting GAN (Xu et al. 2018) — a language-model discriminator and novelty rewards.

The discriminator is a language model D over tokens; the reward of a word is its cross-entropy under D,
R(y_t) = −log D(y_t | y_<t), and of a sentence the mean over its words. D is trained to give real text a high
cross-entropy and generated text a low one (J_D = −E_real[R] + E_fake[R]), so text the generator keeps repeating
becomes predictable to D and earns little, while novel, real-like text earns much. Unlike a classifier's
probability, the cross-entropy does not saturate at 0 when D wins. Word-level rewards come for free (no rollouts).

The return of token t is the sentence reward plus the discounted word-level rewards from t on,
Q_t = R(y) + Σ_{i≥t} γ^{i−t} R(y_i) / Σ_{i≥t} γ^{i−t} (normalised so both terms are per-word cross-entropies),
with each time step's batch mean subtracted (the rewards are all positive). Only a sentence's words and its EOS
count, as in the authors' code: PAD and whatever follows EOS are masked out of D's loss and of the returns.

Differs from the paper / the authors' code (`lancopku/DPGAN`): the real-text term of D's loss is capped at log V (a
uniform LM's cross-entropy) — unbounded, it diverges on CPU-scale runs (the code caps each word reward at 12
nats instead); D is a separate LSTM language model with the generator's sizes (the code sizes both with the same
flags), flat rather than the code's sentence- and word-level decoders; Adam where the code uses Adagrad (lr 0.6);
no extra reward-weighted step on the real batch (the code takes one per iteration); the LM's weights live in the
variant's state (state.safetensors), not critic.safetensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..checks import LearningRate
from ..corpora import EOS, PAD
from ..nets.rnn import RNNGenerator
from .base import judging
from .policy import DiscriminatorConfig, PolicyConfig
from .rollout import pg_loss
from .seqgan import SeqGAN


def sentence_mask(tokens: Tensor, has_specials: bool = True) -> Tensor:
    """`(B, L)` float: 1 for the sentence's words and its EOS, 0 after (PAD, or whatever a generator wrote after EOS).
    The authors' LM discriminator scores each sentence up to its length; counting padding would put most of the
    real term's weight on PAD (about 67 % of positions on COCO)."""
    if not has_specials:
        return torch.ones_like(tokens, dtype=torch.float)
    end = (tokens == EOS) | (tokens == PAD)  # (B, L)
    after = (end.long().cumsum(1) - end.long()) > 0  # strictly after the first EOS/PAD
    return (~after).float()


def dpgan_returns(word_rewards: Tensor, gamma: float, mask: Tensor | None = None) -> Tensor:
    """Q `(B, L)` from word rewards `(B, L)`: sentence mean + normalised discounted word rewards from t on, over the
    positions `mask` keeps (all by default); 0 where it does not."""
    B, L = word_rewards.shape
    mask = torch.ones_like(word_rewards) if mask is None else mask
    word_rewards = word_rewards * mask
    sentence = word_rewards.sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1)  # (B, 1)
    q = torch.zeros_like(word_rewards)
    acc = torch.zeros(B, device=word_rewards.device)
    norm = torch.zeros(B, device=word_rewards.device)
    for t in reversed(range(L)):
        acc = word_rewards[:, t] + gamma * acc
        norm = mask[:, t] + gamma * norm
        q[:, t] = acc / norm.clamp(min=1e-12)
    return (sentence + q) * mask


@dataclass
class DPGANConfig(DiscriminatorConfig, PolicyConfig):
    lr_gen: LearningRate = 1e-3
    """Adam learning rate of the policy-gradient updates."""
    lr_critic: LearningRate = 1e-3
    """Adam learning rate of the language-model discriminator."""
    gamma: float = 0.9
    """Discount of the word-level rewards."""


class DPGAN(SeqGAN):
    name = "dpgan"
    Config = DPGANConfig
    summary = ("A language-model discriminator rewards novel sentences and words (high LM loss), pushing the generator "
               "towards diversity.")
    paper = "Xu et al. 2018, DP-GAN: Diversity-Promoting Generative Adversarial Network for Generating " \
            "Informative and Diversified Text (arXiv:1802.01345)"
    needs_critic = False  # the discriminator is a language model the variant builds and keeps itself
    default_critic = None
    lr_fields = {"gen": "lr_gen", "critic": "lr_critic"}

    def __init__(self, gen, critic, corpus, cfg: DPGANConfig, device, rng=None) -> None:
        super().__init__(gen, None, corpus, cfg, device, rng)
        with torch.random.fork_rng(devices=[]):  # the run's global RNG is not seeded here: a fixed seed keeps
            torch.manual_seed(0)                 # a straight run and a resumed one identical
            self.lm = RNNGenerator(gen.cfg, gen.vocab_size, gen.seq_len, gen.start_id).to(device)
        self.optimizers["critic"] = torch.optim.Adam(self.lm.parameters(), lr=cfg.lr_critic)
        self.cap = math.log(gen.vocab_size)

    def word_rewards(self, tokens: Tensor) -> Tensor:
        """R(y_t) = −log D(y_t | y_<t), `(B, L)`."""
        return -self.lm.log_prob(tokens)

    def sentence_rewards(self, tokens: Tensor) -> Tensor:
        """R(y) `(B,)`: the mean word reward over the sentence and its EOS (PAD and post-EOS positions left out)."""
        mask = sentence_mask(tokens, self.corpus.has_specials)
        return (self.word_rewards(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1)

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        r_real = self.sentence_rewards(real)  # (B,) sentence cross-entropies
        r_fake = self.sentence_rewards(fake)
        loss = -r_real.clamp(max=self.cap).mean() + r_fake.mean()
        norm = self.optimize("critic", loss, list(self.lm.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/xent_real": r_real.mean().detach(), "critic/xent_fake": r_fake.mean().detach()}

    @judging
    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (B, L)
        mask = sentence_mask(tokens, self.corpus.has_specials)  # (B, L)
        with torch.no_grad():
            q = dpgan_returns(self.word_rewards(tokens), self.cfg.gamma, mask)  # (B, L)
            # each time step's mean over the sentences still running there; nothing after a sentence's EOS
            base = q.sum(0, keepdim=True) / mask.sum(0, keepdim=True).clamp(min=1)
            advantage = (q - base) * mask
        loss = pg_loss(self.gen.log_prob(tokens), advantage, "none")
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "reward/mean": q.mean()}

    def state_dict(self) -> dict:
        sd = super().state_dict()
        sd["lm"] = {k: v.detach().clone() for k, v in self.lm.state_dict().items()}
        return sd

    def load_state_dict(self, sd: dict) -> None:
        super().load_state_dict(sd)
        self.lm.load_state_dict(sd["lm"])
