"""What the tabs share: the per-server context (the lab, which visitor each browser tab acts for, each visitor's
comparison in training, opened saved runs) and the decorator that turns refusals into a message on screen instead
of a Gradio error.

Visitors: a browser keeps an unguessable key in its own storage (`gr.BrowserState`, see `AppContext.identify`),
so a reloaded or reopened tab acts for the same visitor and finds its run again. A raw API caller that sends no key
is the visitor of its session hash, still bounded by the per-address cap and every per-visitor quota."""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from functools import wraps
from pathlib import Path
from typing import Any

import gradio as gr

from textgan import hub
from textgan import lab as L
from textgan.lab import quota as Q

log = logging.getLogger(__name__)

THIS = "this session"
"""How the run of the browser's own session is named in run pickers."""
VISITOR_STORAGE = "textgan-visitor"
"""The browser storage entry that holds the visitor key (the same on every restart, so a key outlives one)."""
TABS_KEPT = 10_000
"""Tabs (session hashes) whose visitor is remembered; the oldest are forgotten (they fall back to their hash)."""


def trusts_proxy() -> bool:
    """True when the forwarded address counts: on a Hugging Face Space (SPACE_ID is set: its proxy is always in
    front) or when the operator sets TEXTGAN_TRUSTED_PROXY=1 behind a proxy of their own."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("TEXTGAN_TRUSTED_PROXY") == "1"


def forwarded_address(headers: Any, peer: str | None) -> str | None:
    """A client's network address from its request `headers` and the connection's `peer`. Behind a trusted proxy
    (`trusts_proxy`) the address the proxy appended to X-Forwarded-For counts (the rightmost: a client can forge the
    ones before it)."""
    if trusts_proxy():
        forwarded = (headers or {}).get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return peer


def client_of(request: gr.Request) -> str | None:
    """The client's network address, for the per-address cap (see `forwarded_address`)."""
    return forwarded_address(request.headers, getattr(getattr(request, "client", None), "host", None))


class AppContext:
    """One app server's state around its Lab: what the tabs' callbacks share (one per `build_demo`)."""

    def __init__(self, lab: L.Lab) -> None:
        self.lab = lab
        self.sweeps: dict[str, L.Sweep] = {}
        """The Compare tab's "Train and compare" of each visitor whose result is not yet shown, by visitor id."""
        self.loaded: dict[str, object] = {}
        """Saved runs opened for comparing, by path@mtime (a few at most)."""
        self._tabs: OrderedDict[str, str] = OrderedDict()  # session hash -> visitor id (bounded)

    # ---- who a request acts for ---------------------------------------------------------------------------------

    def identify(self, key, request: gr.Request) -> str:
        """Page load: the visitor key the browser keeps (a new one when it has none or sent something that is not
        a key), remembered for this tab's session hash; returned for the browser to keep."""
        if not Q.valid_key(key):
            key = Q.new_key()
        self._tabs[str(request.session_hash)] = Q.visitor_id(key, None)
        self._tabs.move_to_end(str(request.session_hash))
        while len(self._tabs) > TABS_KEPT:
            self._tabs.popitem(last=False)
        return key

    def forget(self, request: gr.Request) -> None:
        """The tab went away: its session hash no longer names a visitor (the visitor's run goes on until nobody
        polls it, so a reload finds it)."""
        self._tabs.pop(str(request.session_hash), None)

    def visitor(self, request: gr.Request | None) -> str:
        """The id of the visitor `request` acts for: its browser's (see `identify`), else its session hash's."""
        if request is None:
            return Q.visitor_id(None, "")
        return self._tabs.get(str(request.session_hash)) or Q.visitor_id(None, request.session_hash)

    def session(self, request: gr.Request) -> L.Session:
        """The visitor's session, created when missing: only for actions that train or store."""
        return self.lab.session(self.visitor(request), client=client_of(request))

    def get(self, request: gr.Request) -> L.Session | None:
        """The visitor's session, or None: never creates one (polls, controls, views)."""
        return self.lab.get(self.visitor(request))

    # ---- runs a visitor may open --------------------------------------------------------------------------------

    def listed_runs(self, request: gr.Request | None = None) -> dict[str, str]:
        """The saved runs a visitor may open, by the name the pickers list (the path relative to the checkpoints
        folder: a stranger reading the API never learns the server's folders) -> the run's directory."""
        return {L.shown_path(path, self.lab.checkpoints): path for path in self.lab.runs_for(self.visitor(request))}

    def checkpoint_choices(self, request: gr.Request | None = None) -> list[tuple[str, str]]:
        """The run pickers' (label, value) choices: this session's run, then its own saved runs by name and the
        shipped and pulled examples, newest first (never another visitor's saves)."""
        own = L.shown_path(self.lab.session_dir(self.visitor(request)), self.lab.checkpoints)
        return [(THIS, THIS)] + [(Path(name).name if name.startswith(own + "/") else f"{Path(name).name} (example)",
                                  name) for name in self.listed_runs(request)]

    def saved_run(self, request: gr.Request, item: str) -> str:
        """The directory of the run a picker lists as `item`, when this visitor may open it (a path the client sends
        is never trusted as is)."""
        path = self.listed_runs(request).get(str(item))
        if path is None:
            raise L.LabError(f"{L.shown_path(str(item), self.lab.checkpoints)!r} is not one of your saved runs or "
                             "the examples: refresh the list")
        return path

    def open_saved(self, item: str, request: gr.Request | None = None):
        """A saved run for comparing, opened once per version of its directory (at most 9 kept)."""
        if request is not None:
            item = self.saved_run(request, item)
        config = Path(item, "config.json")
        key = f"{item}@{config.stat().st_mtime if config.exists() else 0}"
        if key not in self.loaded:
            if request is not None:
                self.lab.allow_corpus(self.visitor(request), L.saved_corpus(Path(item)))  # a hub: one downloads
            if len(self.loaded) > 8:
                self.loaded.pop(next(iter(self.loaded)))
            self.loaded[key] = L.load_run(item)
        return self.loaded[key]

    def shown(self, message: object) -> str:
        """A message for a Markdown component: the checkpoints folder's absolute path cut from it, and the text
        escaped (it may quote what a visitor typed: a repo id, a file name, a query value)."""
        return L.shown(L.without_server_paths(str(message), self.lab.checkpoints))

    def errors(self, status_only: bool = True, status: Any = None):
        """Refused input (LabError, CorpusError, CheckpointError: ValueErrors) becomes a readable message, on the
        session's status line (`status_only`) or returned; anything else is logged and shown short. The server
        keeps running. The handler acts on the Hub for the visitor only (`hub.visitor_access`): with the token of a
        `gr.OAuthToken` parameter when it has one and the visitor signed in, else anonymously. With `status`, the
        output component that shows messages, a refusal changes that output only (`{status: message}`): a handler
        with many outputs (a lesson sets 46) leaves the form as it was."""
        def deco(fn):
            @wraps(fn)
            def inner(*args, **kwargs):
                oauth = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.OAuthToken)), None)
                try:
                    # The Hub sees the visitor (signed in) or nobody, never the operator, also in the threads the
                    # handler starts (they copy this context).
                    with hub.visitor_access(oauth.token if oauth is not None else None):
                        return fn(*args, **kwargs)
                except ValueError as e:
                    msg = f"⚠️ {self.shown(e)}"
                except Exception as e:
                    log.exception("%s failed", getattr(fn, "__name__", "a handler"))
                    msg = f"⚠️ {type(e).__name__}: {self.shown(e)}"
                request = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
                if request is not None and status_only:
                    s = self.get(request)  # a refusal never creates a session
                    if s is not None:
                        s.tell(msg)
                        msg = s.status_line()
                return {status: msg} if status is not None else msg
            return inner
        return deco
