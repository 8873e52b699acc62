"""The in-process backend: the trials of a sweep one after another in this process, no Ray.

It is what the app uses on a Space (a few CPU cores, no cluster) and the baseline Ray's overhead is measured
against (bench/sweep.py). Same trial loop, same experiment directory, same tables as the Ray backend.

Ctrl-C (KeyboardInterrupt) stops the sweep where it is: the running trial keeps its last evaluation's checkpoint
and is recorded as stopped, the finished ones keep everything, and the tables and the report are written before the
interrupt goes on to the caller. `resume=True` continues such a sweep: finished trials are read back from their
run directories (`trial.json` holds their reported rows), a stopped one continues from its checkpoint, exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..trackers import parse_trackers
from .report import write_report
from .results import TRIALS_DIR, write_spec, write_tables
from .spec import SpecError, SweepSpec, Trial
from .trial import Report, TrialOptions, TrialOutcome, continue_trial, read_trial_file, start_trial


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during an in-process sweep, raised after the tables and the report were written."""

    def __init__(self, exp_dir: Path, outcomes: list[TrialOutcome]):
        super().__init__(f"sweep interrupted; finished trials kept in {exp_dir}")
        self.exp_dir, self.outcomes = exp_dir, outcomes


def run_trials(trials: list[Trial], opts: TrialOptions, root: str | Path,
               on_report: Callable[[Trial, Report], None] | None = None,
               stop: Callable[[], bool] = lambda: False,
               on_start: Callable[[Trial, object], None] | None = None,
               resume: bool = False) -> list[TrialOutcome]:
    """Train each trial in turn into `root/<name>/`, saving its run directory at every evaluation.
    A trial that raises is recorded as failed with its message and the next one starts; `stop()` ends the
    current trial (saved, status "stopped") and skips the rest. `on_start(trial, run)` lets a caller watch the
    live run (the app's progress line reads its step). With `resume`, a trial whose directory says it finished is
    not run again, and one that was stopped continues from its checkpoint. A KeyboardInterrupt marks the running
    trial stopped and the rest not started, and is raised again as `SweepInterrupted` carrying the outcomes."""
    root = Path(root)
    outcomes = []
    for i, trial in enumerate(trials):
        outcome = TrialOutcome(trial, run_dir=root / trial.name, node="local")
        outcomes.append(outcome)
        saved = read_trial_file(outcome.run_dir) if resume else {}
        if saved.get("status") in ("done", "failed"):
            outcome.rows, outcome.status = saved.get("rows", []), saved["status"]
            outcome.message = saved.get("message", "")
            outcome.restarts = int(saved.get("state", {}).get("attempt", 1)) - 1
            continue
        if stop():
            outcome.status, outcome.message = "stopped", "not started"
            continue

        def report(r: Report, outcome=outcome, trial=trial) -> None:
            outcome.rows.append({**r.row, "node": "local", "attempt": int(r.state.get("attempt", 1))})
            r.save(outcome.run_dir, rows=outcome.rows)  # the rows so far go with the checkpoint (for resume)
            outcome.status, outcome.message = r.status, r.message
            outcome.restarts = int(r.state.get("attempt", 1)) - 1
            if on_report is not None:
                on_report(trial, r)

        try:
            checkpoint = outcome.run_dir if saved and (outcome.run_dir / "config.json").is_file() else None
            if checkpoint is not None:
                outcome.rows = list(saved.get("rows", []))
            run, state = start_trial(trial, opts, resume=checkpoint)
            if on_start is not None:
                on_start(trial, run)
            outcome.status = continue_trial(trial, opts, run, state, report, stop)
        except KeyboardInterrupt:
            outcome.status = "stopped"
            outcome.message = f"interrupted after step {outcome.rows[-1]['step'] if outcome.rows else 0}"
            for rest in trials[i + 1:]:
                outcomes.append(TrialOutcome(rest, status="stopped", message="not started"))
            _drop_missing(outcomes)
            raise SweepInterrupted(root, outcomes) from None
        except Exception as e:  # one bad trial must not end the sweep: it is recorded with its message
            outcome.status, outcome.message = "failed", f"{type(e).__name__}: {e}"
    _drop_missing(outcomes)
    return outcomes


def _drop_missing(outcomes: list[TrialOutcome]) -> None:
    for o in outcomes:
        if o.run_dir is not None and not (o.run_dir / "config.json").is_file():
            o.run_dir = None


def run_in_process(spec: SweepSpec, exp_dir: str | Path, device: str = "auto", threads: int | None = 1,
                   on_report: Callable[[Trial, Report], None] | None = None,
                   stop: Callable[[], bool] = lambda: False, resume: bool = False,
                   images: bool = False, log_to: tuple[str, ...] = ()) -> list[TrialOutcome]:
    """Run (or `resume`) a whole sweep in this process and write the experiment directory (tables and report),
    also when Ctrl-C ends it early (then `SweepInterrupted` is raised after writing)."""
    exp = Path(exp_dir)
    if resume and not (exp / TRIALS_DIR).is_dir():
        raise SpecError(f"nothing to resume in {exp}: it holds no trials ({TRIALS_DIR}/)")
    write_spec(exp, spec.to_dict())
    opts = options_of(spec, device=device, threads=threads, log_to=log_to, exp_dir=exp)
    try:
        outcomes = run_trials(spec.trials(), opts, exp / TRIALS_DIR, on_report, stop, resume=resume)
    except SweepInterrupted as e:
        e.exp_dir = exp
        write_tables(exp, e.outcomes)
        write_report(exp, images=False)  # a browser start would delay the exit the user asked for
        raise
    write_tables(exp, outcomes)
    write_report(exp, images=images)
    return outcomes


def options_of(spec: SweepSpec, device: str = "auto", threads: int | None = 1, log_to: tuple[str, ...] = (),
               exp_dir: str | Path | None = None) -> TrialOptions:
    """What every trial of `spec` shares; trackers log to EXP_DIR/tensorboard/ and to trackio project NAME."""
    return TrialOptions(budget=spec.budget, temperatures=tuple(spec.temperatures),
                        temperature_samples=spec.temperature_samples, device=device, threads=threads,
                        log_to=parse_trackers(list(log_to)), project=spec.name,
                        log_dir=str(Path(exp_dir).resolve() / "tensorboard") if exp_dir is not None else None)
