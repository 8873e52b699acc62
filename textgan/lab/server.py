"""The lab of one server: its visitors (one session each, keyed by the visitor's id), the first-come,
first-served queue of training slots they share, and the quotas charged in one place, `Lab.admit`, before any work.

A public server is the default threat model: a client may call any endpoint through the REST API, open sessions
and never poll them, or press Train and walk away. So only actions that train or store create a session (polls
never do); a job nobody polls stops within `unwatched_s` (sooner when someone waits for its slot); a visitor
nobody has heard from for `idle_timeout_s` is closed; one network address holds at most `sessions_per_client`
visitors and the server `max_sessions`. Every limit is a field of `quota.Policy`, an operator setting
(`Lab.from_env`, the README's "Serving the app").
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from ..device import default_threads
from . import quota as Q
from .autosaves import AUTOSAVE_PREFIX, drop_oldest
from .compare import list_checkpoints
from .errors import LabError, slug as _slug
from .session import Session
from .session_policy import SessionPolicy
from .slots import Slots, wait_text


log = logging.getLogger(__name__)
SESSIONS_DIR = "sessions"
"""Under the checkpoints folder: one folder per visitor for its saves, autosaves and comparisons."""
UPLOADS_DIR = "uploads"
"""In a visitor's folder: its uploaded corpora, named by content hash (charged to its disk quota). Under the
checkpoints folder itself: where uploads were kept before, still read to continue a run trained on one."""
SPACE_DATA = Path("/data")
"""A Space's persistent storage, when the Space has it: checkpoints live there by default."""


def default_checkpoints(environ=None) -> str:
    """TEXTGAN_CHECKPOINTS, else `/data/checkpoints` on a Space with persistent storage, else `checkpoints`."""
    env = os.environ if environ is None else environ
    if env.get("TEXTGAN_CHECKPOINTS"):
        return env["TEXTGAN_CHECKPOINTS"]
    if env.get("SPACE_ID") and SPACE_DATA.is_dir() and os.access(SPACE_DATA, os.W_OK):
        return str(SPACE_DATA / "checkpoints")
    return "checkpoints"


class Lab:
    """Visitors' sessions, the training slots they queue for, and what each may use (`policy`)."""

    def __init__(self, max_training: int = 2, checkpoints: str | Path = "checkpoints",
                 torch_threads: int | None = None, experiments: str | Path = "experiments",
                 policy: Q.Policy | None = None, **limits) -> None:
        """`limits` override fields of `policy` (e.g. `idle_timeout_s=0.5` in a test)."""
        self._sessions: dict[str, Session] = {}
        self._policy = (policy or Q.Policy()).replace(max_training=max_training, **limits)
        self.torch_threads = torch_threads
        """torch's intra-op threads for the whole process, set when the first run starts (None = torch's choice).
        On a few shared CPU cores, 1 is much faster: two spinning threads per op on an oversubscribed machine cost
        up to 100x (measured: a tiny GAN step 9 ms with 1 thread, 900 ms with 2 under load), and one thread leaves
        a core to the web server."""
        self.checkpoints = Path(checkpoints)
        self.experiments = Path(experiments)
        """Where the Compare tab lists experiment directories (`python -m textgan sweep --out experiments/NAME`)."""
        self.slots = Slots(self.policy.max_training)
        self.ledger = Q.Ledger()
        self._clients: dict[str, str] = {}  # visitor id -> network address
        self._lock = threading.Lock()
        self._disk_lock = threading.Lock()
        self._waiting: dict[int, Session] = {}  # ticket -> a session queued without a worker yet
        self._dispatcher: threading.Thread | None = None

    @property
    def policy(self) -> Q.Policy:
        """Every bound of this server's visitors (an operator setting)."""
        return self._policy

    @policy.setter
    def policy(self, policy: Q.Policy) -> None:
        """A new policy reaches the open sessions too (their budgets and caps)."""
        self._policy = policy
        for s in list(self._sessions.values()):
            s.policy = self.session_policy(s.name)

    def session_policy(self, name: str) -> SessionPolicy:
        """What the session named `name` may use and where it keeps its files, handed to it by the lab."""
        p = self.policy
        return SessionPolicy(budget_s=p.session_budget_s, idle_timeout_s=p.idle_timeout_s,
                             compute_units=p.compute_units, max_params=p.max_params, max_training=p.max_training,
                             torch_threads=self.torch_threads, checkpoints=self.checkpoints,
                             folder=self.session_dir(name), uploads=self.upload_dir(name),
                             autosaves_kept=p.autosaves_kept)

    # The policy's fields, read where the lab used to keep them.
    max_training = property(lambda self: self.policy.max_training)
    idle_timeout_s = property(lambda self: self.policy.idle_timeout_s)
    session_budget_s = property(lambda self: self.policy.session_budget_s)
    max_sessions = property(lambda self: self.policy.max_sessions)
    sessions_per_client = property(lambda self: self.policy.sessions_per_client)

    @classmethod
    def from_env(cls, **overrides) -> "Lab":
        """The app's Lab, from the operator's environment (the README lists every variable): run directories
        under TEXTGAN_CHECKPOINTS (default `checkpoints`, or `/data/checkpoints` on a Space with persistent
        storage), experiment directories listed from TEXTGAN_EXPERIMENTS (default `experiments`),
        TEXTGAN_TORCH_THREADS torch threads (default 1, 0 = torch's choice), and every quota of `quota.Policy`."""
        policy = Q.Policy.from_env()
        settings = dict(max_training=policy.max_training, checkpoints=default_checkpoints(),
                        experiments=os.environ.get("TEXTGAN_EXPERIMENTS", "experiments"),
                        torch_threads=default_threads() or None, policy=policy)
        settings.update(overrides)
        return cls(**settings)

    # ---- visitors and their sessions ------------------------------------------------------------------------

    def session(self, key: str, client: str | None = None) -> Session:
        """The session of visitor `key`, created on first use (only actions that train or store call this), marked
        as seen now. A new one is refused when its address already has `sessions_per_client` or the server
        `max_sessions` (after closing idle ones)."""
        self.reap()
        p = self.policy
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.state == "closed":
                if len(self._sessions) >= p.max_sessions:
                    raise LabError(f"the server is full ({p.max_sessions} visitors are training or keeping a run): "
                                   "try again in a few minutes")
                if client is not None:
                    mine = sum(1 for k, c in self._clients.items() if c == client and k in self._sessions)
                    if mine >= p.sessions_per_client:
                        raise LabError(f"your network address already has {mine} open sessions (visitors), the most "
                                       "this server allows per address: try again when one of them finishes (the "
                                       "operator can raise TEXTGAN_SESSIONS_PER_CLIENT)")
                name = _slug(key)[:24] or "session"
                s = self._sessions[key] = Session(lab=self, name=name, policy=self.session_policy(name))
                if client is not None:
                    self._clients[key] = client
            s.touch()
            return s

    def get(self, key: str) -> Session | None:
        """The session of visitor `key`, marked as seen now, or None: never creates one (what polls call)."""
        s = self._sessions.get(key)
        if s is not None:
            s.touch()
        return s

    def reap(self) -> list[str]:
        """Close the sessions idle for longer than `idle_timeout_s`; return their keys."""
        now = time.monotonic()
        with self._lock:
            idle = [k for k, s in self._sessions.items() if now - s.last_seen > self.policy.idle_timeout_s]
            closing = [self._sessions.pop(k) for k in idle]
            for k in idle:
                self._clients.pop(k, None)
        for s in closing:  # stopping waits for the iteration in flight: not in the request that noticed it
            threading.Thread(target=s.close, name="textgan-reap", daemon=True).start()
        return idle

    def close(self, key: str) -> None:
        """Stop and free a visitor's run (autosaved when unsaved)."""
        with self._lock:
            s = self._sessions.pop(key, None)
            self._clients.pop(key, None)
        if s is not None:
            s.close()

    def close_all(self) -> None:
        for key in list(self._sessions):
            self.close(key)

    def __len__(self) -> int:
        return len(self._sessions)

    # ---- the slots -------------------------------------------------------------------------------------------

    def has_free_slot(self) -> bool:
        return self.slots.has_free()

    def training_count(self) -> int:
        """Jobs holding a training slot now (sessions and comparisons alike)."""
        return self.slots.in_use

    def enqueue(self, session: Session) -> None:
        """Queue `session` for a slot and start its worker at its turn: at once when a slot is free, else from the
        lab's one dispatcher thread, which also drops queued jobs nobody watches (`verdict`). Thirty queued
        visitors cost one thread, not thirty."""
        session.ticket = ticket = self.slots.join()
        if self.slots.acquire(ticket, timeout=0):
            session.launch()
            return
        with self._lock:
            self._waiting[ticket] = session
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch, name="textgan-queue", daemon=True)
                self._dispatcher.start()

    def _dispatch(self) -> None:
        shown: dict[int, str] = {}
        while True:
            with self._lock:
                waiting = sorted(self._waiting.items())
                if not waiting:
                    self._dispatcher = None
                    return
            now = time.monotonic()
            for ticket, s in waiting:  # a queued job nobody polls goes behind those who do (it is not dropped yet)
                idle = now - s.last_seen
                if idle > 2.0 and idle > self.silence_limit(s) and (self.slots.position(ticket) or 0) <= self.slots.n:
                    self.slots.demote(ticket)
            for ticket, s in waiting:
                why = None if s.ticket == ticket and not s.stopping else "left the queue"
                why = why or self.verdict(s, ticket)
                if why is None and self.slots.acquire(ticket, timeout=0):
                    with self._lock:
                        self._waiting.pop(ticket, None)
                    s.launch()
                    continue
                if why is not None:
                    with self._lock:
                        self._waiting.pop(ticket, None)
                    self.slots.leave(ticket)
                    s.left_queue(ticket, None if why == "left the queue" else why)
                    continue
                text = self.queue_text(ticket)
                if shown.get(ticket) != text:  # a new version: polls redraw the status line's place and wait
                    shown[ticket] = text
                    s.set_state("queued", "training starts at your turn")
            time.sleep(0.25)

    def queue_text(self, ticket: int | None) -> str:
        """'place 3 in the queue, about 40 s' for a waiting ticket ('' when it does not wait)."""
        pos = self.slots.position(ticket) if ticket is not None else None
        return "" if pos is None else wait_text(pos, self.slots.estimate_s(pos, self.policy.turn_s))

    def silence_limit(self, session: Session) -> float:
        """How long `session` may go unpolled before it counts as unwatched: 3 times its own usual gap between polls
        (on an overloaded server every poll is late, and a watching browser's gaps say by how much), or the
        server's typical gap for a visitor with too few polls yet; 0 for a job that was never polled."""
        usual = session.usual_gap
        if usual is None:
            gaps = sorted(g for g in (s.usual_gap for s in list(self._sessions.values())) if g is not None)
            usual = gaps[len(gaps) // 2] if gaps else 0.0
        return 3 * usual

    def verdict(self, session: Session, ticket: int | None) -> str | None:
        """Why a job of `session` must stop now (None: it goes on): nobody polled it for `unwatched_s`, or, while
        another visitor waits for a slot, for longer than both `yield_s` and its `silence_limit` (a raw call that
        never polls yields after `yield_s`; a browser whose polls come back late does not)."""
        p = self.policy
        idle = time.monotonic() - session.last_seen
        if idle > p.unwatched_s:
            return f"stopped: nobody watched this run for {p.unwatched_s:g} s (press Train to continue)"
        if idle > p.yield_s and self.slots.waiting and idle > self.silence_limit(session):  # cheap tests first
            return f"stopped: nobody watched this run for {idle:.0f} s and others wait (press Train to continue)"
        return None

    def turn_over(self, ticket: int | None) -> bool:
        """True when the job holding `ticket` had its turn (`turn_s`) and others wait: it queues again at the back."""
        held = self.slots.held_for(ticket) if ticket is not None else None
        return held is not None and held > self.policy.turn_s and self.slots.waiting > 0

    # ---- the one place a visitor is charged ------------------------------------------------------------------

    def admit(self, session: Session, job: str, steps: int | None = None, model=None,
              replaces_run: bool = False) -> float | None:
        """Charge visitor `session` for `job` ("train", "step", "lesson", "compare", "build") before any work, or
        refuse it with a readable LabError: one running job per visitor, the parameter cap of `model` (a
        (config, corpus) pair, sized on the meta device: nothing allocated), and the compute and time budgets
        for `steps` steps (unknown: at least one). Returns the compute units one step of `model` costs."""
        p = self.policy
        if session.state == "closed":
            raise LabError("this session was closed (idle too long): reload the page")
        sweep = session.sweep
        if job != "build" and sweep is not None and not sweep.done:
            raise LabError("you already have a job running (Train and compare): wait for it to finish, or press "
                           "Stop there")
        if job == "compare" and session.busy and not replaces_run:
            raise LabError("you already have a job running (Train, a lesson): Pause or Stop it first")
        units = None
        if model is not None:
            config, corpus = model
            params = Q.model_params(config, corpus)
            if params > p.max_params:
                raise LabError(f"these nets would have {params:,} parameters, over this server's {p.max_params:,} "
                               "for app runs: lower the generator or critic size (or run the CLI on your own "
                               "machine)")
            units = Q.step_units(params, config.batch_size)
        units = units if units is not None else session.step_units
        if p.compute_units and units:
            left = p.compute_units - self.ledger.spent(session.name)
            need = units * max(1, steps or 1)
            if need > left:
                raise LabError(f"not enough compute left: this needs {need:,.1f} units and you have "
                               f"{max(0, left):,.1f} "
                               f"of {p.compute_units:,.0f} (1 unit = 1e9 parameters x samples): train fewer steps or "
                               "smaller nets, or run the CLI on your own machine")
        if job != "build" and p.session_budget_s is not None and session.trained_s >= p.session_budget_s:
            raise LabError(session.budget_message())
        return units

    def charge(self, session: Session, units: float) -> bool:
        """Add one step's compute to the visitor's account; False when its budget has no room for another."""
        total = self.ledger.charge(session.name, units)
        return not self.policy.compute_units or total + units <= self.policy.compute_units

    def charge_disk(self, key: str, nbytes: int) -> None:
        """Refuse (LabError) writing `nbytes` more for visitor `key` when its folder would pass the per-visitor
        quota (after deleting its oldest autosaves to make room) or the checkpoints folder the server total. Call
        before a save, an upload or a pull is written."""
        p = self.policy
        folder = self.session_dir(key)
        with self._disk_lock:
            used = Q.folder_bytes(folder)
            while used + nbytes > p.disk_per_visitor and drop_oldest(folder):
                used = Q.folder_bytes(folder)
            if used + nbytes > p.disk_per_visitor:
                raise LabError(f"not enough space: this needs {Q.mb(nbytes)} and your runs on this server use "
                               f"{Q.mb(used)} of {Q.mb(p.disk_per_visitor)}: save over one of your runs (same name) "
                               "or push it to the Hub")
            total = Q.folder_bytes(self.checkpoints)
            if total + nbytes > p.disk_total:
                total = self._make_room(total, total + nbytes - p.disk_total)
            if total + nbytes > p.disk_total:
                raise LabError(f"the server's disk quota is used up ({Q.mb(total)} of {Q.mb(p.disk_total)}): "
                               "try again later, or push your run to the Hub")

    def _make_room(self, total: int, needed: int) -> int:
        """Delete the folders of visitors with no open session, least recently changed first, until `needed` bytes
        are freed or none is left; returns the checkpoints folder's size after. Runs saved on the server are kept
        while there is room (the README says to push a run to keep it): otherwise callers with ever new sessions
        could fill the server's total and refuse every visitor's save for good."""
        with self._lock:
            open_names = {s.name for s in self._sessions.values() if s.state != "closed"}
        try:
            left = [f for f in (self.checkpoints / SESSIONS_DIR).iterdir()
                    if f.is_dir() and not f.is_symlink() and f.name not in open_names]
        except OSError:
            return total
        freed = 0
        for folder in sorted(left, key=Q.last_change):
            if freed >= needed:
                break
            freed += Q.folder_bytes(folder)
            log.info("the server's disk total is reached: removing %s (no open session)", folder.name)
            shutil.rmtree(folder, ignore_errors=True)
        return Q.folder_bytes(self.checkpoints) if freed else total

    def allow(self, key: str, action: str) -> None:
        """Record one Hub `action` ("push" or "pull") for visitor `key`, or refuse it (LabError) past the hourly
        limits: the visitor's own and the server's (6x a visitor's)."""
        per_hour = {"push": self.policy.pushes_per_hour, "pull": self.policy.pulls_per_hour}.get(action, 0)
        self.ledger.allow(key, action, per_hour, 6 * per_hour)

    def allow_corpus(self, key: str, corpus: dict) -> None:
        """Building the corpus spec `corpus` for visitor `key` (training on it, or reopening a saved run on it):
        a `hub:` corpus is a download that no disk quota sees, so it counts as a pull, refused past the hourly limits
        (LabError) before anything is downloaded."""
        if corpus.get("kind") == "hub":
            self.allow(key, "pull")

    # ---- where runs are saved: every save path of the app is decided here --------------------------------------
    # A visitor saves into its own folder, checkpoints/sessions/<visitor>/: visitors never overwrite, or see, each
    # other's runs. The checkpoints folder's own run directories are the shipped and pulled examples, open to all.

    def session_dir(self, key: str) -> Path:
        """The folder of one visitor's saves (named like its Session: its id's slug)."""
        return self.checkpoints / SESSIONS_DIR / (_slug(key)[:24] or "session")

    def upload_dir(self, key: str) -> Path:
        """Where visitor `key`'s uploads are copied: inside its folder, so its disk quota counts them."""
        return self.session_dir(key) / UPLOADS_DIR

    def store_upload(self, key: str) -> tuple[Path, Callable[[int], None]]:
        """`(upload_dir, reserve)` for `forms.form_config`: an upload of visitor `key` is copied into its folder,
        charged to its disk quota before it is written (a LabError when it does not fit)."""
        return self.upload_dir(key), lambda nbytes: self.charge_disk(key, nbytes)

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

    def share_dir(self, session: Session) -> Path:
        """Where the Hub tab saves a session's live run before pushing it."""
        return self._folder(session) / "pushed-run"

    def runs_for(self, key: str) -> list[str]:
        """The saved runs a session may open: its own, then the shipped and pulled examples (the checkpoints
        folder's own run directories), newest first in each group."""
        return list_checkpoints(self.session_dir(key)) + list_checkpoints(self.checkpoints)
