"""The Compare tab's "Train and compare": the same corpus and seed trained with several variants, each under the
chosen preset, saved as run directories the comparison then opens.

It is a small sweep on the experiments engine's in-process backend (`textgan.experiments.local`), the same trial
loop `python -m textgan sweep` runs on Ray: one code path for many runs. Trials run one after another, each
holding one of the lab's training slots while it trains, like any session. With a visitor's `session` it is that
visitor's one job: admitted by the lab (nets under the parameter cap, steps within the compute budget) before it
starts, queued first come first served, charged per step, and stopped when nobody polls it."""

from __future__ import annotations

import contextvars
import logging
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..corpora import CorpusError, build_corpus
from ..experiments.local import run_trials
from ..experiments.spec import Budget, Trial
from ..experiments.trial import TrialOptions
from ..run import RunConfig
from .errors import LabError, as_int as _as_int, slug as _slug
from .forms import variant_changes_of, variant_info

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .server import Lab


class Sweep:
    """Train the same corpus and seed with several variants (the Compare tab's one click), each with its own
    settings under `preset`, saving each under `out_root/<name>`. Runs on its own thread; poll `.status`, `.done`
    and `.results` ({name: run dir, or "" when that run failed}). `concurrent` is accepted for compatibility:
    the in-process backend trains one trial at a time (running several at once is the Ray backend's job)."""

    def __init__(self, base, variants: list[str], steps: int, out_root: str | Path = "checkpoints",
                 lab: "Lab | None" = None, tag: str = "cmp", preset: str = "paper",
                 concurrent: bool | None = None, session=None) -> None:
        if not 1 <= len(variants) <= 4:
            raise LabError(f"choose 1 to 4 variants to train (got {len(variants)})")
        steps = _as_int(steps, "steps")
        if not 1 <= steps <= 100_000:
            raise LabError(f"steps={steps} must be in 1..100000")
        self.base, self.steps = base, steps
        self.trials: dict[str, Trial] = {}
        for variant in variants:
            info = variant_info(variant, preset)
            cfg = {**base.to_dict(), "variant": variant, "variant_config": variant_changes_of(variant, info["defaults"]),
                   "generator": info["generator"], "critic": info["critic"], "out": None}
            name = f"{tag}-{variant}-{_slug(str(base.corpus.get('kind')))}-s{base.seed}"
            self.trials[name] = Trial(name=name, variant=variant, seed=base.seed, settings={}, config=cfg)
        self.out_root, self.lab, self.session = Path(out_root), lab, session
        self.units: dict[str, float] = {}  # compute units per step of each trial (admitted visitors)
        self._ticket: int | None = None
        self._charged = 0  # steps of the current trial already charged
        self.results: dict[str, str] = {}
        self.failures: dict[str, str] = {}
        self.status = "waiting"
        self.done = False
        self.error: str | None = None
        self._current: tuple[str, Any] | None = None
        self._stop = False
        # The worker keeps the request's context: whoever the Hub may see for this visitor (hub.visitor_access).
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._work,),
                                        name="textgan-sweep", daemon=True)
        if lab is not None and session is not None:
            self._admit()
            self._ticket = lab.slots.join_if_free()  # reserved now: simultaneous calls cannot share one free slot
            if self._ticket is None:
                raise LabError(f"the server is busy ({lab.slots.in_use} of {lab.max_training} training slots in use, "
                               f"{lab.slots.waiting} waiting): Train and compare starts only on a free slot; try "
                               "again in a minute, or train one variant with Train")

    def _admit(self) -> None:
        """The lab's admission of every trial (LabError before anything trains); the visitor's budget must hold
        all of them."""
        try:
            self.lab.allow_corpus(self.session.name, self.base.corpus)
            corpus = build_corpus(self.base.corpus)
        except CorpusError as e:
            raise LabError(str(e)) from None
        for name, trial in self.trials.items():
            config = RunConfig.from_dict({k: v for k, v in trial.config.items() if k != "out"})
            self.units[name] = self.lab.admit(self.session, "compare", steps=self.steps, model=(config, corpus)) or 0
        policy = self.lab.policy
        need = sum(self.units.values()) * self.steps
        left = policy.compute_units - self.lab.ledger.spent(self.session.name)
        if policy.compute_units and need > left:
            raise LabError(f"not enough compute left: these {len(self.trials)} runs need {need:,.1f} units and you "
                           f"have {max(0, left):,.1f} of {policy.compute_units:,.0f}: train fewer steps or variants")

    def start(self) -> "Sweep":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        if not self._thread.is_alive() and self._ticket is not None and self.lab is not None:
            self.lab.slots.leave(self._ticket)  # reserved but never started
            self._ticket = None

    def _should_stop(self) -> bool:
        """Asked by the trial loop between steps: charge the visitor for the steps done, and stop when asked, when
        the budget is spent or when nobody polls; a finished turn queues again (the run waits meanwhile)."""
        if self._stop or self.lab is None or self.session is None:
            return self._stop
        name, run = self._current or (None, None)
        if run is not None and run.step > self._charged:
            units = self.units.get(name, 0) * (run.step - self._charged)
            self._charged = run.step
            if units and not self.lab.charge(self.session, units):
                self.error = "your compute budget is used up"
                self._stop = True
        why = self.lab.verdict(self.session, self._ticket)
        if why is not None:
            self.error = why.replace("this run", "this comparison").replace(" (press Train to continue)", "")
            self._stop = True
        elif self.lab.turn_over(self._ticket):
            self.lab.slots.leave(self._ticket)
            self._ticket = None
            self._stop = not self._slot()
        return self._stop

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self) -> str:
        parts = [f"{self.trials[n].variant}: " + ("done" if p else f"failed ({self.failures.get(n, '')})")
                 for n, p in self.results.items()]
        if self._current is not None:
            name, run = self._current
            parts.append(f"{self.trials[name].variant}: " + (f"{run.step}/{self.steps}" if run is not None
                                                              else self._queued_text()))
        return "training " + ", ".join(parts)

    def _queued_text(self) -> str:
        place = self.lab.queue_text(self._ticket) if self.lab is not None else ""
        return f"queued ({place})" if place else "queued (server busy)"

    def _slot(self) -> bool:
        """Wait for a lab training slot, first come first served (False when stopped or unwatched meanwhile)."""
        if self.lab is None:
            return True
        if self._ticket is None:
            self._ticket = self.lab.slots.join()
        while not self._stop:
            if self.lab.slots.acquire(self._ticket, timeout=0.25):
                return True
            self.status = self._progress()
            if self.session is not None and self.lab.verdict(self.session, self._ticket) is not None:
                self.error = "stopped: nobody watched this comparison"
                break
        self.lab.slots.leave(self._ticket)
        self._ticket = None
        return False

    def _work(self) -> None:
        try:
            if self.lab is not None and self.lab.torch_threads:
                torch.set_num_threads(self.lab.torch_threads)
            opts = TrialOptions(budget=Budget(steps=self.steps), device=self.base.device, threads=None)
            for name, trial in self.trials.items():
                self._current = (name, None)
                self.status = self._progress()
                if self._stop or not self._slot():
                    break
                old = self.out_root / name
                if (old / "config.json").is_file():  # a rerun of the same comparison replaces its earlier run
                    shutil.rmtree(old, ignore_errors=True)
                self._charged = 0
                try:
                    if self.lab is not None and self.session is not None:
                        self.lab.charge_disk(self.session.name, 0)  # refused when the visitor's folder is full
                    (outcome,) = run_trials([trial], opts, self.out_root, stop=self._should_stop,
                                            on_start=lambda t, run, name=name: self._started(name, run))
                finally:
                    if self.lab is not None and self._ticket is not None:
                        self.lab.slots.leave(self._ticket)
                        self._ticket = None
                ok = outcome.status in ("done", "stopped") and outcome.run_dir is not None
                self.results[name] = str(outcome.run_dir) if ok else ""  # relative stays relative (run list)
                if not ok:
                    self.failures[name] = outcome.message
                self._current = None
            failed = [self.trials[n].variant for n, p in self.results.items() if not p]
            self.status = ("done: " + ", ".join(Path(p).name for p in self.results.values() if p)
                           + (f"; failed: {', '.join(failed)} ({self._progress()})" if failed else ""))
            if self.error:
                self.status = f"{self.error}; {self.status}"
        except LabError as e:
            self.error = str(e)
            self.status = f"stopped: {e}"
        except Exception as e:  # surface, never crash the server
            log.exception("training the variants failed")
            self.error = f"{type(e).__name__}: {e}"
            self.status = f"failed: {self.error}"
        finally:
            self._current = None
            self.done = True

    def _started(self, name: str, run) -> None:
        self._current = (name, run)
