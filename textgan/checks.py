"""Type and size checks for settings that come from outside (CLI, forms, config.json of a pulled run).

Dataclass configs and constructor keywords are checked against their annotations, so `lr_gen="abc"`,
`critic_steps=1.5`, `critic_steps=true` or `hidden="abc"` are refused with a message naming the field instead of
failing later inside torch. Sizes are bounded before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import types
import typing
from typing import Any, Callable

MAX_WIDTH = 65_536
"""Largest value any integer size of a net may take (hidden units, embedding, channels, layers, heads...)."""
MAX_PARAMS = int(os.environ.get("TEXTGAN_MAX_PARAMS", 500_000_000))
"""Largest parameter count of one net, checked on the meta device before a weight is allocated."""


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` is acceptable for the annotation `hint` (lenient where the hint is not a plain type)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, typing.Sequence, __import__("collections.abc").abc.Sequence) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return not args or all(_fits(v, args[0]) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


def check_types(target: type | Callable, values: dict[str, Any], what: str) -> None:
    """Raise ValueError naming the first value in `values` whose type does not match `target`'s annotation for it
    (`target`: a dataclass, or a function / class whose `__init__` keywords are checked)."""
    if dataclasses.is_dataclass(target):
        hints = typing.get_type_hints(target)
    else:
        init = target.__init__ if isinstance(target, type) else target
        hints = typing.get_type_hints(init)
    for name, value in values.items():
        hint = hints.get(name)
        if hint is not None and not _fits(value, hint):
            raise ValueError(f"{what}: {name}={value!r} must be {_describe(hint)}")


def check_sizes(values: dict[str, Any], limits: dict[str, tuple[int, int]], what: str) -> None:
    """Each named integer within its inclusive range, with a message saying which and the range."""
    for name, (lo, hi) in limits.items():
        v = values.get(name)
        if v is None:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"{what}: {name}={v!r} must be an integer in {lo}..{hi:,}")


def check_param_count(modules: dict[str, Any]) -> None:
    """Refuse nets (built on the meta device) with more than MAX_PARAMS parameters."""
    for name, module in modules.items():
        if module is None:
            continue
        n = sum(p.numel() for p in module.parameters())
        if n > MAX_PARAMS:
            raise ValueError(f"the {name} would have {n:,} parameters, over the {MAX_PARAMS:,} limit: lower its "
                             "sizes (or set TEXTGAN_MAX_PARAMS for nets you mean to build)")
