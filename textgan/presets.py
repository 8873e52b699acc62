"""Named starting points. `paper`: each variant's published hyperparameters and net sizes (its Config defaults plus
PAPER_NETS_AND_CONFIG). `demo`: the
same algorithms tuned to learn the `modes` corpus within a minute on a 2-core CPU, for the app and classrooms —
the papers' learning rates assume GPUs and tens of thousands of steps.

Demo variants share the same small LSTM generator and CNN critic, so a comparison isolates the loss; the variants
whose algorithm is a net of their own (LeakGAN's manager/worker, SentiGAN's mixture, RelGAN's relational memory
and multi-representation critic) keep it.
"""

from __future__ import annotations

from typing import Any

from .config import RunConfig
from .variants import get_variant

DEMO_GENERATOR = {"kind": "lstm", "emb_dim": 32, "hidden": 64}
DEMO_CRITIC = {"kind": "cnn", "emb_dim": 32, "filters": 32}
DEMO_VARIANT_CONFIG: dict[str, dict[str, Any]] = {
    "mle": {"lr_gen": 1e-2},
    "gan": {"relaxation": "gumbel"},
    "wgan": {"relaxation": "gumbel", "lr_gen": 5e-4, "lr_critic": 5e-4},
    "wgan-gp": {"relaxation": "gumbel", "lr_gen": 2e-3, "lr_critic": 2e-3, "critic_steps": 3},
    # The RL family and RelGAN start from a generator that already writes the grammar, as their papers do (MLE
    # pre-training), with a discriminator that learns within the demo's budget and 8 rollouts instead of 16.
    "seqgan": {"pretrain_steps": 200, "lr_gen": 1e-3, "lr_critic": 1e-3, "critic_warmup": 20, "rollouts": 8},
    "pg-bleu": {"pretrain_steps": 200, "lr_gen": 1e-3, "rollouts": 8},
    "maligan": {"pretrain_steps": 200, "lr_critic": 1e-3, "critic_warmup": 20},
    "dpgan": {"pretrain_steps": 200, "critic_warmup": 20},
    "rankgan": {"pretrain_steps": 200, "lr_critic": 1e-3, "critic_warmup": 20, "rollouts": 8},
    "leakgan": {"pretrain_steps": 200, "pretrain_lr": 1e-2, "lr_gen": 5e-4, "lr_critic": 1e-3, "critic_warmup": 20},
    "sentigan": {"pretrain_steps": 200, "rollouts": 8, "baseline": "mean"},  # paper objective drifts: RESULTS.md
    "relgan": {"pretrain_steps": 200, "adv_iters": 1000, "lr_gen": 1e-4, "lr_critic": 1e-3, "critic_steps": 3,
               "clip_grad": 0.0},  # tuned before RelGAN's gradient clipping became its paper default
}
DEMO_NETS: dict[str, dict[str, Any]] = {
    # variants whose algorithm is (partly) a net of their own keep it, at the demo's size
    "leakgan": {"generator": {"kind": "leakgan", "emb_dim": 32, "hidden": 64}},
    "sentigan": {"generator": {"kind": "mixture", "emb_dim": 32, "hidden": 64}},
    "relgan": {"generator": None, "critic": None},  # relational memory + multi-representation critic
}
# `paper`: what each paper (or, where the paper is silent, its authors' code) used, where that differs from the
# variant's Config defaults and default nets (which stay small enough for the app and the tests). The README's
# "Paper presets" tables list every setting with the paper's, the code's and our value; tests/test_presets_paper.py
# checks those tables against these presets, so the two cannot drift.
SEQGAN_CRITIC = {"kind": "cnn", "emb_dim": 64, "filters": 64, "dropout": 0.25}
"""SeqGAN's CNN discriminator as our CNN holds it (one filter count for all widths: README, `seqgan` table); the
RL variants built on SeqGAN's code (MaliGAN, RankGAN, SentiGAN) use the same one."""
PAPER_NETS_AND_CONFIG: dict[str, dict[str, Any]] = {
    "mle": {"generator": {"kind": "lstm", "emb_dim": 32, "hidden": 32}, "variant_config": {"lr_gen": 1e-2}},
    "seqgan": {"critic": dict(SEQGAN_CRITIC), "variant_config": {"critic_l2": 0.2}},
    # gan: its Config defaults and default nets are already what the README table lists
    "gan": {},
    "wgan": {"variant_config": {"critic_burst": 100}},
    "pg-bleu": {"variant_config": {"baseline": "none"}},
    "maligan": {"critic": dict(SEQGAN_CRITIC), "variant_config": {"lr_gen": 1e-2}},
    "rankgan": {"critic": dict(SEQGAN_CRITIC),
                "variant_config": {"lr_gen": 1e-2, "gamma": 1.0, "ref_size": 16, "comparison_size": 64,
                                   "baseline": "none"}},
    "dpgan": {"generator": {"kind": "lstm", "emb_dim": 128, "hidden": 256}, "variant_config": {"clip_grad": 2.0}},
    # 430 filters × 4 widths = the 1,720 features (and goal size) of the authors' discriminator
    "leakgan": {"generator": {"kind": "leakgan", "emb_dim": 32, "hidden": 32, "goal_size": 16, "step_size": 4},
                "critic": {"kind": "cnn", "emb_dim": 64, "filters": 430}, "variant_config": {"lr_critic": 5e-5}},
    "sentigan": {"generator": {"kind": "mixture", "cell": "lstm", "emb_dim": 200, "hidden": 200},
                 "critic": dict(SEQGAN_CRITIC), "variant_config": {"lr_critic": 1e-4}},
    "wgan-gp": {"generator": {"kind": "conv", "channels": 512}, "critic": {"kind": "conv", "channels": 512},
                "variant_config": {"critic_steps": 10, "relaxation": "softmax"}},
    "relgan": {"generator": {"kind": "relational"}, "critic": {"kind": "multirep", "dropout": 0.25,
                                                               "highway": "separate"}},
}
PRESETS = ("paper", "demo")


def preset_config(preset: str = "demo", variant: str = "wgan-gp", **overrides: Any) -> RunConfig:
    """A RunConfig for `variant` under a preset; keyword overrides win (e.g. corpus=..., seed=...).

    A variant without demo settings keeps its paper defaults and its own nets.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {PRESETS}")
    cls = get_variant(variant)
    fields: dict[str, Any] = {"variant": variant}
    if preset == "paper" and variant in PAPER_NETS_AND_CONFIG:
        paper = PAPER_NETS_AND_CONFIG[variant]
        fields.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in paper.items()})
    if preset == "demo" and variant in DEMO_VARIANT_CONFIG:
        fields.update(generator=dict(DEMO_GENERATOR), variant_config=dict(DEMO_VARIANT_CONFIG[variant]),
                      critic=dict(DEMO_CRITIC) if cls.needs_critic else None,
                      batch_size=64, sample_every=20, eval_every=20, eval_samples=500)
        fields.update(DEMO_NETS.get(variant, {}))
    fields.update(overrides)
    return RunConfig(**fields)
