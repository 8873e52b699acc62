"""The contract every training algorithm keeps, and the few helpers they share.

A variant owns the math of one algorithm: its optimizers, its losses, its schedules. `run.py` owns the loop,
the data, the logging and the checkpoints. `step` returns 0-d tensors and never calls `.item()`, so a run on a
GPU synchronises only when it logs.
"""

from __future__ import annotations

import dataclasses
import functools
from contextlib import contextmanager
from typing import Any, ClassVar, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import check_types
from ..corpora import Corpus
from ..nets.fused_ce import linear_cross_entropy


def grad_norm(params: Iterable[nn.Parameter]) -> Tensor:
    """Global L2 norm of the gradients (taken before the optimizer step; what the app plots)."""
    norms = [p.grad.detach().norm() for p in params if p.grad is not None]
    if not norms:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(norms))


def one_hot(tokens: Tensor, vocab_size: int) -> Tensor:
    """Real text as the critic sees it: exact one-hot rows `(B, L, V)`."""
    return F.one_hot(tokens, vocab_size).float()


def mle_loss(gen: nn.Module, real: Tensor, pad_id: int | None = None) -> Tensor:
    """Teacher-forced mean per-token negative log-likelihood (nats); with `pad_id`, over the non-PAD targets only
    (the sentence and its EOS: the tokens NLL-gen scores). Without it every position counts, padding included:
    GAN pre-training keeps that (as Texygen and RelGAN do), because critics see whole padded rows.

    With a generator that exposes `head_input` and a linear head `out`, the head and the cross-entropy run fused and
    chunked (nets/fused_ce.py: same values and gradients, without the `(B·L, V)` logits round trip)."""
    ignore = -100 if pad_id is None else pad_id
    head = getattr(gen, "out", None)
    if callable(getattr(gen, "head_input", None)) and isinstance(head, nn.Linear):
        h = gen.head_input(real)  # (B, L, H)
        return linear_cross_entropy(h.flatten(0, 1), head.weight, head.bias, real.flatten(), ignore_index=ignore)
    logits = gen(real)  # (B, L, V)
    return F.cross_entropy(logits.flatten(0, 1), real.flatten(), ignore_index=ignore)


def judging(method):
    """Run a generator update with the critic (and DPGAN's language model) in eval mode, then restore their modes.

    Rewards are the critic's judgement of the samples, not a training signal for the critic: with dropout on, two
    evaluations of the same sentences differ (by up to 0.017 at dropout 0.25), which is noise in every reward.
    SeqGAN's and LeakGAN's code score with dropout keep-probability 1.0 for the same reason."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with eval_mode(getattr(self, "critic", None), getattr(self, "lm", None)):
            return method(self, *args, **kwargs)
    return wrapper


@contextmanager
def eval_mode(*nets: nn.Module | None) -> Iterator[None]:
    """The given nets (None skipped) in eval mode for the block, each restored to its own mode afterwards."""
    nets = tuple(m for m in nets if m is not None)
    modes = [m.training for m in nets]
    for m in nets:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(nets, modes):
            m.train(mode)


class Variant:
    """Base of all variants. Subclasses set the class attributes and implement `step`."""

    name: ClassVar[str]
    Config: ClassVar[type]
    paper: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    """One plain sentence for students: what the algorithm does (the app and `list-variants` show it)."""
    needs_critic: ClassVar[bool] = True
    needs_log_prob: ClassVar[bool] = False
    """True when the generator must be autoregressive (MLE, policy gradients)."""
    default_generator: ClassVar[dict[str, Any]] = {"kind": "lstm"}
    default_critic: ClassVar[dict[str, Any] | None] = {"kind": "cnn"}
    lr_fields: ClassVar[dict[str, str]] = {}
    """Optimizer name -> config field holding its learning rate (changed live by `update`)."""

    @classmethod
    def fit_specs(cls, gen_spec: dict[str, Any], critic_spec: dict[str, Any] | None,
                  corpus: Corpus) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Net specs adjusted to the data before the nets are built (e.g. one generator per class label), or a
        ValueError saying what to change. Called by `Run` with the specs of the config; default: unchanged."""
        return gen_spec, critic_spec

    def __init__(self, gen: nn.Module, critic: nn.Module | None, corpus: Corpus, cfg: Any,
                 device: torch.device, rng: torch.Generator | None = None) -> None:
        if self.needs_log_prob and not getattr(gen, "autoregressive", False):
            raise ValueError(f"variant {self.name!r} needs an autoregressive generator "
                             "(lstm, gru, relational, attention, gpt2, mixture), "
                             f"got {type(gen).__name__}")
        if getattr(cfg, "pretrain_steps", 0) and not getattr(gen, "autoregressive", False):
            raise ValueError(f"MLE pre-training (pretrain_steps={cfg.pretrain_steps}) needs an autoregressive "
                             "generator (lstm, gru, relational, attention, gpt2, mixture), "
                             f"got {type(gen).__name__}")
        if self.needs_critic and critic is None:
            raise ValueError(f"variant {self.name!r} needs a critic")
        self.gen, self.critic, self.corpus, self.cfg, self.device, self.rng = gen, critic, corpus, cfg, device, rng
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.pretrain_opt: torch.optim.Optimizer | None = None

    @property
    def batches_per_step(self) -> int:
        """How many real batches one `step` consumes (the run stacks them: `(n*B, L)`)."""
        return 1

    def step(self, real: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def pretrain_step(self, real: Tensor) -> dict[str, Tensor]:
        """One MLE step on the generator, for variants whose Config asks for `pretrain_steps`."""
        self.pretrain_step_setup()
        loss = mle_loss(self.gen, real)
        self.pretrain_opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(self.gen.parameters())
        clip = getattr(self, "clip", None)  # a variant whose authors clip pre-training too (RelGAN) says so
        if clip:
            torch.nn.utils.clip_grad_norm_(self.gen.parameters(), clip)
        self.pretrain_opt.step()
        return {"loss/mle": loss.detach(), "grad_norm/gen": norm}

    def state_dict(self) -> dict[str, Any]:
        """Optimizer states (and subclasses' schedules): what exact resume needs besides the weights."""
        sd = {name: opt.state_dict() for name, opt in self.optimizers.items()}
        if self.pretrain_opt is not None:
            sd["pretrain"] = self.pretrain_opt.state_dict()
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(sd[name])
        if "pretrain" in sd:
            self.pretrain_step_setup()
            self.pretrain_opt.load_state_dict(sd["pretrain"])

    def pretrain_step_setup(self) -> None:
        """The pre-training optimizer is created on first use, so variants without pre-training carry none."""
        if self.pretrain_opt is None:
            self.pretrain_opt = torch.optim.Adam(self.gen.parameters(), lr=getattr(self.cfg, "pretrain_lr", 1e-3))

    def optimize(self, name: str, loss: Tensor, params: list[nn.Parameter], clip: float | None = None) -> Tensor:
        """zero_grad, backward, measure the gradient norm (before clipping: what the app plots), clip the norm to
        `clip` when given, step. Returns the norm."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(params)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return norm

    def update(self, **changes: Any) -> None:
        """Change hyperparameters between steps (the app does this while paused); learning rates apply at once."""
        valid = {f.name for f in dataclasses.fields(self.cfg)}
        unknown = set(changes) - valid
        if unknown:
            raise ValueError(f"{self.name} has no setting(s) {sorted(unknown)}; it takes {sorted(valid)}")
        cfg = dataclasses.replace(self.cfg, **changes)
        check_config(cfg)
        self.cfg = cfg
        for opt_name, field_name in self.lr_fields.items():
            if field_name in changes and opt_name in self.optimizers:
                for group in self.optimizers[opt_name].param_groups:
                    group["lr"] = changes[field_name]


class AdversarialVariant(Variant):
    """A GAN iteration: `critic_steps` critic updates (each on its own real batch), then one generator update.

    The app's "step one critic / one generator update" calls `critic_step` / `gen_step` directly.
    """

    @property
    def batches_per_step(self) -> int:
        return self.cfg.critic_steps

    def fake(self, n: int) -> Tensor:
        """Relaxed generated sequences `(n, L, V)` with gradients to the generator."""
        _, soft = self.gen.relaxed(n, self.cfg.relaxation, self.cfg.tau, self.rng)
        return soft

    def critic_step(self, real: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def gen_step(self, batch_size: int) -> dict[str, Tensor]:
        raise NotImplementedError

    def step(self, real: Tensor) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        chunks = real.chunk(self.cfg.critic_steps)
        for chunk in chunks:
            out.update(self.critic_step(chunk))
        out.update(self.gen_step(chunks[0].shape[0]))
        return out


def check_config(cfg: Any) -> None:
    """Reject absurd hyperparameters with a message, before they turn into NaNs: each field against the type,
    choices and range its Config declares (`textgan.checks`), then the Config's own `check()` where it has one."""
    check_types(type(cfg), {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}, "")
    own = getattr(cfg, "check", None)
    if callable(own):
        own()


def variant_config(variant: type[Variant], values: dict[str, Any]) -> Any:
    """The variant's Config dataclass from a dict, with an error naming unknown fields and valid ones."""
    if not isinstance(values, dict):
        raise ValueError(f"variant_config must be a mapping, got {type(values).__name__}")
    names = {f.name for f in dataclasses.fields(variant.Config)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"variant {variant.name!r} has no setting(s) {sorted(unknown)}; it takes {sorted(names)}")
    check_types(variant.Config, values, f"variant {variant.name!r}")
    cfg = variant.Config(**values)
    check_config(cfg)
    return cfg
