"""The README's paper-preset tables and textgan/presets.py say the same: every backticked setting's "ours" value is
what `--preset paper` builds, for every registered variant. Plus the values a reader checks first, that each paper
preset trains, RelGAN's schedule horizon (`beta_horizon`) and its gradient clipping."""

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from textgan.nets import CRITICS, GENERATORS, net_config
from textgan.presets import PAPER_NETS_AND_CONFIG, preset_config
from textgan.variants import VARIANTS, get_variant
from textgan.variants.relgan import RelGAN, RelGANConfig

README = Path(__file__).resolve().parents[1] / "README.md"


def paper_tables() -> dict[str, list[tuple[str, str]]]:
    """{variant: [(setting, ours)]} for the backticked rows of each `#### \\`variant\\`` table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Paper presets"):]
    section = section[:section.index("\n## ", 5)]
    tables: dict[str, list[tuple[str, str]]] = {}
    variant = None
    for line in section.splitlines():
        m = re.fullmatch(r"#### `([\w-]+)`", line.strip())
        if m:
            variant = m[1]
            tables[variant] = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if variant and len(cells) == 5 and re.fullmatch(r"`[\w.]+`", cells[0]) and re.fullmatch(r"`[^`]+`", cells[3]):
            tables[variant].append((cells[0].strip("`"), cells[3].strip("`")))
    return tables


def actual(config, setting: str):
    if setting.startswith(("generator.", "critic.")):
        which, field = setting.split(".", 1)
        gen, critic = config.net_specs()
        spec = gen if which == "generator" else critic
        _, cfg = net_config(GENERATORS if which == "generator" else CRITICS, spec, which)
        return getattr(cfg, field)
    if setting in {f.name for f in dataclasses.fields(config)}:
        return getattr(config, setting)
    defaults = dataclasses.asdict(get_variant(config.variant).Config())
    return {**defaults, **config.variant_config}[setting]


def parse(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def test_readme_tables_match_the_paper_presets():
    tables = paper_tables()
    assert sorted(tables) == sorted(VARIANTS)  # a new variant needs its table and its paper preset
    assert sorted(PAPER_NETS_AND_CONFIG) == sorted(VARIANTS)
    for variant, rows in tables.items():
        assert len(rows) >= 5, variant
        config = preset_config("paper", variant)
        for setting, ours in rows:
            got, want = actual(config, setting), parse(ours)
            if isinstance(want, (int, float)) and not isinstance(want, bool):
                assert got == pytest.approx(want), (variant, setting, got, want)
            else:
                assert got == want, (variant, setting, got, want)


def test_the_issue_s_paper_values():
    """The values a reader checks first (and that once were wrong)."""
    assert actual(preset_config("paper", "wgan-gp"), "critic_steps") == 10
    relgan = preset_config("paper", "relgan")
    assert [actual(relgan, s) for s in ("generator.head_size", "critic.reps", "critic.filters", "critic.hidden",
                                        "clip_grad")] == [256, 64, 300, 100, 5.0]


def test_the_papers_headline_values():
    """One line per variant: the constants of its algorithm, as its paper or its authors' code has them."""
    def values(variant, *settings):
        config = preset_config("paper", variant)
        return [actual(config, s) for s in settings]

    assert values("gan", "relaxation", "tau", "critic_steps") == ["gumbel", 1.0, 1]
    assert values("wgan", "clip", "lr_critic", "lr_gen", "critic_steps") == [0.01, 5e-5, 5e-5, 5]
    assert values("maligan", "lr_gen", "critic.dropout", "clip_grad") == [0.01, 0.25, 5.0]
    assert values("rankgan", "gamma", "ref_size", "rollouts", "rollout_rate", "baseline") == [1.0, 16, 16, 0.8, "none"]
    assert values("dpgan", "generator.emb_dim", "generator.hidden", "clip_grad") == [128, 256, 2.0]
    assert values("pg-bleu", "rollouts", "baseline", "lr_gen") == [16, "none", 0.01]
    assert values("leakgan", "generator.goal_size", "generator.step_size", "rescale_delta", "rollouts",
                  "lr_critic", "lr_gen", "mle_every") == [16, 4, 12.0, 4, 5e-5, 1.5e-3, 15]
    assert values("sentigan", "generator.kind", "generator.hidden", "baseline", "rollouts") == \
        ["mixture", 200, "none", 16]
    # LeakGAN's goals live in the discriminator's feature space: 1,720 features, as the authors' CNN has
    leakgan = preset_config("paper", "leakgan")
    gen_spec, _ = get_variant("leakgan").fit_specs(*leakgan.net_specs(), None)
    assert gen_spec["feature_dim"] == 1720


def test_maligan_weights_are_the_papers_normalised_odds():
    """Che et al.'s r_D = D/(1−D), normalised over the m samples, minus the baseline 1/m."""
    from textgan.variants.maligan import mali_loss, mali_weights

    logits = torch.tensor([-2.0, 0.3, 1.5, 0.0], dtype=torch.float64)
    d = torch.sigmoid(logits)
    odds = d / (1 - d)
    torch.testing.assert_close(mali_weights(logits), odds / odds.sum())
    log_p = torch.tensor([-3.0, -1.0, -2.0, -4.0], dtype=torch.float64, requires_grad=True)
    mali_loss(log_p, logits).backward()
    torch.testing.assert_close(log_p.grad, -(odds / odds.sum() - 0.25))


SMALL_NETS = {  # the paper nets' kinds at a size that steps in well under a second
    "lstm": {"emb_dim": 8, "hidden": 8}, "leakgan": {"emb_dim": 8, "hidden": 8, "goal_size": 4},
    "mixture": {"emb_dim": 8, "hidden": 8}, "relational": {"emb_dim": 8, "head_size": 8},
    "conv": {"channels": 8, "blocks": 1}, "cnn": {"emb_dim": 8, "filters": 4},
    "multirep": {"emb_dim": 4, "reps": 2, "filters": 4, "hidden": 4},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_paper_preset_trains(variant, one_thread):
    """`--preset paper` starts and its first iteration updates the generator, for every variant: the preset's
    settings are valid for the variant and its nets' kinds fit it (sizes shrunk, warm-ups skipped)."""
    from textgan.run import Run

    config = preset_config("paper", variant, batch_size=8, device="cpu", corpus={"kind": "modes", "k": 2},
                           eval_every=0, sample_every=0)
    gen, critic = config.net_specs()
    fields = {f.name for f in dataclasses.fields(get_variant(variant).Config)}
    skip = {k: 0 for k in ("critic_warmup", "pretrain_steps", "critic_burst") if k in fields}
    config = dataclasses.replace(
        config, variant_config={**config.variant_config, **skip, **({"rollouts": 2} if "rollouts" in fields else {})},
        generator={**gen, **SMALL_NETS[gen["kind"]]},
        critic={**critic, **SMALL_NETS[critic["kind"]]} if critic is not None else None)
    run = Run(config)
    before = [p.detach().clone() for p in run.gen.parameters()]
    events = list(run.steps(1))
    assert not [e for e in events if type(e).__name__ == "Failed"], events
    assert any(not torch.equal(a, b) for a, b in zip(before, run.gen.parameters()))
    if variant == "wgan":  # the paper's optimizer
        assert all(isinstance(o, torch.optim.RMSprop) for o in run.variant.optimizers.values())


def test_beta_horizon_reproduces_the_released_code():
    def beta_after(iters, **cfg):
        v = RelGAN.__new__(RelGAN)
        v.cfg, v.adv_iter = RelGANConfig(**cfg), iters
        return v.beta

    # RelGAN's code: beta_max ** (i / N) (weilinie/RelGAN real/real_gan/real_train.py:388, N = 5000 there)
    assert beta_after(2999, adv_iters=3000) == pytest.approx(100.0 ** (2999 / 3000))
    assert beta_after(3000, adv_iters=3000) == pytest.approx(100.0)
    assert beta_after(2999, adv_iters=3000, beta_horizon=5000) == pytest.approx(100 ** (2999 / 5000))
    assert beta_after(2999, adv_iters=3000, beta_horizon=5000) == pytest.approx(15.8, abs=0.05)
    assert beta_after(0, adv_iters=3000, beta_horizon=5000) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="beta_horizon"):
        RelGANConfig(beta_horizon=-1)


def test_relgan_clips_gradients_in_both_updates():
    from textgan.run import Run

    config = preset_config("paper", "relgan", variant_config={"clip_grad": 1e-6, "critic_steps": 1}, batch_size=8,
                           device="cpu", corpus={"kind": "modes", "k": 2},
                           generator={"kind": "relational", "emb_dim": 8, "head_size": 8},
                           critic={"kind": "multirep", "emb_dim": 4, "reps": 4, "filters": 4, "hidden": 4})
    run = Run(config)
    before = [p.detach().clone() for p in run.gen.parameters()]
    run.variant.step(run.corpus.train[:8])
    # Adam normalises the step, so clipping shows in its second moment: tiny squared gradients
    for opt in run.variant.optimizers.values():
        v = max(s["exp_avg_sq"].max().item() for s in opt.state.values())
        assert v < 1e-12
    assert any(not torch.equal(a, b) for a, b in zip(before, run.gen.parameters()))


def test_multirep_separate_highway_is_relgan_s_form():
    import torch.nn.functional as F

    from textgan.nets.multirep import MultiRepCritic, MultiRepCriticConfig, conv_max_over_time

    torch.manual_seed(0)
    cfg = MultiRepCriticConfig(emb_dim=4, reps=2, widths=[2, 3], filters=3, hidden=5, highway="separate")
    critic = MultiRepCritic(cfg, vocab_size=7, seq_len=6)
    x = F.one_hot(torch.randint(0, 7, (3, 6)), 7).float()
    e = critic.embed(x).view(3, 6, 2, 2)
    h = torch.cat([conv_max_over_time(conv, e) for conv in critic.convs], 1).transpose(1, 2)  # (B, R, F·widths)
    w_t, w_g = critic.highway.weight.chunk(2, 0)
    b_t, b_g = critic.highway.bias.chunk(2, 0)
    gate = torch.sigmoid(h @ w_g.T + b_g)  # its own projection, apart from the transform's
    mixed = gate * F.relu(h @ w_t.T + b_t) + (1 - gate) * h
    expected = critic.out(critic.hidden(mixed)).squeeze(-1)
    torch.testing.assert_close(critic.scores(x), expected)
    with pytest.raises(ValueError, match="highway"):
        MultiRepCritic(MultiRepCriticConfig(highway="both"), 7, 6)


def test_wgan_critic_bursts_follow_the_authors_code(one_thread):
    """Arjovsky's code trains the critic 100 steps per generator iteration for the first 25 iterations and every
    500th, else 5; the burst counts only the iterations `step` makes, and survives a save/load."""
    from textgan.run import Run

    config = preset_config("paper", "wgan", batch_size=4, device="cpu", corpus={"kind": "modes", "k": 2},
                           eval_every=0, sample_every=0, generator={"kind": "lstm", "emb_dim": 4, "hidden": 4},
                           critic={"kind": "cnn", "emb_dim": 4, "filters": 2},
                           variant_config={"critic_burst": 3, "critic_steps": 2})
    run = Run(config)
    v = run.variant
    schedule = []
    for n in (0, 24, 25, 499, 500, 501, 1000):
        v.gen_iters = n
        schedule.append(v.batches_per_step)
    assert schedule == [3, 3, 2, 2, 3, 2, 3]

    def updates(name):
        return max(s["step"] for s in v.optimizers[name].state.values()).item()

    v.gen_iters = 0
    list(run.steps(1))
    assert (updates("critic"), updates("gen"), v.gen_iters) == (3, 1, 1)
    v.gen_iters = 25
    list(run.steps(1))
    assert (updates("critic"), updates("gen"), v.gen_iters) == (5, 2, 26)
    restored = type(v).__new__(type(v))
    restored.optimizers, restored.pretrain_opt = v.optimizers, None
    restored.load_state_dict(v.state_dict())
    assert restored.gen_iters == 26
    assert preset_config("paper", "wgan").variant_config["critic_burst"] == 100
    assert get_variant("wgan").Config().critic_burst == 0  # off by default: the app and the demo keep 5
    with pytest.raises(ValueError, match="critic_burst"):
        Run(dataclasses.replace(config, variant_config={"critic_burst": -1}))


# ---- rows fixed by issue 25: each table row that changed has its test ----------------------------------------------

def _seqgan_run(dropout: float = 0.0, **variant_config):
    from textgan.run import Run, RunConfig

    return Run(RunConfig(corpus={"kind": "modes", "k": 2}, variant="seqgan", batch_size=8, seed=4, device="cpu",
                         eval_every=0, sample_every=0, generator={"kind": "lstm", "emb_dim": 8, "hidden": 8},
                         critic={"kind": "cnn", "emb_dim": 8, "filters": 4, "dropout": dropout},
                         variant_config={"critic_warmup": 0, "critic_steps": 1, "rollouts": 2, **variant_config}))


def test_seqgan_discriminator_l2_is_the_code_s_output_layer_penalty(one_thread):
    """LantaoYu/SeqGAN sequence_gan.py:29, discriminator.py:119-130: loss + 0.2 · tf.nn.l2_loss(W) + l2_loss(b) of
    the output layer, i.e. λ·(‖W‖² + ‖b‖²)/2; on in the paper preset, off by default."""
    assert actual(preset_config("paper", "seqgan"), "critic_l2") == 0.2
    assert get_variant("seqgan").Config().critic_l2 == 0.0
    losses = {}
    for lam in (0.0, 0.2):
        torch.manual_seed(0)
        run = _seqgan_run(critic_l2=lam)
        v, seen = run.variant, []
        optimize = v.optimize
        v.optimize = lambda name, loss, params, clip=None: (seen.append(loss.item()),
                                                            optimize(name, loss, params, clip))[1]
        out = run.critic.out
        penalty = ((out.weight.square().sum() + out.bias.square().sum()) / 2).item()
        v.critic_step(run.corpus.train[:8])
        losses[lam] = seen[0]
    assert losses[0.2] - losses[0.0] == pytest.approx(0.2 * penalty, rel=1e-5)
    with pytest.raises(ValueError, match="critic_l2"):
        _seqgan_run(critic_l2=-1.0)


def test_seqgan_l2_equals_the_code_s_two_class_softmax_loss(one_thread):
    """The code's discriminator is a 2-class softmax over a batch of real and fake rows, loss = mean CE + λ ·
    tf.nn.l2_loss(W) + λ · tf.nn.l2_loss(b) with W (d, 2). Ours is one logit, softplus(-d_real).mean() +
    softplus(d_fake).mean() + λ (‖w‖² + b²) / 2. With the code's layer written as ours (columns -w/2, w/2: the same
    logit difference, and the least L2 for it), its loss is exactly half of ours at the same λ = 0.2: the halved L2
    of a one-logit layer and the two means of ours cancel, so 0.2 is the code's penalty, not twice or half of it."""
    import torch.nn.functional as F

    run = _seqgan_run(critic_l2=0.2)
    v, seen, feats = run.variant, [], []
    optimize = v.optimize
    v.optimize = lambda name, loss, params, clip=None: (seen.append(loss.item()), optimize(name, loss, params, clip))[1]
    w, b = run.critic.out.weight.detach().clone(), run.critic.out.bias.detach().clone()  # (1, d), (1,): pre-update
    hook = run.critic.out.register_forward_hook(lambda mod, inp, out: feats.append(inp[0].detach()))
    v.critic_step(run.corpus.train[:8])
    hook.remove()
    h_real, h_fake = feats  # (B, d) each: what the output layer saw
    W = torch.cat([-w / 2, w / 2]).T.double()  # (d, 2)
    B2 = torch.cat([-b / 2, b / 2]).double()  # (2,)
    h = torch.cat([h_real, h_fake]).double()  # the code's mixed batch
    y = torch.cat([torch.ones(len(h_real)), torch.zeros(len(h_fake))]).long()  # class 1 = real
    code = F.cross_entropy(h @ W + B2, y) + 0.2 * (W.square().sum() / 2 + B2.square().sum() / 2)
    assert seen[0] == pytest.approx(2 * code.item(), rel=1e-5)


def test_seqgan_rewards_are_scored_in_eval_mode_whoever_calls_them(one_thread):
    """Called directly (outside gen_step), with critic dropout on: the same rollouts give the same rewards (no
    dropout noise), and the critic is back in training mode afterwards."""
    run = _seqgan_run(dropout=0.5)
    v = run.variant
    tokens = run.gen.sample(6, rng=torch.Generator().manual_seed(1))
    assert run.critic.training
    state = v.rng.get_state()
    first = v.rewards(tokens)
    v.rng.set_state(state)
    second = v.rewards(tokens)
    assert torch.equal(first, second)
    assert run.critic.training


def test_leakgan_learning_rates_stay_constant_as_the_code_s_optimizers(one_thread):
    """CR-Gjx/LeakGAN Synthetic Data/LeakGANModel.py:30-36 defines decayed rates that its optimizers never take
    (:247,265,274,297): the README's lr rows say "constant, as the code", and ours stays at the preset's rate."""
    from textgan.run import Run

    assert [actual(preset_config("paper", "leakgan"), s) for s in ("lr_gen", "pretrain_lr")] == [1.5e-3, 1.5e-3]
    rows = dict(paper_tables()["leakgan"])
    assert rows["lr_gen"] == rows["pretrain_lr"] == "0.0015"
    config = preset_config("paper", "leakgan", batch_size=4, device="cpu", corpus={"kind": "modes", "k": 2},
                           eval_every=0, sample_every=0,
                           generator={"kind": "leakgan", "emb_dim": 8, "hidden": 8, "goal_size": 4},
                           critic={"kind": "cnn", "emb_dim": 8, "filters": 4},
                           variant_config={"pretrain_steps": 2, "critic_warmup": 0, "rollouts": 2, "mle_every": 1})
    run = Run(config)
    list(run.steps(6))
    lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in run.variant.optimizers.items()}
    assert lrs["manager"] == lrs["worker"] == [1.5e-3]


def test_leakgan_rescale_ranks_by_sorting_not_by_first_appearance():
    """The paper's rank (ours): the best reward of a time step gets the highest rescaled value, wherever it sits
    in the batch. The code's dict-order "rank" would give the first row the top value instead."""
    from textgan.variants.rollout import rank_rescale

    r = torch.tensor([[0.2], [0.9], [0.5], [0.1]])  # (B=4, L=1), best reward in row 1, not row 0
    got = rank_rescale(r, 12.0)[:, 0]
    assert got.argmax().item() == 1 and got.argmin().item() == 3
    assert torch.equal(got.argsort(), r[:, 0].argsort())  # monotone in the reward
    by_appearance = torch.sigmoid(12 * (0.5 - torch.arange(1, 5.0) / 4))  # the code's order: row 0 ranked 1st
    assert not torch.allclose(got, by_appearance)
