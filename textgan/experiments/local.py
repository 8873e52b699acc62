"""The in-process backend: the trials of a sweep one after another in this process, no Ray.

It is what the app uses on a Space (a few CPU cores, no cluster) and the baseline Ray's overhead is measured
against (bench/sweep.py). Same trial loop, same experiment directory, same tables as the Ray backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .results import TRIALS_DIR, write_spec, write_tables
from .spec import SweepSpec, Trial
from .trial import Report, TrialOptions, TrialOutcome, continue_trial, start_trial


def run_trials(trials: list[Trial], opts: TrialOptions, root: str | Path,
               on_report: Callable[[Trial, Report], None] | None = None,
               stop: Callable[[], bool] = lambda: False,
               on_start: Callable[[Trial, object], None] | None = None) -> list[TrialOutcome]:
    """Train each trial in turn into `root/<name>/`, saving its run directory at every evaluation.
    A trial that raises is recorded as failed with its message and the next one starts; `stop()` ends the
    current trial (saved, status "stopped") and skips the rest. `on_start(trial, run)` lets a caller watch the
    live run (the app's progress line reads its step)."""
    root = Path(root)
    outcomes = []
    for trial in trials:
        outcome = TrialOutcome(trial, run_dir=root / trial.name, node="local")
        outcomes.append(outcome)
        if stop():
            outcome.status, outcome.message = "stopped", "not started"
            continue

        def report(r: Report, outcome=outcome, trial=trial) -> None:
            r.save(outcome.run_dir)
            outcome.rows.append(r.row)
            outcome.status, outcome.message = r.status, r.message
            if on_report is not None:
                on_report(trial, r)

        try:
            run, state = start_trial(trial, opts)
            if on_start is not None:
                on_start(trial, run)
            outcome.status = continue_trial(trial, opts, run, state, report, stop)
        except Exception as e:  # one bad trial must not end the sweep: it is recorded with its message
            outcome.status, outcome.message = "failed", f"{type(e).__name__}: {e}"
        if not (outcome.run_dir / "config.json").is_file():
            outcome.run_dir = None
    return outcomes


def run_in_process(spec: SweepSpec, exp_dir: str | Path, device: str = "auto", threads: int | None = 1,
                   on_report: Callable[[Trial, Report], None] | None = None,
                   stop: Callable[[], bool] = lambda: False) -> list[TrialOutcome]:
    """Run a whole sweep in this process and write the experiment directory (tables and report)."""
    from .report import write_report

    exp = Path(exp_dir)
    write_spec(exp, spec.to_dict())
    opts = options_of(spec, device=device, threads=threads)
    outcomes = run_trials(spec.trials(), opts, exp / TRIALS_DIR, on_report, stop)
    write_tables(exp, outcomes)
    write_report(exp)
    return outcomes


def options_of(spec: SweepSpec, device: str = "auto", threads: int | None = 1) -> TrialOptions:
    return TrialOptions(budget=spec.budget, temperatures=tuple(spec.temperatures),
                        temperature_samples=spec.temperature_samples, device=device, threads=threads)
