"""Named starting points. `paper`: each variant's published hyperparameters (its Config defaults). `demo`: the
same algorithms tuned to learn the `modes` corpus within a minute on a 2-core CPU, for the app and classrooms —
the papers' learning rates assume GPUs and tens of thousands of steps.

Every demo variant shares the same small LSTM generator and CNN critic, so a comparison isolates the loss.
"""

from __future__ import annotations

from typing import Any

from .run import RunConfig

DEMO_GENERATOR = {"kind": "lstm", "emb_dim": 32, "hidden": 64}
DEMO_CRITIC = {"kind": "cnn", "emb_dim": 32, "filters": 32}
DEMO_VARIANT_CONFIG: dict[str, dict[str, Any]] = {
    "mle": {"lr_gen": 1e-2},
    "gan": {"relaxation": "gumbel"},
    "wgan": {"relaxation": "gumbel", "lr_gen": 5e-4, "lr_critic": 5e-4},
    "wgan-gp": {"relaxation": "gumbel", "lr_gen": 2e-3, "lr_critic": 2e-3, "critic_steps": 3},
}
PRESETS = ("paper", "demo")


def preset_config(preset: str = "demo", variant: str = "wgan-gp", **overrides: Any) -> RunConfig:
    """A RunConfig for `variant` under a preset; keyword overrides win (e.g. corpus=..., seed=...).

    A variant without demo settings keeps its paper defaults and its own nets.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {PRESETS}")
    from .variants import get_variant

    cls = get_variant(variant)
    fields: dict[str, Any] = {"variant": variant}
    if preset == "demo" and variant in DEMO_VARIANT_CONFIG:
        fields.update(generator=dict(DEMO_GENERATOR), variant_config=dict(DEMO_VARIANT_CONFIG[variant]),
                      critic=dict(DEMO_CRITIC) if cls.needs_critic else None,
                      batch_size=64, sample_every=20, eval_every=20, eval_samples=500)
    fields.update(overrides)
    return RunConfig(**fields)
