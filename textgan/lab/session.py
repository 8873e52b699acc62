"""Where a session trains: `Session` holds one live `Run` per browser session, trains it on a worker thread
(`Session._work`), and answers the UI's controls (start / pause / resume / step / stop / reset / save / load) and
its polls (`snapshot`, copies only).

Threads: the worker is the only thread that trains; every touch of the run (a step, a save, a hyperparameter
change, sampling for Compare) holds `Session._run_lock`, so they interleave between iterations, never inside one.
A session of a `Lab` is one visitor: the lab admits each job (`Lab.admit`) before it starts, the worker queues
for one of the lab's training slots (saying its place and the wait), charges each step's compute, stops when
nobody watches (`Lab.verdict`) and goes to the back of the queue when its turn is over (`Lab.turn_over`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..events import Failed, Metrics, Samples, Saved, Scalars
from . import gpu_chunks
from .errors import LabError, as_int as _as_int, shown_path
from .forms import cast_hparam

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .server import Lab


ZERO_GPU_STEPS = 50
"""Steps per turn of the training loop on ZeroGPU: one GPU call trains them all (`gpu_chunks`), rather than one
lease per step; a lesson's stop and the budget are then checked every this many steps."""

BUILDING = {"oracle": "drawing the oracle's samples (about 20 s the first time on this machine, then cached)…",
            "text": "reading the corpus and building its vocabulary…", "modes": "building the corpus and the nets…"}
"""The status while a run is being built (state "preparing"), by corpus kind: the oracle takes seconds."""
HIST_SAMPLES = 256
"""Samples drawn (with their own RNG, never the training one) for the live per-mode histogram."""


class Session:
    """One live run, its worker thread, its control flags and its history.

    States: idle (no run), preparing (building the corpus and nets), queued (waiting for a training slot),
    training, paused, stopped (worker ended, the model kept), failed (NaN/inf or an error; the message says
    which), closed.
    """

    def __init__(self, config=None, lab: "Lab | None" = None, name: str = "session") -> None:
        self.config = config
        self.lab = lab
        self.name = name
        self.run = None
        self.state = "idle"
        self.message = ""
        self.speed = 0.0
        """Cap on iterations per second (0 = as fast as possible)."""
        self.max_steps: int | None = None
        """Stop by itself after this many steps (None = train until stopped)."""
        self.stop_when: Callable[[Any], str | None] | None = None
        """Called with the run after each iteration (holding the run's lock): a message stops training there (a
        lesson's moment, or its last step)."""
        self._samples: list[tuple[str, int | None]] = []
        self._hist: tuple[int, list[int], int] | None = None  # (step, counts per mode, invalid count)
        self._version = 0
        self.run_id = 0
        """Bumped when the run is replaced (reset, load): the UI resets the figures' zoom then."""
        self._lock = threading.Lock()  # guards rows, samples, state, message
        self._run_lock = threading.RLock()  # held around every use of self.run
        self._saved_step: int | None = None  # the step last written to (or read from) a run directory
        self._asked_overwrite: Path | None = None
        self._saved_dir: Path | None = None  # a Save that was refused once because its directory exists
        self.loaded = False
        """True when the run was opened from a checkpoint (the form does not describe it), False when built from it."""
        self._wake = threading.Condition()
        self._paused = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._holds_slot = False
        self._started_at: float | None = None
        self.first_scalars_s: float | None = None
        """Seconds from start() to the first Scalars event (what bench/app.py measures)."""
        self.last_seen = time.monotonic()
        """When a client last touched this session (a poll, a click): the lab closes sessions idle too long."""
        self.trained_s = 0.0
        """Seconds this session has spent training, against the lab's per-session budget."""
        self.step_units: float | None = None
        """Compute units one step of the run costs (set when the lab admits the nets)."""
        self.sweep = None
        """The visitor's "Train and compare" (a `multi.Sweep`), its other kind of job."""
        self._ticket: int | None = None  # the worker's place in the lab's slot queue, or its slot

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def _budget_left(self) -> float | None:
        budget = self.lab.session_budget_s if self.lab is not None else None
        return None if budget is None else budget - self.trained_s

    @property
    def busy(self) -> bool:
        """True while the worker trains or waits for a slot (a paused run is not busy)."""
        return self._alive() and not self._paused or self.waiting

    @property
    def waiting(self) -> bool:
        """True while queued for a slot without a worker yet (the lab's dispatcher starts it at its turn)."""
        return self._ticket is not None and not self._alive() and self.lab is not None \
            and self.lab.slots.position(self._ticket) is not None

    def budget_message(self) -> str:
        minutes = self.lab.session_budget_s / 60
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
        self._set_state(self.state, f"built {self.run.config.variant} on {self.run.corpus.name}")

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
        left = self._budget_left()
        if left is not None and left <= 0:
            raise LabError(self.budget_message())
        if self.lab is not None:  # the visitor's one job, its budgets
            self.lab.admit(self, "train", steps=None if max_steps is None else max_steps - self.step_count)
        self.max_steps, self.stop_when = max_steps, stop_when
        self._paused, self._stop = False, False
        self._started_at = time.perf_counter()
        self._set_state("queued" if self.lab is not None and not self.lab.has_free_slot() else "training",
                        "starting")
        # The worker keeps the request's context: whoever the Hub may see for this visitor (hub.visitor_access).
        # Captured here, in the request's thread: the lab's dispatcher may launch the worker later from its own.
        self._context = contextvars.copy_context()
        if self.lab is not None:
            self.lab.enqueue(self)  # the worker starts at this visitor's turn: a queued visitor costs no thread
        else:
            self.launch()

    def launch(self) -> None:
        """Start the worker thread (the lab calls this when the session's ticket holds a slot)."""
        context = getattr(self, "_context", None) or contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._work,), name=f"textgan-{self.name}",
                                        daemon=True)
        self._thread.start()

    def pause(self) -> None:
        if self.waiting:  # not started yet: give up the place in the queue
            self._release_slot()
            self._set_state("paused", "paused before its turn: press Resume to queue again")
            return
        if self._thread is None or not self._thread.is_alive():
            raise LabError("nothing is training: press Train first")
        self._paused = True
        self._set_state("paused", f"paused at step {self.step_count}")

    def resume(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self.start(self.max_steps, self.stop_when)
            return
        if self.lab is not None and self._paused:
            self.lab.admit(self, "train")
        with self._wake:
            self._paused = False
            self._wake.notify_all()
        self._set_state("training", "")

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
            self._set_state("stopped", f"stopped at step {self.step_count}")

    def reset(self) -> None:
        """Stop and discard the run and its history (settings stay, so Train starts afresh). An unsaved run is
        autosaved first (see `autosave`), so Reset never loses work."""
        self.stop()
        kept = self.autosave()
        with self._run_lock, self._lock:
            self.run = None
            self._saved_step = self._saved_dir = None  # a new run asks before replacing the old one's save
            self._samples, self._hist = [], None
            self.state, self.message = "idle", "reset: press Train to start a new run" + (
                f" (the previous run was kept as {kept.name}: Compare → Continue training opens it)" if kept else "")
            self.run_id += 1
            self.first_scalars_s = None
            self._version += 1

    def close(self) -> None:
        """Stop and free everything (the browser tab went away)."""
        self.stop(wait=30.0)
        self.autosave()
        with self._run_lock:
            self.run = None
        self._set_state("closed", "closed")

    def _turn_steps(self) -> int:
        """Steps in one turn of the loop: 1, or on ZeroGPU a chunk (at most what `max_steps` leaves)."""
        if not gpu_chunks.on_zero_gpu():
            return 1
        left = ZERO_GPU_STEPS if self.max_steps is None else self.max_steps - self.run.step
        return max(1, min(ZERO_GPU_STEPS, left))

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
                self._record({"step": self.run.step, **values})
                msg = f"one {what} update at step {self.run.step}: " + ", ".join(
                    f"{k}={v:.4g}" for k, v in values.items() if k.startswith("loss"))
            else:
                raise LabError(f"unknown step {what!r}; choose iteration, critic or generator")
            if self.lab is not None and self.step_units:
                self.lab.charge(self, self.step_units)
        if self.state in ("idle", "stopped"):
            self._set_state("paused" if self._alive() else "stopped", msg)
        else:
            self._set_state(self.state, msg)
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
                batch = _as_int(batch, "batch size")
                self._check_batch(batch, self.run.corpus)
            current = dataclasses.asdict(self.run.variant.cfg)
            variant = self.run.config.variant
            variant_changes = {k: v for k, v in ((k, cast_hparam(variant, k, v)) for k, v in changes.items())
                               if current[k] != v}
            try:
                if variant_changes:
                    # Checked on a copy first: Variant.update assigns before it checks, so a refused value would
                    # otherwise stay in the live config.
                    from ..variants.base import check_config

                    check_config(dataclasses.replace(self.run.variant.cfg, **variant_changes))
                    self.run.variant.update(**variant_changes)
            except ValueError as e:
                raise LabError(str(e)) from None
            applied = dict(variant_changes)
            if batch is not None and batch != self.run.config.batch_size:
                self.run.config.batch_size = batch
                applied["batch_size"] = batch
        self._set_state(self.state, "applied " + (", ".join(f"{k}={v}" for k, v in applied.items()) or "nothing"
                                                  " (no value changed)"))
        return applied

    @property
    def unsaved(self) -> bool:
        """True when the run has steps that no run directory holds."""
        run = self.run
        return run is not None and run.step > 0 and run.step != self._saved_step

    def save_as(self, path: str | Path) -> Path:
        """The Save button: like `save`, but a directory that exists and is not where this session last saved is
        replaced only when asked twice in a row (the first request is refused with a message saying so)."""
        target = Path(path)
        if target.exists() and target.resolve() != self._saved_dir and target.resolve() != self._asked_overwrite:
            self._asked_overwrite = target.resolve()
            raise LabError(f"{target.name} already exists: press Save again to replace it, or type another name")
        self._asked_overwrite = None
        return self.save(target, overwrite=target.exists())  # asked twice, or where this session last saved

    def autosave(self) -> Path | None:
        """Keep an unsaved run before it is discarded (Reset, a closed or reloaded tab) in the lab's autosave
        directory; returns it, or None when there was nothing to keep (or no lab, or the save failed)."""
        if self.lab is None or not self.unsaved or self.run.failed:
            return None
        try:
            return self.save(self.lab.autosave_dir(self))
        except LabError as e:
            log.warning("autosave of %s skipped: %s", self.name, e)
            return None

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the run directory atomically (between iterations; training goes on). Another run's directory is
        replaced only with `overwrite=True` (see Run.check_target)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("nothing to save: train a run first")
            if self.lab is not None:
                from .quota import folder_bytes, save_bytes

                self.lab.charge_disk(self.name, max(0, save_bytes(self.run) - folder_bytes(Path(path))))
            try:
                out = self.run.save(path, overwrite=overwrite)
            except (RuntimeError, ValueError, OSError) as e:
                raise LabError(f"not saved: {e}") from None
            self._saved_step, self._saved_dir = self.run.step, Path(out).resolve()
        shown = shown_path(out, self.lab.checkpoints) if self.lab is not None else out  # never the server's path
        self._set_state(self.state, f"saved step {self.run.step} to {shown}")
        return out

    def load(self, path: str | Path) -> None:
        """Continue a saved run in this session (replaces the current one)."""
        from ..checkpoint import CheckpointError
        from ..run import Run

        self.stop()
        if self.lab is not None:
            self._check_saved_size(Path(path))
        try:
            run = Run.load(path, device=self.config.device if self.config else "auto",
                           text_file=self._stored_upload(path))
        except (CheckpointError, ValueError, OSError) as e:
            raise LabError(f"cannot open {path}: {e}") from None
        if self.lab is not None:
            from .quota import step_units

            nets = [n for n in (run.gen, run.critic) if n is not None]
            self.step_units = step_units(sum(q.numel() for n in nets for q in n.parameters()), run.config.batch_size)
        with self._run_lock, self._lock:
            self.run, self.config, self.loaded = run, run.config, True
            self._saved_step, self._saved_dir = run.step, Path(path).resolve()
            self._samples = [(s, None) for s in run.last_samples]
            self._hist = None
            self.run_id += 1
            self.state, self.message = "stopped", f"loaded {Path(path).name} at step {run.step}: press Train to continue"
            self._version += 1

    def _check_saved_size(self, path: Path) -> None:
        """Refuse a saved run whose weights hold more parameters than the lab's cap, before loading any (float32
        weights: 4 bytes a parameter)."""
        size = sum(f.stat().st_size for f in (path / "generator.safetensors", path / "critic.safetensors")
                   if f.is_file())
        cap = self.lab.policy.max_params
        if size // 4 > cap:
            raise LabError(f"cannot open {path.name}: its nets hold about {size // 4:,} parameters, over this "
                           f"server's {cap:,} for app runs (open it with the CLI on your own machine)")

    def _stored_upload(self, path: str | Path) -> Path | None:
        """The lab's stored copy of the upload a text run was trained on (uploads are kept under the checkpoints
        folder, named by content hash), so a saved run continues training; None when there is none."""
        if self.lab is None:
            return None
        from ..checkpoint import CheckpointError, read_json
        from .server import UPLOADS_DIR

        try:
            spec = read_json(Path(path) / "config.json", dict).get("run", {}).get("corpus", {})
        except CheckpointError:
            return None  # Run.load says what is wrong with the file
        name = Path(str(spec.get("path") or "")).name if isinstance(spec, dict) and spec.get("kind") == "text" else ""
        candidate = self.lab.checkpoints / UPLOADS_DIR / name
        return candidate if name.endswith(".txt") and candidate.is_file() else None

    # ---- what the UI polls ------------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return self.run.step if self.run is not None else 0

    @property
    def version(self) -> int:
        """Bumped on every change of the history, samples or status: a poll that sees the same value can skip."""
        return self._version

    def snapshot(self, max_points: int = 2000) -> dict[str, Any]:
        """Copies for the UI: status, message, step, the history DataFrame (thinned to about `max_points`
        rows, evaluation rows always kept), latest samples [(text, label)], the mode histogram, and whether the
        corpus has modes (None before a run)."""
        import pandas as pd

        run = self.run
        rows = run.history.rows() if run is not None else []  # the run's own bounded copy, not a second one
        with self._lock:
            samples = list(self._samples)
            hist = self._hist
            state, message, version = self.state, self.message, self._version
        if len(rows) > max_points:
            stride = math.ceil(len(rows) / max_points)
            rows = [r for i, r in enumerate(rows) if i % stride == 0 or i == len(rows) - 1
                    or any(k.startswith("eval/") for k in r)]
        df = pd.DataFrame(rows)
        if "step" in df:
            df = df.groupby("step", as_index=False, sort=True).last()
        corpus = self.run.corpus if self.run is not None else None
        k = getattr(corpus, "k", None)
        return {
            "state": state, "message": message, "version": version, "step": self.step_count, "run_id": self.run_id,
            "history": df,
            "samples": [(t, mode_label(m)) for t, m in samples],
            "hist": None if hist is None or k is None else {
                "step": hist[0], "counts": hist[1], "invalid": hist[2], "weights": list(corpus.weights)},
            "has_modes": None if corpus is None else k is not None,
            "status": self.status_line(state, message),
        }

    def status_line(self, state: str | None = None, message: str | None = None) -> str:
        state = state or self.state
        message = self.message if message is None else message
        line = f"{state} · step {self.step_count}"
        if self.run is not None:
            line += f" · {self.run.config.variant} on {self.run.corpus.name} · {_device_label(self.run.device)}"
        if state == "queued" and self.lab is not None:
            place = self.lab.queue_text(self._ticket)
            line += f" · server busy: {place or 'waiting for a training slot'} ({self.lab.max_training} run at once)"
        if message:
            line += f" · {message}"
        return line

    def tell(self, message: str) -> None:
        """Show `message` on the status line, the state unchanged (a refused request, a notice)."""
        self._set_state(self.state, message)

    # ---- the worker -----------------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._thread is not threading.current_thread()

    def _set_state(self, state: str, message: str | None = None) -> None:
        with self._lock:
            self.state = state
            if message is not None:
                self.message = message
            self._version += 1

    def _check_batch(self, batch: int, corpus) -> None:
        n = int(corpus.train.shape[0])
        if n and batch > n:
            raise LabError(f"batch size {batch} is larger than the corpus ({n} training sentences); "
                           f"choose at most {n}")

    def _ensure_run(self) -> None:
        if self.run is not None:
            return
        from ..corpora import CorpusError
        from ..run import Run

        before = (self.state, self.message)
        kind = self.config.corpus.get("kind")
        self._set_state("preparing", BUILDING.get(kind, "building the corpus and the nets…"))
        try:
            from ..corpora import build_corpus

            corpus = build_corpus(self.config.corpus)
            self._check_batch(self.config.batch_size, corpus)
            if self.lab is not None:  # sized on the meta device: nets over the cap are refused unallocated
                self.step_units = self.lab.admit(self, "build", model=(self.config, corpus))
            # On ZeroGPU a run lives on the CPU between GPU calls (gpu_chunks moves it in and out).
            config = dataclasses.replace(self.config, device="cpu") if gpu_chunks.on_zero_gpu() else self.config
            run = Run(config, corpus=corpus)
        except LabError:
            self._set_state(*before)
            raise
        except (CorpusError, ValueError) as e:
            self._set_state(*before)
            raise LabError(str(e)) from None
        with self._lock:
            self.run = run
            self._saved_step = self._saved_dir = None
            self.state, self.message = before
            self._version += 1

    def _acquire_slot(self) -> bool:
        """Queue for a lab slot, first come first served, saying the place and the wait; False when stopped or
        nobody watched meanwhile."""
        if self.lab is None:
            return True
        if self._ticket is None:
            self._ticket = self.lab.slots.join()
        shown = None
        while not self._stop:
            if self.lab.slots.acquire(self._ticket, timeout=0.25):
                return True
            why = self.lab.verdict(self, self._ticket)
            if why is not None:
                self._set_state("stopped", why.replace("this run", "this queued run"))
                return False
            text = self.lab.queue_text(self._ticket)
            if self.state != "queued":
                self._set_state("queued", "training starts at your turn")
            elif text != shown:
                self._set_state("queued")  # a new version: polls redraw the status line's place and wait
            shown = text
        return False

    def _release_slot(self) -> None:
        if self._ticket is not None and self.lab is not None:
            self.lab.slots.leave(self._ticket)
        self._ticket = None

    def _work(self) -> None:
        try:
            if self.lab is not None and self.lab.torch_threads:
                import torch

                if torch.get_num_threads() != self.lab.torch_threads:
                    torch.set_num_threads(self.lab.torch_threads)
            if not self._acquire_slot():
                return
            if self.state == "queued":
                self._set_state("training", "your turn: training")
            with self._run_lock:
                self._ensure_run()
            if self.state != "paused":
                self._set_state("training", "")
            self._train_loop()
        except LabError as e:
            self._set_state("failed", str(e))
        except Exception as e:  # anything else: keep the server up and tell the user what happened
            log.exception("the training job failed")
            self._set_state("failed", f"{type(e).__name__}: {e}")
        finally:
            self._release_slot()
        if self.state == "stopped" and "nobody watched" in self.message:
            why = self.message
            kept = self.autosave()  # a tab that went away: its run is kept for when the visitor returns
            self.tell(f"{why}; kept as {kept.name}" if kept is not None else why)

    def _train_loop(self) -> None:
        """Iterations until stopped, done, out of budget, unwatched or failed; paused runs and finished turns give
        their slot to the next in the queue."""
        while not self._stop:
            if self._paused:
                self._release_slot()  # a paused run does not keep others waiting
                with self._wake:
                    while self._paused and not self._stop:
                        self._wake.wait(0.5)
                if self._stop or not self._acquire_slot():
                    break
                if self.state == "queued":
                    self._set_state("training", "your turn: training")
                continue
            if self.max_steps is not None and self.run.step >= self.max_steps:
                self._set_state("stopped", f"done: {self.run.step} steps")
                break
            left = self._budget_left()
            if left is not None and left <= 0:
                self._set_state("stopped", self.budget_message())
                break
            if self.lab is not None:
                why = self.lab.verdict(self, self._ticket)
                if why is not None:
                    self._set_state("stopped", why)
                    break
                if self.lab.turn_over(self._ticket):  # others wait: to the back of the queue
                    self._release_slot()
                    self._set_state("queued", "your turn is over and others wait: queued again")
                    if not self._acquire_slot():
                        break
                    self._set_state("training", "your turn: training")
            t0 = time.perf_counter()
            n = self._turn_steps()
            with self._run_lock:
                for ev in gpu_chunks.steps(self.run, n):  # `run.steps(n)` itself unless on ZeroGPU
                    self._handle(ev)
                said = self.stop_when(self.run) if self.stop_when is not None and self.state != "failed" else None
            self.trained_s += time.perf_counter() - t0
            if said:  # the lesson's moment showed: it ends there (see `stop_when`)
                self._set_state("stopped", said)
                break
            if self.lab is not None and self.step_units and not self.lab.charge(self, self.step_units * n):
                self._set_state("stopped", f"your compute budget ({self.lab.policy.compute_units:g} units) is used "
                                f"up at step {self.step_count}: Save the run, or run the CLI on your own machine")
                break
            if self.state == "failed":
                break
            if self.speed > 0:
                delay = 1.0 / self.speed - (time.perf_counter() - t0)
                if delay > 0:
                    with self._wake:
                        self._wake.wait(delay)

    def _handle(self, ev) -> None:
        if isinstance(ev, Scalars):
            if self.first_scalars_s is None and self._started_at is not None:
                self.first_scalars_s = time.perf_counter() - self._started_at
            self._record({"step": ev.step, **ev.values})
        elif isinstance(ev, Metrics):
            self._record({"step": ev.step, **ev.values})
        elif isinstance(ev, Samples):
            self._on_samples(ev)
        elif isinstance(ev, Saved):
            self._set_state(self.state, f"saved {ev.path}")
        elif isinstance(ev, Failed):
            self._set_state("failed", f"{ev.message} (the last saved checkpoint is kept)")

    def _record(self, row: dict[str, float]) -> None:
        """The run has recorded the row in its history already; polls only need to know something changed."""
        with self._lock:
            self._version += 1

    def _on_samples(self, ev: Samples) -> None:
        corpus = self.run.corpus
        labels: list[int | None] = [None] * len(ev.texts)
        hist = None
        if hasattr(corpus, "classify_ids"):
            import torch

            if ev.ids:
                labels = corpus.classify_ids(torch.tensor(ev.ids)).tolist()
            ids = self.run.sample_tokens(HIST_SAMPLES, seed=10_007 + ev.step)
            modes = corpus.classify_ids(ids).tolist()
            counts = [0] * corpus.k
            for m in modes:
                if m >= 0:
                    counts[m] += 1
            hist = (ev.step, counts, sum(m < 0 for m in modes))
        with self._lock:
            self._samples = list(zip(ev.texts, labels))
            if hist is not None:
                self._hist = hist
            self._version += 1

    # ---- comparing ------------------------------------------------------------------------------------------

    def with_run(self, fn: Callable[[Any], Any]) -> Any:
        """Call fn(run) between iterations (for sampling or evaluating the live model)."""
        with self._run_lock:
            if self.run is None:
                raise LabError("this session has no run yet")
            return fn(self.run)


def mode_label(mode: int | None) -> str:
    if mode is None:
        return ""
    return "invalid" if mode < 0 else f"mode {mode}"


def _device_label(device) -> str:
    from ..device import describe_device

    return describe_device(device)

