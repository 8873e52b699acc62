"""Nets and relaxations: shapes, straight-through semantics, Gumbel-max exactness, log-probs that match sampling."""

import pytest
import torch
import torch.nn.functional as F

from textgan.nets import build_critic, build_generator
from textgan.nets.relax import relax, sample_logits

V, L = 11, 6


@pytest.mark.parametrize("kind", ["lstm", "gru", "conv"])
def test_generator_shapes(kind):
    spec = {"kind": kind, **({"channels": 16} if kind == "conv" else {"hidden": 16})}
    g = build_generator(spec, V, L, start_id=1)
    rng = torch.Generator().manual_seed(0)
    tokens = g.sample(5, rng=rng)
    assert tokens.shape == (5, L) and tokens.dtype == torch.long and int(tokens.max()) < V
    for relaxation in ("softmax", "gumbel", "st"):
        toks, soft = g.relaxed(4, relaxation, 0.7, rng)
        assert toks.shape == (4, L) and soft.shape == (4, L, V) and soft.requires_grad
        assert torch.allclose(soft.sum(-1), torch.ones(4, L), atol=1e-5)


@pytest.mark.parametrize("kind", ["cnn", "lstm", "conv"])
def test_critic_reads_one_hot_and_soft(kind):
    c = build_critic({"kind": kind}, V, L)
    x = F.one_hot(torch.randint(0, V, (3, L)), V).float()
    assert c(x).shape == (3,)
    assert c(torch.softmax(torch.randn(3, L, V), -1)).shape == (3,)


def test_unknown_net_settings_are_errors():
    with pytest.raises(ValueError, match="unknown generator kind"):
        build_generator({"kind": "transformer9"}, V, L, 1)
    with pytest.raises(ValueError, match="no setting"):
        build_generator({"kind": "lstm", "hiden": 3}, V, L, 1)
    with pytest.raises(ValueError, match="positive"):
        build_critic({"kind": "conv", "channels": 0}, V, L)
    with pytest.raises(ValueError, match="exceed the sequence length"):
        build_critic({"kind": "cnn", "widths": [2, 9]}, V, L)


def test_straight_through_forward_is_one_hot_and_gradient_is_gumbel_softmax():
    logits = torch.randn(4, V, requires_grad=True)
    w = torch.randn(4, V)
    tokens, hard = relax(logits, "st", 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(hard, F.one_hot(tokens, V).float())
    (g_st,) = torch.autograd.grad((hard * w).sum(), logits)
    tokens2, soft = relax(logits, "gumbel", 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(tokens, tokens2)
    (g_soft,) = torch.autograd.grad((soft * w).sum(), logits)
    assert torch.allclose(g_st, g_soft, atol=1e-6)
    # and the soft sample is the Gumbel-softmax: argmax agrees with the token
    assert torch.equal(soft.argmax(-1), tokens)


@pytest.mark.parametrize("method", ["gumbel", "multinomial"])
def test_sampling_matches_the_softmax(method):
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5])
    temperature = 0.8
    n = 200_000
    draws = sample_logits(logits.expand(n, 5), temperature, method, torch.Generator().manual_seed(1))
    freq = torch.bincount(draws, minlength=5).double() / n
    expected = torch.softmax(logits.double() / temperature, -1)
    assert (freq - expected).abs().max() < 0.005  # ~5 standard errors at n = 200k
    assert torch.equal(sample_logits(logits.expand(3, 5), 0.0), torch.zeros(3, dtype=torch.long))


def test_log_prob_matches_step_by_step_probabilities():
    g = build_generator({"kind": "lstm", "hidden": 8}, V, L, start_id=1)
    tokens = g.sample(3, rng=torch.Generator().manual_seed(0))
    manual = torch.zeros(3, L)
    token, state = torch.full((3,), 1), None
    with torch.no_grad():
        for t in range(L):
            logits, state = g.step(token, state)
            manual[:, t] = torch.log_softmax(logits, -1).gather(-1, tokens[:, t:t + 1]).squeeze(-1)
            token = tokens[:, t]
        assert torch.allclose(g.log_prob(tokens), manual, atol=1e-5)


def test_critic_first_layer_is_an_embedding_on_one_hot():
    c = build_critic({"kind": "cnn", "emb_dim": 4}, V, L)
    tokens = torch.randint(0, V, (2, L))
    assert torch.allclose(c.embed(F.one_hot(tokens, V).float()), c.embed.weight.T[tokens])


def test_cnn_critic_highway_is_seqgan_s():
    """SeqGAN's highway, separate transform and gate: gate·relu(W_t h) + (1 − gate)·h (computed as one lerp)."""
    from textgan.nets.critics import CNNCritic, CNNCriticConfig

    torch.manual_seed(0)
    critic = CNNCritic(CNNCriticConfig(emb_dim=4, widths=[2, 3], filters=3), 7, 6).double()
    h = torch.randn(5, 6, dtype=torch.float64)
    w_t, w_g = critic.highway.weight.chunk(2, 0)
    b_t, b_g = critic.highway.bias.chunk(2, 0)
    gate = torch.sigmoid(h @ w_g.T + b_g)
    expected = gate * torch.relu(h @ w_t.T + b_t) + (1 - gate) * h
    torch.testing.assert_close(critic.highway_features(h), expected, rtol=1e-12, atol=1e-12)
