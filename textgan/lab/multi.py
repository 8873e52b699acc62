"""The Compare tab's "Train and compare": the same corpus and seed trained with several variants, each under the
chosen preset, saved as run directories the comparison then opens.

It is a small sweep on the experiments engine's in-process backend (`textgan.experiments.local`), the same trial
loop `python -m textgan sweep` runs on Ray: one code path for many runs. Trials run one after another, each
holding one of the lab's training slots while it trains, like any session."""

from __future__ import annotations

import threading
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LabError, as_int as _as_int, slug as _slug
from .forms import _variant_changes, variant_info

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
                 concurrent: bool | None = None) -> None:
        from ..experiments.spec import Trial

        if not 1 <= len(variants) <= 4:
            raise LabError(f"choose 1 to 4 variants to train (got {len(variants)})")
        steps = _as_int(steps, "steps")
        if not 1 <= steps <= 100_000:
            raise LabError(f"steps={steps} must be in 1..100000")
        self.base, self.steps = base, steps
        self.trials: dict[str, Trial] = {}
        for variant in variants:
            info = variant_info(variant, preset)
            cfg = {**base.to_dict(), "variant": variant, "variant_config": _variant_changes(variant, info["defaults"]),
                   "generator": info["generator"], "critic": info["critic"], "out": None}
            name = f"{tag}-{variant}-{_slug(str(base.corpus.get('kind')))}-s{base.seed}"
            self.trials[name] = Trial(name=name, variant=variant, seed=base.seed, settings={}, config=cfg)
        self.out_root, self.lab = Path(out_root), lab
        self.results: dict[str, str] = {}
        self.failures: dict[str, str] = {}
        self.status = "waiting"
        self.done = False
        self.error: str | None = None
        self._current: tuple[str, Any] | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="textgan-sweep", daemon=True)

    def start(self) -> "Sweep":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self) -> str:
        parts = [f"{self.trials[n].variant}: " + ("done" if p else f"failed ({self.failures.get(n, '')})")
                 for n, p in self.results.items()]
        if self._current is not None:
            name, run = self._current
            parts.append(f"{self.trials[name].variant}: " + (f"{run.step}/{self.steps}" if run is not None
                                                              else "queued (server busy)"))
        return "training " + ", ".join(parts)

    def _slot(self) -> bool:
        """Wait for a lab training slot (False when stopped meanwhile)."""
        if self.lab is None:
            return True
        while not self._stop:
            if self.lab._slots.acquire(timeout=0.2):
                return True
        return False

    def _work(self) -> None:
        from ..experiments.local import run_trials
        from ..experiments.spec import Budget
        from ..experiments.trial import TrialOptions

        try:
            if self.lab is not None and self.lab.torch_threads:
                import torch

                torch.set_num_threads(self.lab.torch_threads)
            opts = TrialOptions(budget=Budget(steps=self.steps), device=self.base.device, threads=None)
            for name, trial in self.trials.items():
                self._current = (name, None)
                self.status = self._progress()
                if self._stop or not self._slot():
                    break
                old = self.out_root / name
                if (old / "config.json").is_file():  # a rerun of the same comparison replaces its earlier run
                    import shutil

                    shutil.rmtree(old, ignore_errors=True)
                try:
                    (outcome,) = run_trials([trial], opts, self.out_root, stop=lambda: self._stop,
                                            on_start=lambda t, run, name=name: self._started(name, run))
                finally:
                    if self.lab is not None:
                        self.lab._slots.release()
                ok = outcome.status in ("done", "stopped") and outcome.run_dir is not None
                self.results[name] = str(outcome.run_dir) if ok else ""  # relative stays relative (run list)
                if not ok:
                    self.failures[name] = outcome.message
                self._current = None
            failed = [self.trials[n].variant for n, p in self.results.items() if not p]
            self.status = ("done: " + ", ".join(Path(p).name for p in self.results.values() if p)
                           + (f"; failed: {', '.join(failed)} ({self._progress()})" if failed else ""))
        except Exception as e:  # surface, never crash the server
            log.exception("training the variants failed")
            self.error = f"{type(e).__name__}: {e}"
            self.status = f"failed: {self.error}"
        finally:
            self._current = None
            self.done = True

    def _started(self, name: str, run) -> None:
        self._current = (name, run)
