"""What the tabs share: the per-server context (the lab, each browser session's comparison in training, opened
saved runs) and the decorator that turns refusals into a message on screen instead of a Gradio error."""

from __future__ import annotations

import os
import logging
from functools import wraps
from pathlib import Path

import gradio as gr

from textgan import lab as L

log = logging.getLogger(__name__)

THIS = "this session"
"""How the run of the browser's own session is named in run pickers."""


def client_of(request: gr.Request) -> str | None:
    """The client's address, for the per-client session cap. Behind a proxy the operator sets
    TEXTGAN_TRUSTED_PROXY=1 and the address the proxy appended to X-Forwarded-For counts (the rightmost: a client
    can forge the ones before it)."""
    if os.environ.get("TEXTGAN_TRUSTED_PROXY") == "1":
        forwarded = (request.headers or {}).get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


class AppContext:
    """One app server's state around its Lab: what the tabs' callbacks share (one per `build_demo`)."""

    def __init__(self, lab: L.Lab) -> None:
        self.lab = lab
        self.sweeps: dict[str, L.Sweep] = {}
        """The Compare tab's "Train and compare" of each browser session, by session hash."""
        self.loaded: dict[str, object] = {}
        """Saved runs opened for comparing, by path@mtime (a few at most)."""

    def session(self, request: gr.Request) -> L.Session:
        return self.lab.session(request.session_hash, client=client_of(request))

    def checkpoint_choices(self, request: gr.Request | None = None) -> list[str]:
        """The run pickers' choices: this session's run, then its own saved runs and the shipped and pulled
        examples, newest first (never another visitor's saves)."""
        key = request.session_hash if request is not None else ""
        return [THIS] + self.lab.runs_for(key)

    def saved_run(self, request: gr.Request, item: str) -> str:
        """`item` when it is a run this session may open (a path the client sends is never trusted as is)."""
        if item not in self.lab.runs_for(request.session_hash):
            raise L.LabError(f"{Path(str(item)).name!r} is not one of your saved runs or the examples: refresh the list")
        return item

    def open_saved(self, item: str, request: gr.Request | None = None):
        """A saved run for comparing, opened once per version of its directory (at most 9 kept)."""
        if request is not None:
            self.saved_run(request, item)
        config = Path(item, "config.json")
        key = f"{item}@{config.stat().st_mtime if config.exists() else 0}"
        if key not in self.loaded:
            if len(self.loaded) > 8:
                self.loaded.pop(next(iter(self.loaded)))
            self.loaded[key] = L.load_run(item)
        return self.loaded[key]

    def errors(self, status_only: bool = True):
        """Refused input (LabError, CorpusError, CheckpointError: ValueErrors) becomes a readable message, on the
        session's status line or returned; anything else is logged and shown short. The server keeps running."""
        def deco(fn):
            @wraps(fn)
            def inner(*args, **kwargs):
                try:
                    return fn(*args, **kwargs)
                except ValueError as e:
                    msg = f"⚠️ {e}"
                except Exception as e:
                    log.exception("an event handler failed")
                    msg = f"⚠️ {type(e).__name__}: {e}"
                request = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
                if request is not None and status_only:
                    try:
                        s = self.session(request)
                    except L.LabError:  # no session to show it on (refused: too many sessions)
                        return msg
                    s.tell(msg)
                    return s.status_line()
                return msg
            return inner
        return deco
