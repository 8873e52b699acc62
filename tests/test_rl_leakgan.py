"""LeakGAN: the batched manager/worker passes against slow step-by-step loops, the manager loss and intrinsic
reward against hand-written loops over t and i, rollouts through the custom state, resume, and clear errors."""

import pytest
import torch
import torch.nn.functional as F

from textgan.corpora.base import PAD
from textgan.nets.critics import CNNCritic, CNNCriticConfig
from textgan.nets.leakgan import LeakGANGenerator, LeakGANGeneratorConfig
from textgan.nets.relax import gumbel_noise
from textgan.run import Run
from textgan.variants.leakgan import intrinsic_rewards, manager_loss, token_features
from textgan.variants.rollout import rollout_sequences

from test_variants import assert_same_weights, small_config

pytestmark = pytest.mark.usefixtures("one_thread")

V, L, B, C = 12, 6, 3, 3


def tiny(step_size=C):
    torch.manual_seed(0)
    critic = CNNCritic(CNNCriticConfig(emb_dim=5, widths=[2, 3], filters=4), V, L)  # 8 features
    gen = LeakGANGenerator(LeakGANGeneratorConfig(emb_dim=5, hidden=7, goal_size=4, step_size=step_size,
                                                  feature_dim=8), V, L, start_id=1)
    gen.attach_features(lambda ids: token_features(critic, ids, V))
    return gen, critic


def reference_logits(gen, critic, tokens):
    """One step at a time: rebuild each prefix, its one-hot features, the goals, w_t and O_t · w_t by hand."""
    Bn, Ln = tokens.shape
    c = gen.cfg.step_size
    out, goals, m_state, w_state = [], [], None, None
    inp = torch.full((Bn,), gen.start_id)
    with torch.no_grad():
        for j in range(Ln):
            prefix = torch.full((Bn, Ln), PAD)
            prefix[:, :j] = tokens[:, :j]
            f = critic.features(F.one_hot(prefix, V).float())  # (B, D), the slow one-hot path
            h, m_state = gen.manager(f.unsqueeze(1), m_state)
            g = gen.manager_out(h[:, 0])
            goals.append(g / g.norm(dim=-1, keepdim=True))
            w = gen.psi(sum(goals[max(0, j - c + 1):j + 1]))  # (B, K): the goals of the last c steps
            hw, w_state = gen.worker(gen.embed(inp).unsqueeze(1), w_state)
            O = gen.worker_out(hw[:, 0]).view(Bn, V, gen.cfg.goal_size)  # (B, V, K)
            out.append((O @ w.unsqueeze(-1)).squeeze(-1))
            inp = tokens[:, j]
    return torch.stack(out, 1)  # (B, L, V)


def test_teacher_forced_pass_equals_step_by_step_reference():
    gen, critic = tiny()
    tokens = torch.randint(0, V, (B, L), generator=torch.Generator().manual_seed(1))
    tokens[0, 3:] = PAD  # a finished sentence: its features stop moving
    ref = reference_logits(gen, critic, tokens)
    with torch.no_grad():
        got = gen(tokens)
        assert got.shape == (B, L, V)
        assert torch.allclose(got, ref, atol=1e-5)
        logp = gen.log_prob(tokens)
    assert torch.allclose(logp, F.log_softmax(ref, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1), atol=1e-5)


def test_step_equals_teacher_forced_pass():
    """The sampler (`step`) and the teacher-forced pass are the same policy."""
    gen, _ = tiny()
    tokens = torch.randint(0, V, (B, L), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        state, token, steps = None, torch.full((B,), gen.start_id), []
        for j in range(L):
            logits, state = gen.step(token, state)
            steps.append(logits)
            token = tokens[:, j]
        assert torch.allclose(torch.stack(steps, 1), gen(tokens), atol=1e-5)


def test_sampling_is_seeded_and_greedy_is_argmax():
    gen, _ = tiny()
    a = gen.sample(5, rng=torch.Generator().manual_seed(7))
    b = gen.sample(5, rng=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and a.shape == (5, L)
    assert not torch.equal(a, gen.sample(5, rng=torch.Generator().manual_seed(8)))
    greedy = gen.sample(4, temperature=0)
    with torch.no_grad():
        assert torch.equal(greedy, gen(greedy).argmax(-1))


def test_rollouts_through_the_leakgan_state_equal_slow_reference():
    """Batched rollouts concatenate and repeat the step state (prefix, recent goals, position): compare with
    replaying each prefix alone and completing it with the same noise."""
    gen, _ = tiny()
    R = 2
    rng = torch.Generator().manual_seed(5)
    tokens = gen.sample(B, rng=rng)
    noise = gumbel_noise((L - 1, R, B, L, V), rng, "cpu")
    seqs = rollout_sequences(gen, tokens, R, noise=noise)  # (L−1, R, B, L)
    with torch.no_grad():
        for t in range(1, L):
            for r in range(R):
                for b in range(B):
                    seq, state, token = tokens[b, :t].tolist(), None, torch.tensor([gen.start_id])
                    for j in range(t):
                        _, state = gen.step(token, state)
                        token = tokens[b, j:j + 1]
                    for j in range(t, L):
                        logits, state = gen.step(token, state)
                        token = (logits[0] + noise[t - 1, r, b, j]).argmax().view(1)
                        seq.append(int(token))
                    assert seqs[t - 1, r, b].tolist() == seq


def test_manager_loss_and_intrinsic_reward_by_hand():
    torch.manual_seed(3)
    Bn, Ln, D, c = 2, 7, 5, 3
    f = torch.randn(Bn, Ln + 1, D)
    g = F.normalize(torch.randn(Bn, Ln, D), dim=-1)
    q = torch.rand(Bn, Ln)

    def cos(a, b):
        return float(a @ b / (a.norm() * b.norm()))

    total, n = 0.0, 0
    for b in range(Bn):
        for t in range(Ln - c + 1):  # goal g_t, feature change f_{t+c} − f_t, value of s_{t+c}
            total += q[b, t + c - 1].item() * cos(f[b, t + c] - f[b, t], g[b, t])
            n += 1
    assert manager_loss(f, g, q, c).item() == pytest.approx(-total / n, rel=1e-5)

    expected = torch.zeros(Bn, Ln)
    for b in range(Bn):
        for j in range(Ln):  # token y_j reaches f_{j+1}; paper's t = j + 1
            t = j + 1
            expected[b, j] = sum(cos(f[b, t] - f[b, t - i], g[b, t - i]) for i in range(1, c + 1) if t - i >= 0) / c
    assert torch.allclose(intrinsic_rewards(f, g, c), expected, atol=1e-6)


def test_generator_updates_leave_the_critic_alone():
    run = Run(small_config("leakgan", variant_config={"critic_warmup": 0}))
    before = {k: v.clone() for k, v in run.critic.state_dict().items()}
    gen_before = {k: v.clone() for k, v in run.gen.state_dict().items()}
    out = run.variant.gen_step(8)
    assert all(torch.isfinite(v) for v in out.values())
    assert all(p.grad is None for p in run.critic.parameters())
    for k, v in run.critic.state_dict().items():
        assert torch.equal(v, before[k])
    changed = {k for k, v in run.gen.state_dict().items() if not torch.equal(v, gen_before[k])}
    assert any(k.startswith("manager") for k in changed) and any(k.startswith("worker") for k in changed)
    assert "critic" not in " ".join(run.gen.state_dict())  # the critic's weights are not part of the generator


def test_short_run_trains_saves_and_resumes_exactly(tmp_path):
    cfg = small_config("leakgan", variant_config={"pretrain_steps": 2, "critic_warmup": 1, "mle_every": 2,
                                                  "rollout_rate": 0.8}, eval_every=0, sample_every=0)
    straight = Run(cfg)
    list(straight.steps(8))
    assert all(torch.isfinite(torch.tensor(v)) for h in straight.history for v in h.values())
    assert [h["phase"] for h in straight.history] == [0, 0, 1, 1, 1, 1, 1, 1]
    assert straight.history[2]["loss/gen"] == 0.0  # discriminator warm-up
    assert ["loss/mle" in h for h in straight.history[3:]] == [False, True, False, True, False]  # every 2nd
    first = Run(cfg)
    list(first.steps(5))
    first.save(tmp_path / "c")
    resumed = Run.load(tmp_path / "c", device="cpu")
    assert resumed.variant.rollout_net is not None
    list(resumed.steps(3))
    assert_same_weights(straight, resumed)
    assert straight.history[-1] == resumed.history[-1]
    assert resumed.sample_texts(4, seed=1) == straight.sample_texts(4, seed=1)


def test_clear_errors():
    with pytest.raises(ValueError, match="features.*'cnn'"):
        Run(small_config("leakgan", critic={"kind": "lstm"}))
    with pytest.raises(ValueError, match="generator kind to 'leakgan'"):
        Run(small_config("leakgan", generator={"kind": "lstm"}))
    # a resized CNN critic resizes the generator's goals with it (what the app's size field does)
    run = Run(small_config("leakgan", critic={"kind": "cnn", "filters": 32}))
    assert run.gen.cfg.feature_dim == 32 * len(run.critic.cfg.widths) == 128
    assert all(e.__class__.__name__ != "Failed" for e in run.steps(2))
    gen = LeakGANGenerator(LeakGANGeneratorConfig(feature_dim=8), V, L, start_id=1)
    with pytest.raises(RuntimeError, match="no critic attached"):
        gen.sample(2)
    with pytest.raises(ValueError, match="step_size"):
        LeakGANGenerator(LeakGANGeneratorConfig(step_size=L + 1), V, L, start_id=1)
