"""What a run streams to its consumers (CLI progress bar, the app, notebooks): small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Scalars:
    """Losses and gradient norms of one logged step, keys namespaced (`loss/critic`, `grad_norm/gen`, ...)."""
    step: int
    values: dict[str, float]


@dataclass(frozen=True)
class Samples:
    """Generated sentences, decoded, with their raw ids for corpus-specific displays (e.g. mode labels)."""
    step: int
    texts: list[str]
    ids: list[list[int]] = field(default_factory=list)


@dataclass(frozen=True)
class Metrics:
    """An evaluation of fresh samples (`eval/...` keys)."""
    step: int
    values: dict[str, float]


@dataclass(frozen=True)
class Saved:
    step: int
    path: Path


@dataclass(frozen=True)
class Failed:
    """The run stopped: `message` names the step and the quantity (NaN/inf loss, out of memory, ...)."""
    step: int
    message: str


Event = Scalars | Samples | Metrics | Saved | Failed
