"""SentiGAN: the mixture generator's exact likelihood, the penalty loss, the (k+1)-class critic targets, labels
from the corpus, exact resume, and one generator per mode on `modes`."""

import math

import pytest
import torch
import torch.nn.functional as F

from textgan.events import Failed
from textgan.nets import build_critic, build_generator, spec_of
from textgan.run import Run, RunConfig
from textgan.variants.sentigan import critic_loss, penalty_loss, with_baseline

from test_variants import assert_same_weights, resumed_run

V, L = 9, 5
TINY = dict(generator={"kind": "mixture", "emb_dim": 8, "hidden": 16}, critic={"kind": "cnn", "emb_dim": 8,
                                                                              "filters": 8})


def tiny_config(**kw) -> RunConfig:
    base = dict(corpus={"kind": "modes", "k": 4}, variant="sentigan", batch_size=16, seed=5, device="cpu",
                sample_every=0, eval_every=0, variant_config={"pretrain_steps": 3, "rollouts": 4}, **TINY)
    base.update(kw)
    return RunConfig(**base)


# ---- the mixture generator -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, layers", [("lstm", 1), ("gru", 2)])
def test_mixture_log_prob_is_the_exact_mixture_likelihood(cell, layers):
    torch.manual_seed(0)
    g = build_generator({"kind": "mixture", "k": 3, "cell": cell, "emb_dim": 4, "hidden": 8, "layers": layers},
                        V, L, start_id=1)
    tokens = torch.randint(0, V, (6, L))
    lp = g.log_prob(tokens)  # (B, L)
    assert lp.shape == (6, L)
    comp = torch.stack([c.log_prob(tokens) for c in g.components])  # (K, B, L), brute force per component
    # sequence level: log (1/k) Σ_i p_i(Y)
    brute = torch.logsumexp(comp.sum(-1), 0) - math.log(3)
    assert torch.allclose(lp.sum(1), brute, atol=1e-5)
    # token level: logsumexp_i c_i(t+1) − logsumexp_i c_i(t), c_i(t) = log(1/k) + log p_i(y_<t)
    c = torch.cat([torch.zeros(3, 6, 1), comp.cumsum(-1)], -1) - math.log(3)  # (K, B, L+1)
    per_token = torch.logsumexp(c[..., 1:], 0) - torch.logsumexp(c[..., :-1], 0)
    assert torch.allclose(lp, per_token, atol=1e-5)
    # the one-token `step` (used by rollouts and `relaxed` of other variants) is the same predictive
    state, token, steps = None, torch.full((6,), 1), []
    for t in range(L):
        out, state = g.step(token, state)
        steps.append(out)
        token = tokens[:, t]
    assert torch.allclose(torch.stack(steps, 1), g(tokens), atol=1e-5)
    assert torch.allclose(g(tokens).exp().sum(-1), torch.ones(6, L), atol=1e-5)


def test_mixture_samples_in_contiguous_blocks_one_per_component():
    g = build_generator({"kind": "mixture", "k": 3, "hidden": 8, "emb_dim": 4}, V, L, start_id=1)
    assert g.component_of_rows(7).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert g.component_of_rows(6).tolist() == [0, 0, 1, 1, 2, 2]
    rows = g.sample(7, rng=torch.Generator().manual_seed(4))
    rng = torch.Generator().manual_seed(4)
    by_hand = torch.cat([c.sample(n, rng=rng) for c, n in zip(g.components, [3, 2, 2])])
    assert torch.equal(rows, by_hand)
    toks, soft = g.relaxed(5, "gumbel", 0.5, torch.Generator().manual_seed(0))
    assert toks.shape == (5, L) and soft.shape == (5, L, V) and soft.requires_grad


def test_critic_outputs_default_keeps_the_old_shape():
    x = torch.softmax(torch.randn(3, L, V), -1)
    old, new = build_critic({"kind": "cnn"}, V, L), build_critic({"kind": "cnn", "outputs": 5}, V, L)
    assert old(x).shape == (3,) and new(x).shape == (3, 5)
    assert spec_of(old)["outputs"] == 1
    assert {k: v.shape for k, v in old.state_dict().items()}["out.weight"] == (1, 4 * 64)


# ---- the losses ------------------------------------------------------------------------------------------------

def test_penalty_loss_multiplies_the_probability_by_the_penalty():
    probs = torch.tensor([[0.5, 0.2], [0.1, 0.9]], requires_grad=True)
    penalties = torch.tensor([[1.0, 0.5], [0.0, 0.25]], requires_grad=True)
    loss = penalty_loss(probs, penalties)
    assert loss.item() == pytest.approx((0.5 * 1.0 + 0.2 * 0.5 + 0.1 * 0.0 + 0.9 * 0.25) / 4)
    loss.backward()
    assert torch.allclose(probs.grad, penalties.detach() / 4)
    assert penalties.grad is None  # the penalty is a constant for the generator
    # Through a softmax: d(G(y)·V)/dlogits = V·G(y)·(onehot(y) − G), not SeqGAN's V·(onehot(y) − G).
    logits = torch.tensor([[0.3, -1.0, 2.0]], requires_grad=True)
    y, v = 0, 0.5
    g = torch.softmax(logits, -1)
    penalty_loss(torch.softmax(logits, -1)[:, y:y + 1], torch.tensor([[v]])).backward()
    expected = v * g[0, y] * (F.one_hot(torch.tensor(y), 3).float() - g[0])
    assert torch.allclose(logits.grad[0], expected.detach(), atol=1e-6)


def test_mean_baseline_subtracts_each_time_steps_batch_mean():
    v = torch.tensor([[0.9, 0.2], [0.5, 0.4], [0.1, 0.6]])
    assert torch.equal(with_baseline(v, "none"), v)
    assert torch.allclose(with_baseline(v, "mean"), torch.tensor([[0.4, -0.2], [0.0, 0.0], [-0.4, 0.2]]))
    with pytest.raises(ValueError, match="baseline"):
        with_baseline(v, "median")


def test_critic_targets_real_by_label_fakes_to_class_k():
    torch.manual_seed(1)
    k = 3
    real_logits, fake_logits = torch.randn(3, k + 1), torch.randn(2, k + 1)
    labels = torch.tensor([2, -1, 0])  # the unlabelled row is skipped
    loss, targets = critic_loss(real_logits, labels, fake_logits)
    assert targets.tolist() == [2, 0, 3, 3]
    rows = torch.cat([real_logits[[0, 2]], fake_logits])
    by_hand = -(torch.log_softmax(rows, -1)[torch.arange(4), torch.tensor([2, 0, 3, 3])]).mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_generator_penalty_is_one_minus_its_own_class_probability():
    run = Run(tiny_config())
    tokens = run.corpus.train[:6]
    probs = torch.softmax(run.variant.critic_logits(tokens), -1)  # (6, k+1)
    for i in range(4):
        assert torch.allclose(run.variant.penalty(i)(tokens), 1 - probs[:, i])


# ---- specs from the corpus, errors -----------------------------------------------------------------------------

def test_k_and_critic_outputs_follow_the_corpus_labels(tmp_path):
    run = Run(tiny_config(corpus={"kind": "modes", "k": 3}))
    assert run.gen.k == 3 and run.critic.cfg.outputs == 4
    assert run.corpus.n_labels == 3 and run.corpus.label_ids(run.corpus.train[:5]).tolist() == \
        run.corpus.classify_ids(run.corpus.train[:5]).tolist()
    list(run.steps(4))
    path = run.save(tmp_path / "r")
    loaded = Run.load(path, device="cpu")  # the saved specs are complete: k and outputs are checked, not refilled
    assert loaded.gen.k == 3 and loaded.critic.cfg.outputs == 4
    assert loaded.sample_texts(6, seed=2) == run.sample_texts(6, seed=2)


def test_defaults_build_without_net_specs():
    run = Run(tiny_config(generator=None, critic=None))
    assert run.gen.k == 4 and run.critic.cfg.outputs == 5


@pytest.mark.parametrize("corpus", [
    {"kind": "oracle", "vocab_size": 20, "seq_len": 6, "n_train": 32, "n_test": 8},
    "text",
])
def test_unlabelled_corpus_is_refused(corpus, tmp_path):
    if corpus == "text":
        path = tmp_path / "t.txt"
        path.write_text("".join(f"the cat number {i} sleeps\n" for i in range(40)))
        corpus = {"kind": "text", "path": str(path)}
    with pytest.raises(ValueError, match="sentigan needs a labelled corpus such as modes"):
        Run(tiny_config(corpus=corpus))


@pytest.mark.parametrize("change, message", [
    ({"generator": {"kind": "mixture", "k": 3}}, "k=3 but corpus 'modes' has 4 labels"),
    ({"generator": {"kind": "lstm"}}, "generator kind 'mixture'"),
    ({"critic": {"kind": "lstm"}}, "critic kind 'cnn'"),
    ({"critic": {"kind": "cnn", "outputs": 2}}, "outputs=2 but sentigan needs k\\+1 = 5"),
])
def test_specs_that_disagree_with_the_labels_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        Run(tiny_config(**change))


# ---- resume ----------------------------------------------------------------------------------------------------

def test_exact_resume_across_pretraining_and_adversarial_steps(tmp_path):
    straight = Run(tiny_config())
    list(straight.steps(7))
    assert [h["phase"] for h in straight.history] == [0, 0, 0, 1, 1, 1, 1]
    for stop in (2, 5):  # inside pre-training, inside the adversarial phase
        resumed = resumed_run(tiny_config(), stop, 7, tmp_path / f"c{stop}")
        assert_same_weights(straight, resumed)
        assert straight.history[-1] == resumed.history[-1]


# ---- learning --------------------------------------------------------------------------------------------------

def test_each_generator_learns_its_own_mode(one_thread):
    """On `modes` (k=4) each generator writes its own mode, before and after adversarial training."""
    cfg = RunConfig(corpus={"kind": "modes", "k": 4}, variant="sentigan", batch_size=64, seed=0, device="cpu",
                    sample_every=0, eval_every=0, variant_config={"pretrain_steps": 150})
    run = Run(cfg)
    events = list(run.steps(190))  # 150 MLE steps, 40 adversarial iterations
    assert not [e for e in events if isinstance(e, Failed)]
    assert run.history[-1]["phase"] == 1 and run.history[-1]["loss/gen"] > 0
    samples = run.sample_tokens(400, seed=11)  # blocks of 100 rows, one per generator
    owner = run.gen.component_of_rows(400)
    modes = run.corpus.label_ids(samples)
    for i in range(4):
        mine = modes[owner == i]
        valid = mine[mine >= 0]
        assert len(valid) >= 60, f"generator {i}: only {len(valid)} valid sentences of 100"
        assert (valid == i).float().mean() >= 0.8, f"generator {i} writes modes {valid.bincount(minlength=4)}"
    assert set(modes[modes >= 0].tolist()) == {0, 1, 2, 3}
