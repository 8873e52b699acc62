"""Search algorithms on Ray Tune: instead of the spec's grid or random draws, a searcher proposes each trial's
settings from the results so far (`--search optuna --samples N`: Tune's `OptunaSearch`, TPE by default).

The search space is the spec's `random.settings` (the same distributions: a list of choices, uniform, loguniform,
randint with both ends included), for one variant at its first seed: a search compares settings, and a seed is
not a setting. Each proposal becomes a full Trial through `SweepSpec.trial_for`, so it is checked like every
other trial, and its directory and name carry Tune's trial id (proposals may round to the same label).
"""

from __future__ import annotations

from typing import Any

from .spec import SpecError, SweepSpec, Trial

SEARCHERS = ("optuna",)
INSTALL = 'pip install optuna  (or: pip install "textgan[search]")'


def parse_metric(metric: str) -> tuple[str, str]:
    """`METRIC:min|max` as (eval/METRIC, mode); a one-line error otherwise."""
    name, _, mode = str(metric).partition(":")
    if not name.strip() or mode not in ("min", "max"):
        raise SpecError(f"--metric {metric!r}: give METRIC:min or METRIC:max, e.g. eval/nll_gen:min")
    return (name if name.startswith("eval/") else f"eval/{name}"), mode


def check_search(kind: str, spec: SweepSpec, samples: int, metric: str = "eval/nll_gen:min") -> None:
    """One-line errors before Ray starts: the searcher, its metric, its space and the spec's shape."""
    parse_metric(metric)
    if kind not in SEARCHERS:
        raise SpecError(f"--search {kind!r}: choose one of {SEARCHERS}")
    if not isinstance(samples, int) or not 1 <= samples <= 10_000:
        raise SpecError(f"--samples {samples!r}: the number of trials the search runs, 1..10000")
    if len(spec.variants) != 1:
        raise SpecError(f"--search tunes one variant's settings; the spec has {sorted(spec.variants)}")
    if spec.grid or not (spec.random or {}).get("settings"):
        raise SpecError("--search needs the search space as the spec's random.settings (e.g. {lr_gen: "
                        "{loguniform: [1e-4, 1e-2]}}) and no grid")


def search_space(spec: SweepSpec) -> dict[str, Any]:
    """The spec's random.settings as Tune distributions."""
    from ray import tune

    space = {}
    for key, dist in spec.random["settings"].items():
        if isinstance(dist, list):
            space[key] = tune.choice(dist)
            continue
        (kind, (lo, hi)), = dist.items()
        space[key] = {"uniform": tune.uniform, "loguniform": tune.loguniform}[kind](lo, hi) if kind != "randint" \
            else tune.randint(int(lo), int(hi) + 1)  # Tune's upper end is exclusive, the spec's inclusive
    return space


def searcher(kind: str, spec: SweepSpec, metric: str, mode: str):
    """Tune's search algorithm for `kind`, seeded from the spec's random.seed."""
    try:
        from ray.tune.search.optuna import OptunaSearch
        import optuna

        sampler = optuna.samplers.TPESampler(seed=int(spec.random.get("seed", 0)))
    except ImportError as e:
        raise RuntimeError(f"--search optuna needs Optuna ({e}); install it with: {INSTALL}") from None
    return OptunaSearch(metric=metric, mode=mode, sampler=sampler)


def param_space(spec: SweepSpec, options: dict[str, Any]) -> dict[str, Any]:
    variant = next(iter(spec.variants))
    return {"search": search_space(spec), "variant": variant, "seed": spec.seeds[0], "spec": spec.to_dict(),
            "options": options}


def trial_of(config: dict[str, Any], trial_id: str) -> Trial:
    """The Trial a searcher's proposal stands for, named after Tune's trial id."""
    spec = SweepSpec.from_dict(config["spec"])
    t = spec.trial_for(config["variant"], dict(config["search"]), int(config["seed"]))
    return Trial(name=trial_name(config["variant"], trial_id), variant=t.variant, seed=t.seed, settings=t.settings,
                 config=t.config)


def trial_name(variant: str, trial_id: str) -> str:
    return f"{variant}-{trial_id}"
