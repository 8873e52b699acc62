"""Reward details a published comparison depends on: critics judge in eval mode (no dropout noise in rewards), and
DPGAN's language-model discriminator scores sentences up to their EOS, never padding."""

import copy
import dataclasses

import pytest
import torch

from textgan.corpora import EOS, PAD
from textgan.run import Run
from textgan.variants import VARIANTS

from test_variants import small_config

pytestmark = pytest.mark.usefixtures("one_thread")


def snapshot(run):
    nets = {"gen": run.gen, **({"critic": run.critic} if run.critic is not None else {})}
    if hasattr(run.variant, "lm"):
        nets["lm"] = run.variant.lm
    saved = {k: copy.deepcopy(m.state_dict()) for k, m in nets.items()}
    variant, rng, torch_rng = copy.deepcopy(run.variant.state_dict()), run.rng.get_state(), torch.get_rng_state()

    def restore():
        for k, m in nets.items():
            m.load_state_dict(saved[k])
        run.variant.load_state_dict(copy.deepcopy(variant))
        run.rng.set_state(rng)
        torch.set_rng_state(torch_rng)  # the same draws, except what dropout would add in train mode

    return restore


@pytest.mark.parametrize("name", ["seqgan", "maligan", "rankgan", "leakgan", "sentigan"])
def test_generator_update_is_deterministic_with_critic_dropout(name):
    cfg = small_config(name)
    critic = dict(cfg.critic or VARIANTS[name].default_critic)
    run = Run(dataclasses.replace(cfg, critic={**critic, "dropout": 0.25}))
    run.variant.gen_step(8)  # builds lazy parts (rollout nets)
    restore = snapshot(run)
    torch.manual_seed(1)
    first = {k: float(v) for k, v in run.variant.gen_step(8).items()}
    restore()
    torch.manual_seed(2)  # dropout in train mode would now drop other units
    second = {k: float(v) for k, v in run.variant.gen_step(8).items()}
    assert first == second
    assert run.critic.training  # the critic trains with its dropout again afterwards


def test_dpgan_discriminator_ignores_padding_and_what_follows_eos():
    run = Run(small_config("dpgan"))
    v = run.variant
    real = run.corpus.train[:16].clone()
    assert (real == PAD).any()
    junk = real.clone()
    after = (real == PAD)
    junk[after] = torch.randint(4, run.corpus.vocab_size, (int(after.sum()),))  # garbage after EOS
    restore = snapshot(run)
    a = v.critic_step(real)["critic/xent_real"].item()
    restore()
    b = v.critic_step(junk)["critic/xent_real"].item()
    assert a == pytest.approx(b, abs=1e-6)
    restore()
    with torch.no_grad():  # by hand: the mean LM cross-entropy over each sentence's words and its EOS
        word = v.word_rewards(real)
        lengths = (real == EOS).float().argmax(1) + 1
        expected = torch.stack([word[i, :n].mean() for i, n in enumerate(lengths.tolist())]).mean()
    assert a == pytest.approx(expected.item(), rel=1e-5)
