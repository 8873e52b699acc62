"""Every registered variant keeps the contract; each variant's own math is checked against a hand computation."""

import dataclasses
import json
import math

import pytest
import torch

from textgan.events import Failed, Metrics, Samples, Scalars
from textgan.run import Run, RunConfig
from textgan.variants import VARIANTS
from textgan.variants.wgan_gp import gradient_penalty

SMALL_NETS = {
    "lstm": {"kind": "lstm", "emb_dim": 16, "hidden": 32},
    "conv_g": {"kind": "conv", "channels": 32, "noise_dim": 16},
    "cnn": {"kind": "cnn", "emb_dim": 16, "filters": 16},
    "conv_c": {"kind": "conv", "channels": 32},
}


def small_config(name: str, **kw) -> RunConfig:
    cls = VARIANTS[name]
    gen = SMALL_NETS["conv_g" if cls.default_generator["kind"] == "conv" else "lstm"]
    critic = None
    if cls.needs_critic:
        critic = SMALL_NETS["conv_c" if cls.default_critic["kind"] == "conv" else "cnn"]
    # (variants added by later issues may default to other nets: then their own spec is used)
    if cls.default_generator["kind"] not in ("lstm", "conv"):
        gen = None
    if cls.needs_critic and cls.default_critic["kind"] not in ("cnn", "conv"):
        critic = None
    base = dict(corpus={"kind": "modes", "k": 4}, variant=name, generator=gen, critic=critic, batch_size=16,
                seed=3, device="cpu", sample_every=10, eval_every=20, eval_samples=64)
    base.update(kw)
    return RunConfig(**base)


def resumed_run(cfg: RunConfig, stop: int, total: int, path) -> Run:
    """A run trained `stop` steps, saved to `path`, loaded, then trained to `total`: what exact resume compares
    with `total` straight steps."""
    first = Run(cfg)
    list(first.steps(stop))
    first.save(path)
    resumed = Run.load(path, device="cpu")
    list(resumed.steps(total - stop))
    return resumed


def assert_same_weights(a: Run, b: Run, nets: tuple[str, ...] = ("gen", "critic")) -> None:
    """Bit-for-bit equal parameters of the named nets (a run without a critic has None on both sides)."""
    for net in nets:
        x, y = getattr(a, net), getattr(b, net)
        assert (x is None) == (y is None)
        if x is not None:
            for p, q in zip(x.state_dict().values(), y.state_dict().values()):
                assert torch.equal(p, q)


REQUIRED = {"loss/gen", "grad_norm/gen"}
ADVERSARIAL = {"loss/critic", "grad_norm/critic"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_explains_itself(name):
    """The app and `list-variants` show each variant's one-line summary and its paper."""
    cls = VARIANTS[name]
    assert cls.summary and "\n" not in cls.summary and len(cls.summary) <= 160, cls.summary
    assert cls.paper


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def trained(request):
    run = Run(small_config(request.param))
    events = list(run.steps(20))
    return run, events


def test_finite_losses_and_event_schema(trained):
    run, events = trained
    assert not [e for e in events if isinstance(e, Failed)]
    scalars = [e for e in events if isinstance(e, Scalars)]
    assert [e.step for e in scalars] == list(range(1, 21))
    for e in scalars:
        assert all(isinstance(v, float) and math.isfinite(v) for v in e.values.values())
        assert REQUIRED <= set(e.values)
        if run.variant.needs_critic:
            assert ADVERSARIAL <= set(e.values)
        if run.variant.name in ("wgan", "wgan-gp"):
            assert "wasserstein" in e.values
        if run.variant.name == "wgan-gp":
            assert {"gp", "grad_norm/critic_input"} <= set(e.values)
    samples = [e for e in events if isinstance(e, Samples)]
    assert [e.step for e in samples] == [10, 20]
    assert len(samples[0].texts) == run.config.show_samples and len(samples[0].ids) == run.config.show_samples
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert len(metrics) == 1 and {"eval/modes/coverage", "eval/distinct2", "eval/unique"} <= set(metrics[0].values)


def test_checkpoint_round_trip(trained, tmp_path):
    run, _ = trained
    path = run.save(tmp_path / "run")
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "generator.safetensors", "state.safetensors", "state.json", "vocab.json",
            "history.csv", "samples.txt", "metrics.json"} <= names
    assert ("critic.safetensors" in names) == run.variant.needs_critic
    config = json.loads((path / "config.json").read_text())
    assert config["run"]["variant"] == run.variant.name and config["step"] == 20
    loaded = Run.load(path, device="cpu")
    assert loaded.step == 20 and loaded.variant.name == run.variant.name
    for a, b in zip(run.gen.state_dict().values(), loaded.gen.state_dict().values()):
        assert torch.equal(a, b)
    assert loaded.sample_texts(8, seed=5) == run.sample_texts(8, seed=5)
    assert [h["step"] for h in loaded.history] == [h["step"] for h in run.history]
    assert dataclasses.asdict(loaded.variant.cfg) == dataclasses.asdict(run.variant.cfg)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_exact_resume(name, tmp_path):
    """k steps + save + load + m steps == k + m steps, bit for bit, generator and critic."""
    straight = Run(small_config(name))
    list(straight.steps(7))
    resumed = resumed_run(small_config(name), 4, 7, tmp_path / "ckpt")
    assert_same_weights(straight, resumed)
    assert straight.history[-1] == resumed.history[-1]


def test_exact_resume_across_pretraining(tmp_path):
    """The pre-training optimizer and the phase switch survive a checkpoint."""
    cfg = small_config("wgan-gp", variant_config={"pretrain_steps": 3}, generator=SMALL_NETS["lstm"])
    straight = Run(cfg)
    list(straight.steps(6))
    resumed = resumed_run(cfg, 2, 6, tmp_path / "c")
    assert [h.get("phase") for h in straight.history] == [0, 0, 0, 1, 1, 1]
    assert_same_weights(straight, resumed, ("gen",))


# ---- math ------------------------------------------------------------------------------------------------------

class QuadraticCritic(torch.nn.Module):
    """f(x) = (sum W*x)^2 / 2, so grad_x f = (sum W*x) W: a per-sample gradient known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).sum((1, 2)) ** 2 / 2


def test_gradient_penalty_matches_hand_computation():
    torch.manual_seed(0)
    B, L, V = 3, 4, 5
    w = torch.randn(L, V)
    real = torch.nn.functional.one_hot(torch.randint(0, V, (B, L)), V).float()
    fake = torch.softmax(torch.randn(B, L, V), -1)
    eps = torch.tensor([0.2, 0.5, 0.9]).view(B, 1, 1)
    gp, norms = gradient_penalty(QuadraticCritic(w), real, fake, eps)
    x_hat = eps * real + (1 - eps) * fake
    s = (x_hat * w).sum((1, 2))  # (B,)
    expected_norms = s.abs() * w.norm()  # ||s W||_F over the whole L x V input
    assert torch.allclose(norms, expected_norms, rtol=1e-5)
    assert gp.item() == pytest.approx(float(((expected_norms - 1) ** 2).mean()), rel=1e-5)
    # The wrong, per-position norm (over V only) gives a different value on this input.
    per_position = (s.view(B, 1) * w.norm(dim=1)).sub(1).pow(2).mean()
    assert abs(per_position.item() - gp.item()) > 1e-3


def test_gradient_penalty_is_differentiable_for_the_critic():
    w = torch.randn(2, 3, requires_grad=True)
    critic = QuadraticCritic(w.detach().clone())
    real, fake = torch.eye(3)[[0, 2]].unsqueeze(0), torch.full((1, 2, 3), 1 / 3)
    gp, _ = gradient_penalty(critic, real, fake, torch.full((1, 1, 1), 0.5))
    gp.backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0


def test_weight_clipping_bounds():
    run = Run(small_config("wgan", variant_config={"clip": 0.005, "lr_critic": 0.5}))
    list(run.steps(3))
    biggest = max(p.abs().max().item() for p in run.critic.parameters())
    assert biggest <= 0.005 + 1e-12
    assert biggest == pytest.approx(0.005)  # a huge learning rate pushes weights to the bound


def test_nan_loss_fails_and_keeps_last_checkpoint(tmp_path):
    run = Run(small_config("mle", out=str(tmp_path / "run"), save_every=2))
    events = list(run.steps(2))
    saved_before = (tmp_path / "run" / "generator.safetensors").read_bytes()
    with torch.no_grad():
        run.gen.out.bias.fill_(float("nan"))
    events = list(run.steps(5))
    assert isinstance(events[-1], Failed)
    assert "loss/gen" in events[-1].message and "step 3" in events[-1].message
    with pytest.raises(RuntimeError, match="failed run"):
        run.save(tmp_path / "run")
    assert (tmp_path / "run" / "generator.safetensors").read_bytes() == saved_before
    assert isinstance(list(run.steps(1))[0], Failed)


@pytest.mark.parametrize("changes, message", [
    ({"lr_gen": 0.0}, "learning rate"),
    ({"lr_gen": 50.0}, "learning rate"),
    ({"critic_steps": 0}, "critic_steps"),
    ({"gp_lambda": -1.0}, "gp_lambda"),
    ({"relaxation": "magic"}, "relaxation"),
    ({"lambda": 1.0}, "no setting"),
])
def test_absurd_hyperparameters_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Run(small_config("wgan-gp", variant_config=changes))


def test_absurd_run_settings_are_refused():
    with pytest.raises(ValueError, match="batch_size"):
        Run(small_config("mle", batch_size=0))
    with pytest.raises(ValueError, match="unknown variant"):
        Run(small_config("mle", variant="diffusion"))
    with pytest.raises(ValueError, match="larger than the 30 training sentences"):
        Run(small_config("mle", corpus={"kind": "modes", "k": 4, "n_train": 30}, batch_size=64))
    with pytest.raises(ValueError, match="autoregressive"):
        Run(small_config("mle", generator={"kind": "conv"}))
    with pytest.raises(ValueError, match="pre-training"):
        Run(small_config("wgan-gp", generator={"kind": "conv"}, variant_config={"pretrain_steps": 5}))


def test_learning_rate_changes_live():
    run = Run(small_config("wgan-gp"))
    list(run.steps(1))
    run.variant.update(lr_gen=3e-3)
    assert run.variant.optimizers["gen"].param_groups[0]["lr"] == 3e-3
    assert run.variant.cfg.lr_gen == 3e-3
    with pytest.raises(ValueError):
        run.variant.update(lr_gen=-1)


def test_gulrajani_nets_train_and_resume(tmp_path):
    """The paper's conv generator (plain softmax) and conv critic under WGAN-GP keep the contract too."""
    cfg = small_config("wgan-gp", generator=SMALL_NETS["conv_g"], critic=SMALL_NETS["conv_c"],
                       variant_config={"relaxation": "softmax"})
    straight = Run(cfg)
    events = list(straight.steps(4))
    assert not [e for e in events if isinstance(e, Failed)]
    assert_same_weights(straight, resumed_run(cfg, 2, 4, tmp_path / "c"), ("gen",))


def test_out_of_memory_becomes_failed(monkeypatch):
    run = Run(small_config("mle"))

    def exhausted():
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(run, "train_step", exhausted)
    (event,) = list(run.steps(3))
    assert isinstance(event, Failed) and "out of memory" in event.message and "batch size 16" in event.message


def test_evaluate_without_recording_leaves_history_alone():
    run = Run(small_config("mle"))
    list(run.steps(2))
    before = [dict(h) for h in run.history]
    values = run.evaluate(32, seed=1, record=False)
    assert "eval/unique" in values and run.history == before and run.last_metrics == {}
    assert run.evaluate(32, seed=1) == values and "eval/unique" in run.history[-1]
