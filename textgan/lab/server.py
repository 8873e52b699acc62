"""The lab of one server: the sessions keyed by the browser's session hash, the semaphore of training slots that
caps how many runs train at once, and what a public server bounds per client.

A public server is the default threat model: a client may open sessions through the REST API and never poll them,
or press Train and walk away. So sessions nobody touches for `idle_timeout_s` are closed (their run stops, their
slot frees), a session trains at most `session_budget_s` seconds in all, one client address holds at most
`sessions_per_client` sessions and the server at most `max_sessions`: threads (one worker per session) and memory
(one run per session, bounded history) stay bounded. Every limit is an operator setting (`Lab.from_env`).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from .errors import LabError, slug as _slug
from .session import Session

SESSIONS_DIR = "sessions"
"""Under the checkpoints folder: one folder per browser session for its saves (see `Lab.save_dir`)."""
UPLOADS_DIR = "uploads"


AUTOSAVE_PREFIX = "autosave-"
AUTOSAVES_KEPT = 8
"""Autosaved runs (Reset, closed tabs) a server keeps; older ones are deleted so a public server's disk is bounded."""


class Lab:
    """Sessions keyed by the browser's session hash, with at most `max_training` runs training at once."""

    def __init__(self, max_training: int = 2, checkpoints: str | Path = "checkpoints",
                 torch_threads: int | None = None, experiments: str | Path = "experiments",
                 idle_timeout_s: float = 600.0, session_budget_s: float | None = 1800.0, max_sessions: int = 64,
                 sessions_per_client: int = 4) -> None:
        self.max_training = max_training
        self.torch_threads = torch_threads
        """torch's intra-op threads for the whole process, set when the first run starts (None = torch's choice).
        On a few shared CPU cores, 1 is much faster: two spinning threads per op on an oversubscribed machine cost
        up to 100x (measured: a tiny GAN step 9 ms with 1 thread, 900 ms with 2 under load), and one thread leaves
        a core to the web server."""
        self.checkpoints = Path(checkpoints)
        self.experiments = Path(experiments)
        """Where the Compare tab lists experiment directories (`python -m textgan sweep --out experiments/NAME`)."""
        self.idle_timeout_s = idle_timeout_s
        """A session nobody has touched (no poll, no click) for this long is closed."""
        self.session_budget_s = session_budget_s
        """Seconds of training one session may use in all (None = unlimited)."""
        self.max_sessions = max_sessions
        self.sessions_per_client = sessions_per_client
        self._slots = threading.BoundedSemaphore(max_training)
        self._sessions: dict[str, Session] = {}
        self._clients: dict[str, str] = {}  # session key -> client address
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, **overrides) -> "Lab":
        """The app's Lab, from the operator's environment (the README lists every variable): TEXTGAN_MAX_TRAINING
        runs at once (default 2), run directories under TEXTGAN_CHECKPOINTS (default `checkpoints`), experiment
        directories listed from TEXTGAN_EXPERIMENTS (default `experiments`), TEXTGAN_TORCH_THREADS torch threads
        (default 1, 0 = torch's choice), and the public-server bounds TEXTGAN_IDLE_TIMEOUT_S (600),
        TEXTGAN_SESSION_BUDGET_S (1800, 0 = none), TEXTGAN_MAX_SESSIONS (64), TEXTGAN_SESSIONS_PER_CLIENT (4)."""
        from ..device import default_threads

        def number(name: str, default: float, lo: float, hi: float) -> float:
            raw = os.environ.get(name, str(default))
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None
            if not lo <= value <= hi:
                raise ValueError(f"{name}={raw} must be in {lo:g}..{hi:g}")
            return value

        raw = os.environ.get("TEXTGAN_MAX_TRAINING", "2")
        try:
            max_training = int(raw)
        except ValueError:
            raise ValueError(f"TEXTGAN_MAX_TRAINING={raw!r} is not a whole number") from None
        if not 1 <= max_training <= 64:
            raise ValueError(f"TEXTGAN_MAX_TRAINING={max_training} must be in 1..64")
        budget = number("TEXTGAN_SESSION_BUDGET_S", 1800, 0, 10**7)
        settings = dict(
            max_training=max_training, checkpoints=os.environ.get("TEXTGAN_CHECKPOINTS", "checkpoints"),
            experiments=os.environ.get("TEXTGAN_EXPERIMENTS", "experiments"),
            torch_threads=default_threads() or None,
            idle_timeout_s=number("TEXTGAN_IDLE_TIMEOUT_S", 600, 1, 10**7),
            session_budget_s=budget if budget > 0 else None,
            max_sessions=int(number("TEXTGAN_MAX_SESSIONS", 64, 1, 10_000)),
            sessions_per_client=int(number("TEXTGAN_SESSIONS_PER_CLIENT", 4, 1, 10_000)),
        )
        settings.update(overrides)
        return cls(**settings)

    def session(self, key: str, client: str | None = None) -> Session:
        """The session of `key` (created on first use), marked as seen now. A new session is refused when its
        client already holds `sessions_per_client` or the server `max_sessions` (after closing idle ones)."""
        self.reap()
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.state == "closed":
                if len(self._sessions) >= self.max_sessions:
                    raise LabError(f"the server is full ({self.max_sessions} sessions): try again in a few minutes")
                if client is not None:
                    mine = sum(1 for k, c in self._clients.items() if c == client and k in self._sessions)
                    if mine >= self.sessions_per_client:
                        raise LabError(f"your address already has {mine} open sessions, the most this server "
                                       "allows: close other tabs of the app and reload")
                s = self._sessions[key] = Session(lab=self, name=_slug(key)[:12] or "session")
                if client is not None:
                    self._clients[key] = client
            s.touch()
            return s

    def get(self, key: str) -> Session | None:
        return self._sessions.get(key)

    def reap(self) -> list[str]:
        """Close the sessions idle for longer than `idle_timeout_s`; return their keys."""
        now = time.monotonic()
        with self._lock:
            idle = [k for k, s in self._sessions.items() if now - s.last_seen > self.idle_timeout_s]
            closing = [self._sessions.pop(k) for k in idle]
            for k in idle:
                self._clients.pop(k, None)
        for s in closing:  # stopping waits for the iteration in flight: not in the request that noticed it
            threading.Thread(target=s.close, name="textgan-reap", daemon=True).start()
        return idle

    def close(self, key: str) -> None:
        """Stop and free a session's run (its tab closed, or it went idle)."""
        with self._lock:
            s = self._sessions.pop(key, None)
            self._clients.pop(key, None)
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

    # ---- where runs are saved: every save path of the app is decided here --------------------------------------
    # A session saves into its own folder, checkpoints/sessions/<session>/: visitors never overwrite, or see, each
    # other's runs. The checkpoints folder's own run directories are the shipped and pulled examples, open to all.

    def session_dir(self, key: str) -> Path:
        """The folder of one browser session's saves (named like the Session: its key's slug)."""
        return self.checkpoints / SESSIONS_DIR / (_slug(key)[:12] or "session")

    def _folder(self, session: Session | None) -> Path:
        return self.session_dir(session.name) if session is not None else self.checkpoints

    def save_dir(self, name: str, session: Session | None = None) -> Path:
        """The run directory the Save button writes for `name` (one path component in the session's folder)."""
        clean = _slug(name or "")
        if not name or not name.strip() or clean == "run" and name.strip() != "run":
            raise LabError("save as: type a name for the saved run (letters, digits, '-', '_', '.')")
        if clean.startswith(AUTOSAVE_PREFIX):
            raise LabError(f"save as: names starting with {AUTOSAVE_PREFIX!r} are kept for autosaves; choose another")
        return self._folder(session) / clean

    def autosave_dir(self, session: Session) -> Path:
        """Where an unsaved run is kept before Reset or a closed tab discards it: a new directory per autosave in
        the session's folder, the server's oldest deleted beyond AUTOSAVES_KEPT."""
        import shutil

        run = session.run
        what = _slug(f"{run.config.variant}-{run.corpus.name}") if run is not None else "run"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self._folder(session) / f"{AUTOSAVE_PREFIX}{what}-{stamp}"
        old = sorted((p for p in [*self.checkpoints.glob(f"{SESSIONS_DIR}/*/{AUTOSAVE_PREFIX}*"),
                                  *self.checkpoints.glob(AUTOSAVE_PREFIX + "*")] if p.is_dir()),
                     key=lambda p: p.stat().st_mtime)
        for p in old[:max(0, len(old) - AUTOSAVES_KEPT + 1)]:
            shutil.rmtree(p, ignore_errors=True)
        return path

    def share_dir(self, session: Session) -> Path:
        """Where the Hub tab saves a session's live run before pushing it."""
        return self._folder(session) / "pushed-run"

    def runs_for(self, key: str) -> list[str]:
        """The saved runs a session may open: its own, then the shipped and pulled examples (the checkpoints
        folder's own run directories), newest first in each group."""
        from .compare import list_checkpoints

        return list_checkpoints(self.session_dir(key)) + list_checkpoints(self.checkpoints)
