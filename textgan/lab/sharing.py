"""The Hub tab's engine: push a run directory and pull one into the server's checkpoints, with the Hub's refusals
turned into LabErrors (the UI shows their message as is). The token is passed through for one request only."""

from __future__ import annotations

from pathlib import Path


def push_run(path: str | Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Push the run directory at `path` to `repo_id`; returns the repo's URL."""
    from .. import hub
    from .errors import LabError

    try:
        return hub.push(path, (repo_id or "").strip(), token=(token or "").strip() or None, private=bool(private))
    except hub.HubError as e:
        raise LabError(str(e)) from None


def pull_run(repo_id: str, checkpoints: str | Path, revision: str | None = None, token: str | None = None) -> Path:
    """Pull `repo_id` into `checkpoints/<owner>--<name>` (replacing an earlier pull of it); returns that path."""
    from .. import hub
    from .errors import LabError

    repo_id = (repo_id or "").strip()
    out = Path(checkpoints) / repo_id.replace("/", "--")
    try:
        hub.pull(repo_id, revision=(revision or "").strip() or None, token=(token or "").strip() or None,
                 out=out, overwrite=True)
    except hub.HubError as e:
        raise LabError(str(e)) from None
    return out  # as list_checkpoints names it (the Compare picker's choices)
