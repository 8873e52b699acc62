"""What one visitor of a public server may use, and the ledger that remembers what each has used.

A visitor is a quota: a browser (its key, kept in the browser's storage) or, for a raw API caller, its session
hash. The lab charges it in one place, `Lab.admit`, before any work: one running job, a compute budget in
steps x model cost, a parameter cap, a disk quota (saves, autosaves, uploads, pulls) under a server total, and
hourly limits on pulls and pushes. Every limit is a field of `Policy`, read from the operator's environment by
`Policy.from_env` (the README's "Serving the app" lists them)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Mapping

import torch

from ..nets import build_critic, build_generator
from ..variants import get_variant

from .errors import LabError

MB = 1024 * 1024
UNIT = 1e9
"""One compute unit: a billion parameter x sample updates (the collapse lesson, 450 steps of an 82k-parameter GAN
at batch 64, costs 2.4 units)."""
KEY_RE = re.compile(r"[A-Za-z0-9_-]{22,64}")
"""A browser's visitor key: what `new_key` makes (anything else sent as a key is replaced by a new one)."""
ACTIONS = ("push", "pull")
HOUR_S = 3600.0


@dataclass(frozen=True)
class Policy:
    """Every bound a public server puts on its visitors (one env variable each; see `from_env`)."""

    max_training: int = 2
    """Jobs training at once (TEXTGAN_MAX_TRAINING); more wait in a first-come, first-served queue."""
    idle_timeout_s: float = 600.0
    """A visitor nobody has heard from for this long is closed, an unsaved run autosaved (TEXTGAN_IDLE_TIMEOUT_S)."""
    unwatched_s: float = 30.0
    """A job nobody polls stops after this long (TEXTGAN_UNWATCHED_S)."""
    yield_s: float = 10.0
    """... or after this long when another visitor waits for its slot (TEXTGAN_YIELD_S)."""
    turn_s: float = 60.0
    """A job that held its slot this long while others wait goes to the back of the queue (TEXTGAN_TURN_S)."""
    session_budget_s: float | None = 1800.0
    """Seconds of training per visitor (TEXTGAN_SESSION_BUDGET_S; 0 = none)."""
    compute_units: float = 1000.0
    """Compute per visitor in units of 1e9 parameter x sample updates (TEXTGAN_COMPUTE_UNITS; 0 = none)."""
    max_params: int = 10_000_000
    """Parameters of an app run, generator and critic together (TEXTGAN_APP_MAX_PARAMS)."""
    disk_per_visitor: int = 200 * MB
    """Bytes of saves, autosaves, uploads and pulls per visitor (TEXTGAN_DISK_PER_VISITOR_MB)."""
    disk_total: int = 4096 * MB
    """Bytes under the checkpoints folder in all (TEXTGAN_DISK_TOTAL_MB)."""
    autosaves_kept: int = 4
    """Autosaves kept per visitor, the oldest deleted first (TEXTGAN_AUTOSAVES_KEPT)."""
    max_sessions: int = 64
    """Visitors with a session at once (TEXTGAN_MAX_SESSIONS)."""
    sessions_per_client: int = 40
    """Visitors with a session from one network address (TEXTGAN_SESSIONS_PER_CLIENT): sized for a class of 30
    behind one NAT; the per-visitor quotas are the real bound."""
    pushes_per_hour: int = 10
    """Hub pushes per visitor per hour (TEXTGAN_PUSHES_PER_HOUR); the server allows 6x this in all."""
    pulls_per_hour: int = 10
    """Hub pulls per visitor per hour (TEXTGAN_PULLS_PER_HOUR); the server allows 6x this in all."""
    upload_per_hour: int = 100 * MB
    """Bytes one network address may post to Gradio's upload route per hour (TEXTGAN_UPLOAD_MB_PER_HOUR); the server
    takes 10x this in all (Gradio keeps an upload for an hour)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Policy":
        """The policy an operator set (a bad value is a ValueError naming the variable)."""
        env = os.environ if environ is None else environ

        def number(name: str, default: float, lo: float, hi: float, whole: bool = False) -> float:
            raw = env.get(name, "").strip() or str(default)
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None
            if not lo <= value <= hi or whole and value != int(value):
                raise ValueError(f"{name}={raw} must be {'a whole number ' if whole else ''}in {lo:g}..{hi:g}")
            return int(value) if whole else value

        d = cls()
        budget = number("TEXTGAN_SESSION_BUDGET_S", 1800, 0, 1e7)
        return cls(
            max_training=number("TEXTGAN_MAX_TRAINING", d.max_training, 1, 64, whole=True),
            idle_timeout_s=number("TEXTGAN_IDLE_TIMEOUT_S", d.idle_timeout_s, 1, 1e7),
            unwatched_s=number("TEXTGAN_UNWATCHED_S", d.unwatched_s, 2, 1e7),
            yield_s=number("TEXTGAN_YIELD_S", d.yield_s, 2, 1e7),
            turn_s=number("TEXTGAN_TURN_S", d.turn_s, 5, 1e7),
            session_budget_s=budget or None,
            compute_units=number("TEXTGAN_COMPUTE_UNITS", d.compute_units, 0, 1e12),
            max_params=number("TEXTGAN_APP_MAX_PARAMS", d.max_params, 1000, 1e11, whole=True),
            disk_per_visitor=number("TEXTGAN_DISK_PER_VISITOR_MB", d.disk_per_visitor // MB, 1, 1e7) * MB,
            disk_total=number("TEXTGAN_DISK_TOTAL_MB", d.disk_total // MB, 1, 1e9) * MB,
            autosaves_kept=number("TEXTGAN_AUTOSAVES_KEPT", d.autosaves_kept, 1, 1000, whole=True),
            max_sessions=number("TEXTGAN_MAX_SESSIONS", d.max_sessions, 1, 10_000, whole=True),
            sessions_per_client=number("TEXTGAN_SESSIONS_PER_CLIENT", d.sessions_per_client, 1, 10_000, whole=True),
            pushes_per_hour=number("TEXTGAN_PUSHES_PER_HOUR", d.pushes_per_hour, 0, 1e6, whole=True),
            pulls_per_hour=number("TEXTGAN_PULLS_PER_HOUR", d.pulls_per_hour, 0, 1e6, whole=True),
            upload_per_hour=number("TEXTGAN_UPLOAD_MB_PER_HOUR", d.upload_per_hour // MB, 1, 1e7) * MB,
        )

    def replace(self, **changes) -> "Policy":
        return dataclasses.replace(self, **changes)


# ---- who a visitor is ------------------------------------------------------------------------------------------

def new_key() -> str:
    """A fresh, unguessable visitor key for a browser to keep (128 bits)."""
    return secrets.token_urlsafe(24)


def valid_key(key: object) -> bool:
    return isinstance(key, str) and KEY_RE.fullmatch(key) is not None


def visitor_id(browser_key: object, session_hash: str | None) -> str:
    """The visitor a request acts for: its browser's key when it sent a valid one, else its session hash (a raw
    API caller). Hashed, so a key never shows in a folder name or a log, and bounded whatever the client sent."""
    if valid_key(browser_key):
        return "b" + hashlib.sha256(str(browser_key).encode()).hexdigest()[:23]
    raw = str(session_hash or "")[:256]
    return "h" + hashlib.sha256(raw.encode()).hexdigest()[:23]


# ---- what a visitor has used -------------------------------------------------------------------------------------

class HourWindow:
    """Amounts recorded over the last hour and their running total: what an hourly limit counts (the caller locks)."""

    def __init__(self) -> None:
        self._entries: deque[tuple[float, int]] = deque()
        self._total = 0

    def used(self, now: float) -> int:
        """The total of the amounts of the last hour (older ones are forgotten here)."""
        while self._entries and now - self._entries[0][0] > HOUR_S:
            self._total -= self._entries.popleft()[1]
        return self._total

    def wait_s(self, now: float) -> float:
        """Seconds until the oldest amount leaves the hour."""
        return HOUR_S - (now - self._entries[0][0]) if self._entries else HOUR_S

    def add(self, now: float, amount: int = 1) -> None:
        self._entries.append((now, amount))
        self._total += amount


class HourWindows:
    """An HourWindow per key; the least recently used keys are forgotten beyond `capacity`, so strangers cannot grow
    it without end (the caller locks)."""

    def __init__(self, capacity: int) -> None:
        self._windows: OrderedDict[Hashable, HourWindow] = OrderedDict()
        self.capacity = capacity

    def __getitem__(self, key: Hashable) -> HourWindow:
        window = self._windows.pop(key, None) or HourWindow()
        self._windows[key] = window
        while len(self._windows) > self.capacity:
            self._windows.popitem(last=False)
        return window


class Ledger:
    """Compute spent and recent Hub actions per visitor, kept when its session closes (so idling does not refill a
    budget); the least recently seen visitors are forgotten beyond `capacity`."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._spent: OrderedDict[str, float] = OrderedDict()
        self._actions = HourWindows(capacity)
        self._server: dict[str, HourWindow] = {a: HourWindow() for a in ACTIONS}
        self.capacity = capacity

    def spent(self, visitor: str) -> float:
        with self._lock:
            return self._spent.get(visitor, 0.0)

    def charge(self, visitor: str, units: float) -> float:
        """Add `units` of compute to the visitor's account; returns its total."""
        with self._lock:
            total = self._spent.pop(visitor, 0.0) + units
            self._spent[visitor] = total
            while len(self._spent) > self.capacity:
                self._spent.popitem(last=False)
            return total

    def allow(self, visitor: str, action: str, per_hour: int, server_per_hour: int) -> None:
        """Record one `action` now, or refuse it (LabError) when the visitor or the server had its hourly share."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {ACTIONS}")
        now = time.monotonic()
        with self._lock:
            mine, everyone = self._actions[(visitor, action)], self._server[action]
            plural = {"push": "pushes", "pull": "pulls"}[action]
            if mine.used(now) >= per_hour:
                raise LabError(f"{action}: you have used your {per_hour} {plural} per hour on this server; try again "
                               f"in {max(1, round(mine.wait_s(now) / 60))} min")
            if everyone.used(now) >= server_per_hour:
                raise LabError(f"{action}: this server has made its {server_per_hour} {plural} for this hour; try "
                               "again later")
            mine.add(now)
            everyone.add(now)


# ---- sizes -------------------------------------------------------------------------------------------------------

def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (symlinks not followed; 0 when it does not exist)."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                total += folder_bytes(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                total += e.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def last_change(path: Path) -> float:
    """When anything under `path` last changed (the newest mtime of it and its entries; symlinks not followed)."""
    newest = path.stat(follow_symlinks=False).st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name), follow_symlinks=False).st_mtime)
            except OSError:
                continue
    return newest


def model_params(config, corpus) -> int:
    """Parameters of the generator and critic `config` builds on `corpus`, counted on the meta device: nothing is
    allocated, so a generator of size 4096 is refused before it costs memory."""
    gen_spec, critic_spec = get_variant(config.variant).fit_specs(*config.net_specs(), corpus)
    with torch.device("meta"):
        nets = [build_generator(gen_spec, corpus.vocab_size, corpus.seq_len, corpus.start_id)]
        if critic_spec is not None:
            nets.append(build_critic(critic_spec, corpus.vocab_size, corpus.seq_len))
    return sum(p.numel() for net in nets for p in net.parameters())


def step_units(params: int, batch_size: int) -> float:
    """Compute units one training step costs: parameters x samples, in units of 1e9."""
    return params * max(1, int(batch_size)) / UNIT


def save_bytes(run) -> int:
    """About what saving `run` writes: float32 weights and two optimizer moments per parameter, plus 1 MB of
    history, samples and JSON (checked against the disk quota before the write)."""
    nets = [n for n in (getattr(run, "gen", None), getattr(run, "critic", None)) if n is not None]
    params = sum(p.numel() for net in nets for p in net.parameters())
    return params * 4 * 3 + MB


def mb(nbytes: float) -> str:
    return f"{nbytes / MB:,.0f} MB" if nbytes >= 10 * MB else f"{nbytes / MB:,.1f} MB"
