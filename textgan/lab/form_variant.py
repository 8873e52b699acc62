"""The Train form's algorithm: presets, a variant's defaults and hyperparameter fields (with their choices and the
one settings coercion), and `make_config`, which turns the chosen settings into a checked RunConfig with the app's
live cadence. Every refusal is a LabError whose message names the field."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..checks import choices_of, coerce, field_hints
from ..config import RunConfig
from ..device import describe_device, resolve_device
from ..presets import PAPER_NETS_AND_CONFIG, PRESETS, preset_config
from ..variants import VARIANTS, get_variant
from ..variants.base import check_config
from .errors import LabError, as_int

LIVE_CADENCE = {"sample_every": 20, "eval_every": 20, "eval_samples": 256, "show_samples": 16}
"""The app's cadence: often enough that the sample table and the metrics figure move every few seconds."""


def variant_defaults(name: str) -> dict[str, Any]:
    """The paper-default hyperparameters of a registered variant, as a plain dict."""
    return dataclasses.asdict(get_variant(name).Config())


def presets() -> tuple[str, ...]:
    """The named starting points the form offers: 'demo' (tuned to learn `modes` in a minute on a CPU) first, and
    'paper' (each variant's published defaults)."""
    return tuple(sorted(PRESETS, key=lambda p: p != "demo"))


def variant_info(name: str, preset: str = "paper") -> dict[str, Any]:
    """What the form shows for a variant under a preset: its one-line summary and paper, hyperparameters,
    generator and critic specs, batch size."""
    v = get_variant(name)
    info = {"paper": v.paper, "summary": v.summary, "defaults": variant_defaults(name),
            "generator": dict(v.default_generator),
            "critic": dict(v.default_critic) if v.needs_critic and v.default_critic else None,
            "needs_critic": v.needs_critic, "batch_size": RunConfig().batch_size}
    if preset not in presets():
        raise LabError(f"unknown preset {preset!r}; choose one of {presets()}")
    if preset != "paper" or name in PAPER_NETS_AND_CONFIG:  # the papers' nets and settings, as `--preset paper`
        rc = preset_config(preset, name)
        info["defaults"].update(rc.variant_config)
        info["generator"] = dict(rc.generator or info["generator"])
        if info["critic"] is not None:
            info["critic"] = dict(rc.critic or info["critic"])
        info["batch_size"] = rc.batch_size
    return info


def variant_names() -> list[str]:
    """The registered variants, in registry order (the form's choices)."""
    return list(VARIANTS)


def variant_blurb(name: str, preset: str = "paper") -> str:
    """The line under the variant picker: what the algorithm does, then where it comes from (Markdown)."""
    info = variant_info(name, preset)
    return f"{info['summary']}  \n*{info['paper']}*"


def hp_fields(variant: str, preset: str = "paper") -> dict[str, Any]:
    """Every hyperparameter of every registered variant (the form shows the union and hides what the selected
    variant lacks), with `variant`'s values under `preset`, else the first default seen."""
    out: dict[str, Any] = dict(variant_info(variant, preset)["defaults"])
    for v in VARIANTS.values():
        for f in dataclasses.fields(v.Config):
            out.setdefault(f.name, getattr(v.Config(), f.name))
    return out


def choices_for(name: str) -> list[str] | None:
    """The fixed choices of a hyperparameter (its `Literal` type in any variant's Config), None for free values."""
    for v in VARIANTS.values():
        hint = field_hints(v.Config).get(name)
        if hint is not None and choices_of(hint) is not None:
            return list(choices_of(hint))
    return None


def cast_hparam(variant: str, name: str, value: Any, defaults: dict[str, Any] | None = None) -> Any:
    """A form value cast to the type of the variant's field `name` by the one settings coercion (textgan.checks):
    "false" is False, a number box's 3.0 is 3 for an int field, and the field's declared range is checked."""
    defaults = defaults or variant_defaults(variant)
    if name not in defaults:
        raise LabError(f"{variant} has no setting {name!r}; it takes {sorted(defaults)}")
    try:
        return coerce(value, field_hints(get_variant(variant).Config)[name], name)
    except ValueError as e:
        raise LabError(str(e)) from None


def variant_changes_of(variant: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """Form values that differ from the paper defaults, cast to the field's type; unknown names are errors."""
    defaults = variant_defaults(variant)
    out = {}
    for name, value in hparams.items():
        if value is None or value == "":
            continue
        if name not in defaults:
            raise LabError(f"{variant} has no setting {name!r}; it takes {sorted(defaults)}")
        value = cast_hparam(variant, name, value, defaults)
        if value != defaults[name]:
            out[name] = value
    return out


def check_hparam(variant: str, name: str, value: Any, defaults: dict[str, Any]) -> None:
    """Refuse a value the variant's Config refuses (ranges across fields, e.g. a warm-up longer than the run)."""
    try:
        check_config(get_variant(variant).Config(**{**defaults, name: value}))
    except (ValueError, TypeError) as e:
        raise LabError(str(e)) from None


def make_config(corpus: dict[str, Any], variant: str = "wgan-gp", hparams: dict[str, Any] | None = None,
                generator: dict[str, Any] | None = None, critic: dict[str, Any] | None = None,
                batch_size: int | None = None, seed: int = 0, device: str = "auto", **cadence: int) -> RunConfig:
    """A checked RunConfig with the app's live cadence; raises LabError with the engine's message on bad input."""
    try:
        v = get_variant(variant)
        changes = variant_changes_of(variant, hparams or {})
        check_config(v.Config(**{**dataclasses.asdict(v.Config()), **changes}))
        base = RunConfig()
        rc = RunConfig(corpus=corpus, variant=variant, variant_config=changes, generator=generator, critic=critic,
                       batch_size=base.batch_size if batch_size is None else as_int(batch_size, "batch size"),
                       seed=as_int(seed, "seed"), device=device, **{**LIVE_CADENCE, **cadence})
        rc.check()
        return rc
    except LabError:
        raise
    except (ValueError, TypeError) as e:
        raise LabError(str(e)) from None


def default_config() -> RunConfig:
    """The RunConfig the form starts from (the engine's defaults)."""
    return RunConfig()


def run_identity(config: RunConfig) -> tuple:
    """The settings that make a different run (not just different hyperparameters): algorithm and corpus."""
    return (config.variant, config.corpus.get("kind"), config.corpus.get("k"), config.corpus.get("path"),
            config.corpus.get("weights", "uniform"), config.corpus.get("patterns", "varied"))


def describe_config(config: RunConfig) -> str:
    """"wgan-gp on modes (K=8)": the algorithm and corpus of a config, for messages."""
    corpus = config.corpus.get("kind")
    if corpus == "modes":
        corpus = f"modes (K={config.corpus.get('k')})"
    return f"{config.variant} on {corpus}"


def device_choices() -> list[str]:
    """The devices the form offers on this machine (probes CUDA: call it when a page loads, not at import)."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def device_note() -> str:
    """What `auto` picks on this machine, for the line under the device picker."""
    return f"device: **{describe_device(resolve_device('auto'))}** (auto)"
