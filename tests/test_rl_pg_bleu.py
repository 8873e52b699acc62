"""PG-BLEU: the reward is sentence BLEU against the training set, averaged over the rollouts of each prefix."""

import pytest
import torch

from textgan.metrics import bleu
from textgan.nets.relax import gumbel_noise
from textgan.run import Run
from textgan.variants.rollout import rollout_rewards, rollout_sequences

from test_variants import small_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_reward_is_mean_bleu_of_rollouts_against_train():
    run = Run(small_config("pg-bleu", variant_config={"max_references": 200}))
    v, corpus = run.variant, run.corpus
    refs = [corpus.strip(r) for r in corpus.train[:200]]
    B, R, L = 2, 3, corpus.seq_len
    rng = torch.Generator().manual_seed(1)
    tokens = run.gen.sample(B, rng=rng)
    noise = gumbel_noise((L - 1, R, B, L, corpus.vocab_size), rng, "cpu")
    got = rollout_rewards(run.gen, tokens, R, v.score, noise=noise)
    seqs = rollout_sequences(run.gen, tokens, R, noise=noise)
    for b in range(B):
        for t in range(1, L):
            expected = sum(bleu([corpus.strip(seqs[t - 1, r, b])], refs, 4) for r in range(R)) / R
            assert got[b, t - 1].item() == pytest.approx(expected, abs=1e-6)
        assert got[b, -1].item() == pytest.approx(bleu([corpus.strip(tokens[b])], refs, 4), abs=1e-6)


def test_a_training_sentence_scores_one_and_noise_scores_less():
    run = Run(small_config("pg-bleu"))
    real = run.corpus.train[:4]
    assert torch.allclose(run.variant.score(real), torch.ones(4))
    shuffled = real.flip(1)
    assert (run.variant.score(shuffled) < 1).all()


def test_policy_gradient_raises_bleu():
    """A few PG-BLEU updates from scratch raise the mean reward on the modes corpus."""
    run = Run(small_config("pg-bleu", batch_size=32, variant_config={"rollouts": 4, "lr_gen": 2e-2}))
    list(run.steps(60))
    rewards = [h["reward/final"] for h in run.history]
    assert sum(rewards[-10:]) / 10 > sum(rewards[:10]) / 10 + 0.05


def test_partial_steps():
    run = Run(small_config("pg-bleu", variant_config={"rollouts": 2}))
    assert "reward/mean" in run.partial_step("gen")
    with pytest.raises(ValueError, match="no discriminator"):
        run.partial_step("critic")
