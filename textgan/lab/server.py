"""The lab of one server: the sessions keyed by the browser's session hash, and the semaphore of training slots
that caps how many runs train at once so a shared Space stays responsive."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .errors import LabError, slug as _slug
from .session import Session


AUTOSAVE_PREFIX = "autosave-"
AUTOSAVES_KEPT = 8
"""Autosaved runs (Reset, closed tabs) a server keeps; older ones are deleted so a public server's disk is bounded."""


class Lab:
    """Sessions keyed by the browser's session hash, with at most `max_training` runs training at once."""

    def __init__(self, max_training: int = 2, checkpoints: str | Path = "checkpoints",
                 torch_threads: int | None = None, experiments: str | Path = "experiments") -> None:
        self.max_training = max_training
        self.torch_threads = torch_threads
        """torch's intra-op threads for the whole process, set when the first run starts (None = torch's choice).
        On a few shared CPU cores, 1 is much faster: two spinning threads per op on an oversubscribed machine cost
        up to 100x (measured: a tiny GAN step 9 ms with 1 thread, 900 ms with 2 under load), and one thread leaves
        a core to the web server."""
        self.checkpoints = Path(checkpoints)
        self.experiments = Path(experiments)
        """Where the Compare tab lists experiment directories (`python -m textgan sweep --out experiments/NAME`)."""
        self._slots = threading.BoundedSemaphore(max_training)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> "Lab":
        """The app's Lab: TEXTGAN_MAX_TRAINING runs at once (default 2), run directories under
        TEXTGAN_CHECKPOINTS (default `checkpoints`), experiment directories listed from TEXTGAN_EXPERIMENTS
        (default `experiments`), TEXTGAN_TORCH_THREADS torch threads (default 1, 0 = torch's
        choice; the CLI's --threads has the same default)."""
        import os

        from ..device import default_threads

        raw = os.environ.get("TEXTGAN_MAX_TRAINING", "2")
        try:
            max_training = int(raw)
        except ValueError:
            raise ValueError(f"TEXTGAN_MAX_TRAINING={raw!r} is not a whole number") from None
        if not 1 <= max_training <= 64:
            raise ValueError(f"TEXTGAN_MAX_TRAINING={max_training} must be in 1..64")
        return cls(max_training=max_training, checkpoints=os.environ.get("TEXTGAN_CHECKPOINTS", "checkpoints"),
                   experiments=os.environ.get("TEXTGAN_EXPERIMENTS", "experiments"),
                   torch_threads=default_threads() or None)

    def session(self, key: str) -> Session:
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.state == "closed":
                s = self._sessions[key] = Session(lab=self, name=_slug(key)[:12] or "session")
            return s

    # ---- where runs are saved: every save path of the app is decided here --------------------------------------

    def save_dir(self, name: str, session: Session | None = None) -> Path:
        """The run directory the Save button writes for `name` (one path component under the checkpoints)."""
        clean = _slug(name or "")
        if not name or not name.strip() or clean == "run" and name.strip() != "run":
            raise LabError("save as: type a name for the saved run (letters, digits, '-', '_', '.')")
        if clean.startswith(AUTOSAVE_PREFIX):
            raise LabError(f"save as: names starting with {AUTOSAVE_PREFIX!r} are kept for autosaves; choose another")
        return self.checkpoints / clean

    def autosave_dir(self, session: Session) -> Path:
        """Where an unsaved run is kept before Reset or a closed tab discards it: a new directory per autosave,
        the oldest deleted beyond AUTOSAVES_KEPT."""
        import shutil

        run = session.run
        what = _slug(f"{run.config.variant}-{run.corpus.name}") if run is not None else "run"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.checkpoints / f"{AUTOSAVE_PREFIX}{what}-{stamp}-{_slug(session.name)[:8]}"
        old = sorted((p for p in self.checkpoints.glob(AUTOSAVE_PREFIX + "*") if p.is_dir()),
                     key=lambda p: p.stat().st_mtime)
        for p in old[:max(0, len(old) - AUTOSAVES_KEPT + 1)]:
            shutil.rmtree(p, ignore_errors=True)
        return path

    def share_dir(self, session: Session) -> Path:
        """Where the Hub tab saves a session's live run before pushing it."""
        return self.checkpoints / f"session-{_slug(session.name)[:12]}"

    def get(self, key: str) -> Session | None:
        return self._sessions.get(key)

    def close(self, key: str) -> None:
        """Stop and free a session's run (its tab closed)."""
        with self._lock:
            s = self._sessions.pop(key, None)
        if s is not None:
            s.close()

    def close_all(self) -> None:
        for key in list(self._sessions):
            self.close(key)

    def has_free_slot(self) -> bool:
        return self.training_count() < self.max_training

    def training_count(self) -> int:
        """Runs holding a training slot now (sessions and Compare sweeps alike)."""
        return self.max_training - self._slots._value  # BoundedSemaphore keeps its free count in _value

    def __len__(self) -> int:
        return len(self._sessions)

