"""The Train form's vocabulary: presets, a variant's defaults, net specs from (kind, size), corpus specs from the
corpus choice (uploads checked and stored), and `make_config` / `form_config`, which turn the form's values into a
checked RunConfig. Every refusal is a LabError whose message names the field."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from ..limits import LIMITS
from .errors import LabError, as_int as _as_int, slug as _slug

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Uploaded corpora above this size are refused (a Space has little disk and 2 CPU cores)."""
LIVE_CADENCE = {"sample_every": 20, "eval_every": 20, "eval_samples": 256, "show_samples": 16}
"""The app's cadence: often enough that the sample table and the metrics figure move every few seconds."""

def variant_defaults(name: str) -> dict[str, Any]:
    """The paper-default hyperparameters of a registered variant, as a plain dict."""
    from ..variants import get_variant

    return dataclasses.asdict(get_variant(name).Config())


def presets() -> tuple[str, ...]:
    """The named starting points the form offers: 'demo' (tuned to learn `modes` in a minute on a CPU, from
    textgan.presets) first when it exists, and 'paper' (each variant's published defaults)."""
    try:
        from ..presets import PRESETS
    except ImportError:
        return ("paper",)
    return tuple(sorted(PRESETS, key=lambda p: p != "demo"))


def variant_info(name: str, preset: str = "paper") -> dict[str, Any]:
    """What the form shows for a variant under a preset: its one-line summary and paper, hyperparameters,
    generator and critic specs, batch size."""
    from ..run import RunConfig
    from ..variants import get_variant

    v = get_variant(name)
    info = {"paper": v.paper, "summary": v.summary, "defaults": variant_defaults(name), "generator": dict(v.default_generator),
            "critic": dict(v.default_critic) if v.needs_critic and v.default_critic else None,
            "needs_critic": v.needs_critic, "batch_size": RunConfig().batch_size}
    if preset not in presets():
        raise LabError(f"unknown preset {preset!r}; choose one of {presets()}")
    from ..presets import PAPER_NETS_AND_CONFIG

    if preset != "paper" or name in PAPER_NETS_AND_CONFIG:  # the papers' nets and settings, as `--preset paper`
        from ..presets import preset_config

        rc = preset_config(preset, name)
        info["defaults"].update(rc.variant_config)
        info["generator"] = dict(rc.generator or info["generator"])
        if info["critic"] is not None:
            info["critic"] = dict(rc.critic or info["critic"])
        info["batch_size"] = rc.batch_size
    return info


def form_net(role: str, kind: str | None, size: Any, base: dict[str, Any] | None) -> dict[str, Any] | None:
    """The net spec for the form's (kind, size) pair: `base` (the preset's spec) when they match it, `base` with
    the new size when only the size changed, else a fresh spec of that kind."""
    if not kind:
        return base
    if base is not None and base.get("kind") == kind:
        if size is None or _as_int(size, f"{role} size") == net_size(role, base):
            return dict(base)
        return {**base, **net_spec(role, kind, size)}
    return net_spec(role, kind, size)


SIZE_FIELDS = ("hidden", "channels", "filters", "head_size", "emb_dim")
"""The form has one "size" control per net: it sets the first of these fields the net's config has."""


def net_kinds(role: str) -> list[str]:
    """The registered generator or critic kinds (textgan.nets), for the form's choices."""
    from ..nets import CRITICS, GENERATORS

    return list(GENERATORS if role == "generator" else CRITICS)


def size_field(role: str, kind: str) -> str | None:
    """The config field the form's size sets for a net kind (None when it has no such field)."""
    from ..nets import CRITICS, GENERATORS

    registry = GENERATORS if role == "generator" else CRITICS
    if kind not in registry:
        raise LabError(f"unknown {role} kind {kind!r}; choose one of {sorted(registry)}")
    names = {f.name for f in dataclasses.fields(registry[kind][1])}
    return next((f for f in SIZE_FIELDS if f in names), None)


def net_spec(role: str, kind: str, size: int | None = None) -> dict[str, Any]:
    """A net spec {"kind", <size field>} for the form's (kind, size) pair; size None keeps the net's default."""
    field_name = size_field(role, kind)
    spec: dict[str, Any] = {"kind": kind}
    if size is not None and field_name is not None:
        size = _as_int(size, f"{role} size")
        if size not in LIMITS["net_size"]:
            raise LabError(f"{role} size {size} must be {LIMITS['net_size'].describe()}")
        spec[field_name] = size
    return spec


def net_size(role: str, spec: dict[str, Any]) -> int | None:
    """The size a spec has (explicit or its config default), for showing in the form."""
    from ..nets import CRITICS, GENERATORS, net_config

    field_name = size_field(role, spec["kind"])
    if field_name is None:
        return None
    _, cfg = net_config(GENERATORS if role == "generator" else CRITICS, spec, role)
    return getattr(cfg, field_name)


def check_upload(path: str | Path) -> None:
    """Refuse uploads a text corpus cannot be: missing, empty, over the size limit, binary or not UTF-8."""
    p = Path(path)
    if not p.is_file():
        raise LabError(f"uploaded file {p.name!r} was not received; upload it again")
    size = p.stat().st_size
    if size == 0:
        raise LabError(f"{p.name} is empty: a corpus needs one sentence per line")
    if size > MAX_UPLOAD_BYTES:
        raise LabError(f"{p.name} is {size / 1e6:.1f} MB, over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB upload limit; "
                       "use a smaller file, or run the CLI on a local path")
    head = p.read_bytes()[:65536]
    if b"\x00" in head:
        raise LabError(f"{p.name} looks like a binary file (it contains NUL bytes); upload plain UTF-8 text, "
                       "one sentence per line")
    try:
        p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise LabError(f"{p.name} is not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8 and upload "
                       "again") from None


MODE_WEIGHTS = ("uniform", "skewed", "skewed-alike")
"""The form's choices for how often each mode occurs (skewed: Zipf, mode i has weight 1/(i+1)); 'skewed-alike'
also gives every mode the same sentence pattern, so that only the weights tell the modes apart."""
MODE_WEIGHT_LABELS = [("uniform", "uniform"), ("skewed", "skewed"), ("skewed, one sentence pattern", "skewed-alike")]
"""(label, value) pairs for the form's radio."""


def modes_settings(weights: str | None) -> dict[str, Any]:
    """The `modes` corpus settings of the form's weights choice: {} for uniform, else weights (and patterns)."""
    if weights not in (None, "", *MODE_WEIGHTS):
        raise LabError(f"mode weights {weights!r}: choose one of {MODE_WEIGHTS}")
    if weights == "skewed-alike":
        return {"weights": "skewed", "patterns": "alike"}
    return {"weights": weights} if weights == "skewed" else {}


def form_weights(weights: str = "uniform", patterns: str = "varied") -> str:
    """The form's weights choice for a `modes` corpus' settings (the inverse of `modes_settings`)."""
    return "skewed-alike" if weights == "skewed" and patterns == "alike" else weights


def corpus_roots() -> list[Path]:
    """The folders whose text files a visitor may name as a corpus: `TEXTGAN_CORPUS_ROOTS` (paths separated by
    the OS path separator), none by default, so a public server reads no server file a visitor names."""
    raw = os.environ.get("TEXTGAN_CORPUS_ROOTS", "")
    return [Path(r).expanduser() for r in raw.split(os.pathsep) if r.strip()]


def confined_path(path: str, roots: list[Path]) -> Path:
    """`path` resolved (symlinks followed) when it is a file inside one of `roots`, else a LabError that reveals
    nothing about files outside them."""
    if not roots:
        raise LabError("this server reads no files a visitor names: upload your text file instead (the operator can "
                       "allow folders with TEXTGAN_CORPUS_ROOTS)")
    p = Path(str(path).strip()).expanduser()
    for root in roots:
        base = root.resolve()
        real = (p if p.is_absolute() else base / p).resolve()
        if real.is_relative_to(base) and real.is_file():
            return real
    raise LabError(f"no text file {str(path).strip()!r} under the folders this server offers "
                   f"({', '.join(str(r) for r in roots)})")


def corpus_spec(kind: str, k: int = 8, path: str | None = None, upload: str | None = None,
                upload_dir: str | Path = "checkpoints/uploads", level: str = "word",
                roots: list[Path] | None = None, weights: str | None = "uniform") -> dict[str, Any]:
    """The corpus spec for the form's choice. An upload is checked, then copied under `upload_dir` (named by its
    content hash) so a run that records its path can be rebuilt after the browser's temp file is gone. A server
    path is allowed only inside `roots` (default: `corpus_roots()`, empty unless the operator lists folders)."""
    if kind == "modes":
        k = _as_int(k, "K (number of modes)")
        return {"kind": "modes", "k": k, **modes_settings(weights)}
    if kind == "oracle":
        return {"kind": "oracle"}
    if kind == "coco":  # shipped with textgan: the published conventions (treebank words, train vocabulary)
        return {"kind": "coco"}
    if kind == "hub":
        text = str(path or "").strip().removeprefix("hub:")
        if not text:
            raise LabError("type a Hub dataset as OWNER/NAME or OWNER/NAME:FILE (FILE defaults to train.txt)")
        from ..corpora.hub import parse_hub_corpus

        return {**parse_hub_corpus(text), "level": level}
    if kind == "upload":
        if not upload:
            raise LabError("choose a .txt file to upload first (one sentence per line)")
        from .uploads import confined_upload

        upload = confined_upload(upload)  # only Gradio's upload cache: never a server file a caller names
        check_upload(upload)
        data = Path(upload).read_bytes()
        dest = Path(upload_dir) / f"{_slug(Path(upload).stem)}-{hashlib.sha256(data).hexdigest()[:10]}.txt"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            tmp = dest.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        return {"kind": "text", "path": str(dest), "level": level}
    if kind == "path":
        if not path or not str(path).strip():
            raise LabError("type the path of a local text file (one sentence per line)")
        p = confined_path(path, corpus_roots() if roots is None else roots)
        check_upload(p)
        return {"kind": "text", "path": str(p), "level": level}
    raise LabError(f"unknown corpus choice {kind!r}; choose modes, oracle, coco, hub, upload or path")


def make_config(corpus: dict[str, Any], variant: str = "wgan-gp", hparams: dict[str, Any] | None = None,
                generator: dict[str, Any] | None = None, critic: dict[str, Any] | None = None,
                batch_size: int | None = None, seed: int = 0, device: str = "auto", **cadence: int):
    """A checked RunConfig with the app's live cadence; raises LabError with the engine's message on bad input."""
    from ..run import RunConfig
    from ..variants import get_variant

    try:
        v = get_variant(variant)
        changes = variant_changes_of(variant, hparams or {})
        cfg = v.Config(**{**dataclasses.asdict(v.Config()), **changes})
        from ..variants.base import check_config

        check_config(cfg)
        base = RunConfig()
        rc = RunConfig(corpus=corpus, variant=variant, variant_config=changes, generator=generator, critic=critic,
                       batch_size=base.batch_size if batch_size is None else _as_int(batch_size, "batch size"),
                       seed=_as_int(seed, "seed"), device=device, **{**LIVE_CADENCE, **cadence})
        rc.check()
        return rc
    except LabError:
        raise
    except (ValueError, TypeError) as e:
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


def cast_hparam(variant: str, name: str, value: Any, defaults: dict[str, Any] | None = None) -> Any:
    """A form value cast to the type of the variant's field `name` by the one settings coercion (textgan.checks):
    "false" is False, a number box's 3.0 is 3 for an int field, and the field's declared range is checked."""
    from ..checks import coerce, field_hints
    from ..variants import get_variant

    defaults = defaults or variant_defaults(variant)
    if name not in defaults:
        raise LabError(f"{variant} has no setting {name!r}; it takes {sorted(defaults)}")
    try:
        return coerce(value, field_hints(get_variant(variant).Config)[name], name)
    except ValueError as e:
        raise LabError(str(e)) from None


# ---- what the app's form shows, and reading it back -------------------------------------------------------------

def default_config():
    """The RunConfig the form starts from (the engine's defaults)."""
    from ..run import RunConfig

    return RunConfig()


def variant_names() -> list[str]:
    """The registered variants, in registry order (the form's choices)."""
    from ..variants import VARIANTS

    return list(VARIANTS)


def variant_blurb(name: str, preset: str = "paper") -> str:
    """The line under the variant picker: what the algorithm does, then where it comes from (Markdown)."""
    info = variant_info(name, preset)
    return f"{info['summary']}  \n*{info['paper']}*"


def hp_fields(variant: str, preset: str = "paper") -> dict[str, Any]:
    """Every hyperparameter of every registered variant (the form shows the union and hides what the selected
    variant lacks), with `variant`'s values under `preset`, else the first default seen."""
    from ..variants import VARIANTS

    out: dict[str, Any] = dict(variant_info(variant, preset)["defaults"])
    for v in VARIANTS.values():
        for f in dataclasses.fields(v.Config):
            out.setdefault(f.name, getattr(v.Config(), f.name))
    return out


def choices_for(name: str) -> list[str] | None:
    """The fixed choices of a hyperparameter (its `Literal` type in any variant's Config), None for free values."""
    from ..checks import choices_of, field_hints
    from ..variants import VARIANTS

    for v in VARIANTS.values():
        hint = field_hints(v.Config).get(name)
        if hint is not None and choices_of(hint) is not None:
            return list(choices_of(hint))
    return None


def form_config(kind: str, k: Any, upload: str | None, path: str | None, preset: str | None, variant: str,
                batch: Any, seed: Any, device: str, gkind: str | None, gsize: Any, ckind: str | None, csize: Any,
                hparams: dict[str, Any], upload_dir: str | Path = "checkpoints/uploads", weights: str | None = "uniform"):
    """The RunConfig the Train form describes. `hparams` may hold every variant's fields (the form's union): only
    `variant`'s are read. Nets equal to the variant's own defaults are recorded as None (= "the variant's own")."""
    from ..variants import get_variant

    corpus = corpus_spec(kind, k=k, path=path, upload=upload, upload_dir=upload_dir, weights=weights)
    info = variant_info(variant, preset or "paper")
    hp = {name: value for name, value in hparams.items() if name in info["defaults"]}
    gen = form_net("generator", gkind, gsize, info["generator"])
    critic = form_net("critic", ckind, csize, info["critic"]) if info["needs_critic"] else None
    v = get_variant(variant)
    gen = None if gen == v.default_generator else gen
    critic = None if critic == v.default_critic else critic
    return make_config(corpus, variant, hp, gen, critic, batch, seed, device)


def run_identity(config) -> tuple:
    """The settings that make a different run (not just different hyperparameters): algorithm and corpus."""
    return (config.variant, config.corpus.get("kind"), config.corpus.get("k"), config.corpus.get("path"),
            config.corpus.get("weights", "uniform"), config.corpus.get("patterns", "varied"))


def describe_config(config) -> str:
    """"wgan-gp on modes (K=8)": the algorithm and corpus of a config, for messages."""
    corpus = config.corpus.get("kind")
    if corpus == "modes":
        corpus = f"modes (K={config.corpus.get('k')})"
    return f"{config.variant} on {corpus}"


def device_choices() -> list[str]:
    """The devices the form offers on this machine (probes CUDA: call it when a page loads, not at import)."""
    import torch

    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def device_note() -> str:
    """What `auto` picks on this machine, for the line under the device picker."""
    from ..device import describe_device, resolve_device

    return f"device: **{describe_device(resolve_device('auto'))}** (auto)"


# ---- shareable links: the form in a URL's query parameters --------------------------------------------------------

SHARED_CORPORA = ("modes", "oracle", "coco")
"""Corpora a link can name: an upload or a server path is not the visitor's to share."""
MAX_QUERY_PARAMS, MAX_QUERY_VALUE = 64, 64
"""A link's query is bounded: more parameters, or longer values, are ignored with a notice."""


def share_query(kind: str, k: Any, preset: str | None, variant: str, batch: Any, seed: Any, gkind: str | None,
                gsize: Any, ckind: str | None, csize: Any, hparams: dict[str, Any],
                weights: str | None = "uniform") -> tuple[str, list[str]]:
    """The query string ("?corpus=modes&variant=gan&...") that restores this form, and notices about what a link
    cannot carry. Hyperparameters, batch size, nets and the modes corpus' weights are included only where they
    differ from the defaults (the preset's; uniform weights)."""
    from urllib.parse import urlencode

    notices = []
    preset = preset or "paper"
    params: dict[str, Any] = {"variant": variant, "preset": preset}
    if kind in SHARED_CORPORA:
        params["corpus"] = kind
        if kind == "modes":
            params["k"] = _as_int(k, "K (number of modes)")
            if modes_settings(weights):  # checks the choice; uniform (the default) stays out of the link
                params["weights"] = weights
    else:
        notices.append(f"a link cannot carry the {kind} corpus (the file stays on this server): it opens on modes")
    params["seed"] = _as_int(seed, "seed")
    info = variant_info(variant, preset)
    if batch not in (None, "") and _as_int(batch, "batch size") != info["batch_size"]:
        params["batch"] = _as_int(batch, "batch size")
    for role, kind_, size in (("generator", gkind, gsize), ("critic", ckind, csize)):
        base = info[role]
        if base is None or not kind_:
            continue
        if kind_ != base["kind"]:
            params[role] = kind_
        if size not in (None, "") and (kind_ != base["kind"] or _as_int(size, f"{role} size") != net_size(role, base)):
            params[f"{role}_size"] = _as_int(size, f"{role} size")
    defaults = info["defaults"]
    for name, value in hparams.items():
        if name in defaults and value not in (None, ""):
            value = cast_hparam(variant, name, value, defaults)
            if value != defaults[name]:
                params[name] = str(value).lower() if isinstance(value, bool) else value
    return "?" + urlencode(params), notices


def form_from_query(params: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """What a link's query parameters set in the form, checked field by field: {"corpus", "k", "weights", "preset",
    "variant", "seed", "batch", "generator", "generator_size", "critic", "critic_size", "hparams": {...}} (only
    the keys the link sets, with valid values), and one notice per parameter ignored (unknown, bad, too many)."""
    notices: list[str] = []
    out: dict[str, Any] = {}
    items = [(k, v) for k, v in params.items() if not str(k).startswith("__")]  # Gradio's own (__theme)
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

    def take(key: str, check) -> None:
        if key in q:
            raw = q.pop(key)
            try:
                out[key] = check(raw)
            except LabError as e:
                notices.append(f"ignored {key}={raw!r}: {e}")

    def one_of(choices):
        def check(raw):
            if raw not in choices:
                raise LabError(f"choose one of {', '.join(choices)}")
            return raw
        return check

    def whole(bounds, what: str):
        def check(raw):
            v = _as_int(raw, what)
            if v not in bounds:
                raise LabError(f"{what} must be {bounds.describe()}")
            return v
        return check

    take("variant", one_of(variant_names()))
    take("preset", one_of(presets()))
    take("corpus", one_of(SHARED_CORPORA))
    take("k", whole(LIMITS["modes"], "K"))
    take("weights", one_of(MODE_WEIGHTS))
    take("seed", whole(LIMITS["seed"], "seed"))
    take("batch", whole(LIMITS["batch_size"], "batch size"))
    take("generator", one_of(net_kinds("generator")))
    take("critic", one_of(net_kinds("critic")))
    take("generator_size", whole(LIMITS["net_size"], "generator size"))
    take("critic_size", whole(LIMITS["net_size"], "critic size"))
    variant = out.get("variant") or default_config().variant
    defaults = variant_defaults(variant)
    hparams = {}
    for name, raw in q.items():
        if name not in defaults:
            notices.append(f"ignored {name}={raw!r}: {variant} has no such setting")
            continue
        try:
            value = cast_hparam(variant, name, raw, defaults)
            from ..variants import get_variant
            from ..variants.base import check_config

            cfg = get_variant(variant).Config(**{**defaults, name: value})
            check_config(cfg)
        except (LabError, ValueError, TypeError) as e:
            notices.append(f"ignored {name}={raw!r}: {e}")
            continue
        hparams[name] = value
    if hparams:
        out["hparams"] = hparams
    return out, notices
