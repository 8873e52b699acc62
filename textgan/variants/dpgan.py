"""`dpgan`: Diversity-Promoting GAN (Xu et al. 2018) — a language-model discriminator and novelty rewards.

The discriminator is a language model D over tokens; the reward of a word is its cross-entropy under D,
R(y_t) = −log D(y_t | y_<t), and of a sentence the mean over its words. D is trained to give real text a high
cross-entropy and generated text a low one (J_D = −E_real[R] + E_fake[R]), so text the generator keeps repeating
becomes predictable to D and earns little, while novel, real-like text earns much. Unlike a classifier's
probability, the cross-entropy does not saturate at 0 when D wins. Word-level rewards come for free (no rollouts).

The return of token t is the sentence reward plus the discounted word-level rewards from t on,
Q_t = R(y) + Σ_{i≥t} γ^{i−t} R(y_i) / Σ_{i≥t} γ^{i−t} (normalised so both terms are per-word cross-entropies),
with each time step's batch mean subtracted (the rewards are all positive).

Differs from the paper: the real-text term of D's loss is capped at log V (a uniform LM's cross-entropy) —
unbounded, it diverges on CPU-scale runs; D shares the generator's architecture (the paper's LM is a separate
LSTM of its own size); the LM's weights live in the variant's state (state.safetensors), not critic.safetensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..nets.rnn import RNNGenerator
from .rollout import pg_loss
from .seqgan import SeqGAN


def dpgan_returns(word_rewards: Tensor, gamma: float) -> Tensor:
    """Q `(B, L)` from word rewards `(B, L)`: sentence mean + normalised discounted word rewards from t on."""
    B, L = word_rewards.shape
    sentence = word_rewards.mean(1, keepdim=True)  # (B, 1)
    q = torch.zeros_like(word_rewards)
    acc = torch.zeros(B, device=word_rewards.device)
    norm = 0.0
    for t in reversed(range(L)):
        acc = word_rewards[:, t] + gamma * acc
        norm = 1.0 + gamma * norm
        q[:, t] = acc / norm
    return sentence + q


@dataclass
class DPGANConfig:
    lr_gen: float = 1e-3
    """Adam learning rate of the policy-gradient updates."""
    lr_critic: float = 1e-3
    """Adam learning rate of the language-model discriminator."""
    gamma: float = 0.9
    """Discount of the word-level rewards."""
    critic_steps: int = 3
    """Discriminator updates per iteration, each on its own real batch."""
    critic_warmup: int = 3
    """Discriminator-only iterations before the first generator update."""
    clip_grad: float = 5.0
    pretrain_steps: int = 0
    """MLE steps before everything else (the paper pre-trains; set it for real runs)."""
    pretrain_lr: float = 1e-2


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

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        fake = self.gen.sample(real.shape[0], rng=self.rng)  # (B, L)
        r_real = self.word_rewards(real).mean(1)  # (B,) sentence cross-entropies
        r_fake = self.word_rewards(fake).mean(1)
        loss = -r_real.clamp(max=self.cap).mean() + r_fake.mean()
        norm = self.optimize("critic", loss, list(self.lm.parameters()))
        return {"loss/critic": loss.detach(), "grad_norm/critic": norm,
                "critic/xent_real": r_real.mean().detach(), "critic/xent_fake": r_fake.mean().detach()}

    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        tokens = self.gen.sample(batch_size, rng=self.rng)  # (B, L)
        with torch.no_grad():
            q = dpgan_returns(self.word_rewards(tokens), self.cfg.gamma)  # (B, L)
        loss = pg_loss(self.gen.log_prob(tokens), q, "mean")
        norm = self.optimize("gen", loss, list(self.gen.parameters()), clip=self.cfg.clip_grad)
        return {"loss/gen": loss.detach(), "grad_norm/gen": norm, "reward/mean": q.mean()}

    def state_dict(self) -> dict:
        sd = super().state_dict()
        sd["lm"] = {k: v.detach().clone() for k, v in self.lm.state_dict().items()}
        return sd

    def load_state_dict(self, sd: dict) -> None:
        super().load_state_dict(sd)
        self.lm.load_state_dict(sd["lm"])
