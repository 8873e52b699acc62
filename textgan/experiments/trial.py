"""One trial of a sweep, the same for every backend: train a Run to its budget, report each evaluation, checkpoint
the run directory with it, and end with a temperature sweep.

A backend supplies `report(Report)`: Ray Tune's trainable turns it into `tune.report(metrics, checkpoint=...)`,
the in-process backend saves into the experiment directory. Resuming from a checkpoint continues the run exactly
(same weights as an uninterrupted run) and the wall-clock already spent, which `trial.json` carries.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ..config import RunConfig
from ..events import Failed, Metrics
from ..run import Run
from ..trackers import open_trackers
from .samples import SAMPLES_FILE, sample_table
from .spec import Budget, Trial
from .temperature import temperature_sweep

TRIAL_FILE = "trial.json"
TEMPERATURE_FILE = "temperature.csv"
STATUSES = ("running", "done", "failed", "stopped")


@dataclass(frozen=True)
class TrialOptions:
    """What every trial of a sweep shares besides its RunConfig."""

    budget: Budget
    temperatures: tuple[float, ...] = ()
    temperature_samples: int = 500
    device: str = "auto"
    threads: int | None = 1
    """torch intra-op threads per trial (None = torch's choice); one per CPU a trial is given."""
    report_samples: int = 6
    """Samples per finished trial for the report's side-by-side table (same seed and temperature for all)."""
    log_to: tuple[str, ...] = ()
    """Trackers fed from each trial's event stream (`textgan.trackers`: trackio, tensorboard)."""
    log_dir: str | None = None
    """TensorBoard's folder (absolute: Ray workers run elsewhere); one subfolder per trial."""
    project: str = "textgan"
    """trackio's project (the sweep's name); one run per trial."""

    def to_dict(self) -> dict[str, Any]:
        return {"budget": vars(self.budget), "temperatures": list(self.temperatures),
                "temperature_samples": self.temperature_samples, "device": self.device, "threads": self.threads,
                "report_samples": self.report_samples, "log_to": list(self.log_to), "log_dir": self.log_dir,
                "project": self.project}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrialOptions":
        return cls(**{**d, "budget": Budget(**d["budget"]), "temperatures": tuple(d["temperatures"]),
                      "log_to": tuple(d.get("log_to", ()))})


@dataclass
class Report:
    """One evaluation of a trial (a results.csv row), with the run to checkpoint alongside it."""

    row: dict[str, Any]
    run: Any
    state: dict[str, Any]
    status: str = "running"
    message: str = ""
    temperature: Any = None
    """The end-of-trial temperature sweep (a DataFrame), on the last report only."""
    samples: Any = None
    """The end-of-trial seeded samples with their scores (a DataFrame, `samples.sample_table`), last report only."""

    @property
    def final(self) -> bool:
        return self.status != "running"

    def save(self, path: str | Path, rows: list[dict[str, Any]] | None = None) -> Path | None:
        """The run directory plus trial.json (and temperature.csv at the end); None for a failed run (whose
        last good checkpoint stays where it was). `rows`: the trial's reported rows so far, kept in trial.json so
        a resumed in-process sweep has the evaluations of its finished trials."""
        if self.status == "failed":
            return None
        path = Path(self.run.save(path))
        info = {"state": self.state, "status": self.status, "message": self.message}
        write_trial_file(path, {**info, "rows": rows} if rows is not None else info)
        if self.temperature is not None:
            self.temperature.to_csv(path / TEMPERATURE_FILE, index=False)
        if self.samples is not None:
            self.samples.to_csv(path / SAMPLES_FILE, index=False)
        return path


def write_trial_file(run_dir: Path, info: dict[str, Any]) -> None:
    tmp = run_dir / f".{TRIAL_FILE}.tmp"
    tmp.write_text(json.dumps(info, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / TRIAL_FILE)


def read_trial_file(run_dir: Path) -> dict[str, Any]:
    p = Path(run_dir) / TRIAL_FILE
    if not p.is_file():
        return {}
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


class _Clock:
    """Wall-clock of training and evaluation only: reporting, checkpointing and the final sweep are paused out,
    so a trial's budget does not depend on how slowly its backend writes checkpoints."""

    def __init__(self, spent: float = 0.0):
        self.spent, self._since = spent, time.perf_counter()

    def now(self) -> float:
        return self.spent + time.perf_counter() - self._since

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.spent = self.now()
        try:
            yield
        finally:
            self._since = time.perf_counter()


def start_trial(trial: Trial, opts: TrialOptions, resume: str | Path | None = None):
    """(run, state): a fresh Run from the trial's config, or the one checkpointed in `resume` with its state."""
    if opts.threads:
        torch.set_num_threads(opts.threads)
    if resume is not None:
        run = Run.load(resume, device=opts.device)
        state = dict(read_trial_file(Path(resume)).get("state", {}))
        state.update(restored_from=run.step, attempt=int(state.get("attempt", 1)) + 1)
        return run, state
    config = RunConfig.from_dict({**trial.config, "device": opts.device})
    if opts.budget.seconds is not None:
        config.eval_every = 0  # evaluations happen at wall-clock marks instead (see Budget)
    return Run(config), {"elapsed": 0.0, "evals": 0, "attempt": 1, "restored_from": None}


def continue_trial(trial: Trial, opts: TrialOptions, run, state: dict[str, Any], report: Callable[[Report], None],
                   stop: Callable[[], bool] = lambda: False) -> str:
    """Train to the budget, calling `report` at every evaluation and once at the end; returns the final status.
    The trial's events (and every evaluation) also go to the trackers `opts.log_to` names."""
    with open_trackers(opts.log_to, name=trial.name, config=trial.config, project=opts.project,
                       log_dir=Path(opts.log_dir) if opts.log_dir else None) as trackers:
        return _continue(trial, opts, run, state, report, stop, trackers)


def _continue(trial: Trial, opts: TrialOptions, run, state: dict[str, Any], report: Callable[[Report], None],
              stop: Callable[[], bool], trackers) -> str:
    budget = opts.budget
    clock = _Clock(float(state.get("elapsed", 0.0)))
    marks = budget.marks() if budget.seconds is not None else []
    last_eval = -1

    def emit(step: int, values: dict[str, float], status: str = "running", message: str = "", temperature=None,
             new_eval: bool = True, samples=None) -> None:
        nonlocal last_eval
        with clock.paused():
            if new_eval:
                state["evals"] = int(state.get("evals", 0)) + 1
                state["budget"] = marks[min(state["evals"], len(marks)) - 1] if marks else step
            state["elapsed"] = clock.spent
            row = {"step": step, "budget": state.get("budget", step), "wall_time": round(clock.spent, 4), **values}
            if values and new_eval:
                trackers.log(Metrics(step, values))
            report(Report(row, run, dict(state), status, message, temperature, samples))
            last_eval = step

    def done() -> bool:
        return ((budget.steps is not None and run.step >= budget.steps)
                or (budget.seconds is not None and clock.now() >= budget.seconds))

    status, message = "done", ""
    while not done():
        if stop():
            status, message = "stopped", f"stopped at step {run.step}"
            break
        n = 1 if budget.seconds is not None else budget.steps - run.step
        failed = None
        for event in run.steps(n):
            if isinstance(event, Metrics):
                emit(event.step, event.values)  # (emit logs it to the trackers)
            else:
                trackers.log(event)
            if isinstance(event, Failed):
                failed = event.message
            if stop():
                break
        if failed:
            status, message = "failed", failed
            break
        while marks and state.get("evals", 0) < len(marks) and clock.now() >= marks[state.get("evals", 0)]:
            emit(run.step, run.evaluate())
            if state["evals"] >= len(marks):
                break
    if status == "failed":
        emit(run.step, {}, status, message, new_eval=False)
        return status
    temperature = samples = None
    with clock.paused():
        if status == "done" and opts.temperatures:
            temperature = temperature_sweep(run, list(opts.temperatures), n_samples=opts.temperature_samples,
                                            seed=trial.seed, max_test=1000)  # NLL-gen on the rows evaluate uses
        if status == "done" and opts.report_samples:
            samples = sample_table(run, opts.report_samples)
    if last_eval == run.step:  # the last evaluation was at this step: report it again as the final one
        emit(run.step, dict(run.last_metrics), status, message, temperature, new_eval=False, samples=samples)
    else:
        emit(run.step, run.evaluate(), status, message, temperature, samples=samples)
    return status


@dataclass
class TrialOutcome:
    """What a backend returns per trial: the rows it reported and where its final run directory is."""

    trial: Trial
    rows: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"
    message: str = ""
    run_dir: Path | None = None
    node: str = ""
    """Every node that ran the trial, in order, ";"-joined (a restart may move it)."""
    restarts: int = 0
    """Times the trial was restarted from its checkpoint (a lost worker, or a resumed sweep)."""
    early_stopped: bool = False
    """Stopped by the scheduler (ASHA), not interrupted: nothing to resume."""
