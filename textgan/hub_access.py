"""Whose token a Hub call carries: the operator's on the command line, the visitor's (or none) in the app.

The CLI may act with the operator's token: the argument, else HF_TOKEN, else the `hf auth login` file. A server
acting for visitors must never fall back to it. So inside `visitor_access(token)` (the app's handlers, and the lab's
threads, which copy their context) and once `serve_visitors()` was called (the app's entry point), a missing token
means the visitor's own or none at all; callers then pass `token=resolved or False`, so that huggingface_hub does not
look for a stored token either. `auth_advice` words what to do about a missing token for where the user is.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Literal

CLI_AUTH = "pass --token, set HF_TOKEN or run `hf auth login`"
PAGE_AUTH = "sign in with Hugging Face (the button in the Hub tab) or paste your token in the Hub tab's token field"
"""What to do about a missing or refused token: on the command line, or in the app's page."""
MOCK_OAUTH_TOKEN = "mock-oauth-token-for-local-dev"
"""The access token of Gradio's mocked sign-in outside a Space (gradio/oauth.py): not a token the Hub accepts."""

_visitor: ContextVar[tuple[str | None] | None] = ContextVar("textgan_hub_visitor", default=None)
_serving_visitors = False


def serve_visitors() -> None:
    """Declare this process a server for visitors (the app's entry point calls it): from now on a missing token
    means anonymous access, never the operator's HF_TOKEN or login."""
    global _serving_visitors
    _serving_visitors = True
    # A visitor's downloads go to temporary folders (corpora, pulled runs); Xet's chunk cache (under HF_HOME, up to
    # 10 GB in some builds of hf_xet) would keep their bytes, outside every quota. The operator's own value wins.
    os.environ.setdefault("HF_XET_CHUNK_CACHE_SIZE_BYTES", "0")


@contextmanager
def visitor_access(token: str | None) -> Iterator[None]:
    """Within this block (this thread), Hub calls given no token act with the visitor's `token` (typed, or from
    signing in), or anonymously when it is None: never with the operator's. Messages say what to do in the page."""
    reset = _visitor.set(((token or "").strip() or None,))
    try:
        yield
    finally:
        _visitor.reset(reset)


def acting_for_visitor() -> bool:
    """True inside `visitor_access` or after `serve_visitors`: the stored token is out of reach."""
    return _visitor.get() is not None or _serving_visitors


def auth_advice() -> str:
    """How to give a token, where the user is: the CLI's flags and login, or the app's sign-in and token field."""
    return PAGE_AUTH if acting_for_visitor() else CLI_AUTH


def resolve_token(token: str | Literal[False] | None) -> str | None:
    """The argument; `False` = anonymous; else the visitor's (see `visitor_access`), else, outside a server acting
    for visitors, HF_TOKEN or the token saved by `hf auth login`. Pass the result as `token=result or False`."""
    if token:
        return token
    visitor = _visitor.get()
    if token is False or _serving_visitors or visitor is not None:
        return visitor[0] if token is not False and visitor is not None else None
    from huggingface_hub import get_token

    return get_token()
