"""SeqGAN's batched Monte-Carlo rollout against a slow, obviously-correct loop; rescaling, PG loss, resume."""

import pytest
import torch

from textgan.nets import build_generator
from textgan.nets.critics import CNNCritic, CNNCriticConfig
from textgan.nets.relax import gumbel_noise
from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.run import Run
from textgan.variants.rollout import (critic_logits, pg_loss, rank_rescale, rollout_rewards,
                                      rollout_sequences)

from test_variants import assert_same_weights, resumed_run, small_config

pytestmark = pytest.mark.usefixtures("one_thread")

V, L, B, R = 7, 5, 3, 4


TINY_GENERATORS = {
    "lstm": {"kind": "lstm", "emb_dim": 5, "hidden": 6},
    "gru": {"kind": "gru", "emb_dim": 5, "hidden": 6},
    "relational": {"kind": "relational", "emb_dim": 5, "mem_slots": 2, "heads": 2, "head_size": 4},
    "attention": {"kind": "attention", "emb_dim": 5, "hidden": 8, "heads": 2},
    "gpt2": {"kind": "gpt2", "emb_dim": 8, "layers": 2, "heads": 2},
    "mixture": {"kind": "mixture", "k": 2, "emb_dim": 5, "hidden": 6},
}


def tiny(kind="lstm"):
    torch.manual_seed(0)
    if kind in ("lstm", "gru"):
        gen = RNNGenerator(RNNGeneratorConfig(kind=kind, emb_dim=5, hidden=6), V, L, start_id=1)
    else:
        gen = build_generator(TINY_GENERATORS[kind], V, L, start_id=1)
    critic = CNNCritic(CNNCriticConfig(emb_dim=4, widths=[2, 3], filters=3), V, L)
    return gen, critic


def reference_rewards(gen, critic, tokens, noise):
    """One sentence, one prefix, one rollout at a time, batch size 1, one-hot critic input."""
    Bn, Ln = tokens.shape
    rewards = torch.zeros(Bn, Ln)
    seqs = torch.zeros(Ln - 1, R, Bn, Ln, dtype=torch.long)
    with torch.no_grad():
        for b in range(Bn):
            for t in range(1, Ln):
                total = 0.0
                for r in range(R):
                    seq = tokens[b, :t].tolist()
                    state, token = None, torch.tensor([gen.start_id])
                    for j in range(t):  # replay the prefix
                        logits, state = gen.step(token, state)
                        token = tokens[b, j:j + 1]
                    for j in range(t, Ln):  # and complete it
                        logits, state = gen.step(token, state)
                        token = (logits[0] + noise[t - 1, r, b, j]).argmax().view(1)
                        seq.append(int(token))
                    seqs[t - 1, r, b] = torch.tensor(seq)
                    x = torch.nn.functional.one_hot(torch.tensor([seq]), V).float()
                    total += torch.sigmoid(critic(x)).item()
                rewards[b, t - 1] = total / R
            x = torch.nn.functional.one_hot(tokens[b:b + 1], V).float()
            rewards[b, Ln - 1] = torch.sigmoid(critic(x)).item()
    return rewards, seqs


@pytest.mark.parametrize("kind", sorted(TINY_GENERATORS))
def test_batched_rollout_rewards_equal_slow_reference(kind):
    """Every autoregressive generator's state joins and repeats correctly in the batched rollout (a relational
    memory's rows are on dim 0, a KV cache is an object, the self-attention state mixes both)."""
    gen, critic = tiny(kind)
    rng = torch.Generator().manual_seed(5)
    tokens = gen.sample(B, rng=rng)
    noise = gumbel_noise((L - 1, R, B, L, V), rng, "cpu")
    ref, ref_seqs = reference_rewards(gen, critic, tokens, noise)
    seqs = rollout_sequences(gen, tokens, R, noise=noise)
    assert torch.equal(seqs, ref_seqs)
    got = rollout_rewards(gen, tokens, R, lambda x: torch.sigmoid(critic_logits(critic, x, V)), noise=noise)
    assert got.shape == (B, L)
    assert torch.allclose(got, ref, atol=1e-6)
    # every prefix is the sentence's own
    for t in range(1, L):
        assert torch.equal(seqs[t - 1, :, :, :t], tokens[:, :t].expand(R, B, t))


def test_the_known_misalignment_would_be_caught():
    """The reshape of TextGAN-PyTorch's issue #62 (`[R*T, B]` viewed as `(B, T, R)`) fails the reference."""
    gen, critic = tiny()
    rng = torch.Generator().manual_seed(5)
    tokens = gen.sample(B, rng=rng)
    noise = gumbel_noise((L - 1, R, B, L, V), rng, "cpu")
    ref, _ = reference_rewards(gen, critic, tokens, noise)
    seqs = rollout_sequences(gen, tokens, R, noise=noise)  # (T, R, B, L)
    with torch.no_grad():
        scores = torch.sigmoid(critic_logits(critic, seqs.reshape(-1, L), V))  # rows ordered (T, R, B)
    wrong = scores.view(B, L - 1, R).mean(-1)
    assert not torch.allclose(wrong, ref[:, :-1], atol=1e-3)
    right = scores.view(L - 1, R, B).mean(1).t()
    assert torch.allclose(right, ref[:, :-1], atol=1e-6)


@pytest.mark.parametrize("method", ["gumbel", "icdf", "icdf2"])
def test_rollouts_sample_the_policy(method):
    """Without fixed noise, the completions follow the generator's conditional distribution."""
    gen, _ = tiny()
    tokens = torch.tensor([[2, 3, 4, 5, 6]])
    rng = torch.Generator().manual_seed(0)
    n = 4000
    seqs = rollout_sequences(gen, tokens, n, rng=rng, method=method)  # (L−1, n, 1, L)
    with torch.no_grad():
        _, state = gen.step(torch.tensor([gen.start_id]), None)
        logits, _ = gen.step(tokens[0, :1], state)
    p = torch.softmax(logits[0], -1)
    freq = torch.bincount(seqs[0, :, 0, 1], minlength=V).float() / n
    assert (freq - p).abs().max() < 0.03


def test_critic_logits_token_path_equals_one_hot():
    _, critic = tiny()
    x = torch.randint(0, V, (6, L))
    direct = critic(torch.nn.functional.one_hot(x, V).float())
    assert torch.allclose(critic_logits(critic, x, V), direct, atol=1e-6)
    assert isinstance(critic.embed, torch.nn.Linear)  # restored


def test_rank_rescale_by_hand():
    r = torch.tensor([[0.1, 0.9], [0.5, 0.2], [0.3, 0.4], [0.0, 0.8]])  # (B=4, L=2)
    got = rank_rescale(r, delta=12.0)
    ranks = torch.tensor([[3, 1], [1, 4], [2, 3], [4, 2]], dtype=torch.float)
    assert torch.allclose(got, torch.sigmoid(12 * (0.5 - ranks / 4)))
    assert torch.allclose(rank_rescale(r * 1e-6), got)  # only the order matters


def test_pg_loss_by_hand():
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], requires_grad=True)
    rew = torch.tensor([[1.0, 0.0], [0.5, 2.0]])
    loss = pg_loss(logp, rew)
    assert loss.item() == pytest.approx(-(-1.0 * 1 + 0 + -0.25 + -6.0) / 4)
    loss.backward()
    assert torch.allclose(logp.grad, -rew / 4)
    base = pg_loss(logp.detach(), rew, "mean")
    centred = rew - rew.mean(0)
    assert base.item() == pytest.approx(float(-(logp.detach() * centred).mean()))


def test_rollout_network_follows_with_delay():
    run = Run(small_config("seqgan", variant_config={"critic_warmup": 1}))
    list(run.steps(1))
    assert run.variant.rollout_net is None  # discriminator pre-training: no generator update yet
    before = {k: v.clone() for k, v in run.gen.state_dict().items()}
    list(run.steps(1))
    roll = run.variant.rollout_net.state_dict()
    for k, v in run.gen.state_dict().items():
        assert torch.allclose(roll[k], 0.8 * before[k] + 0.2 * v, atol=1e-6)


def test_resume_inside_critic_warmup(tmp_path):
    cfg = small_config("seqgan", variant_config={"critic_warmup": 3, "pretrain_steps": 2, "rescale": True,
                                                 "baseline": "mean"})
    straight = Run(cfg)
    list(straight.steps(8))
    resumed = resumed_run(cfg, 4, 8, tmp_path / "c")
    assert_same_weights(straight, resumed, ("gen",))
    assert straight.history[-1] == resumed.history[-1]
    assert straight.history[4]["loss/gen"] == 0.0 and straight.history[5]["loss/gen"] != 0.0


def test_bad_baseline_is_refused():
    with pytest.raises(ValueError, match="baseline"):
        Run(small_config("seqgan", variant_config={"baseline": "magic"}))


@pytest.mark.parametrize("kind", ["relational", "attention", "gpt2"])
def test_seqgan_trains_any_autoregressive_generator(kind):
    """The policy-gradient variants take the relaxed family's generators too (rollouts through their states)."""
    spec = {**TINY_GENERATORS[kind], "emb_dim": 8}
    run = Run(small_config("seqgan", generator=spec, variant_config={"critic_warmup": 1, "rollouts": 2}))
    events = list(run.steps(3))
    assert not [e for e in events if type(e).__name__ == "Failed"]
    assert run.history[-1]["reward/mean"] > 0 and run.history[-1]["grad_norm/gen"] > 0
