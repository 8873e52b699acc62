"""A sweep spec: variants × seeds × settings (a grid, or random draws) on one corpus, with a budget per trial.

The spec expands into a plain list of `Trial`s, each a full RunConfig, before any backend starts. Everything a
user can get wrong (unknown variant or setting, empty grid, a budget of 0) is rejected here, with a message that
names the field, so a typo costs one line instead of a Ray cluster start-up.

A spec file (JSON or YAML) or the CLI's flags give the same mapping:

    corpus: {kind: modes, k: 8}          # one corpus for every trial
    variants: [mle, seqgan, relgan]      # or {seqgan: {rollouts: 4}, mle: {}}: per-variant fixed settings
    seeds: 3                             # or a list [0, 1, 2]
    budget: {steps: 400}                 # or {seconds: 120}: equal wall-clock per trial (both: whichever first)
    preset: auto                         # each variant's starting point: paper | demo | auto (demo on modes)
    run: {batch_size: 64, eval_every: 100, eval_samples: 500}    # RunConfig fields shared by all trials
    grid: {lr_gen: [1e-3, 1e-4]}         # every combination ...
    random: {samples: 4, seed: 0, settings: {lr_gen: {loguniform: [1e-4, 1e-2]}, batch_size: [32, 64]}}
    temperatures: [0.7, 1.0, 1.3]        # end-of-trial quality-diversity sweep ([] = none)

A setting is a RunConfig field (`batch_size`), a field of the variant's Config (`lr_gen`), or a net setting
(`generator.hidden`, `critic.filters`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # optional (`textgan[sweep]`): spec files in YAML
    import yaml
except ImportError:  # pragma: no cover - JSON specs still work
    yaml = None

from ..config import OWN_OPTION_FIELDS, RunConfig, apply_setting, parse_setting
from ..presets import PRESETS, preset_config
from ..variants import VARIANTS

MAX_TRIALS = 10_000
MAX_SPEC_BYTES = 1_000_000
DEFAULT_TEMPERATURES = (0.7, 0.85, 1.0, 1.2, 1.5)


class SpecError(ValueError):
    """A sweep spec that cannot run; the message names the field and what to do."""


@dataclass(frozen=True)
class Budget:
    """How long each trial trains: `steps`, `seconds` of wall-clock (training and evaluation), or both (first
    reached). With `seconds`, evaluations happen at `evals` equally spaced wall-clock marks, so trials are
    compared at equal time rather than at equal steps."""

    steps: int | None = None
    seconds: float | None = None
    evals: int = 4

    def check(self) -> None:
        if self.steps is None and self.seconds is None:
            raise SpecError("budget: give steps (e.g. {\"steps\": 500}) or seconds of wall-clock per trial")
        if self.steps is not None and (not _is_int(self.steps) or not 1 <= self.steps <= 10**8):
            raise SpecError(f"budget: steps={self.steps!r} must be an integer of at least 1")
        if self.seconds is not None and (not isinstance(self.seconds, (int, float)) or isinstance(self.seconds, bool)
                                         or not math.isfinite(self.seconds) or not 0 < self.seconds <= 7 * 86400):
            raise SpecError(f"budget: seconds={self.seconds!r} must be a number above 0 (at most a week)")
        if not _is_int(self.evals) or not 1 <= self.evals <= 1000:
            raise SpecError(f"budget: evals={self.evals!r} must be an integer in 1..1000")

    def marks(self) -> list[float]:
        """Wall-clock instants (seconds) of the evaluations of a wall-clock budget."""
        assert self.seconds is not None
        return [self.seconds * (i + 1) / self.evals for i in range(self.evals)]


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its name (also its directory), what was swept, and the full RunConfig as a dict."""

    name: str
    variant: str
    seed: int
    settings: dict[str, Any]
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Trial":
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})

    @property
    def group(self) -> str:
        """Variant plus swept settings: the seeds of one group are averaged in the summary."""
        return self.variant + "".join(f" {k}={_fmt(v)}" for k, v in sorted(self.settings.items()))


@dataclass
class SweepSpec:
    corpus: dict[str, Any]
    variants: dict[str, dict[str, Any]]
    seeds: list[int]
    budget: Budget
    preset: str = "auto"
    run: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    random: dict[str, Any] = field(default_factory=dict)
    temperatures: list[float] = field(default_factory=lambda: list(DEFAULT_TEMPERATURES))
    temperature_samples: int = 500
    name: str = "sweep"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "SweepSpec":
        """Parse and check a spec mapping (see the module docstring)."""
        if not isinstance(d, dict):
            raise SpecError("a sweep spec must be a mapping (JSON object / YAML mapping)")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SpecError(f"unknown spec field(s) {unknown}; a spec takes {sorted(known)}")
        for required in ("corpus", "variants", "budget"):
            if required not in d:
                raise SpecError(f"the spec needs {required!r}")
        corpus = d["corpus"]
        if isinstance(corpus, str):
            corpus = {"kind": corpus}
        if not isinstance(corpus, dict) or "kind" not in corpus:
            raise SpecError("corpus: give a corpus spec such as {\"kind\": \"modes\"}")
        variants = d["variants"]
        if isinstance(variants, str):
            variants = [v for v in variants.split(",") if v]
        if isinstance(variants, list):
            variants = {v: {} for v in variants}
        if not isinstance(variants, dict) or not variants:
            raise SpecError("variants: give at least one variant (a list of names, or name -> settings)")
        seeds = d.get("seeds", 1)
        if _is_int(seeds):
            if not 1 <= seeds <= 1000:
                raise SpecError(f"seeds={seeds} must be 1..1000 (a count) or a list of seeds")
            seeds = list(range(seeds))
        if not isinstance(seeds, list) or not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
            raise SpecError("seeds: give a count (3) or a non-empty list of non-negative integers")
        if len(set(seeds)) != len(seeds):
            raise SpecError(f"seeds {seeds} repeat a seed")
        budget = d["budget"]
        if _is_int(budget):
            budget = {"steps": budget}
        if not isinstance(budget, dict) or set(budget) - {"steps", "seconds", "evals"}:
            raise SpecError("budget: give {\"steps\": N} and/or {\"seconds\": S} (optionally \"evals\": n)")
        spec = cls(corpus=corpus, variants=variants, seeds=seeds, budget=Budget(**budget),
                   **{k: d[k] for k in ("preset", "run", "grid", "random", "temperatures", "temperature_samples",
                                        "name") if k in d})
        _coerce_text(spec)
        spec.check()
        return spec

    def check(self) -> None:
        self.budget.check()
        if self.preset not in (*PRESETS, "auto"):
            raise SpecError(f"preset={self.preset!r}: choose one of {[*PRESETS, 'auto']}")
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w.-]{1,64}", self.name):
            raise SpecError(f"name={self.name!r}: letters, digits, '.', '-', '_' only (at most 64)")
        for v, fixed in self.variants.items():
            if v not in VARIANTS:
                raise SpecError(f"unknown variant {v!r}; choose from {sorted(VARIANTS)}")
            if not isinstance(fixed, dict):
                raise SpecError(f"variants.{v}: settings must be a mapping")
        if not isinstance(self.run, dict):
            raise SpecError("run: must be a mapping of RunConfig fields")
        if not isinstance(self.grid, dict):
            raise SpecError("grid: must be a mapping setting -> list of values")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise SpecError(f"grid.{key} is empty: give at least one value (a list)")
        self._check_random()
        if not isinstance(self.temperatures, list) or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t <= 100 for t in self.temperatures):
            raise SpecError("temperatures: a list of numbers in (0, 100] ([] skips the end-of-trial sweep)")
        if not _is_int(self.temperature_samples) or not 2 <= self.temperature_samples <= 100_000:
            raise SpecError(f"temperature_samples={self.temperature_samples!r} must be an integer in 2..100000")
        self.trials()  # resolves every setting against every variant and RunConfig.check()s each trial

    def _check_random(self) -> None:
        r = self.random
        if not r:
            return
        if not isinstance(r, dict) or set(r) - {"samples", "seed", "settings"}:
            raise SpecError("random: give {\"samples\": n, \"seed\": s, \"settings\": {name: choices}}")
        if not _is_int(r.get("samples")) or not 1 <= r["samples"] <= MAX_TRIALS:
            raise SpecError(f"random.samples={r.get('samples')!r} must be an integer of at least 1")
        settings = r.get("settings")
        if not isinstance(settings, dict) or not settings:
            raise SpecError("random.settings is empty: name at least one setting and its choices")
        for key, dist in settings.items():
            _draw(key, dist, random.Random(0))  # raises on a malformed distribution
        overlap = sorted(set(settings) & set(self.grid))
        if overlap:
            raise SpecError(f"{overlap} are both in grid and random; put each setting in one")

    @property
    def resolved_preset(self) -> str:
        """`auto`: the demo settings on `modes` (tuned for it), the papers' elsewhere (as `textgan train`)."""
        if self.preset != "auto":
            return self.preset
        return "demo" if self.corpus.get("kind") == "modes" else "paper"

    def combinations(self) -> list[dict[str, Any]]:
        """The swept settings: the grid's product, times the random draws (same draws for every variant)."""
        keys = sorted(self.grid)
        combos = [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]
        if self.random:
            rng = random.Random(self.random.get("seed", 0))
            draws = [{k: _draw(k, d, rng) for k, d in sorted(self.random["settings"].items())}
                     for _ in range(self.random["samples"])]
            combos = [{**c, **r} for c in combos for r in draws]
        return combos

    def trials(self) -> list["Trial"]:
        """Every trial, in a stable order (variant, settings, seed), each with a checked RunConfig."""
        combos = self.combinations()
        n = len(self.variants) * len(combos) * len(self.seeds)
        if n > MAX_TRIALS:
            raise SpecError(f"{n} trials is more than {MAX_TRIALS}; shrink the grid, the draws or the seeds")
        trials, names = [], set()
        for variant in self.variants:
            for combo in combos:
                for seed in self.seeds:
                    trial = self.trial_for(variant, combo, seed)
                    if trial.name in names:
                        raise SpecError(f"two trials would be named {trial.name!r}; make the swept values distinct")
                    names.add(trial.name)
                    trials.append(trial)
        return trials

    def trial_for(self, variant: str, combo: dict[str, Any], seed: int) -> "Trial":
        """One trial: `variant` at `seed` with the swept settings `combo` (a search algorithm's suggestion too),
        its RunConfig built and checked."""
        cfg = preset_config(self.resolved_preset, variant).to_dict()
        cfg.update(corpus=dict(self.corpus), seed=seed, out=None)  # first: a setting may be `corpus.X`
        for key, value in {**self.run, **self.variants[variant], **combo}.items():
            _apply(cfg, variant, key, value)
        try:
            RunConfig.from_dict(cfg)
        except (ValueError, TypeError) as e:
            raise SpecError(f"{variant} {combo or ''}: {e}") from None
        return Trial(name=_trial_name(variant, combo, seed), variant=variant, seed=seed, settings=dict(combo),
                     config=cfg)


def _float_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _coerce_text(spec: SweepSpec) -> None:
    """Settings given as text (the CLI's --set/--grid/--corpus-set, a YAML string) become their field's type
    through the one router, so trial names and results hold 0.001, not "1e-3", and "false" is False."""

    def typed(key: str, value: Any) -> Any:
        if not isinstance(value, str) or not isinstance(key, str):
            return value
        for variant in spec.variants:
            if variant not in VARIANTS:
                break
            cfg = {**preset_config(spec.resolved_preset, variant).to_dict(), "corpus": dict(spec.corpus)}
            try:
                return parse_setting(cfg, key, value)[2]
            except ValueError:
                continue
        return value  # trials() refuses it with the router's message

    spec.corpus = {k: v if k == "kind" else typed(f"corpus.{k}", v) for k, v in spec.corpus.items()}
    if isinstance(spec.temperatures, list):  # "0.7" is 0.7; "abc" is left for check()'s message
        spec.temperatures = [_float_or_text(t) for t in spec.temperatures]
    if isinstance(spec.run, dict):
        spec.run = {k: typed(k, v) for k, v in spec.run.items()}
    if isinstance(spec.grid, dict):
        spec.grid = {k: [typed(k, v) for v in vs] if isinstance(vs, list) else vs for k, vs in spec.grid.items()}
    settings = spec.random.get("settings") if isinstance(spec.random, dict) else None
    if isinstance(settings, dict):
        for k, dist in settings.items():
            if isinstance(dist, list):
                settings[k] = [typed(k, v) for v in dist]


def _apply(cfg: dict[str, Any], variant: str, key: str, value: Any) -> None:
    """Set one setting in a RunConfig dict through the one settings router (text is coerced to the field's type;
    the same names, values and refusals as the CLI's --set and the app's form)."""
    if not isinstance(key, str):
        raise SpecError(f"setting names are strings, got {key!r}")
    if key in OWN_OPTION_FIELDS:
        raise SpecError(f"{key!r} is set by the sweep itself (use the spec's corpus / variants / seeds fields)")
    try:
        apply_setting(cfg, key, value)
    except ValueError as e:
        raise SpecError(str(e)) from None


def _draw(key: str, dist: Any, rng: random.Random) -> Any:
    """One random value: a list of choices, {"uniform": [lo, hi]}, {"loguniform": [lo, hi]} or {"randint": [lo, hi]}."""
    if isinstance(dist, list):
        if not dist:
            raise SpecError(f"random.settings.{key} is empty: give at least one choice")
        return dist[rng.randrange(len(dist))]
    if isinstance(dist, dict) and len(dist) == 1:
        (kind, bounds), = dist.items()
        numbers = isinstance(bounds, list) and all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                                   for b in bounds)
        ok = numbers and len(bounds) == 2 and bounds[0] < bounds[1]
        if kind in ("uniform", "loguniform", "randint") and ok and (kind != "loguniform" or bounds[0] > 0):
            lo, hi = bounds
            if kind == "uniform":
                return rng.uniform(lo, hi)
            if kind == "loguniform":
                return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            return rng.randint(int(lo), int(hi))
    raise SpecError(f"random.settings.{key}={dist!r}: give a list of choices or {{uniform|loguniform|randint: "
                    "[low, high]}} with low < high (low > 0 for loguniform)")


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def _trial_name(variant: str, settings: dict[str, Any], seed: int) -> str:
    parts = [variant] + [f"{k}={_fmt(v)}" for k, v in sorted(settings.items())] + [f"s{seed}"]
    return re.sub(r"[^\w.=+-]+", "_", "-".join(parts))[:120]


def load_spec(path: str | Path) -> dict[str, Any]:
    """A spec file, JSON or YAML (by suffix), bounded in size; returns the raw mapping for `SweepSpec.from_dict`."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec file {p} does not exist")
    if p.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError(f"spec file {p} is over {MAX_SPEC_BYTES:,} bytes")
    text = p.read_text(encoding="utf-8")
    is_yaml = p.suffix.lower() in (".yaml", ".yml")
    if is_yaml and yaml is None:
        raise SpecError(f"spec file {p} is YAML, which needs PyYAML: pip install pyyaml (or write it as JSON)")
    try:
        return yaml.safe_load(text) if is_yaml else json.loads(text)
    except Exception as e:  # yaml and json raise their own error types
        raise SpecError(f"spec file {p} cannot be parsed: {str(e).splitlines()[0]}") from None


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
