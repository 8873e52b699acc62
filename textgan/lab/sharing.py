"""The Hub tab's engine: push a run directory and pull one into a visitor's own folder, acting for the visitor only.

A server's visitors never act with the operator's token (HF_TOKEN, `hf auth login`): every call here runs inside
`hub.visitor_access(token)`, where `token` is the one the visitor typed or got by signing in with Hugging Face, and
no token means anonymous. The Hub's refusals become LabErrors that say what to do in the page (plain text: the app
escapes them with `errors.shown` before Markdown shows them). A token is passed through for one request only:
never stored, logged or shown."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import ContextManager

from .. import hub

from .errors import LabError


def as_visitor() -> ContextManager[None]:
    """Act on the Hub for a visitor: keep the visitor a handler already set, else act anonymously."""
    return nullcontext() if hub.acting_for_visitor() else hub.visitor_access(None)


def visitor_token(typed: str | None, signed_in: str | None) -> str | None:
    """The token a visitor's request acts with: the one typed in the page, else the one from signing in."""
    return (typed or "").strip() or (signed_in or "").strip() or None


def check_can_push(token: str | None) -> None:
    """Refuse a push before anything is saved or sent when the visitor gave no token and did not sign in."""
    if not token:
        raise LabError(f"pushing needs your Hugging Face account: {hub.PAGE_AUTH}")


def push_run(path: str | Path, repo_id: str, token: str | None = None, private: bool = False,
             username: str | None = None) -> str:
    """Push the run directory at `path` to `repo_id` with the visitor's `token`; returns the repo's URL. A repo id
    without an owner goes to the visitor's own namespace (`username`, else the token's user)."""
    repo_id = (repo_id or "").strip()
    check_can_push(token)
    try:
        with hub.visitor_access(token):
            if repo_id and "/" not in repo_id:
                repo_id = f"{username or hub.whoami(token)}/{repo_id}"
            return hub.push(path, repo_id, token=token, private=bool(private))
    except hub.HubError as e:
        raise LabError(str(e)) from None


def pull_run(repo_id: str, folder: str | Path, revision: str | None = None, token: str | None = None) -> Path:
    """Pull `repo_id` into `folder/<owner>--<name>` (the visitor's own folder: the run shows in their list only),
    replacing an earlier pull of it, with the visitor's `token` or anonymously; returns that path. The files are
    stored once (not in the Hugging Face cache too)."""
    repo_id = (repo_id or "").strip()
    out = Path(folder) / repo_id.replace("/", "--")
    try:
        with hub.visitor_access(token):
            hub.pull(repo_id, revision=(revision or "").strip() or None, token=token or False, out=out,
                     overwrite=True, use_cache=False)
    except hub.HubError as e:
        raise LabError(str(e)) from None
    except OSError as e:  # a full disk: the staging folder is gone, nothing half-written is listed
        raise LabError(f"could not store {repo_id} on this server ({e.strerror or e}): try again later") from None
    return out  # as list_checkpoints names it (the Compare picker's choices)
