"""Settings declared on their fields, checked and parsed in one place.

A Config dataclass says what each setting takes with its annotation: the type, `Literal[...]` choices, and a range
from the limits table (`Annotated[float, LIMITS["learning_rate"]]`, or the short names below). `check_types`
refuses a value that does not fit, naming the field (`lr_gen="abc"`, `critic_steps=1.5`, `critic_steps=true`,
`lr_gen=50`); `coerce` turns the text a user typed (a form, a URL query, `--set`, a sweep grid) into the field's
type first, so "false" is False on every surface. Sizes are bounded before anything is allocated.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import json
import math
import types
import typing
from typing import Annotated, Any, Callable

from .limits import LIMITS, MAX_PARAMS, Range

__all__ = ["LIMITS", "MAX_PARAMS", "MAX_WIDTH", "Size", "Seed", "Steps", "PretrainSteps", "LearningRate",
           "Positive", "NonNegative", "field_hints", "choices_of", "range_of", "check_value", "check_types",
           "coerce", "check_sizes", "check_param_count"]

MAX_WIDTH = int(LIMITS["net_size"].hi)
"""Largest value any integer size of a net may take (hidden units, embedding, channels, layers, heads...)."""

Size = Annotated[int, LIMITS["net_size"]]
Seed = Annotated[int, LIMITS["seed"]]
Steps = Annotated[int, LIMITS["steps"]]
PretrainSteps = Annotated[int, LIMITS["pretrain_steps"]]
LearningRate = Annotated[float, LIMITS["learning_rate"]]
Positive = Annotated[float, LIMITS["positive"]]
NonNegative = Annotated[float, LIMITS["non_negative"]]

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@functools.lru_cache(maxsize=None)
def _hints(target: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(target):
        return typing.get_type_hints(target, include_extras=True)
    init = target.__init__ if isinstance(target, type) else target
    return typing.get_type_hints(init, include_extras=True)


def field_hints(target: type | Callable) -> dict[str, Any]:
    """Field name -> annotation (with its `Annotated` range) of a dataclass, or the keywords of a class/function."""
    return dict(_hints(target))


def _strip(hint: Any) -> tuple[Any, Range | None]:
    """(the bare type, its declared range or None)."""
    if typing.get_origin(hint) is Annotated:
        base, *extras = typing.get_args(hint)
        return base, next((e for e in extras if isinstance(e, Range)), None)
    return hint, None


def _options(hint: Any) -> list[Any]:
    """The alternatives of a Union/Optional hint (itself when not a union)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return list(typing.get_args(hint))
    return [hint]


def choices_of(hint: Any) -> tuple[Any, ...] | None:
    """The fixed choices of a `Literal[...]` field (inside Optional/Annotated too), else None: what a dropdown offers."""
    for h in _options(_strip(hint)[0]):
        if typing.get_origin(h) is typing.Literal:
            return typing.get_args(h)
    return None


def range_of(hint: Any) -> Range | None:
    """The declared range of a field (`Annotated[..., Range]`, possibly inside Optional), else None."""
    for h in _options(hint) if typing.get_origin(hint) is not Annotated else [hint]:
        r = _strip(h)[1]
        if r is not None:
            return r
    return None


def _describe(hint: Any) -> str:
    hint = _strip(hint)[0]
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(hint))
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` has the type `hint` asks for (lenient where the hint is not a plain type)."""
    hint = _strip(hint)[0]
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return any(value == c and type(value) is type(c) for c in typing.get_args(hint))
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
    if origin in (list, tuple, typing.Sequence, collections.abc.Sequence) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return not args or all(_fits(v, args[0]) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


def check_value(name: str, value: Any, hint: Any, what: str = "") -> None:
    """Raise ValueError naming `name` when `value` does not fit its annotation: type, choices, then range."""
    prefix = f"{what}: " if what else ""
    if not _fits(value, hint):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{prefix}{name}={value!r} is not a finite number")
        choices = choices_of(hint)
        if choices is not None and isinstance(value, str):
            raise ValueError(f"{prefix}{name}={value!r}; choose one of {', '.join(map(str, choices))}")
        raise ValueError(f"{prefix}{name}={value!r} must be {_describe(hint)}")
    bounds = range_of(hint)
    if bounds is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value not in bounds:
        kind = bounds.noun or ("an integer" if isinstance(value, int) else "a number")
        raise ValueError(f"{prefix}{name}={value!r} must be {kind} {bounds.describe()}")


def check_types(target: type | Callable, values: dict[str, Any], what: str) -> None:
    """Check each of `values` against `target`'s annotation for it (`target`: a dataclass, or a function / class
    whose `__init__` keywords are checked): type, `Literal` choices and declared range."""
    hints = _hints(target)
    for name, value in values.items():
        hint = hints.get(name)
        if hint is not None:
            check_value(name, value, hint, what)


def coerce(raw: Any, hint: Any, name: str, what: str = "") -> Any:
    """The value text means for a field of annotation `hint`, checked (`check_value`), or a ValueError naming `name`.

    Text is read by the field's type, never guessed from its look: "false"/"0"/"no"/"off" are False for a bool
    (and "true"/"1"/"yes"/"on" True, anything else an error), "1e3" is 1000 for an int (a whole number), "none" is
    None where None is allowed, and lists/mappings are JSON. Values that are not text (JSON, YAML, a form's number
    box) are checked, whole numbers taking their field's int or float form (3.0 -> 3 for an int field).
    """
    value = _from_text(raw.strip(), hint, name, what) if isinstance(raw, str) else _as_number(raw, hint)
    check_value(name, value, hint, what)
    return value


def _as_number(value: Any, hint: Any) -> Any:
    """A number in the representation its field asks for: 3.0 -> 3 for an int field (a form's number box sends
    floats), 3 -> 3.0 for a float field; anything else unchanged (and checked by the caller)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    options = [_strip(h)[0] for h in _options(_strip(hint)[0])]
    if int in options or float in options:
        if int in options and isinstance(value, float) and value.is_integer():
            return int(value)
        if float in options and int not in options and isinstance(value, int):
            return float(value)
    return value


def _from_text(text: str, hint: Any, name: str, what: str) -> Any:
    prefix = f"{what}: " if what else ""
    options = [_strip(h)[0] for h in _options(_strip(hint)[0])]
    if type(None) in options and text.lower() in ("none", "null", ""):
        return None
    options = [h for h in options if h is not type(None)]
    for h in options:  # text fields first: a name stays a name
        if h is str or typing.get_origin(h) is typing.Literal or h is Any:
            return text
    for h in options:
        if h is bool:
            if text.lower() in _TRUE or text.lower() in _FALSE:
                return text.lower() in _TRUE
            raise ValueError(f"{prefix}{name}={text!r} must be true or false")
        if h in (int, float):
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{prefix}{name}={text!r} is not a number") from None
            if h is float:
                return number
            if not math.isfinite(number) or number != int(number):
                raise ValueError(f"{prefix}{name}={text!r} must be a whole number")
            return int(text) if _is_int_text(text) else int(number)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{prefix}{name}={text!r} must be {_describe(hint)} (as JSON)") from None


def _is_int_text(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def check_sizes(values: dict[str, Any], limits: dict[str, tuple[int, int] | Range], what: str) -> None:
    """Each named integer within its inclusive range, with a message saying which and the range."""
    for name, bounds in limits.items():
        v = values.get(name)
        if v is None:
            continue
        lo, hi = (bounds.lo, bounds.hi) if isinstance(bounds, Range) else bounds
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
