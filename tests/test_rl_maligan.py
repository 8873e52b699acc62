"""MaliGAN: normalised importance weights from the discriminator's odds, against hand computations."""

import pytest
import torch

from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.run import Run
from textgan.variants.maligan import mali_loss, mali_weights

from test_variants import small_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_weights_are_normalised_odds():
    logits = torch.tensor([0.3, -1.2, 2.0, 0.0])
    d = torch.sigmoid(logits)
    odds = d / (1 - d)
    assert torch.allclose(mali_weights(logits), odds / odds.sum(), atol=1e-6)


def test_optimal_discriminator_gives_density_ratio():
    p_data = torch.tensor([0.5, 0.3, 0.2])
    p_gen = torch.tensor([0.2, 0.2, 0.6])
    d_opt = p_data / (p_data + p_gen)
    w = mali_weights(torch.logit(d_opt))
    ratio = p_data / p_gen
    assert torch.allclose(w, ratio / ratio.sum(), atol=1e-6)


def test_gradient_is_the_mali_estimator():
    """grad of the loss == Σ_i (w_i − 1/m) · (−∇ log p(y_i)), summed from per-sample gradients."""
    torch.manual_seed(0)
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=4, hidden=5), 6, 4, start_id=1)
    y = torch.randint(2, 6, (3, 4))
    logits = torch.tensor([1.0, -0.5, 0.2])
    mali_loss(gen.log_prob(y).mean(1), logits).backward()
    got = [p.grad.clone() for p in gen.parameters()]
    w = mali_weights(logits)
    expected = [torch.zeros_like(p) for p in gen.parameters()]
    for i in range(3):
        gen.zero_grad()
        gen.log_prob(y[i:i + 1]).mean().backward()
        for e, p in zip(expected, gen.parameters()):
            e -= (w[i] - 1 / 3) * p.grad
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, atol=1e-6)


def test_uniform_discriminator_gives_zero_update():
    run = Run(small_config("maligan", variant_config={"critic_warmup": 1}))
    with torch.no_grad():
        for p in run.critic.parameters():
            p.zero_()  # D = 1/2 everywhere: every weight is 1/m, the gradient vanishes
    before = [p.clone() for p in run.gen.parameters()]
    out = run.variant.gen_step(8)
    assert out["grad_norm/gen"].item() == pytest.approx(0.0, abs=1e-7)
    assert out["mali/ess"].item() == pytest.approx(1.0)
    for a, b in zip(before, run.gen.parameters()):
        assert torch.equal(a, b)
