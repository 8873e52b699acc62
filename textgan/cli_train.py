"""`python -m textgan train`: a new run from a preset, the flags and KEY=VALUE settings, or a saved run resumed.

Imports of the engine happen inside the functions, so `--help` stays fast. Settings typed after `--set`, `--gen-set`, `--critic-set` and `--corpus-set` go through the same router and text
coercion as the app's form, its links and a sweep (`textgan.config`), so each surface reads "false" or
`generator.hidden=48` the same way and refuses the same values with the same message.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any


def corpus_spec(args: argparse.Namespace) -> dict[str, Any]:
    """--corpus modes | oracle | coco | hub:OWNER/NAME[:FILE] | PATH plus its options -> a corpus spec dict."""
    if args.corpus == "modes":
        spec: dict[str, Any] = {"kind": "modes", "k": args.k, "weights": args.weights}
    elif args.corpus == "oracle":
        spec = {"kind": "oracle"}
    elif args.corpus == "coco" or args.corpus.startswith("hub:"):
        from .corpora.hub import parse_hub_corpus

        spec = {"kind": "coco"} if args.corpus == "coco" else parse_hub_corpus(args.corpus)
        if args.level != "word":
            spec["level"] = args.level
        if args.test_file and spec["kind"] == "hub":
            spec["test_file"] = args.test_file  # a file of the same dataset repo
        elif args.test_file:
            raise ValueError("--test-file does not apply to --corpus coco (it ships its test split)")
        if args.max_len:
            spec["max_len"] = args.max_len
        if args.vocab_cap:
            spec["vocab_cap"] = args.vocab_cap
    else:
        spec = {"kind": "text", "path": args.corpus, "level": args.level}
        if args.test_file:
            spec["test_path"] = args.test_file
        if args.max_len:
            spec["max_len"] = args.max_len
        if args.vocab_cap:
            spec["vocab_cap"] = args.vocab_cap
    return spec


def cmd_train(args: argparse.Namespace) -> int:
    from .device import describe_device, keep_freed_pages
    from .run import Run, RunConfig

    keep_freed_pages()  # one run per process: reuse freed big blocks instead of page-faulting them in again
    scenario = None
    if args.scenario:
        from .lab.scenarios import get_scenario

        scenario = get_scenario(args.scenario)
        _check_scenario_flags(args, scenario)
        args.variant = scenario.variant
    steps = args.steps if args.steps is not None else (scenario.steps if scenario else 2000)
    at_least(steps, 0, "--steps")
    variant = args.variant or "wgan-gp"
    out = Path(args.out or (f"checkpoints/{args.scenario}" if scenario else
                            f"checkpoints/{variant}-{Path((args.corpus or 'modes').replace(':', '-')).stem}"))
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a run directory: choose a folder (new or a run's) instead")
    if args.resume:
        run = _resume(args, out)
    else:
        args.corpus = args.corpus or "modes"
        args.variant = variant
        args.batch_size = 64 if args.batch_size is None else args.batch_size
        if out.exists() and any(out.iterdir()):
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if scenario is not None and not args.resume:  # the lesson's own settings; seed, device and cadence from the flags
        run = Run(scenario.config(seed=args.seed, device=args.device, log_every=args.log_every,
                                  sample_every=args.sample_every, save_every=args.save_every, out=str(out),
                                  **({} if args.eval_every is None else {"eval_every": args.eval_every})))
    elif not args.resume:
        run = Run(RunConfig.from_dict(new_run_config(args, out)))
    info = run.corpus.describe()
    corpus_name = run.config.corpus.get("kind", info["name"])
    print(f"{run.variant.name} on {corpus_name} (vocab {info['vocab_size']}, length {info['seq_len']}, "
          f"{info['n_train']} train) on {describe_device(run.device)}", file=sys.stderr)
    if info.get("truncated_lines"):
        print(f"note: {info['truncated_lines']} lines were longer than max_len and were truncated", file=sys.stderr)
    start = run.step
    from .trackers import open_trackers, parse_trackers

    kinds = parse_trackers(args.log_to)
    log_dir = Path(args.log_dir) if args.log_dir else out.parent / "tensorboard"
    with open_trackers(kinds, name=out.name, config=run.config.to_dict(), log_dir=log_dir) as trackers:
        lesson = scenario if scenario is not None and not args.resume else None
        failed = _train_loop(run, steps, start, trackers, args.quiet, lesson)
    if failed:
        print(f"error: {failed}. The last good checkpoint (if any) in {out} is kept.", file=sys.stderr)
        return 1
    if lesson is not None:
        lesson.stop_rule(steps)(run)  # its last step evaluated (a no-op where it stopped at its moment)
    path = run.save(out)
    if lesson is not None:
        print(f"lesson {lesson.key}: {lesson.outcome(run).story()}", file=sys.stderr)
    print(path)
    return 0


def at_least(value: int, low: int, flag: str) -> None:
    """Refuse a count below `low` (argparse takes any int): one line naming the flag, exit 2."""
    if value < low:
        raise ValueError(f"{flag} {value} must be at least {low}")


def _train_loop(run, steps: int, start: int, trackers, quiet: bool, scenario=None) -> str | None:
    """`train`'s progress bar over the run's events, each also given to the trackers; returns a failure or None.
    A lesson (`scenario`) stops at its moment."""
    from tqdm import tqdm

    from .events import Failed, Metrics, Saved, Scalars

    failed = None
    bar = tqdm(total=steps, unit="step", disable=quiet, file=sys.stderr)
    try:
        for event in run.steps(steps):
            trackers.log(event)
            if isinstance(event, Scalars):
                bar.set_postfix({k.removeprefix("loss/"): f"{v:.3g}" for k, v in event.values.items()
                                 if k.startswith(("loss", "wasserstein"))}, refresh=False)
            elif isinstance(event, Metrics):
                bar.write(f"step {event.step}: " + ", ".join(f"{k.removeprefix('eval/')}={v:.4g}"
                                                             for k, v in event.values.items()), file=sys.stderr)
                if scenario is not None and scenario.should_stop(run.history):
                    bar.update(run.step - start - bar.n)
                    break  # the lesson's moment: it stops there (see Scenario.stop_at_moment)
            elif isinstance(event, Saved):
                bar.write(f"saved {event.path}", file=sys.stderr)
            elif isinstance(event, Failed):
                failed = event.message
            bar.update(run.step - start - bar.n)
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {run.step}; saving", file=sys.stderr)
    bar.close()
    return failed


SCENARIO_FIXES = ("corpus", "preset", "set", "generator", "gen_set", "critic", "critic_set", "batch_size")
"""Flags a --scenario run takes from its lesson: giving one is refused rather than silently ignored."""


def _check_scenario_flags(args: argparse.Namespace, scenario) -> None:
    """Refuse flags that contradict the lesson (`--scenario collapse --variant mle` would otherwise train gan)."""
    if args.variant and args.variant != scenario.variant:
        raise ValueError(f"--scenario {scenario.key} trains {scenario.variant}, not --variant {args.variant}: drop "
                         "--variant, or train that variant without --scenario")
    given = [f"--{name.replace('_', '-')}" for name in SCENARIO_FIXES
             if getattr(args, name, None) not in (None, [], "auto")]
    if given and not args.resume:
        raise ValueError(f"--scenario {scenario.key} sets the corpus, variant, nets and settings itself; drop "
                         f"{', '.join(given)} (or train without --scenario)")


NAMED_CORPORA = ("modes", "oracle", "coco")
"""`--corpus` values that name a built-in corpus rather than a text file."""
RESUME_FIXED: dict[str, tuple[str, Any]] = {
    "generator": ("--generator", None), "critic": ("--critic", None), "gen_set": ("--gen-set", []),
    "critic_set": ("--critic-set", []), "corpus_set": ("--corpus-set", []), "preset": ("--preset", "auto"),
    "seed": ("--seed", 0), "k": ("--k", 8), "weights": ("--weights", "uniform"), "level": ("--level", "word"),
    "max_len": ("--max-len", None), "vocab_cap": ("--vocab-cap", None)}
"""Train options that define a run, with their defaults (the parser's): a resumed run keeps its own."""


def _resume(args: argparse.Namespace, out: Path):
    """Continue the run in `out`. What a run is made of (variant, nets, corpus, seed) cannot change; variant
    settings (--set) and the batch size are applied explicitly, as the app's live edits are, and reported."""
    from .config import split_pairs
    from .corpora.hub import parse_hub_corpus
    from .run import Run
    from .rundir import validate_run_dir

    changed = [flag for name, (flag, default) in RESUME_FIXED.items() if getattr(args, name) != default]
    if changed:
        raise ValueError(f"{', '.join(changed)} cannot change when resuming: they define the run; start a new run "
                         "with another --out instead")
    named = args.corpus in NAMED_CORPORA or (args.corpus or "").startswith("hub:")
    if named:  # checked on the saved spec, before the corpus is built
        trained_on = validate_run_dir(out)["run"]["corpus"]
        wanted = parse_hub_corpus(args.corpus) if args.corpus.startswith("hub:") else {"kind": args.corpus}
        if any(trained_on.get(key) != value for key, value in wanted.items()):
            raise ValueError(f"{out} was trained on the {trained_on.get('kind')!r} corpus, not {args.corpus!r}")
    text_file = args.corpus if args.corpus is not None and not named else None
    run = Run.load(out, device=args.device, text_file=text_file, test_file=args.test_file)
    if args.variant and args.variant != run.variant.name:
        raise ValueError(f"{out} is a {run.variant.name!r} run: --variant {args.variant} cannot resume it (start a "
                         "new run with another --out)")
    print(f"resuming {out} at step {run.step}", file=sys.stderr)
    for note in run.notes:
        print(f"note: {note}", file=sys.stderr)
    applied = _resume_changes(run, split_pairs(args.set))
    if args.batch_size is not None and args.batch_size != run.config.batch_size:
        n_train = run.corpus.train.shape[0]
        if not 1 <= args.batch_size <= max(n_train, 1):
            raise ValueError(f"--batch-size {args.batch_size} must be in 1..{n_train}")
        run.config.batch_size = args.batch_size
        applied["batch_size"] = args.batch_size
    for name in ("log_every", "sample_every", "eval_every", "save_every"):
        run.config.__setattr__(name, getattr(args, name))
    if applied:
        print("applied on resume: " + ", ".join(f"{k}={v}" for k, v in applied.items()), file=sys.stderr)
    return run


def _resume_changes(run, pairs: dict[str, str]) -> dict[str, Any]:
    """Apply `--set` on resume: variant settings only (through the one router, as the app's live edits)."""
    from .config import parse_setting

    config = run.config.to_dict()
    changes = {}
    for key, raw in pairs.items():
        section, name, value = parse_setting(config, key, raw)
        if section != "variant_config":
            raise ValueError(f"--set {key} cannot change when resuming: only the variant's settings can "
                             f"({', '.join(f.name for f in dataclasses.fields(run.variant.cfg))})")
        changes[name] = value
    if changes:
        run.variant.update(**changes)  # refuses unknown settings and absurd values, like the app's live edits
    return changes


def new_run_config(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The RunConfig (as a dict) of a new run: the preset, the flags, then each KEY=VALUE of --corpus-set,
    --gen-set, --critic-set and --set through the one settings router (`textgan.config.apply_setting`)."""
    from .config import OWN_OPTION_FIELDS, apply_settings, split_pairs
    from .presets import preset_config

    preset = args.preset if args.preset != "auto" else ("demo" if args.corpus == "modes" else "paper")
    config = preset_config(preset, args.variant).to_dict()
    config.update(corpus=corpus_spec(args), batch_size=args.batch_size, seed=args.seed, device=args.device,
                  log_every=args.log_every, sample_every=args.sample_every,
                  eval_every=500 if args.eval_every is None else args.eval_every,
                  save_every=args.save_every, out=str(out))
    if args.generator:
        config["generator"] = {"kind": args.generator}
    if args.critic:
        config["critic"] = {"kind": args.critic}
    for flag, prefix in (("corpus_set", "corpus."), ("gen_set", "generator."), ("critic_set", "critic."), ("set", "")):
        pairs = split_pairs(getattr(args, flag), prefix, "--" + flag.replace("_", "-"))
        apply_settings(config, pairs, fixed=OWN_OPTION_FIELDS)
    return config
