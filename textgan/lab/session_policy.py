"""What a session of a lab may use and where it keeps its files (`SessionPolicy`, a value the lab builds), and what
it asks of its lab while it trains (`SessionHost`, the lab's side of the contract).

A session never imports the server: the lab hands each session its policy (and a new one when the operator's
policy changes), and the session calls only the `SessionHost` methods on it. A session without a lab (a notebook,
a lesson run from the CLI) has no host and no policy: nothing is charged or bounded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .slots import Slots


@dataclass(frozen=True)
class SessionPolicy:
    """One visitor's bounds and folders, as its lab decided them (see `quota.Policy` for the operator's side)."""

    budget_s: float | None
    """Seconds of training this session may spend (None = no bound)."""
    idle_timeout_s: float
    """The lab closes the session when no client touched it for this long."""
    compute_units: float
    """The visitor's compute budget (0 = none): named in the message that stops a run at its end."""
    max_params: int
    """Parameters a run of this session may hold: a saved run over it is refused before loading."""
    max_training: int
    """Jobs the lab trains at once (said to a queued visitor)."""
    torch_threads: int | None
    """torch's intra-op threads for the process, set by the worker (None = torch's choice)."""
    checkpoints: Path
    """The lab's checkpoints folder: messages show paths relative to it, never the server's own."""
    folder: Path
    """The visitor's own folder: its saves, autosaves, pushed runs and comparisons."""
    uploads: Path
    """Where the lab keeps this visitor's uploaded corpora (in `folder`, named by content hash), so a saved text run
    can continue."""
    autosaves_kept: int
    """Autosaves kept in `folder`, the oldest deleted first."""


class SessionHost(Protocol):
    """What a session asks of its lab (`server.Lab` is one): admission and charges, its place in the queue of
    training slots, and whether it must stop."""

    slots: Slots

    def admit(self, session: Any, job: str, steps: int | None = None, model: Any = None,
              replaces_run: bool = False) -> float | None: ...

    def charge(self, session: Any, units: float) -> bool: ...

    def charge_disk(self, key: str, nbytes: int) -> None: ...

    def allow(self, key: str, action: str) -> None: ...

    def allow_corpus(self, key: str, corpus: dict) -> None: ...

    def enqueue(self, session: Any) -> None: ...

    def has_free_slot(self) -> bool: ...

    def queue_text(self, ticket: int | None) -> str: ...

    def verdict(self, session: Any, ticket: int | None) -> str | None: ...

    def turn_over(self, ticket: int | None) -> bool: ...
