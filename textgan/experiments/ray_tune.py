"""The Ray Tune backend: each trial is a function trainable around the shared trial loop.

- Every evaluation is a `tune.report(metrics, checkpoint=...)` whose checkpoint is the run directory
  (`Run.save`), so `FailureConfig(max_failures)` restarts a dead trial from its last evaluation, exactly.
- With no address Ray starts on this machine; `address` joins a cluster started with `ray start --head`, with
  Ray's token authentication when this machine has the cluster's token (~/.ray/auth_token, RAY_AUTH_TOKEN or
  RAY_AUTH_TOKEN_PATH): what Ray itself does for `address="auto"` but not for an explicit address. On a cluster of
  several machines the experiment directory must be on storage every node sees (NFS), as Ray requires of
  `storage_path`.
- `resume` continues an interrupted sweep with `Tuner.restore`: finished trials are not run again.
- Tune's own console table is replaced by one line per finished trial.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..metrics.catalog import CORPUS_METRICS
from .local import options_of
from .report import write_report
from .results import TRIALS_DIR, write_spec, write_tables
from .search import check_search, param_space, parse_metric, searcher, trial_name, trial_of
from .spec import SpecError, SweepSpec, Trial
from .trial import Report, TrialOptions, TrialOutcome, continue_trial, read_trial_file, start_trial

log = logging.getLogger(__name__)
INSTALL = 'pip install "ray[tune]"  (or: pip install "textgan[sweep]")'
TUNE_DIR, TUNE_NAME = "ray", "tune"


def require_ray():
    """Import Ray Tune, or say how to install it."""
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise RuntimeError(f"sweeps on Ray need Ray Tune, which is not installed ({e}); install it with: "
                           f"{INSTALL}; or run the sweep in this process with --backend local") from None
    return ray, tune


def trainable(config: dict[str, Any]) -> None:
    """Ray Tune function trainable: one trial (a grid's, or a searcher's proposal), resumed from Tune's checkpoint
    when it has one."""
    import ray
    from ray import tune

    if "trial" in config:
        trial = Trial.from_dict(config["trial"])
    else:
        trial = trial_of(config, tune.get_context().get_trial_id())
    opts = TrialOptions.from_dict(config["options"])
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            if read_trial_file(Path(d)).get("status") == "done":
                return  # it finished just before an interrupt Tune had not registered yet: nothing to run again
            run, state = start_trial(trial, opts, resume=d)
    else:
        run, state = start_trial(trial, opts)
    node = ray.get_runtime_context().get_node_id()[:12]

    def report(r: Report) -> None:
        metrics = {**r.row, "status": r.status, "message": r.message, "node": node,
                   "attempt": r.state.get("attempt", 1), "restored_from": r.state.get("restored_from") or -1}
        with tempfile.TemporaryDirectory(prefix="textgan-ckpt-") as tmp:
            saved = r.save(Path(tmp) / "run")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(saved)) if saved else None)

    continue_trial(trial, opts, run, state, report)


HEADLINE = tuple(dict.fromkeys(key for keys in CORPUS_METRICS.values() for key in keys))
"""The metrics a trial's progress line names first (every corpus family's headline numbers)."""


def progress_metrics(result: dict[str, Any], limit: int = 160) -> str:
    """A finished trial's evaluation numbers for its one progress line: the headline metrics first, then the
    others by name, cut between whole items at `limit` characters."""
    numbers = {k: v for k, v in result.items() if k.startswith("eval/") and isinstance(v, (int, float))}
    ordered = [k for k in HEADLINE if k in numbers] + sorted(k for k in numbers if k not in HEADLINE)
    line = ""
    for key in ordered:
        item = f"{key.removeprefix('eval/')}={numbers[key]:.3g}"
        if len(line) + len(item) + 2 > limit:
            break
        line = f"{line}, {item}" if line else item
    return line


def _progress_callback(n_trials: int, quiet: bool = False):
    from ray import tune

    class Progress(tune.Callback):
        """One line per trial when it ends (and one per restart), instead of Tune's periodic table."""

        def __init__(self) -> None:
            self.done, self.t0 = 0, time.monotonic()

        def _line(self, text: str) -> None:
            if not quiet:  # (Tune pickles its callbacks with the experiment, so no stream is kept here)
                print(f"[{time.monotonic() - self.t0:6.0f}s] {text}", file=sys.stderr, flush=True)

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.done += 1
            r = trial.last_result or {}
            metrics = progress_metrics(r)
            status = r.get("status", "done")
            if status == "running":  # the trial ended without its final report: ASHA stopped it
                status = "stopped early"
            self._line(f"[{self.done}/{n_trials}] {_dirname(trial)}: {status} at step "
                       f"{r.get('step', '?')} ({r.get('wall_time', 0):.0f}s) {r.get('message') or metrics}")

        def on_trial_error(self, iteration, trials, trial, **info):
            self.done += 1
            self._line(f"[{self.done}/{n_trials}] {_dirname(trial)}: error (retries used up), "
                       f"see {TRIALS_DIR}/ and results.csv")

        def on_trial_recover(self, iteration, trials, trial, **info):
            self._line(f"{_dirname(trial)}: worker lost, restarting from its last checkpoint")

    return Progress()


def run_on_ray(spec: SweepSpec, exp_dir: str | Path, *, address: str | None = None, cpus_per_trial: float = 1,
               gpus_per_trial: float = 0, max_failures: int = 2, asha: str | None = None, resume: bool = False,
               device: str = "auto", num_cpus: int | None = None, concurrent: int | None = None,
               quiet: bool = False, images: bool = False, log_to: tuple[str, ...] = (),
               search: str | None = None, samples: int = 8, metric: str = "eval/nll_gen:min") -> list[TrialOutcome]:
    """Run (or `resume`) a sweep on Ray Tune and write the experiment directory; returns one outcome per trial.
    `search="optuna"`: `samples` trials proposed by Tune's OptunaSearch on `metric` (METRIC:min|max) over the
    spec's random.settings (see search.py), instead of the spec's grid."""
    check_options(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, max_failures=max_failures,
                  asha=asha, num_cpus=num_cpus, concurrent=concurrent)
    ray, tune = require_ray()
    exp = Path(exp_dir).resolve()
    trials = spec.trials()  # every spec error surfaces before Ray starts
    if search:
        check_search(search, spec, samples, metric)
        trials = []  # the searcher proposes them
    scheduler = _asha(asha, spec) if asha else None
    tune_path = exp / TUNE_DIR / TUNE_NAME
    if resume and not tune_path.is_dir():
        raise SpecError(f"nothing to resume in {exp}: it holds no Ray Tune state ({TUNE_DIR}/{TUNE_NAME})")
    if not resume and tune_path.exists():
        raise SpecError(f"{exp} already holds a sweep; pass --resume to continue it or choose another directory")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter is silent at verbose=0
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")  # a failed trial reports no metrics
    write_spec(exp, spec.to_dict())
    if not ray.is_initialized():
        join(ray, address, num_cpus)
    check_resources(ray, cpus_per_trial, gpus_per_trial)
    opts = options_of(spec, device=device, threads=max(1, int(cpus_per_trial)), log_to=log_to, exp_dir=exp)
    fn = tune.with_resources(trainable, {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    if resume:
        tuner = tune.Tuner.restore(str(tune_path), trainable=fn, resume_errored=True)
    else:
        run_config = tune.RunConfig(
            name=TUNE_NAME, storage_path=str(exp / TUNE_DIR), verbose=0,
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[_progress_callback(len(trials) or samples, quiet)])
        # reuse_actors: the next trial runs in the finished one's worker process, which has imported torch and
        # textgan already (measured in bench/RESULTS.md, "Sweeps")
        common = dict(scheduler=scheduler, max_concurrent_trials=concurrent, trial_dirname_creator=_dirname,
                      reuse_actors=True)
        if search:
            name, mode = parse_metric(metric)
            tuner = tune.Tuner(fn, param_space=param_space(spec, opts.to_dict()), run_config=run_config,
                               tune_config=tune.TuneConfig(search_alg=searcher(search, spec, name, mode),
                                                           num_samples=samples, **common))
        else:
            tuner = tune.Tuner(fn, param_space={"trial": tune.grid_search([t.to_dict() for t in trials]),
                                                "options": opts.to_dict()},
                               tune_config=tune.TuneConfig(**common), run_config=run_config)
    grid = _fit_keeping_ctrl_c(tuner)
    outcomes = _outcomes(grid, trials, exp, _terminated(tune, tune_path))
    write_tables(exp, outcomes)
    write_report(exp, images=images)
    return outcomes


RAY_ONLY = ("asha", "address", "concurrent", "num_cpus", "gpus_per_trial")


def check_options(*, local: bool = False, cpus_per_trial: float = 1, gpus_per_trial: float = 0,
                  max_failures: int = 2, asha: str | None = None, address: str | None = None,
                  num_cpus: int | None = None, concurrent: int | None = None) -> None:
    """One-line errors for the backend's flags, before Ray starts or anything is written. The in-process backend
    (`local`) refuses Ray's flags rather than ignoring them (an --asha that stops nothing reads as a result)."""
    if local:
        given = {"asha": asha, "address": address, "concurrent": concurrent, "num_cpus": num_cpus,
                 "gpus_per_trial": gpus_per_trial or None}
        for name in RAY_ONLY:
            if given[name] is not None:
                flag = "--" + name.replace("_", "-")
                raise SpecError(f"{flag} runs on Ray Tune (--backend ray); the in-process backend runs one trial "
                                "after another on --device")
    if not 0 < cpus_per_trial <= 1024 or not 0 <= gpus_per_trial <= 64:
        raise SpecError(f"cpus per trial {cpus_per_trial} must be in (0, 1024] and GPUs per trial {gpus_per_trial} "
                        "in [0, 64] (fractions share a GPU)")
    if not 0 <= max_failures <= 100:
        raise SpecError(f"max_failures={max_failures} must be in 0..100")
    if concurrent is not None and not 1 <= concurrent <= 10_000:
        raise SpecError(f"--concurrent {concurrent}: at most this many trials at once, at least 1")
    if num_cpus is not None and not 1 <= num_cpus <= 4096:
        raise SpecError(f"--num-cpus {num_cpus}: CPUs of the local Ray, 1..4096")
    if asha is not None:
        _asha_metric(asha)


def _asha_metric(asha: str) -> tuple[str, str]:
    metric, _, mode = str(asha).partition(":")
    if not metric.strip() or mode not in ("min", "max"):
        raise SpecError(f"--asha {asha!r}: give METRIC:min or METRIC:max, e.g. eval/nll_gen:min")
    return (metric if metric.startswith("eval/") else f"eval/{metric}"), mode


def _fit_keeping_ctrl_c(tuner):
    """`tuner.fit()`, then the SIGINT handler that was there before: Tune installs its own and leaves it, so a
    later in-process sweep (a notebook, the app) would no longer stop on Ctrl-C."""
    in_main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if in_main else None
    try:
        return tuner.fit()
    finally:
        if in_main and before is not None:
            signal.signal(signal.SIGINT, before)


def _outcomes(grid, trials: list[Trial], exp: Path, terminated: set[str]) -> list[TrialOutcome]:
    """One outcome per planned trial (a grid's: "not started" when Tune never ran it), or per proposal of a
    search, in the order Tune has them."""
    by_name = {t.name: t for t in trials}
    done = {}
    for result in grid:
        config = result.config or {}
        name = Path(result.path).name if result.path else ""
        if "trial" in config:
            name = config["trial"]["name"]
        elif "search" in config:
            by_name[name] = trial_of(config, name.removeprefix(f"{config['variant']}-"))
        if name in by_name:
            done[name] = _outcome(by_name[name], result, exp, early=name in terminated)
    if not trials:
        return list(done.values())
    return [done.get(t.name) or TrialOutcome(t, status="stopped", message="not started") for t in trials]


def _terminated(tune, tune_path: Path) -> set[str]:
    """Names of the trials Tune ended for good (finished, or stopped by the scheduler), read with Tune's own
    `ExperimentAnalysis`; an interrupted trial is not among them (a resume continues it)."""
    try:
        analysis = tune.ExperimentAnalysis(str(tune_path))
    except Exception:  # no experiment state written (nothing ran): nothing ended for good
        return set()
    return {_dirname(t) for t in analysis.trials if t.status == "TERMINATED"}


def join(ray, address: str | None, num_cpus: int | None = None) -> None:
    """Start a local Ray, or join the cluster at `address` with its token authentication when a token is here;
    a cluster that cannot be joined is one line that says what to do, not Ray's traceback."""
    if address and address != "auto":
        try:  # Ray's own rule for address="auto": token mode when RAY_AUTH_MODE is unset and a token exists
            from ray._private.authentication.authentication_token_setup import \
                maybe_enable_token_auth_if_token_available
        except ImportError:  # a Ray without token authentication
            pass
        else:
            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    try:
        with _stderr_held(bool(address)):
            ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                     log_to_driver=False, logging_level="ERROR", configure_logging=True)
    except Exception as e:
        if not address:
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise SpecError(f"cannot join the Ray cluster at {address}: {first}. Is `ray start --head` running there? If "
                        "it uses token authentication (Ray's default when a token exists), copy the head's "
                        "~/.ray/auth_token to this machine, or set RAY_AUTH_TOKEN") from None


@contextlib.contextmanager
def _stderr_held(hold: bool) -> Iterator[None]:
    """While joining a cluster, Ray's C++ client logs every failed try on file descriptor 2 (about 20 lines over its
    20 s of retries, before the one-line error): hold what is written there, and give it back only if the join
    worked (else it goes to the debug log)."""
    if not hold:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        joined = False
        try:
            yield
            joined = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            if joined:
                sys.stderr.write(text)
            elif text:
                log.debug("Ray while joining: %s", text)


def check_resources(ray, cpus_per_trial: float, gpus_per_trial: float) -> None:
    """Refuse, in one line, a per-trial request that no node of the cluster can meet (Tune would wait for it
    forever, silently)."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    best = {k: max((n.get(k, 0) for n in nodes), default=0) for k in ("CPU", "GPU")}
    for key, want, flag in (("GPU", gpus_per_trial, "--gpus-per-trial"), ("CPU", cpus_per_trial, "--cpus-per-trial")):
        if want > best[key]:
            raise SpecError(f"{flag} {want:g} cannot be met: no node of this Ray cluster has more than "
                            f"{best[key]:g} {key}(s) ({len(nodes)} node(s)); lower {flag} or add such a node")


def _dirname(trial) -> str:
    """A Tune trial's directory: the Trial's name (a searcher's proposal: variant and Tune's trial id)."""
    if "trial" in trial.config:
        return trial.config["trial"]["name"]
    return trial_name(trial.config["variant"], trial.trial_id)


def _asha(asha: str, spec: SweepSpec):
    """ASHA on `METRIC:min|max` (e.g. eval/nll_gen:min), rungs counted in evaluations."""
    from ray.tune.schedulers import ASHAScheduler

    metric, mode = _asha_metric(asha)
    b = spec.budget
    evals = b.evals if b.seconds is not None else max(1, b.steps // max(1, _eval_every(spec)))
    return ASHAScheduler(time_attr="training_iteration", metric=metric, mode=mode, max_t=evals + 1,
                         grace_period=1, reduction_factor=2)


def _eval_every(spec: SweepSpec) -> int:
    trials = spec.trials()
    return int(trials[0].config.get("eval_every") or spec.budget.steps)


def _outcome(trial: Trial, result, exp: Path, early: bool = False) -> TrialOutcome:
    """A Tune Result as a TrialOutcome, its last checkpoint copied to exp/trials/<name>/ as the run directory.
    `early`: Tune completed the trial without its final report, i.e. the scheduler (ASHA) stopped it."""
    df = result.metrics_dataframe
    rows = [] if df is None else [{k: v for k, v in r.items() if not _is_nan(v)} for r in df.to_dict("records")]
    last = rows[-1] if rows else {}
    nodes = list(dict.fromkeys(str(r["node"]) for r in rows if r.get("node")))
    outcome = TrialOutcome(trial, rows=rows, status=str(last.get("status", "running")),
                           message=str(last.get("message", "") or ""), node=";".join(nodes),
                           restarts=max((int(r.get("attempt", 1)) for r in rows), default=1) - 1)
    if result.error is not None:
        outcome.status = "failed"
        outcome.message = (str(result.error).strip().splitlines() or [type(result.error).__name__])[-1][:500]
    elif outcome.status == "running" and early:
        outcome.status, outcome.early_stopped = "stopped", True
        outcome.message = f"stopped early by ASHA at step {last.get('step', '?')}"
    elif outcome.status == "running":
        outcome.status = "stopped"
        outcome.message = f"interrupted at step {last.get('step', '?')} (continue with --resume)"
    if result.checkpoint is not None:
        target = exp / TRIALS_DIR / trial.name
        with result.checkpoint.as_directory() as d:
            tmp = target.with_name(f".{target.name}.copy")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(d, tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        outcome.run_dir = target
    return outcome


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v
