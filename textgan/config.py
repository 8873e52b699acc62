"""`RunConfig` and the one router every surface uses to apply a setting to it.

A setting is named the same way everywhere (the form, a URL query, `--set`/`--gen-set`/`--critic-set`, a sweep
spec, a live edit): a RunConfig field (`batch_size`), a field of the variant's Config (`lr_gen`), a net setting
(`generator.hidden`, `critic.filters`) or a corpus setting (`corpus.k`). `apply_setting` finds the field it names,
turns text into the field's type (`textgan.checks.coerce`: "false" is False) and checks it against the bounds
declared on the field (`textgan.limits.LIMITS`), with one message per refusal whichever surface it came from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any

from .checks import Seed, check_types, coerce, field_hints
from .corpora import check_spec
from .limits import LIMITS, Range
from .nets import CRITICS, GENERATORS, net_hints
from .variants import get_variant

__all__ = ["RunConfig", "LIMITS", "MAX_BATCH", "OWN_OPTION_FIELDS", "apply_setting", "setting_hint", "parse_setting"]

MAX_BATCH = int(LIMITS["batch_size"].hi)
NET_ROLES = ("generator", "critic")
OWN_OPTION_FIELDS = ("corpus", "variant", "seed", "out", "device")
"""RunConfig fields the CLI and a sweep set with options of their own (`--corpus`, a spec's `seeds`...), never as a
KEY=VALUE setting."""


@dataclass
class RunConfig:
    """Everything needed to rebuild a run. Net specs default to the variant's paper choice when None."""

    corpus: dict[str, Any] = field(default_factory=lambda: {"kind": "modes", "k": 8})
    """Corpus spec: {"kind": "modes"|"oracle"|"text"|"coco"|"hub", **settings}."""
    variant: str = "wgan-gp"
    """Registry name of the training algorithm (`python -m textgan list-variants`)."""
    variant_config: dict[str, Any] = field(default_factory=dict)
    """Overrides of the variant's paper defaults."""
    generator: dict[str, Any] | None = None
    """Generator spec {"kind": "lstm"|"gru"|"conv"|"relational"|"gpt2"|"attention"|"leakgan"|"mixture", ...};
    None = the variant's default."""
    critic: dict[str, Any] | None = None
    """Critic spec {"kind": "cnn"|"lstm"|"conv"|"multirep", ...}; None = the variant's default."""
    batch_size: Annotated[int, LIMITS["batch_size"]] = 64
    seed: Seed = 0
    device: str = "auto"
    """auto | cpu | cuda | mps (auto: cuda, then mps, then cpu)."""
    log_every: Annotated[int, LIMITS["iterations"]] = 1
    """Scalars every n steps (each log synchronises with the device)."""
    sample_every: Annotated[int, LIMITS["every"]] = 50
    eval_every: Annotated[int, LIMITS["every"]] = 100
    eval_samples: Annotated[int, LIMITS["eval_samples"]] = 500
    """Samples drawn for each evaluation."""
    show_samples: Annotated[int, LIMITS["show_samples"]] = 16
    """Samples in each `Samples` event."""
    save_every: Annotated[int, LIMITS["every"]] = 0
    """Checkpoint every n steps into the run directory (0 = only when asked)."""
    out: str | None = None
    """Where a new run is created. Never written to config.json: a loaded run lives where it was loaded from."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ValueError("a run config must be a mapping")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"RunConfig has no field(s) {sorted(unknown)}; it takes {sorted(names)}")
        cfg = cls(**d)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Reject absurd settings with a message that names them (types and the bounds declared above)."""
        check_types(RunConfig, dataclasses.asdict(self), "")
        if not isinstance(self.variant, str):
            raise ValueError("variant must be a name")

    def net_specs(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(generator spec, critic spec or None), with the variant's defaults filled in."""
        variant = get_variant(self.variant)
        gen = dict(self.generator or variant.default_generator)
        if not variant.needs_critic:
            return gen, None
        return gen, dict(self.critic or variant.default_critic)


# ---- the router ---------------------------------------------------------------------------------------------------

def setting_hint(config: dict[str, Any], key: str) -> tuple[str, str, Any]:
    """Where `key` lives in a RunConfig dict: (section, field, annotation). Section is "run", "variant_config",
    "generator", "critic" or "corpus"; a ValueError says what the key could have been."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"setting names are strings, got {key!r}")
    variant = get_variant(config.get("variant", RunConfig.variant))
    section, dot, name = key.partition(".")
    if dot:
        if section == "corpus":
            cls, _ = check_spec({"kind": config.get("corpus", {}).get("kind")})
            hints = field_hints(cls.__init__)  # its keywords (a corpus class's own fields are what it builds)
            hints.pop("return", None)
        elif section in NET_ROLES:
            spec = _net_spec(config, section)
            registry = GENERATORS if section == "generator" else CRITICS
            if spec.get("kind") not in registry:
                raise ValueError(f"unknown {section} kind {spec.get('kind')!r}; choose one of {sorted(registry)}")
            hints = net_hints(registry[spec["kind"]][1])
        else:
            raise ValueError(f"unknown setting {key!r}: dotted settings are generator.X, critic.X or corpus.X")
        if name not in hints:
            kind = (config.get("corpus") or {}).get("kind") if section == "corpus" else _net_spec(config, section)["kind"]
            raise ValueError(f"{section} {kind!r} has no setting {name!r}; it takes "
                             f"{sorted(h for h in hints if h != 'kind')}")
        return section, name, hints[name]
    run_hints = field_hints(RunConfig)
    own = field_hints(variant.Config)
    if key in own:
        return "variant_config", key, own[key]
    if key in run_hints and key not in ("variant_config", "generator", "critic", "corpus"):
        return "run", key, run_hints[key]
    fields = sorted(set(run_hints) - {"variant_config", "generator", "critic", "corpus"})
    raise ValueError(f"unknown setting {key!r} for {variant.name}: it takes its own {sorted(own)}, RunConfig fields "
                     f"{fields}, or generator.X / critic.X / corpus.X")


def _net_spec(config: dict[str, Any], role: str) -> dict[str, Any]:
    spec = config.get(role)
    if spec is None:
        variant = get_variant(config.get("variant", RunConfig.variant))
        if role == "critic" and not variant.needs_critic:
            raise ValueError(f"{role}.X: {variant.name} has no critic")
        spec = variant.default_generator if role == "generator" else variant.default_critic
    if not isinstance(spec, dict):
        raise ValueError(f"{role} must be a mapping")
    return spec


def parse_setting(config: dict[str, Any], key: str, raw: Any) -> tuple[str, str, Any]:
    """(section, field, value): `raw` (text, or a value from JSON/YAML) coerced to the type of the field `key` names
    and checked against its declared bounds and choices."""
    section, name, hint = setting_hint(config, key)
    return section, name, coerce(raw, hint, key)


def apply_setting(config: dict[str, Any], key: str, raw: Any, fixed: tuple[str, ...] = ()) -> Any:
    """Set one setting in a RunConfig dict (in place; nested specs are copied, never shared) and return its value.
    `fixed`: RunConfig fields this surface sets itself (e.g. a sweep's seed), refused here with a message."""
    if key in fixed:
        raise ValueError(f"{key!r} is set by its own option (the corpus, variant, seeds, output and device options "
                         "of the CLI and of a sweep spec), not as a setting")
    section, name, value = parse_setting(config, key, raw)
    if section == "run":
        config[name] = value
    elif section == "variant_config":
        config["variant_config"] = {**(config.get("variant_config") or {}), name: value}
    elif section == "corpus":
        config["corpus"] = {**config.get("corpus", {}), name: value}
    else:
        config[section] = {**_net_spec(config, section), name: value}
    return value


def apply_settings(config: dict[str, Any], pairs: dict[str, Any], fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """`apply_setting` for each pair, in order; returns `config`."""
    for key, raw in pairs.items():
        apply_setting(config, key, raw, fixed)
    return config


def split_pairs(pairs: list[str], prefix: str = "", flag: str = "--set") -> dict[str, str]:
    """KEY=VALUE strings (as typed after `flag`) -> {prefix + KEY: VALUE}; the values stay text for `apply_setting`."""
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} expects KEY=VALUE, got {pair!r}")
        out[prefix + key.strip()] = raw
    return out


def bounds(name: str) -> Range:
    """The range called `name` in the limits table (what the app's form bounds its inputs by)."""
    return LIMITS[name]
