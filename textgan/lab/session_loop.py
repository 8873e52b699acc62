"""A session's training loop: the worker thread that queues for one of the lab's training slots, trains (one
step a turn, or a chunk of steps on ZeroGPU), charges each step, and stops when done, paused, out of budget, or
when nobody watches; and how the run's events reach the view the UI polls.

`TrainingLoop` is one side of `session.Session` (it needs the session's run and its lock, `policy`, `lab`, the
control flags that `Session.pause/stop` set, and its view): the worker's half, apart from the controls."""

from __future__ import annotations

import contextvars
import logging
import threading
import time

import torch

from ..events import Failed, Metrics, Samples, Saved, Scalars
from . import gpu_chunks
from .errors import LabError
from .session_view import labelled_samples

log = logging.getLogger(__name__)

ZERO_GPU_STEPS = 50
"""Steps per turn of the training loop on ZeroGPU: one GPU call trains them all (`gpu_chunks`), rather than one
lease per step; a lesson's stop and the budget are then checked every this many steps."""


class TrainingLoop:
    """The worker thread of a `Session` and its place in the lab's queue of training slots."""

    ticket: int | None = None
    """The worker's place in the lab's slot queue, or the slot it holds (None: neither)."""
    _thread: threading.Thread | None = None
    _context: contextvars.Context | None = None

    def launch(self) -> None:
        """Start the worker thread (the lab calls this when the session's ticket holds a slot)."""
        context = self._context or contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._work,), name=f"textgan-{self.name}",
                                        daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to end (a test, a script that trains to `max_steps`)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        """True once Stop was asked (the worker, or a queued job, ends at its next check)."""
        return self._stop

    def left_queue(self, ticket: int, why: str | None) -> None:
        """The lab dropped `ticket` from its queue before the worker started; `why` (unless it left by itself)
        is shown as the reason."""
        if self.ticket != ticket:
            return
        self.ticket = None
        if why is not None:
            self.set_state("stopped", why.replace("this run", "this queued run"))

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._thread is not threading.current_thread()

    def _acquire_slot(self) -> bool:
        """Queue for a lab slot, first come first served, saying the place and the wait; False when stopped or
        nobody watched meanwhile."""
        if self.lab is None:
            return True
        if self.ticket is None:
            self.ticket = self.lab.slots.join()
        shown = None
        while not self._stop:
            if self.lab.slots.acquire(self.ticket, timeout=0.25):
                return True
            why = self.lab.verdict(self, self.ticket)
            if why is not None:
                self.set_state("stopped", why.replace("this run", "this queued run"))
                return False
            text = self.lab.queue_text(self.ticket)
            if self.state != "queued":
                self.set_state("queued", "training starts at your turn")
            elif text != shown:
                self.set_state("queued")  # a new version: polls redraw the status line's place and wait
            shown = text
        return False

    def _release_slot(self) -> None:
        if self.ticket is not None and self.lab is not None:
            self.lab.slots.leave(self.ticket)
        self.ticket = None

    def _work(self) -> None:
        try:
            threads = self.policy.torch_threads if self.policy is not None else None
            if threads and torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            if not self._acquire_slot():
                return
            if self.state == "queued":
                self.set_state("training", "your turn: training")
            with self._run_lock:
                self._ensure_run()
            self.restart_unwatched_clock()  # a slow build (a loaded server) is not the visitor's silence
            if self.state != "paused":
                self.set_state("training", "")
            self._train_loop()
        except LabError as e:
            self.set_state("failed", str(e))
        except Exception as e:  # anything else: keep the server up and tell the user what happened
            log.exception("the training job failed")
            self.set_state("failed", f"{type(e).__name__}: {e}")
        finally:
            self._release_slot()
        if self.state == "stopped" and "nobody watched" in self.message:
            why = self.message
            kept = self.autosave()  # a tab that went away: its run is kept for when the visitor returns
            self.tell(f"{why}; kept as {kept.name}" if kept is not None else why)

    def _wait_while_paused(self) -> bool:
        """A paused run gives its slot to the next in the queue until resumed; False when stopped meanwhile."""
        self._release_slot()
        with self._wake:
            while self._paused and not self._stop:
                self._wake.wait(0.5)
        if self._stop or not self._acquire_slot():
            return False
        if self.state == "queued":
            self.set_state("training", "your turn: training")
        return True

    def _why_stop(self) -> str | None:
        """Why the loop ends before the next turn (done, budget, nobody watching), or None; a finished turn
        queues again at the back when others wait."""
        if self.max_steps is not None and self.run.step >= self.max_steps:
            return f"done: {self.run.step} steps"
        left = self.budget_left()
        if left is not None and left <= 0:
            return self.budget_message()
        if self.lab is None:
            return None
        why = self.lab.verdict(self, self.ticket)
        if why is not None:
            return why
        if self.lab.turn_over(self.ticket):  # others wait: to the back of the queue
            self._release_slot()
            self.set_state("queued", "your turn is over and others wait: queued again")
            if not self._acquire_slot():
                return ""  # stopped meanwhile: the state says why
            self.set_state("training", "your turn: training")
        return None

    def _train_loop(self) -> None:
        """Iterations until stopped, done, out of budget, unwatched or failed; paused runs and finished turns give
        their slot to the next in the queue."""
        while not self._stop:
            if self._paused:
                if not self._wait_while_paused():
                    break
                continue
            why = self._why_stop()
            if why is not None:
                if why:
                    self.set_state("stopped", why)
                break
            t0 = time.perf_counter()
            n = self._turn_steps()
            with self._run_lock:
                for ev in gpu_chunks.steps(self.run, n):  # `run.steps(n)` itself unless on ZeroGPU
                    self._handle(ev)
                said = self.stop_when(self.run) if self.stop_when is not None and self.state != "failed" else None
            self.trained_s += time.perf_counter() - t0
            if said:  # the lesson's moment showed: it ends there (see `stop_when`)
                self.set_state("stopped", said)
                break
            if self.lab is not None and self.step_units and not self.lab.charge(self, self.step_units * n):
                self.set_state("stopped", f"your compute budget ({self.policy.compute_units:g} units) is used "
                               f"up at step {self.step_count}: Save the run, or run the CLI on your own machine")
                break
            if self.state == "failed":
                break
            if self.speed > 0:
                delay = 1.0 / self.speed - (time.perf_counter() - t0)
                if delay > 0:
                    with self._wake:
                        self._wake.wait(delay)

    def _turn_steps(self) -> int:
        """Steps in one turn of the loop: 1, or on ZeroGPU a chunk (at most what `max_steps` leaves)."""
        if not gpu_chunks.on_zero_gpu():
            return 1
        left = ZERO_GPU_STEPS if self.max_steps is None else self.max_steps - self.run.step
        return max(1, min(ZERO_GPU_STEPS, left))

    def _handle(self, ev) -> None:
        """One event of the run: rows are in the run's history already, so the view only learns that something
        changed; samples get their modes; a failure ends the run with its message."""
        if isinstance(ev, Scalars):
            if self.first_scalars_s is None and self._started_at is not None:
                self.first_scalars_s = time.perf_counter() - self._started_at
            self.view.changed()
        elif isinstance(ev, Metrics):
            self.view.changed()
        elif isinstance(ev, Samples):
            self.view.show_samples(*labelled_samples(self.run, ev))
        elif isinstance(ev, Saved):
            self.set_state(self.state, f"saved {ev.path}")
        elif isinstance(ev, Failed):
            self.set_state("failed", f"{ev.message} (the last saved checkpoint is kept)")
