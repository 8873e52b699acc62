"""Shareable links: the Train form in a URL's query parameters (`share_query`) and back (`form_from_query`), read
field by field with the form's own checks and limits; whatever a link cannot carry is named in a notice."""

from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from ..limits import LIMITS, Range
from .errors import LabError, as_int
from .form_corpus import MODE_WEIGHTS, modes_settings
from .form_nets import net_kinds, net_size
from .form_values import FormValues
from .form_variant import (cast_hparam, check_hparam, default_config, presets, variant_defaults, variant_info,
                           variant_names)

SHARED_CORPORA = ("modes", "oracle", "coco")
"""Corpora a link can name: an upload or a server path is not the visitor's to share."""
MAX_QUERY_PARAMS, MAX_QUERY_VALUE = 64, 64
"""A link's query is bounded: more parameters, or longer values, are ignored with a notice."""


def share_query(form: FormValues) -> tuple[str, list[str]]:
    """The query string ("?corpus=modes&variant=gan&...") that restores this form, and notices about what a link
    cannot carry. Hyperparameters, batch size, nets and the modes corpus' weights are included only where they
    differ from the defaults (the preset's; uniform weights)."""
    notices = []
    preset = form.preset or "paper"
    params: dict[str, Any] = {"variant": form.variant, "preset": preset}
    if form.corpus in SHARED_CORPORA:
        params["corpus"] = form.corpus
        if form.corpus == "modes":
            params["k"] = as_int(form.k, "K (number of modes)")
            if modes_settings(form.weights):  # checks the choice; uniform (the default) stays out of the link
                params["weights"] = form.weights
    else:
        notices.append(f"a link cannot carry the {form.corpus} corpus (the file stays on this server): it opens on "
                       "modes")
    params["seed"] = as_int(form.seed, "seed")
    info = variant_info(form.variant, preset)
    if form.batch not in (None, "") and as_int(form.batch, "batch size") != info["batch_size"]:
        params["batch"] = as_int(form.batch, "batch size")
    params.update(_net_params(form, info))
    defaults = info["defaults"]
    for name, value in form.hparams.items():
        if name in defaults and value not in (None, ""):
            value = cast_hparam(form.variant, name, value, defaults)
            if value != defaults[name]:
                params[name] = str(value).lower() if isinstance(value, bool) else value
    return "?" + urlencode(params), notices


def _net_params(form: FormValues, info: dict[str, Any]) -> dict[str, Any]:
    """The link's nets: a kind that differs from the preset's, a size that differs from its net's."""
    params = {}
    for role, kind, size in (("generator", form.generator, form.generator_size),
                             ("critic", form.critic, form.critic_size)):
        base = info[role]
        if base is None or not kind:
            continue
        if kind != base["kind"]:
            params[role] = kind
        if size not in (None, "") and (kind != base["kind"] or as_int(size, f"{role} size") != net_size(role, base)):
            params[f"{role}_size"] = as_int(size, f"{role} size")
    return params


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A check that a link's value is one of `choices`."""
    def check(raw: str) -> str:
        if raw not in choices:
            raise LabError(f"choose one of {', '.join(choices)}")
        return raw
    return check


def whole(bounds: Range, what: str) -> Callable[[str], int]:
    """A check that a link's value is a whole number within `bounds`."""
    def check(raw: str) -> int:
        v = as_int(raw, what)
        if v not in bounds:
            raise LabError(f"{what} must be {bounds.describe()}")
        return v
    return check


def link_checks() -> dict[str, Callable[[str], Any]]:
    """The form's fields a link may set (besides hyperparameters), each with its check."""
    return {"variant": one_of(variant_names()), "preset": one_of(presets()), "corpus": one_of(SHARED_CORPORA),
            "k": whole(LIMITS["modes"], "K"), "weights": one_of(MODE_WEIGHTS),
            "seed": whole(LIMITS["seed"], "seed"), "batch": whole(LIMITS["batch_size"], "batch size"),
            "generator": one_of(net_kinds("generator")), "critic": one_of(net_kinds("critic")),
            "generator_size": whole(LIMITS["net_size"], "generator size"),
            "critic_size": whole(LIMITS["net_size"], "critic size")}


def bounded_query(params: dict[str, str], notices: list[str]) -> dict[str, str]:
    """The link's parameters within the bounds (count, length), Gradio's own (`__theme`) left out."""
    items = [(k, v) for k, v in params.items() if not str(k).startswith("__")]
    if len(items) > MAX_QUERY_PARAMS:
        notices.append(f"the link has {len(items)} parameters; only the first {MAX_QUERY_PARAMS} were read")
        items = items[:MAX_QUERY_PARAMS]
    q = {}
    for key, value in items:
        value = str(value)
        if len(value) > MAX_QUERY_VALUE or len(key) > MAX_QUERY_VALUE:
            notices.append(f"ignored {key[:20]!r}: its value is too long")
        else:
            q[key] = value.strip()
    return q


def form_from_query(params: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """What a link's query parameters set in the form, checked field by field: {"corpus", "k", "weights", "preset",
    "variant", "seed", "batch", "generator", "generator_size", "critic", "critic_size", "hparams": {...}} (only
    the keys the link sets, with valid values), and one notice per parameter ignored (unknown, bad, too many)."""
    notices: list[str] = []
    out: dict[str, Any] = {}
    q = bounded_query(params, notices)
    for key, check in link_checks().items():
        if key in q:
            raw = q.pop(key)
            try:
                out[key] = check(raw)
            except LabError as e:
                notices.append(f"ignored {key}={raw!r}: {e}")
    variant = out.get("variant") or default_config().variant
    defaults = variant_defaults(variant)
    hparams = {}
    for name, raw in q.items():
        if name not in defaults:
            notices.append(f"ignored {name}={raw!r}: {variant} has no such setting")
            continue
        try:
            value = cast_hparam(variant, name, raw, defaults)
            check_hparam(variant, name, value, defaults)
        except LabError as e:
            notices.append(f"ignored {name}={raw!r}: {e}")
            continue
        hparams[name] = value
    if hparams:
        out["hparams"] = hparams
    return out, notices
