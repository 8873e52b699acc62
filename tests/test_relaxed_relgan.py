"""RelGAN: the beta schedule reaches beta_max at the end of its horizon (exp: i / N, as RelGAN's code), the relativistic loss, the nets."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from textgan.nets import build_critic, build_generator
from textgan.run import Run, RunConfig
from textgan.variants.relgan import SCHEDULES, beta_at

V, L = 11, 6
TINY_G = {"kind": "relational", "emb_dim": 8, "mem_slots": 2, "heads": 2, "head_size": 8}
TINY_C = {"kind": "multirep", "emb_dim": 8, "reps": 4, "widths": [2, 3], "filters": 8, "hidden": 8}


def test_schedules_by_hand():
    n, b = 5, 100.0
    assert [beta_at(i, n, b, "lin") for i in range(n)] == pytest.approx([1, 25.75, 50.5, 75.25, 100])
    # exp is RelGAN's code's b ** (i / N) (weilinie/RelGAN real/real_gan/real_train.py:388, N = its adversarial
    # steps): beta_max at i = N, one past the last planned iteration
    assert [beta_at(i, n, b, "exp") for i in range(n + 1)] == pytest.approx([100 ** (i / 5) for i in range(6)])
    assert beta_at(2, n, b, "quad") == pytest.approx(1 + 99 * 0.25)
    assert beta_at(1, n, b, "sqrt") == pytest.approx(1 + 99 * 0.5)
    assert beta_at(2, n, b, "log") == pytest.approx(1 + 99 * math.log(3) / math.log(5))
    assert beta_at(2, n, b, "sigmoid") == pytest.approx(1 + 99 * 0.5)
    assert beta_at(0, n, b, "const") == 100
    for s in SCHEDULES:
        end = n if s == "exp" else n - 1
        assert beta_at(end, n, b, s) == pytest.approx(b)  # beta_max at the end of the horizon, whatever n is
        assert beta_at(n + 10, n, b, s) == pytest.approx(b)  # and it stays there
        if s != "const":
            assert beta_at(0, n, b, s) == pytest.approx(1)
    # The code's N = 5000 over 3,000 iterations stops at 100 ** (2999/5000) ~ 15.8; N = 3000 at 100 ** (2999/3000).
    assert beta_at(2999, 3000, 100.0, "exp") == 100 ** (2999 / 3000)
    assert beta_at(2999, 5000, 100.0, "exp") == 100 ** (2999 / 5000)
    with pytest.raises(ValueError, match="schedule"):
        beta_at(0, 3, 2.0, "cosine")


def test_run_follows_the_code_s_exp_beta_schedule():
    """Pre-training 2 steps, then adv_iters=4 adversarial iterations: the logged beta goes 100 ** (i / 4), and
    the relaxation temperature the generator receives is 1/beta."""
    cfg = RunConfig(corpus={"kind": "modes", "k": 4}, variant="relgan", generator=TINY_G,
                    critic={**TINY_C, "widths": [2]}, batch_size=8, seed=1, device="cpu",
                    variant_config={"adv_iters": 4, "schedule": "exp", "beta_max": 100.0, "pretrain_steps": 2,
                                    "critic_steps": 1})
    run = Run(cfg)
    taus = []
    relaxed = run.gen.relaxed
    run.gen.relaxed = lambda n, r, tau, rng: taus.append(tau) or relaxed(n, r, tau, rng)
    list(run.steps(6))
    betas = [h["beta"] for h in run.history if "beta" in h and not math.isnan(h["beta"])]
    assert betas == pytest.approx([100 ** (i / 4) for i in range(4)], rel=1e-6)
    assert taus[-1] == pytest.approx(100 ** -0.75) and taus[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="schedule"):
        run.variant.update(schedule="nope")
    with pytest.raises(ValueError, match="adv_iters"):
        run.variant.update(adv_iters=0)


def test_relativistic_losses_by_hand():
    """One critic step's loss equals softplus(-(D(real) - D(fake))) per representation, averaged."""
    cfg = RunConfig(corpus={"kind": "modes", "k": 4}, variant="relgan", generator=TINY_G, critic=TINY_C,
                    batch_size=4, seed=2, device="cpu", variant_config={"critic_steps": 1})
    run = Run(cfg)
    v = run.variant
    real = run._batch()
    rng_state = run.rng.get_state()
    with torch.no_grad():
        fake = v.fake(real.shape[0])
        d_real = run.critic.scores(F.one_hot(real, run.corpus.vocab_size).float())  # (B, R)
        d_fake = run.critic.scores(fake)
    assert d_real.shape == (4, 4)
    expected = torch.log1p(torch.exp(-(d_real - d_fake))).mean()
    run.rng.set_state(rng_state)
    out = v.critic_step(real)
    assert out["loss/critic"].item() == pytest.approx(expected.item(), rel=1e-5)
    # generator loss mirrors it (critic has changed: recompute with the same noise)
    rng_state = run.rng.get_state()
    with torch.no_grad():
        fake = v.fake(4)
        d_real = run.critic.scores(F.one_hot(real, run.corpus.vocab_size).float())
        d_fake = run.critic.scores(fake)
    run.rng.set_state(rng_state)
    out = v.gen_step(4)  # the app's lone generator update pairs with the last critic batch
    assert out["loss/gen"].item() == pytest.approx(torch.log1p(torch.exp(-(d_fake - d_real))).mean().item(), rel=1e-5)


def test_relational_generator_teacher_forcing_equals_stepping():
    torch.manual_seed(0)
    g = build_generator(TINY_G, V, L, start_id=1)
    tokens = torch.randint(0, V, (3, L))
    logits = g(tokens)  # (B, L, V)
    assert logits.shape == (3, L, V)
    tok, state, steps = torch.full((3,), 1), None, []
    for t in range(L):
        lt, state = g.step(tok, state)
        steps.append(lt)
        tok = tokens[:, t]
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5)
    assert state.shape == (3, 2, 16)
    lp = g.log_prob(tokens)
    assert torch.allclose(lp, F.log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1))
    rng = torch.Generator().manual_seed(0)
    for relaxation in ("gumbel", "st", "softmax"):
        toks, soft = g.relaxed(4, relaxation, 0.5, rng)
        assert toks.shape == (4, L) and soft.shape == (4, L, V) and soft.requires_grad
    assert g.sample(5, rng=rng).shape == (5, L)


def test_relational_memory_slots_attend_to_each_other():
    """With 2 slots, changing slot 1 of the memory changes slot 0's update (attention across slots)."""
    torch.manual_seed(0)
    g = build_generator(TINY_G, V, L, start_id=1)
    x = torch.randn(1, 8)
    m = torch.randn(1, 2, 16)
    m2 = m.clone()
    m2[:, 1] += 1.0
    a, b = g.memory(x, m), g.memory(x, m2)
    assert not torch.allclose(a[:, 0], b[:, 0])


def test_multirep_critic():
    c = build_critic(TINY_C, V, L)
    x = F.one_hot(torch.randint(0, V, (3, L)), V).float()
    assert c.scores(x).shape == (3, 4) and c(x).shape == (3,)
    assert torch.allclose(c(x), c.scores(x).mean(-1))
    with pytest.raises(ValueError, match="divide"):
        build_critic({**TINY_C, "reps": 3}, V, L)


@pytest.mark.parametrize("e", [1, 2])
def test_conv_max_over_time_equals_autograd_conv(e):
    """The critic's fast conv + relu + max-over-time gives the plain Conv2d path's values, gradients and
    second-order gradients (what a gradient penalty differentiates), in float64 where ties cannot hide errors."""
    from textgan.nets.multirep import conv_max_over_time

    torch.manual_seed(0)
    B, Lx, R, w, n_f = 5, 9, 3, 3, 7
    conv = torch.nn.Conv2d(1, n_f, (w, e), stride=(1, e)).double()
    x = torch.randn(B, Lx, R, e, dtype=torch.float64, requires_grad=True)

    def plain(x):
        return F.relu(conv(x.reshape(B, 1, Lx, R * e))).amax(2)  # (B, F, R)

    fast = conv_max_over_time(conv, x)
    assert fast.shape == (B, n_f, R)
    assert torch.allclose(fast, plain(x), atol=1e-12)
    params = [x, conv.weight, conv.bias]
    u = torch.randn(B, n_f, R, dtype=torch.float64)
    g_fast = torch.autograd.grad((conv_max_over_time(conv, x) * u).sum(), params, create_graph=True)
    g_plain = torch.autograd.grad((plain(x) * u).sum(), params, create_graph=True)
    for a, b in zip(g_fast, g_plain):
        assert torch.allclose(a, b, atol=1e-12)
    # second order, as WGAN-GP does: d/dW of the input gradient's norm
    gg_fast = torch.autograd.grad(g_fast[0].square().sum(), conv.weight)[0]
    gg_plain = torch.autograd.grad(g_plain[0].square().sum(), conv.weight)[0]
    assert torch.allclose(gg_fast, gg_plain, atol=1e-10)


def test_critic_bf16_stays_close_to_fp32_and_keeps_fp32_weights():
    """`critic_bf16` changes the arithmetic, not the model: the same loss to bf16 precision, fp32 parameters."""
    losses = {}
    for bf16 in (False, True):
        cfg = RunConfig(corpus={"kind": "modes", "k": 4}, variant="relgan", generator=TINY_G, critic=TINY_C,
                        batch_size=8, seed=2, device="cpu", variant_config={"critic_steps": 1, "critic_bf16": bf16})
        run = Run(cfg)
        losses[bf16] = run.variant.critic_step(run._batch())["loss/critic"].item()
        assert all(p.dtype == torch.float32 for p in run.critic.parameters())
        assert math.isfinite(run.variant.gen_step(8)["loss/gen"].item())
    assert losses[True] == pytest.approx(losses[False], rel=2e-2)
    assert losses[True] != losses[False]  # bf16 really ran


def test_head_bf16_samples_with_bf16_logits_close_to_fp32():
    """`head_bf16` changes the sampling head's arithmetic, not the model: logits within bf16's bound of fp32, the
    same tokens for the same noise where no two words are near a tie, fp32 weights and gradients."""
    from textgan.nets import build_generator
    from textgan.variants.relgan import RelGAN, RelGANConfig

    torch.manual_seed(3)
    gen = build_generator({"kind": "relational", "emb_dim": 8, "heads": 2, "head_size": 16}, 700, 6, 1)
    flat = torch.randn(400, gen.out.in_features)
    with torch.no_grad():
        exact = gen._head(flat)
        RelGAN(gen, build_critic(TINY_C, 700, 6), SimpleNamespace(vocab_size=700), RelGANConfig(head_bf16=True),
               torch.device("cpu"))
        assert gen.head_dtype == torch.bfloat16
        low = gen._head(flat)
    assert low.dtype == torch.float32 and not torch.equal(low, exact)  # bf16 really ran
    err = (low - exact).abs().max()
    assert err <= 2e-2 * exact.abs().max()
    # Tokens: Gumbel-max with the same noise picks the same word wherever fp32's best beats its runner-up by more
    # than twice the largest logit error (no near tie), and such rows are nearly all of them.
    noise = -torch.log(-torch.log(torch.rand(exact.shape, generator=torch.Generator().manual_seed(5))))
    top2 = (exact + noise).topk(2, dim=-1).values  # (400, 2)
    clear = top2[:, 0] - top2[:, 1] > 2 * err
    assert clear.float().mean() > 0.9
    assert torch.equal((exact + noise).argmax(-1)[clear], (low + noise).argmax(-1)[clear])
    tokens, soft = gen.relaxed(4, "gumbel", 0.5, torch.Generator().manual_seed(1))
    soft.sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in gen.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="relational generator"):
        RelGAN(build_generator({"kind": "lstm"}, 700, 6, 1), build_critic(TINY_C, 700, 6),
               SimpleNamespace(vocab_size=700), RelGANConfig(head_bf16=True), torch.device("cpu"))


def test_head_bf16_changed_while_paused_reaches_the_generator():
    """The app changes settings between steps with `update`: head_bf16 must take effect (and be refused, leaving
    the config as it was, where the generator cannot do it)."""
    from textgan.variants.relgan import RelGAN, RelGANConfig

    gen = build_generator(TINY_G, 700, 6, 1)
    v = RelGAN(gen, build_critic(TINY_C, 700, 6), SimpleNamespace(vocab_size=700), RelGANConfig(),
               torch.device("cpu"))
    assert gen.head_dtype is None
    with pytest.raises(ValueError, match="no setting"):  # a rejected update changes nothing
        v.update(head_bf16=True, no_such_setting=1)
    assert gen.head_dtype is None and not v.cfg.head_bf16
    v.update(head_bf16=True)
    assert v.cfg.head_bf16 and gen.head_dtype == torch.bfloat16
    v.update(head_bf16=False)
    assert gen.head_dtype is None
    lstm = RelGAN(build_generator({"kind": "lstm"}, 700, 6, 1), build_critic(TINY_C, 700, 6),
                  SimpleNamespace(vocab_size=700), RelGANConfig(), torch.device("cpu"))
    with pytest.raises(ValueError, match="relational generator"):
        lstm.update(head_bf16=True)
    assert lstm.cfg.head_bf16 is False
