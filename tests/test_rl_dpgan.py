"""DPGAN: the LM discriminator's rewards and returns against hand computations; the LM survives a checkpoint."""

import pytest
import torch

from textgan.run import Run
from textgan.variants.dpgan import dpgan_returns

from test_variants import small_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_returns_by_hand():
    w = torch.tensor([[1.0, 2.0, 4.0]])
    g = 0.5
    sentence = 7 / 3
    q2 = 4.0
    q1 = (2 + 0.5 * 4) / 1.5
    q0 = (1 + 0.5 * 2 + 0.25 * 4) / 1.75
    assert torch.allclose(dpgan_returns(w, g), torch.tensor([[q0, q1, q2]]) + sentence)


def test_word_rewards_are_lm_cross_entropies():
    run = Run(small_config("dpgan"))
    v = run.variant
    x = run.corpus.train[:3]
    with torch.no_grad():
        r = v.word_rewards(x)
        state, token = None, torch.full((3,), v.lm.start_id)
        for t in range(x.shape[1]):  # slow reference: step the LM token by token
            logits, state = v.lm.step(token, state)
            expected = -torch.log_softmax(logits, -1).gather(1, x[:, t:t + 1]).squeeze(1)
            assert torch.allclose(r[:, t], expected, atol=1e-5)
            token = x[:, t]


def test_discriminator_learns_to_tell_real_from_generated():
    run = Run(small_config("dpgan", variant_config={"critic_warmup": 30}))
    list(run.steps(30))
    h = run.history
    assert h[-1]["critic/xent_real"] - h[-1]["critic/xent_fake"] > h[0]["critic/xent_real"] - h[0]["critic/xent_fake"]


def test_lm_weights_round_trip(tmp_path):
    run = Run(small_config("dpgan"))
    list(run.steps(5))
    run.save(tmp_path / "c")
    loaded = Run.load(tmp_path / "c", device="cpu")
    for a, b in zip(run.variant.lm.state_dict().values(), loaded.variant.lm.state_dict().values()):
        assert torch.equal(a, b)
