"""The Compare tab's "Train and compare": the same corpus and seed trained with several variants, each under the
chosen preset, saved as run directories the comparison then opens. One after another on a CPU, all at once on a
GPU; each run takes one of the lab's training slots like any session."""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LabError, as_int as _as_int, slug as _slug
from .forms import _variant_changes, variant_info
from .session import Session

if TYPE_CHECKING:
    from .server import Lab


class Sweep:
    """Train the same corpus and seed with several variants (the Compare tab's one click), each with its own
    settings under `preset`, saving each under `out_root/<name>`: one after another on a CPU, all at once on a GPU
    (`concurrent=None` decides by the device). Runs on its own thread, each run takes a training slot; poll
    `.status`, `.done` and `.results` ({name: run dir, or "" when that run failed})."""

    def __init__(self, base, variants: list[str], steps: int, out_root: str | Path = "checkpoints",
                 lab: "Lab | None" = None, tag: str = "cmp", preset: str = "paper",
                 concurrent: bool | None = None) -> None:
        if not 1 <= len(variants) <= 4:
            raise LabError(f"choose 1 to 4 variants to train (got {len(variants)})")
        steps = _as_int(steps, "steps")
        if not 1 <= steps <= 100_000:
            raise LabError(f"steps={steps} must be in 1..100000")
        self.base, self.steps = base, steps
        self.configs = {}
        for variant in variants:
            info = variant_info(variant, preset)
            cfg = dataclasses.replace(base, variant=variant, variant_config=_variant_changes(variant, info["defaults"]),
                                      generator=info["generator"], critic=info["critic"])
            self.configs[f"{tag}-{variant}-{_slug(str(base.corpus.get('kind')))}-s{base.seed}"] = cfg
        self.out_root, self.lab = Path(out_root), lab
        self.concurrent = concurrent
        self.results: dict[str, str] = {}
        self.status = "waiting"
        self.done = False
        self.error: str | None = None
        self.sessions: dict[str, Session] = {}
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="textgan-sweep", daemon=True)

    def start(self) -> "Sweep":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        for s in list(self.sessions.values()):
            s.stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self) -> str:
        parts = []
        for name, s in self.sessions.items():
            v = s.config.variant
            parts.append(f"{v}: queued (server busy)" if s.state == "queued" else
                         f"{v}: failed ({s.message})" if s.state == "failed" else f"{v}: {s.step_count}/{self.steps}")
        return "training " + ", ".join(parts)

    def _finish(self, name: str, s: Session) -> None:
        if s.state == "failed" or s.run is None:
            self.results[name] = ""
        else:
            s.save(self.out_root / name)
            self.results[name] = str(self.out_root / name)  # as list_checkpoints names it (relative stays relative)

    def _work(self) -> None:
        try:
            concurrent = self.concurrent
            if concurrent is None:
                from ..device import resolve_device

                concurrent = resolve_device(self.base.device).type == "cuda"
            batches = [list(self.configs)] if concurrent else [[n] for n in self.configs]
            for names in batches:
                if self._stop:
                    break
                for name in names:
                    s = self.sessions[name] = Session(self.configs[name], lab=self.lab, name=name)
                    s.start(max_steps=self.steps)
                while any(self.sessions[n]._thread.is_alive() for n in names):
                    self.status = self._progress()
                    time.sleep(0.2)
                for name in names:
                    self._finish(name, self.sessions[name])
            failed = [self.configs[n].variant for n, p in self.results.items() if not p]
            self.status = ("done: " + ", ".join(Path(p).name for p in self.results.values() if p)
                           + (f"; failed: {', '.join(failed)} ({self._progress()})" if failed else ""))
        except Exception as e:  # surface, never crash the server
            traceback.print_exc()
            self.error = f"{type(e).__name__}: {e}"
            self.status = f"failed: {self.error}"
        finally:
            for s in self.sessions.values():
                s.run = None  # saved; free the memory
            self.done = True

