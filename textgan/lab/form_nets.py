"""The Train form's nets: one (kind, size) pair per role, turned into a net spec and back."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..limits import LIMITS
from ..nets import CRITICS, GENERATORS, net_config
from .errors import LabError, as_int

SIZE_FIELDS = ("hidden", "channels", "filters", "head_size", "emb_dim")
"""The form has one "size" control per net: it sets the first of these fields the net's config has."""


def _registry(role: str) -> dict:
    return GENERATORS if role == "generator" else CRITICS


def net_kinds(role: str) -> list[str]:
    """The registered generator or critic kinds (textgan.nets), for the form's choices."""
    return list(_registry(role))


def size_field(role: str, kind: str) -> str | None:
    """The config field the form's size sets for a net kind (None when it has no such field)."""
    registry = _registry(role)
    if kind not in registry:
        raise LabError(f"unknown {role} kind {kind!r}; choose one of {sorted(registry)}")
    names = {f.name for f in dataclasses.fields(registry[kind][1])}
    return next((f for f in SIZE_FIELDS if f in names), None)


def net_spec(role: str, kind: str, size: int | None = None) -> dict[str, Any]:
    """A net spec {"kind", <size field>} for the form's (kind, size) pair; size None keeps the net's default."""
    field_name = size_field(role, kind)
    spec: dict[str, Any] = {"kind": kind}
    if size is not None and field_name is not None:
        size = as_int(size, f"{role} size")
        if size not in LIMITS["net_size"]:
            raise LabError(f"{role} size {size} must be {LIMITS['net_size'].describe()}")
        spec[field_name] = size
    return spec


def net_size(role: str, spec: dict[str, Any]) -> int | None:
    """The size a spec has (explicit or its config default), for showing in the form."""
    field_name = size_field(role, spec["kind"])
    if field_name is None:
        return None
    _, cfg = net_config(_registry(role), spec, role)
    return getattr(cfg, field_name)


def form_net(role: str, kind: str | None, size: Any, base: dict[str, Any] | None) -> dict[str, Any] | None:
    """The net spec for the form's (kind, size) pair: `base` (the preset's spec) when they match it, `base` with
    the new size when only the size changed, else a fresh spec of that kind."""
    if not kind:
        return base
    if base is not None and base.get("kind") == kind:
        if size is None or as_int(size, f"{role} size") == net_size(role, base):
            return dict(base)
        return {**base, **net_spec(role, kind, size)}
    return net_spec(role, kind, size)
