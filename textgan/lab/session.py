"""Where a session trains: `Session` holds one live `Run` per browser session, trains it on a worker thread
(`session_loop`), and answers the UI's controls (start / pause / resume / step / stop / reset / save / load) and
its polls (`snapshot`, copies only).

Threads: the worker is the only thread that trains; every touch of the run (a step, a save, a hyperparameter
change, sampling for Compare) holds `Session._run_lock`, so they interleave between iterations, never inside one.
A session of a lab is one visitor: the lab (a `SessionHost`) admits each job (`admit`) before it starts, the worker
queues for one of the lab's training slots (saying its place and the wait), charges each step's compute, stops when
nobody watches (`verdict`) and goes to the back of the queue when its turn is over (`turn_over`). The lab hands the
session its bounds and folders as a `SessionPolicy`; the session never imports the lab's module.

The session is split by job: its controls and polls here, its training loop in `session_loop.TrainingLoop`, its
run directories in `session_store.SavedRun`, and what polls read in `session_view.SessionView`.
"""

from __future__ import annotations

import collections
import contextvars
import dataclasses
import logging
import math
import threading
import time
from typing import Any, Callable

from .. import corpora
from ..run import Run
from ..variants.base import check_config
from . import gpu_chunks
from .errors import LabError, as_int
from .forms import cast_hparam
from .session_loop import ZERO_GPU_STEPS, TrainingLoop
from .session_policy import SessionHost, SessionPolicy
from .session_store import SavedRun
from .session_view import HIST_SAMPLES, SessionView, mode_label, snapshot, status_line

log = logging.getLogger(__name__)

__all__ = ["BUILDING", "HIST_SAMPLES", "ZERO_GPU_STEPS", "Session", "mode_label"]

BUILDING = {"oracle": "drawing the oracle's samples (about 20 s the first time on this machine, then cached)…",
            "text": "reading the corpus and building its vocabulary…", "modes": "building the corpus and the nets…"}
"""The status while a run is being built (state "preparing"), by corpus kind: the oracle takes seconds."""


class Session(TrainingLoop, SavedRun):
    """One live run, its worker thread, its control flags and its history.

    States: idle (no run), preparing (building the corpus and nets), queued (waiting for a training slot),
    training, paused, stopped (worker ended, the model kept), failed (NaN/inf or an error; the message says
    which), closed.
    """

    def __init__(self, config=None, lab: SessionHost | None = None, name: str = "session",
                 policy: SessionPolicy | None = None) -> None:
        self.config = config
        self.lab = lab
        """The lab this session is a visitor of (None: nothing is charged, as in a notebook)."""
        self.policy = policy
        """This session's bounds and folders, from its lab (None without one)."""
        self.name = name
        self.run = None
        self.view = SessionView()
        """What polls read: state, message, version, samples (see `snapshot`)."""
        self.speed = 0.0
        """Cap on iterations per second (0 = as fast as possible)."""
        self.max_steps: int | None = None
        """Stop by itself after this many steps (None = train until stopped)."""
        self.stop_when: Callable[[Any], str | None] | None = None
        """Called with the run after each iteration (holding the run's lock): a message stops training there (a
        lesson's moment, or its last step)."""
        self._run_lock = threading.RLock()  # held around every use of self.run
        self.loaded = False
        """True when the run was opened from a checkpoint (the form does not describe it), False when built from it."""
        self._wake = threading.Condition()
        self._paused = False
        self._stop = False
        self._started_at: float | None = None
        self.first_scalars_s: float | None = None
        """Seconds from start() to the first Scalars event (what bench/app.py measures)."""
        self.last_seen = time.monotonic()
        """When a client last touched this session (a poll, a click): the lab closes sessions idle too long."""
        self._poll_gaps: collections.deque[float] = collections.deque(maxlen=8)
        self.trained_s = 0.0
        """Seconds this session has spent training, against its policy's budget."""
        self.step_units: float | None = None
        """Compute units one step of the run costs (set when the lab admits the nets)."""
        self.sweep = None
        """The visitor's "Train and compare" (a `multi.Sweep`), its other kind of job."""

    # What polls show, kept by the view.
    state = property(lambda self: self.view.state)
    message = property(lambda self: self.view.message)
    run_id = property(lambda self: self.view.run_id)
    """Bumped when the run is replaced (reset, load): the UI resets the figures' zoom then."""
    version = property(lambda self: self.view.version)
    """Bumped on every change of the history, samples or status: a poll that sees the same value can skip."""

    def touch(self) -> None:
        now = time.monotonic()
        self._poll_gaps.append(now - self.last_seen)
        self.last_seen = now

    def restart_unwatched_clock(self) -> None:
        """The silence a job is judged by starts now (a start, a built run): time the visitor could not poll in
        does not count against it. Not a poll, so the usual gap is left as it was."""
        self.last_seen = time.monotonic()

    @property
    def usual_gap(self) -> float | None:
        """The median of this visitor's last gaps between polls (None before three): how late "late" is for it, as
        its browser and the server's load make it."""
        gaps = sorted(self._poll_gaps)
        return gaps[len(gaps) // 2] if len(gaps) >= 3 else None

    def budget_left(self) -> float | None:
        """Training seconds this session has left (None: no bound)."""
        budget = self.policy.budget_s if self.policy is not None else None
        return None if budget is None else budget - self.trained_s

    @property
    def busy(self) -> bool:
        """True while the worker trains or waits for a slot (a paused run is not busy)."""
        return self._alive() and not self._paused or self.waiting

    @property
    def waiting(self) -> bool:
        """True while queued for a slot without a worker yet (the lab's dispatcher starts it at its turn)."""
        return self.ticket is not None and not self._alive() and self.lab is not None \
            and self.lab.slots.position(self.ticket) is not None

    def budget_message(self) -> str:
        minutes = (self.policy.budget_s or 0) / 60
        return (f"this session's training budget ({minutes:g} min) is used up at step {self.step_count}: Save the "
                "run, or run the CLI on your own machine to train longer")

    # ---- control -------------------------------------------------------------------------------------------

    def configure(self, config) -> None:
        """Set the config of the next run; refused while a run exists (Reset first)."""
        if self.run is not None:
            raise LabError("this session already has a run: press Reset to start over with new settings")
        config.check()
        self.config = config
        self.loaded = False

    def prepare(self) -> None:
        """Build the run now (corpus, nets) so bad settings are reported to the caller rather than by the worker."""
        with self._run_lock:
            self._ensure_run()
        self.set_state(self.state, f"built {self.run.config.variant} on {self.run.corpus.name}")

    def start(self, max_steps: int | None = None, stop_when: Callable[[Any], str | None] | None = None) -> None:
        """Train in the background: a new run from `config` when there is none, else continue the current one.
        `stop_when(run)` returning a message stops it there (see `stop_when`)."""
        if self.state == "closed":
            raise LabError("this session is closed")
        if self.state == "failed":
            raise LabError(f"the run failed ({self.message}); press Reset to start again")
        if self._thread is not None and self._thread.is_alive():
            self.resume()
            return
        if self.waiting:
            return  # queued already: one place in the queue per visitor
        if self.run is None and self.config is None:
            raise LabError("no run settings: configure the session first")
        left = self.budget_left()
        if left is not None and left <= 0:
            raise LabError(self.budget_message())
        if self.lab is not None:  # the visitor's one job, its budgets
            self.lab.admit(self, "train", steps=None if max_steps is None else max_steps - self.step_count)
        self.max_steps, self.stop_when = max_steps, stop_when
        self._paused, self._stop = False, False
        self._started_at = time.perf_counter()
        self.restart_unwatched_clock()  # not at the page's poll before the click (and a run built in the handler)
        self.set_state("queued" if self.lab is not None and not self.lab.has_free_slot() else "training",
                       "starting")
        # The worker keeps the request's context: whoever the Hub may see for this visitor (hub.visitor_access).
        # Captured here, in the request's thread: the lab's dispatcher may launch the worker later from its own.
        self._context = contextvars.copy_context()
        if self.lab is not None:
            self.lab.enqueue(self)  # the worker starts at this visitor's turn: a queued visitor costs no thread
        else:
            self.launch()

    def pause(self) -> None:
        if self.waiting:  # not started yet: give up the place in the queue
            self._release_slot()
            self.set_state("paused", "paused before its turn: press Resume to queue again")
            return
        if self._thread is None or not self._thread.is_alive():
            raise LabError("nothing is training: press Train first")
        self._paused = True
        self.set_state("paused", f"paused at step {self.step_count}")

    def resume(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self.start(self.max_steps, self.stop_when)
            return
        if self.lab is not None and self._paused:
            self.lab.admit(self, "train")
        with self._wake:
            self._paused = False
            self._wake.notify_all()
        self.set_state("training", "")

    def stop(self, wait: float = 10.0) -> None:
        """End the worker; the model stays (save it, compare it, or Train to continue)."""
        self._stop = True
        if self.waiting:
            self._release_slot()  # queued without a worker: leave the queue
        with self._wake:
            self._wake.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(wait)
        if self.state not in ("failed", "closed", "idle"):
            self.set_state("stopped", f"stopped at step {self.step_count}")

    def reset(self) -> None:
        """Stop and discard the run and its history (settings stay, so Train starts afresh). An unsaved run is
        autosaved first (see `autosave`), so Reset never loses work."""
        self.stop()
        kept = self.autosave()
        with self._run_lock:
            self.run = None
            self.forget_saves()  # a new run asks before replacing the old one's save
            self.first_scalars_s = None
            self.view.new_run("idle", "reset: press Train to start a new run" + (
                f" (the previous run was kept as {kept.name}: Compare → Continue training opens it)" if kept else ""),
                [])

    def close(self) -> None:
        """Stop and free everything (the browser tab went away)."""
        self.stop(wait=30.0)
        self.autosave()
        with self._run_lock:
            self.run = None
        self.set_state("closed", "closed")

    def step(self, what: str = "iteration") -> str:
        """One iteration, or one critic or generator update alone, while paused/stopped (GAN Lab's Step)."""
        if self.state in ("training", "queued"):
            raise LabError("pause first: Step runs single updates of a paused run")
        if self.state == "failed":
            raise LabError(f"the run failed ({self.message}); press Reset to start again")
        with self._run_lock:
            self._ensure_run()
            if self.lab is not None:
                self.lab.admit(self, "step", steps=1)
            if what == "iteration":
                for ev in self.run.steps(1):
                    self._handle(ev)
                msg = f"one iteration: step {self.run.step}"
            elif what in ("critic", "generator"):
                try:
                    values = self.run.partial_step(what)
                except ValueError as e:
                    raise LabError(str(e)) from None
                self.view.changed()  # the run recorded the values in its history
                msg = f"one {what} update at step {self.run.step}: " + ", ".join(
                    f"{k}={v:.4g}" for k, v in values.items() if k.startswith("loss"))
            else:
                raise LabError(f"unknown step {what!r}; choose iteration, critic or generator")
            if self.lab is not None and self.step_units:
                self.lab.charge(self, self.step_units)
        if self.state in ("idle", "stopped"):
            self.set_state("paused" if self._alive() else "stopped", msg)
        else:
            self.set_state(self.state, msg)
        return msg

    def set_speed(self, steps_per_s: float | None) -> None:
        """Cap the training speed (iterations per second); 0 or None = full speed."""
        s = float(steps_per_s or 0)
        if not math.isfinite(s) or s < 0:
            raise LabError(f"speed {steps_per_s!r} must be >= 0 iterations per second (0 = full speed)")
        self.speed = s

    def update_hyperparameters(self, **changes: Any) -> dict[str, Any]:
        """Change the variant's settings (learning rates apply at once) and the batch size, keeping the model.

        Only while paused or stopped, so a change lands between iterations. Returns what was applied.
        """
        if self.state in ("training", "queued"):
            raise LabError("pause first: hyperparameters change while the run is paused")
        changes = {k: v for k, v in changes.items() if v is not None and v != ""}
        with self._run_lock:
            if self.run is None:
                raise LabError("no run yet: set the values in the form and press Train")
            batch = changes.pop("batch_size", None)
            if batch is not None:
                batch = as_int(batch, "batch size")
                self._check_batch(batch, self.run.corpus)
            current = dataclasses.asdict(self.run.variant.cfg)
            variant = self.run.config.variant
            variant_changes = {k: v for k, v in ((k, cast_hparam(variant, k, v)) for k, v in changes.items())
                               if current[k] != v}
            try:
                if variant_changes:
                    # Checked on a copy first: Variant.update assigns before it checks, so a refused value would
                    # otherwise stay in the live config.
                    check_config(dataclasses.replace(self.run.variant.cfg, **variant_changes))
                    self.run.variant.update(**variant_changes)
            except ValueError as e:
                raise LabError(str(e)) from None
            applied = dict(variant_changes)
            if batch is not None and batch != self.run.config.batch_size:
                self.run.config.batch_size = batch
                applied["batch_size"] = batch
        self.set_state(self.state, "applied " + (", ".join(f"{k}={v}" for k, v in applied.items()) or "nothing"
                                                 " (no value changed)"))
        return applied

    # ---- what the UI polls ------------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return self.run.step if self.run is not None else 0

    def snapshot(self, max_points: int = 2000) -> dict[str, Any]:
        """Copies for the UI: status, message, step, the history DataFrame (thinned to about `max_points`
        rows, evaluation rows always kept), latest samples [(text, label)], the mode histogram, and whether the
        corpus has modes (None before a run)."""
        return snapshot(self.view, self.run, max_points, self.status_line)

    def status_line(self, state: str | None = None, message: str | None = None) -> str:
        state = state or self.state
        message = self.message if message is None else message
        queued = None
        if state == "queued" and self.lab is not None:
            place = self.lab.queue_text(self.ticket)
            max_training = self.policy.max_training if self.policy is not None else 1
            queued = f"{place or 'waiting for a training slot'} ({max_training} run at once)"
        return status_line(state, message, self.run, queued)

    def set_state(self, state: str, message: str | None = None) -> None:
        """A new state (and message, when given): the next poll shows it."""
        self.view.set(state, message)

    def tell(self, message: str) -> None:
        """Show `message` on the status line, the state unchanged (a refused request, a notice)."""
        self.set_state(self.state, message)

    # ---- building the run -----------------------------------------------------------------------------------

    def _check_batch(self, batch: int, corpus) -> None:
        n = int(corpus.train.shape[0])
        if n and batch > n:
            raise LabError(f"batch size {batch} is larger than the corpus ({n} training sentences); "
                           f"choose at most {n}")

    def _ensure_run(self) -> None:
        if self.run is not None:
            return
        before = (self.state, self.message)
        kind = self.config.corpus.get("kind")
        self.set_state("preparing", BUILDING.get(kind, "building the corpus and the nets…"))
        try:
            if self.lab is not None:
                self.lab.allow_corpus(self.name, self.config.corpus)
            corpus = corpora.build_corpus(self.config.corpus)
            self._check_batch(self.config.batch_size, corpus)
            if self.lab is not None:  # sized on the meta device: nets over the cap are refused unallocated
                self.step_units = self.lab.admit(self, "build", model=(self.config, corpus))
            # On ZeroGPU a run lives on the CPU between GPU calls (gpu_chunks moves it in and out).
            config = dataclasses.replace(self.config, device="cpu") if gpu_chunks.on_zero_gpu() else self.config
            run = Run(config, corpus=corpus)
        except LabError:
            self.set_state(*before)
            raise
        except (corpora.CorpusError, ValueError) as e:
            self.set_state(*before)
            raise LabError(str(e)) from None
        self.run = run
        self.forget_saves()
        self.set_state(*before)

    # ---- comparing ------------------------------------------------------------------------------------------

    def with_run(self, fn: Callable[[Any], Any]) -> Any:
        """Call fn(run) between iterations (for sampling or evaluating the live model)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("this session has no run yet")
            return fn(self.run)
