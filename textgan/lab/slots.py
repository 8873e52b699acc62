"""The server's training slots as a first-come, first-served queue: a job takes a ticket, waits its turn, holds a
slot while it trains and gives it back. With 30 visitors on 2 slots each one is told its place and an estimated
wait instead of "busy", and nobody overtakes anybody (a semaphore wakes waiters in no particular order)."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque

TYPICAL_HOLD_S = 20.0
"""What a slot is assumed to be held for before any job has finished (a one-click lesson: 2 to 31 s)."""


class Slots:
    """`n` training slots handed out in ticket order. A ticket is an int from `join`; `acquire(ticket)` waits for
    its turn, `release(ticket)` frees the slot, `leave(ticket)` gives up a place in the queue."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"training slots={n} must be at least 1")
        self.n = n
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._holders: dict[int, float] = {}  # ticket -> when it took its slot
        self._tickets = itertools.count(1)
        self._hold_s = TYPICAL_HOLD_S  # a running mean of how long a slot is held (for the estimated wait)

    def join(self) -> int:
        """A ticket at the back of the queue."""
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            return ticket

    def join_if_free(self) -> int | None:
        """A ticket that trains at once, or None when every slot is taken or promised (checked and taken in one
        step, so that ten simultaneous callers cannot all see the same free slot)."""
        with self._cond:
            if len(self._holders) + len(self._queue) >= self.n:
                return None
            ticket = next(self._tickets)
            self._queue.append(ticket)
            return ticket

    def acquire(self, ticket: int, timeout: float) -> bool:
        """Take a slot when it is this ticket's turn: True when taken, False after `timeout` seconds of waiting
        (the ticket keeps its place). A ticket that holds a slot already has it."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                if ticket in self._holders:
                    return True
                if ticket not in self._queue:
                    raise ValueError(f"ticket {ticket} is not in the queue (join first)")
                if self._queue.index(ticket) < self.n - len(self._holders):
                    self._queue.remove(ticket)
                    self._holders[ticket] = time.monotonic()
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def demote(self, ticket: int) -> None:
        """Move a waiting ticket to the back of the queue (its owner stopped watching: the others go first)."""
        with self._cond:
            if ticket in self._queue and self._queue[-1] != ticket:
                self._queue.remove(ticket)
                self._queue.append(ticket)
                self._cond.notify_all()

    def release(self, ticket: int) -> None:
        """Give back the slot `ticket` holds (nothing when it holds none)."""
        with self._cond:
            since = self._holders.pop(ticket, None)
            if since is not None:
                self._hold_s = 0.8 * self._hold_s + 0.2 * (time.monotonic() - since)
                self._cond.notify_all()

    def leave(self, ticket: int) -> None:
        """Give up a place in the queue, or the slot (a job stopped while it waited or trained)."""
        with self._cond:
            if ticket in self._queue:
                self._queue.remove(ticket)
                self._cond.notify_all()
        self.release(ticket)

    def position(self, ticket: int) -> int | None:
        """1 for the next in line, None when the ticket is not waiting."""
        with self._cond:
            return self._queue.index(ticket) + 1 if ticket in self._queue else None

    def held_for(self, ticket: int) -> float | None:
        """Seconds the ticket has held its slot (None when it holds none)."""
        with self._cond:
            since = self._holders.get(ticket)
        return None if since is None else time.monotonic() - since

    @property
    def in_use(self) -> int:
        return len(self._holders)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def has_free(self) -> bool:
        """True when a job joining now would train at once."""
        with self._cond:
            return len(self._holders) + len(self._queue) < self.n

    def estimate_s(self, position: int, turn_s: float | None = None) -> float:
        """About how long the `position`-th in line waits: one typical hold (at most one turn) per round of `n`."""
        hold = self._hold_s if turn_s is None else min(self._hold_s, turn_s)
        return math.ceil(position / self.n) * hold


def wait_text(position: int, seconds: float) -> str:
    """'place 3 in the queue, about 40 s': what a queued visitor reads."""
    if seconds < 60:
        about = f"{max(5, round(seconds / 5) * 5):.0f} s"
    else:
        about = f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"place {position} in the queue, about {about}"
