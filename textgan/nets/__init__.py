"""Generators and critics, each a plain `nn.Module` with a config dataclass, built by name.

Dimension legend used in shape comments: B batch, L sequence length, V vocabulary, E embedding,
H hidden state, C channels, F filters, Z noise.
A net spec is a dict: {"kind": <registry name>, **config fields}; unknown fields are an error, not ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from ..checks import Size, check_types, check_value, field_hints

from .attention import AttentionGenerator, AttentionGeneratorConfig
from .conv import ConvConfig, ConvCritic, ConvGenerator
from .critics import CNNCritic, CNNCriticConfig, LSTMCritic, LSTMCriticConfig
from .leakgan import LeakGANGenerator, LeakGANGeneratorConfig
from .mixture import MixtureGenerator, MixtureGeneratorConfig
from .multirep import MultiRepCritic, MultiRepCriticConfig
from .relational import RelationalGenerator, RelationalGeneratorConfig
from .transformer import TransformerGenerator, TransformerGeneratorConfig
from .rnn import RNNGenerator, RNNGeneratorConfig

GENERATORS: dict[str, tuple[type, type]] = {
    "lstm": (RNNGenerator, RNNGeneratorConfig),
    "gru": (RNNGenerator, RNNGeneratorConfig),
    "conv": (ConvGenerator, ConvConfig),
    "relational": (RelationalGenerator, RelationalGeneratorConfig),
    "gpt2": (TransformerGenerator, TransformerGeneratorConfig),
    "attention": (AttentionGenerator, AttentionGeneratorConfig),
    "leakgan": (LeakGANGenerator, LeakGANGeneratorConfig),
    "mixture": (MixtureGenerator, MixtureGeneratorConfig),
}
CRITICS: dict[str, tuple[type, type]] = {
    "cnn": (CNNCritic, CNNCriticConfig),
    "lstm": (LSTMCritic, LSTMCriticConfig),
    "conv": (ConvCritic, ConvConfig),
    "multirep": (MultiRepCritic, MultiRepCriticConfig),
}


def net_hints(cfg_cls: type) -> dict[str, Any]:
    """A net config's field annotations, where every plain `int` is a size (units, channels, layers, heads...):
    one bound, LIMITS["net_size"], for all of them unless a field declares its own range."""
    return {name: Size if hint is int else hint for name, hint in field_hints(cfg_cls).items()}


def net_config(registry: dict[str, tuple[type, type]], spec: dict[str, Any], what: str):
    """Validated config dataclass for `spec` (clear errors for unknown kinds and fields)."""
    kind = spec.get("kind")
    if kind not in registry:
        raise ValueError(f"unknown {what} kind {kind!r}; choose one of {sorted(registry)}")
    cls, cfg_cls = registry[kind]
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = set(spec) - names
    if unknown:
        raise ValueError(f"{what} {kind!r} has no setting(s) {sorted(unknown)}; it takes {sorted(names)}")
    check_types(cfg_cls, spec, f"{what} {kind!r}")
    cfg = cfg_cls(**spec)
    hints = net_hints(cfg_cls)
    for f in dataclasses.fields(cfg):
        check_value(f.name, getattr(cfg, f.name), hints[f.name], f"{what} {kind!r}")
    return cls, cfg


def build_generator(spec: dict[str, Any], vocab_size: int, seq_len: int, start_id: int) -> nn.Module:
    cls, cfg = net_config(GENERATORS, spec, "generator")
    return cls(cfg, vocab_size, seq_len, start_id)


def build_critic(spec: dict[str, Any], vocab_size: int, seq_len: int) -> nn.Module:
    cls, cfg = net_config(CRITICS, spec, "critic")
    return cls(cfg, vocab_size, seq_len)


def spec_of(module: nn.Module) -> dict[str, Any]:
    """The full spec (every field, defaults filled in) a net was built from."""
    return dataclasses.asdict(module.cfg)
