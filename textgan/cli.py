"""`python -m textgan` (or `textgan`): train | sample | eval | list-variants | push | pull | sweep | report.

The CLI is one consumer of the run's event stream: a progress bar for Scalars, lines for Metrics and Failed.
Bad input ends with one readable line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .cli_train import at_least as _at_least
from .cli_train import cmd_train

EXIT_BAD_INPUT = 2


def cmd_sample(args: argparse.Namespace) -> int:
    from .run import Run

    _at_least(args.n, 1, "-n")

    run = Run.load(args.run_dir, device=args.device)
    for text in run.sample_texts(args.n, seed=args.seed, temperature=args.temperature):
        print(text)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .run import Run

    _at_least(args.n, 1, "-n")

    run = Run.load(args.run_dir, device=args.device)
    values = run.evaluate(args.n, seed=args.seed, temperature=args.temperature)
    width = max(len(k) for k in values)
    for k, v in values.items():
        print(f"{k.removeprefix('eval/'):<{width}}  {v:.6g}")
    return 0


def cmd_list_variants(args: argparse.Namespace) -> int:
    from .variants import VARIANTS

    for name, cls in VARIANTS.items():
        defaults = {f.name: getattr(cls.Config(), f.name) for f in dataclasses.fields(cls.Config)}
        nets = f"generator {cls.default_generator['kind']}"
        if cls.needs_critic:
            nets += f", critic {cls.default_critic['kind']}"
        print(f"{name:<10} {cls.summary}\n{'':<10} {cls.paper}\n{'':<10} {nets}; "
              + ", ".join(f"{k}={v}" for k, v in defaults.items()))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from . import hub

    print(hub.push(args.run_dir, args.repo_id, token=args.token, private=args.private))
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from . import hub

    print(hub.pull(args.repo_id, revision=args.revision, token=args.token, out=args.out))
    return 0


def _sweep_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep's spec mapping: the --spec file, with any flags given on top of it."""
    from .config import split_pairs
    from .corpora import KINDS
    from .experiments import load_spec

    spec: dict[str, Any] = load_spec(args.spec) if args.spec else {}
    if not isinstance(spec, dict):
        raise ValueError(f"spec file {args.spec} must hold a mapping")
    if args.corpus:
        kind = args.corpus if args.corpus in KINDS and args.corpus != "text" else None
        spec["corpus"] = {"kind": kind} if kind else {"kind": "text", "path": args.corpus}
        spec["corpus"].update(split_pairs(args.corpus_set, flag="--corpus-set"))
    elif args.corpus_set:
        spec["corpus"] = {**spec.get("corpus", {"kind": "modes"}), **split_pairs(args.corpus_set, flag="--corpus-set")}
    spec.setdefault("corpus", {"kind": "modes"})
    if args.variants:
        spec["variants"] = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.seeds is not None:
        spec["seeds"] = args.seeds
    if args.steps is not None or args.seconds is not None:
        spec["budget"] = {k: v for k, v in (("steps", args.steps), ("seconds", args.seconds)) if v is not None}
    if args.evals is not None:
        spec.setdefault("budget", {})["evals"] = args.evals
    if args.set:
        spec["run"] = {**spec.get("run", {}), **split_pairs(args.set)}  # text: the spec coerces it
    for pair in args.grid:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--grid expects KEY=V1,V2,..., got {pair!r}")
        spec.setdefault("grid", {})[key] = [v for v in raw.split(",") if v]  # text: the spec coerces it
    if args.preset:
        spec["preset"] = args.preset
    if args.temperatures is not None:
        spec["temperatures"] = [t for t in args.temperatures.split(",") if t.strip()]  # text: the spec coerces it
    if args.temperature_samples is not None:
        spec["temperature_samples"] = args.temperature_samples
    if args.name:
        spec["name"] = args.name
    spec.setdefault("variants", ["mle"])
    spec.setdefault("budget", {"steps": 500})
    return spec


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments import SweepSpec

    if args.resume:
        spec_file = Path(args.resume) / "spec.json"
        if not spec_file.is_file():
            raise ValueError(f"{args.resume} is not an experiment directory (no spec.json) to resume")
        spec = SweepSpec.from_dict(json.loads(spec_file.read_text(encoding="utf-8")))
        out = Path(args.resume)
    else:
        spec = SweepSpec.from_dict(_sweep_spec(args))
        out = Path(args.out or f"experiments/{spec.name}")
    n = len(spec.trials())
    images = not args.no_images
    from .experiments.ray_tune import RAY_ONLY, TUNE_DIR, TUNE_NAME, check_options
    from .trackers import parse_trackers

    log_to = parse_trackers(args.log_to)
    local = args.backend == "local" or (args.resume and not (out / TUNE_DIR / TUNE_NAME).is_dir())
    check_options(local=local, **{k: getattr(args, k) for k in (*RAY_ONLY, "cpus_per_trial", "max_failures")})
    if args.search:
        from .experiments.search import check_search

        if local:
            raise ValueError("--search runs on Ray Tune (--backend ray)")
        args.samples = 8 if args.samples is None else args.samples
        args.metric = args.metric or "eval/nll_gen:min"
        check_search(args.search, spec, args.samples, args.metric)
        n = args.samples
    elif args.metric is not None or args.samples is not None:
        raise ValueError("--metric and --samples only apply with --search (the searcher's objective and trials)")
    if local:  # (a resumed sweep keeps the backend it ran on)
        from .experiments.local import SweepInterrupted, run_in_process

        if not args.resume and out.exists() and any(out.iterdir()):
            raise ValueError(f"{out} already holds an experiment; pass --resume {out} to continue it or choose "
                             "another --out")
        print(f"{n} trials in this process -> {out}" + (" (resuming)" if args.resume else ""), file=sys.stderr)

        def line(trial, report):
            if report.final:
                print(f"{trial.name}: {report.status} at step {report.row['step']} "
                      f"({report.row['wall_time']:.0f}s) {report.message}", file=sys.stderr)

        try:
            outcomes = run_in_process(spec, out, device=args.device, threads=max(1, int(args.cpus_per_trial)),
                                      on_report=line, resume=bool(args.resume), images=images, log_to=log_to)
        except SweepInterrupted as e:
            done = sum(o.status == "done" for o in e.outcomes)
            print(f"interrupted: {done}/{len(e.outcomes)} trials done; tables and report written to {out}; "
                  f"continue with: python -m textgan sweep --resume {out}", file=sys.stderr)
            return 130
    else:
        from .experiments import run_on_ray

        where = f"the Ray cluster at {args.address}" if args.address else "a local Ray"
        print(f"{n} trials on {where} -> {out}" + (" (resuming)" if args.resume else ""), file=sys.stderr)
        outcomes = run_on_ray(spec, out, address=args.address, cpus_per_trial=args.cpus_per_trial,
                              gpus_per_trial=args.gpus_per_trial, max_failures=args.max_failures, asha=args.asha,
                              resume=bool(args.resume), device=args.device, num_cpus=args.num_cpus,
                              concurrent=args.concurrent, images=images, log_to=log_to, search=args.search,
                              samples=args.samples or 8, metric=args.metric or "eval/nll_gen:min")
    failed = [o for o in outcomes if o.status == "failed"]
    early = [o for o in outcomes if o.status == "stopped" and o.early_stopped]
    stopped = [o for o in outcomes if o.status == "stopped" and not o.early_stopped]
    print(f"{sum(o.status == 'done' for o in outcomes)}/{len(outcomes)} trials done"
          + (f", {len(early)} stopped early by ASHA" if early else "")
          + (f", {len(stopped)} stopped before their budget (continue with --resume {out})" if stopped else "")
          + f"; report: {out / 'report.html'}", file=sys.stderr)
    for o in failed:
        print(f"failed: {o.trial.name}: {o.message}", file=sys.stderr)
    print(out)
    return 1 if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .experiments import write_report

    print(write_report(args.exp_dir, images=not args.no_images))
    return 0


THREADS_HELP = ("torch CPU threads (default: $TEXTGAN_TORCH_THREADS, else 1, as the app; 0 = torch's choice). One "
                "thread is fastest for the small nets on shared cores: see bench/RESULTS.md")


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-parser per command, each built by its own function below."""
    p = argparse.ArgumentParser(prog="textgan", description="TextGAN Lab: train, sample, evaluate and share text GANs.")
    sub = p.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_run_dir_commands(sub)
    _add_sweep(sub)
    _add_other(sub)
    return p


def _add_train(sub) -> None:
    t = sub.add_parser("train", help="train a variant on a corpus and save the run directory")
    t.add_argument("--corpus",
                   help="modes (default) | oracle | coco (COCO captions, shipped) | hub:OWNER/NAME[:FILE] (a text file "
                        "of a Hub dataset repo; FILE defaults to train.txt) | PATH to a text file (one sentence per "
                        "line); with --resume, the corpus (or text file) the run was trained on")
    t.add_argument("--k", type=int, default=8, help="modes: number of modes (2-64)")
    t.add_argument("--weights", default="uniform", help="modes: uniform | skewed")
    t.add_argument("--test-file", help="text: a separate test file (default: 10%% split); hub: a file of the same repo")
    t.add_argument("--level", default="word", choices=["word", "char", "bpe"], help="text: tokenization")
    t.add_argument("--max-len", type=int, help="text: truncate longer lines (reported)")
    t.add_argument("--vocab-cap", type=int, help="text: keep the most frequent tokens, others become <unk>")
    t.add_argument("--corpus-set", action="append", default=[], metavar="KEY=VALUE",
                   help="other corpus settings, e.g. vocab_from=train+test (default train, the published "
                        "convention) or tokenize=whitespace (coco: treebank; files: regex)")
    t.add_argument("--variant", help="see list-variants (default wgan-gp); with --resume it must be the run's")
    t.add_argument("--preset", default="auto", choices=["auto", "paper", "demo"],
                   help="paper: published hyperparameters; demo: tuned to learn `modes` in a minute on a CPU; "
                        "auto (default): demo on `modes`, paper elsewhere")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="variant setting, e.g. lr_gen=1e-3 (with --resume: applied to the continued run)")
    t.add_argument("--generator", help="generator kind (lstm, gru, conv, relational, attention, gpt2, leakgan, "
                                       "mixture); default: the variant's")
    t.add_argument("--gen-set", action="append", default=[], metavar="KEY=VALUE", help="generator setting, e.g. hidden=128")
    t.add_argument("--critic", help="critic kind (cnn, lstm, conv, multirep); default: the variant's")
    t.add_argument("--critic-set", action="append", default=[], metavar="KEY=VALUE", help="critic setting")
    t.add_argument("--steps", type=int, default=None, help="iterations (default: 2000, or the scenario's)")
    t.add_argument("--scenario", choices=["learn", "collapse", "critic-wins", "gp-fix", "rare-modes"],
                   help="a one-click lesson of the app (its variant, nets and settings on `modes`; "
                        "see textgan/lab/scenarios.py); --seed, --device and the cadence flags still apply")
    t.add_argument("--batch-size", type=int, help="default 64 (with --resume: the run's, unless given)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    t.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    t.add_argument("--out", help="run directory (default: checkpoints/VARIANT-CORPUS)")
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    t.add_argument("--log-to", action="append", default=[], metavar="trackio|tensorboard",
                   help="also log the run to trackio (local project 'textgan') and/or TensorBoard; comma-separated")
    t.add_argument("--log-dir", help="TensorBoard's folder (default: tensorboard/ beside --out); one subfolder per run")
    t.add_argument("--log-every", type=int, default=1)
    t.add_argument("--sample-every", type=int, default=0)
    t.add_argument("--eval-every", type=int, default=None, help="default 500, or 20 with --scenario")
    t.add_argument("--save-every", type=int, default=500)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)


def _add_run_dir_commands(sub) -> None:
    for name, func, help_ in (("sample", cmd_sample, "print samples from a run directory"),
                              ("eval", cmd_eval, "evaluate a run directory on fresh samples")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("run_dir")
        s.add_argument("-n", type=int, default=10 if name == "sample" else 1000)
        s.add_argument("--temperature", type=float, default=1.0)
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--device", default="auto")
        s.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
        s.set_defaults(func=func)

    lv = sub.add_parser("list-variants", help="the training algorithms, their papers and defaults")
    lv.set_defaults(func=cmd_list_variants)

    pu = sub.add_parser("push", help="upload a run directory to the Hugging Face Hub")
    pu.add_argument("run_dir")
    pu.add_argument("repo_id", help="USER/REPO")
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--token", help="default: HF_TOKEN or the huggingface_hub login")
    pu.set_defaults(func=cmd_push)

    pl = sub.add_parser("pull", help="download and validate a run from the Hub into checkpoints/")
    pl.add_argument("repo_id")
    pl.add_argument("--out", help="default: checkpoints/USER--REPO")
    pl.add_argument("--revision")
    pl.add_argument("--token")
    pl.set_defaults(func=cmd_pull)


def _add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="train variants x seeds x settings on Ray Tune (or in this process)",
                        description="Flags or a --spec file (JSON/YAML; flags win). Writes EXP_DIR with the trials' "
                                    "run directories, results.csv, summary.csv, temperature.csv and report.html.")
    sw.add_argument("--spec", help="JSON or YAML spec file (see textgan/experiments/spec.py)")
    sw.add_argument("--corpus", help="modes | oracle | another corpus kind | PATH to a text file (default modes)")
    sw.add_argument("--corpus-set", action="append", default=[], metavar="KEY=VALUE", help="corpus settings")
    sw.add_argument("--variants", help="comma-separated, e.g. mle,seqgan,relgan (default mle)")
    sw.add_argument("--seeds", type=int, help="seeds per variant and setting (default 1)")
    sw.add_argument("--steps", type=int, help="budget: training steps per trial (default 500)")
    sw.add_argument("--seconds", type=float, help="budget: wall-clock seconds per trial (equal time for all)")
    sw.add_argument("--evals", type=int, help="with --seconds: evaluations per trial, equally spaced (default 4)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for every trial (RunConfig field, variant setting, generator.X, critic.X)")
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="sweep a setting over values")
    sw.add_argument("--preset", choices=["auto", "paper", "demo"], help="each variant's starting point (default auto)")
    sw.add_argument("--temperatures", help="end-of-trial temperature sweep, e.g. 0.7,1,1.3 ('' for none)")
    sw.add_argument("--temperature-samples", type=int, help="samples per temperature (default 500)")
    sw.add_argument("--name", help="experiment name (default sweep)")
    sw.add_argument("--out", help="experiment directory (default experiments/NAME)")
    sw.add_argument("--resume", metavar="EXP_DIR",
                    help="continue an interrupted sweep, on the backend it ran on (Ray: Tuner.restore)")
    sw.add_argument("--backend", choices=["ray", "local"], default="ray",
                    help="ray (default): Ray Tune, locally or on --address; local: one trial after another here")
    sw.add_argument("--address", help="join a Ray cluster (ray start --head) instead of starting Ray here")
    sw.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    sw.add_argument("--cpus-per-trial", type=float, default=1)
    sw.add_argument("--gpus-per-trial", type=float, default=0, help="fractions share a GPU, e.g. 0.25")
    sw.add_argument("--concurrent", type=int, help="at most this many trials at once")
    sw.add_argument("--max-failures", type=int, default=2, help="restarts of a trial from its last checkpoint")
    sw.add_argument("--asha", metavar="METRIC:min|max", help="stop weak trials early (ASHA), e.g. nll_gen:min")
    sw.add_argument("--device", default="auto")
    sw.add_argument("--no-images", action="store_true",
                    help="write the report's figures as Plotly JSON, not SVG/PNG (which need kaleido)")
    sw.add_argument("--log-to", action="append", default=[], metavar="trackio|tensorboard",
                    help="also log every trial to trackio (project = the sweep's name) and/or TensorBoard "
                         "(EXP_DIR/tensorboard/); comma-separated or repeated")
    sw.add_argument("--search", choices=["optuna"],
                    help="let Tune's OptunaSearch propose the settings (space: the spec's random.settings; one "
                         "variant)")
    sw.add_argument("--samples", type=int, help="with --search: trials to run (default 8)")
    sw.add_argument("--metric", metavar="METRIC:min|max",
                    help="with --search: what it optimises, at each trial's last report (default eval/nll_gen:min)")
    sw.set_defaults(func=cmd_sweep)


def _add_other(sub) -> None:
    rp = sub.add_parser("report", help="rebuild EXP_DIR/report.html, summary.md/.tex and figures/ from its tables")
    rp.add_argument("exp_dir")
    rp.add_argument("--no-images", action="store_true", help="figures as Plotly JSON, not SVG/PNG")
    rp.set_defaults(func=cmd_report)

    sv = sub.add_parser("serve", help="run the web app (needs the app extra: pip install \"textgan[app]\")")
    sv.add_argument("--host", help="address to listen on (default: GRADIO_SERVER_NAME, else 0.0.0.0)")
    sv.add_argument("--port", type=int, help="port (default: GRADIO_SERVER_PORT, else 7860)")
    sv.set_defaults(func=cmd_serve)

def cmd_serve(args: argparse.Namespace) -> int:
    """The same app as `python app.py`, from an installed package."""
    try:
        from .app.main import serve
    except ImportError as e:
        raise RuntimeError(f"the app needs gradio and plotly ({e}): pip install \"textgan[app]\"") from None
    if args.port is not None and not 1 <= args.port <= 65535:
        raise ValueError(f"--port {args.port} must be in 1..65535")
    serve(host=args.host, port=args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError
    from .corpora import CorpusError

    expected: tuple[type[BaseException], ...] = (CorpusError, CheckpointError, ValueError, FileNotFoundError,
                                                 RuntimeError)
    try:
        from .hub import HubError

        expected += (HubError,)
    except ImportError:
        pass
    try:
        if hasattr(args, "threads"):
            from .device import default_threads, set_threads

            set_threads(default_threads() if args.threads is None else args.threads)
        return args.func(args)
    except expected as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a full disk, a read-only folder: saves are atomic, so the last good checkpoint is kept
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot write{where}: {e.strerror or e}. Anything saved before is kept; free space or "
              "choose a writable --out", file=sys.stderr)
        return EXIT_BAD_INPUT
