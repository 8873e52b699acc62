"""Hub plumbing shared by the run pushes and pulls (`textgan.hub`) and the Hub corpora (`textgan.corpora.hub`).

Where the Hub is (`HF_ENDPOINT`, read at call time, not only when huggingface_hub is imported), whether it may be
reached (`HF_HUB_OFFLINE`), whose token a call carries (`textgan.hub_access`'s rule, re-exported here), which repo
ids and revisions are sent at all, and one `HubError` line for whatever the Hub or the network answers, with the
token scrubbed from it. huggingface_hub (and its transport, httpx2) is imported when a function needs it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

from .hub_access import MOCK_OAUTH_TOKEN, acting_for_visitor, auth_advice, resolve_token

__all__ = ["HubError", "check_repo_id", "check_revision", "hub_endpoint", "hub_errors", "is_offline",
           "resolve_token", "scrubbed_error"]

MAX_REVISION = 255
_REPO_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")  # git check-ref-format: control, space and ~^:?*[\


class HubError(Exception):
    """A Hub call failed for a reason the user can act on; the message says which and what to do."""


def check_repo_id(repo_id: str) -> None:
    """Refuse anything but USER/NAME made of plain characters, before it reaches a URL or a cache path."""
    if not isinstance(repo_id, str) or not _REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        raise HubError(f"invalid repo id {repo_id!r}: expected USER/NAME (letters, digits, '-', '_', '.')")


def check_revision(revision: str | None) -> str | None:
    """`revision` when it is a name git accepts for a ref (`git check-ref-format`: no `..`, `//`, `@{`, control
    characters, spaces or ~^:?*[\\, no component starting with `.` or ending in `.lock`) or a commit id; None for
    none. A revision becomes a path in the Hugging Face cache, so anything else is refused before any request."""
    if revision is None:
        return None
    bad = HubError(f"invalid revision {revision!r}: name a branch, tag or commit (git's ref rules: no '..', spaces "
                   "or ~^:?*[\\ characters)")
    if not isinstance(revision, str) or not revision or len(revision) > MAX_REVISION:
        raise bad
    parts = revision.split("/")
    if (_REF_FORBIDDEN.search(revision) or ".." in revision or "@{" in revision or revision == "@"
            or revision.endswith(".") or any(not p or p.startswith(".") or p.endswith(".lock") for p in parts)):
        raise bad
    return revision


def hub_endpoint() -> str:
    """The Hub's base URL: `HF_ENDPOINT` as it is now (a mirror, a self-hosted hub), else huggingface_hub's."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def is_offline() -> bool:
    """Offline mode as it is now: huggingface_hub's constant, or `HF_HUB_OFFLINE` set after it was imported."""
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def scrubbed_error(message: str, token: str | None) -> HubError:
    """A HubError whose message never shows `token`."""
    if token:
        message = message.replace(token, "***")
    return HubError(message)


def _http_message(status: int | None, error, repo_id: str, endpoint: str, token: str | None, action: str) -> str:
    """What an HTTP refusal from the Hub means, and what to do about it."""
    if status == 401 and token == MOCK_OAUTH_TOKEN:
        return ("you signed in with Gradio's local stand-in for Hugging Face sign-in (this app is not running on a "
                "Space), whose token the Hub does not accept: paste your token in the Hub tab's token field")
    if status == 401:
        fix = ("sign in again, or paste a valid token in the Hub tab's token field" if acting_for_visitor()
               else "check HF_TOKEN or run `hf auth login` again")
        return f"the Hugging Face token was rejected by {endpoint} (401 Unauthorized): {fix}"
    if status == 403:
        return f"your token may not {action} {repo_id} (403 Forbidden): use a token with write access to it"
    return f"could not {action} {repo_id}: the Hub at {endpoint} answered {status}: {error.server_message or error}"


@contextmanager
def hub_errors(repo_id: str, endpoint: str, token: str | None, *, action: str, revision: str | None = None,
               offline: bool = False) -> Iterator[None]:
    """Turn huggingface_hub / HTTP exceptions into one HubError saying what happened and what to do."""
    import httpx2  # huggingface_hub's transport: its errors reach us unwrapped
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
        RevisionResolutionError,
    )

    down = f"cannot reach the Hugging Face Hub at {endpoint}: check your network, or HF_ENDPOINT if you use a mirror"
    try:
        yield
    except HubError:
        raise
    except GatedRepoError as e:
        raise scrubbed_error(f"{repo_id} is gated: request access on its page at {endpoint}/{repo_id}", token) from e
    except RepositoryNotFoundError as e:
        if token is None:
            msg = (f"repository {repo_id} not found at {endpoint}, or it is private and no token was given: "
                   f"{auth_advice()}")
        else:
            msg = f"repository {repo_id} not found at {endpoint}, or your token cannot {action} it"
        raise scrubbed_error(msg, token) from e
    except RevisionNotFoundError as e:
        raise scrubbed_error(f"revision {revision!r} not found in {repo_id} at {endpoint}", token) from e
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        raise scrubbed_error(_http_message(status, e, repo_id, endpoint, token, action), token) from e
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, RevisionResolutionError) as e:
        if offline or isinstance(e, OfflineModeIsEnabled):
            rev = f" at revision {revision!r}" if revision else ""
            msg = (f"{repo_id}{rev} is not in the local Hugging Face cache and offline mode is on "
                   "(HF_HUB_OFFLINE=1): pull it once while online, or unset HF_HUB_OFFLINE")
        elif isinstance(e.__cause__, (httpx2.TransportError, OSError)):
            msg = down
        else:
            msg = f"could not {action} {repo_id}: {e}"
        raise scrubbed_error(msg, token) from e
    except (httpx2.TransportError, ConnectionError) as e:
        raise scrubbed_error(f"{down} ({type(e).__name__})", token) from e
