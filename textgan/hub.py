"""Push a run directory to the Hugging Face Hub and pull one back, safely.

A pulled repo is untrusted input. `pull` therefore
  1. lists the repo first and refuses repos that carry only pickle checkpoints (`*.bin`, `*.pt`, ...): unpickling
     runs arbitrary code, and textgan never does it;
  2. downloads only the file types a run directory is made of (JSON, safetensors, CSV, TXT, the README card), only
     at the top level, and only files under a size cap;
  3. copies them into a temporary directory next to the destination, runs `textgan.rundir.validate_run_dir` on
     it (config schema/version, variant and net names, tensor names and shapes from the safetensors headers, vocab
     size), and only then renames it into place, so `checkpoints/` never holds half a repo.

The token comes from the argument, else `HF_TOKEN`, else the `hf auth login` file (`huggingface_hub.get_token`). It
is handed to `huggingface_hub` and nowhere else: never written into the run directory or the card, never logged, and
scrubbed from every error message. `HF_ENDPOINT` (self-hosted hubs, mirrors) and `HF_HUB_OFFLINE=1` are read when a
function is called, not only when huggingface_hub is imported.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

# What a run directory is made of (textgan.rundir). Everything else in a repo is ignored, never downloaded.
ALLOWED_SUFFIXES = (".json", ".safetensors", ".csv", ".txt")
ALLOWED_EXTRA = ("README.md",)
# The files a pulled run may install: the run directory's own (textgan.rundir), nothing else a repo happens to hold.
RUN_FILES = frozenset({"config.json", "generator.safetensors", "critic.safetensors", "state.json", "state.safetensors",
                       "vocab.json", "tokenizer.json", "history.csv", "samples.txt", "metrics.json", "README.md"})
MAX_PULL_BYTES = int(os.environ.get("TEXTGAN_MAX_PULL_BYTES", 4 * 1024**3))
"""Cap on the total size of one pulled run (all its files together)."""
EXPORT_DIR = "hf"  # pushed, never pulled (see push)
# The per-file size cap and the pickle suffixes are textgan.checkpoint's (MAX_FILE_BYTES, PICKLE_SUFFIXES): one
# policy for a run directory, whether it is checked before downloading (here) or before loading (there).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # top-level, no hidden files, no path tricks
_REPO_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*")

NO_TOKEN_MESSAGE = "no Hugging Face token: pass --token, set HF_TOKEN or run `hf auth login`"


class HubError(Exception):
    """A push or pull failed for a reason the user can act on; the message says which and what to do."""


# ------------------------------------------------------------------------------------------------ public API


def push(
    run_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
) -> str:
    """Upload a run directory (plus a generated model card) to `repo_id`, creating the repo if needed.

    Returns the repo's URL. Only the files a run directory is made of are uploaded; the run directory itself is not
    modified (the card is written into a staging copy).
    """
    from huggingface_hub import HfApi

    from .card import build_card

    _check_repo_id(repo_id)
    token = _resolve_token(token)
    if token is None:
        raise HubError(NO_TOKEN_MESSAGE)
    run_dir = Path(run_dir)
    config = _validate_run_dir(run_dir, what=f"{run_dir} is not a valid run directory")
    endpoint = _endpoint()
    if _offline():
        raise HubError(f"cannot push {repo_id}: offline mode is on (HF_HUB_OFFLINE=1); unset it to upload")

    # The card is always regenerated from the run's files, so that it matches what is uploaded; symlinks are not
    # followed, so nothing from outside the run directory is uploaded by accident.
    regular = [p for p in sorted(run_dir.iterdir()) if p.is_file() and not p.is_symlink() and p.name != "README.md"]
    files = [p for p in regular if _is_run_file(p.name)]
    skipped = [p.name for p in run_dir.iterdir() if p not in files and p.name not in ("README.md", EXPORT_DIR)]
    if skipped:
        logger.warning("not uploading files that are not part of a run directory: %s", ", ".join(sorted(skipped)))
    # A generator's plain-transformers export (`run_dir/hf/`, see nets/transformer.py) goes up too, so that
    # `AutoModelForCausalLM.from_pretrained(repo_id, subfolder="hf")` works without textgan. Pull ignores it:
    # `Run.save` writes it again from the generator's weights.
    export = run_dir / EXPORT_DIR
    exported = ([p for p in sorted(export.iterdir()) if p.is_file() and not p.is_symlink() and _is_run_file(p.name)]
                if export.is_dir() and not export.is_symlink() else [])
    message = commit_message or f"textgan: {config['run'].get('variant', 'run')} at step {config.get('step', 0)}"

    api = HfApi(endpoint=endpoint, token=token)
    with _hub_errors(repo_id, endpoint, token, action="push to"):
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        if private and not api.repo_info(repo_id).private:
            # create_repo leaves an existing repo as it is: uploading now would publish what the user meant to keep
            # private.
            raise HubError(f"{repo_id} already exists and is public: not pushing a run meant to be private. Make "
                           f"the repo private on the Hub ({endpoint}/{repo_id}/settings) or push without --private")
        with tempfile.TemporaryDirectory(prefix="textgan-push-") as stage:
            for p in files:
                _link_or_copy(p, Path(stage) / p.name)
            if exported:
                (Path(stage) / EXPORT_DIR).mkdir()
                for p in exported:
                    _link_or_copy(p, Path(stage) / EXPORT_DIR / p.name)
            _portable_config(Path(stage) / "config.json")
            build_card(stage, repo_id=repo_id).save(Path(stage) / "README.md")
            api.upload_folder(repo_id=repo_id, folder_path=stage, commit_message=message)
    return str(url)


def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    max_file_bytes: int | None = None,
    max_total_bytes: int | None = None,
) -> Path:
    """Download `repo_id` (at `revision`) into a run directory that `Run.load` accepts, and return its path.

    `out` defaults to `checkpoints/<owner>--<name>`. An existing non-empty `out` is refused unless `overwrite=True`.
    The repo is listed and checked before anything is downloaded, and validated before anything is written to `out`.
    `max_file_bytes` defaults to `textgan.checkpoint.MAX_FILE_BYTES` (env `TEXTGAN_MAX_FILE_BYTES`), `max_total_bytes`
    (all files together) to `MAX_PULL_BYTES` (env `TEXTGAN_MAX_PULL_BYTES`). Only a run directory's own files
    (`RUN_FILES`) are downloaded and installed.
    """
    from huggingface_hub import HfApi, snapshot_download

    from .checkpoint import MAX_FILE_BYTES

    max_file_bytes = MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
    max_total_bytes = MAX_PULL_BYTES if max_total_bytes is None else max_total_bytes
    _check_repo_id(repo_id)
    out = Path(out) if out is not None else Path("checkpoints") / repo_id.replace("/", "--")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise HubError(f"{out} already exists and is not empty: pass --out DIR or overwrite=True")
    token = _resolve_token(token)
    endpoint = _endpoint()
    offline = _offline()

    api = HfApi(endpoint=endpoint, token=token or False)
    with _hub_errors(repo_id, endpoint, token, action="pull", revision=revision, offline=offline):
        # Resolve the revision to a commit once (this also records it in the cache for later offline pulls); every
        # file then comes from that commit, even if someone pushes meanwhile.
        rev = api.resolve_revision(repo_id, revision=revision, local_files_only=offline)
        if offline:  # no listing possible: take what the cache holds, then check it like a download
            wanted = sorted(RUN_FILES)
        else:
            info = api.model_info(repo_id, revision=rev.resolved, files_metadata=True)
            wanted = _check_listing(repo_id, {s.rfilename: s.size for s in info.siblings or []}, max_file_bytes,
                                    max_total_bytes)
        snapshot = snapshot_download(
            repo_id, revision=rev, token=token or False, endpoint=endpoint, allow_patterns=wanted,
            local_files_only=offline,
        )

    return _install(Path(snapshot), out, repo_id=repo_id, sha=rev.resolved, overwrite=overwrite,
                    max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes)


# ------------------------------------------------------------------------------------------------ safety checks


def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not _REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        raise HubError(f"invalid repo id {repo_id!r}: expected USER/NAME (letters, digits, '-', '_', '.')")


def _is_run_file(name: str) -> bool:
    return bool(_SAFE_NAME.fullmatch(name)) and (name.endswith(ALLOWED_SUFFIXES) or name in ALLOWED_EXTRA)


def _check_listing(repo_id: str, sizes: dict[str, int | None], max_file_bytes: int,
                   max_total_bytes: int = MAX_PULL_BYTES) -> list[str]:
    """Decide from the repo's file listing what to download, or refuse the repo. Nothing is downloaded yet."""
    from .checkpoint import PICKLE_SUFFIXES

    wanted = sorted(name for name in sizes if name in RUN_FILES)
    pickles = sorted(name for name in sizes if name.lower().endswith(PICKLE_SUFFIXES))
    has_tensors = any(name.endswith(".safetensors") for name in wanted)
    if "config.json" not in wanted or not has_tensors:
        if pickles:
            raise HubError(
                f"refusing {repo_id}: it has no textgan run (config.json + *.safetensors), only pickle files "
                f"({', '.join(pickles)}). Loading a pickle can run arbitrary code, so textgan never unpickles a "
                "downloaded file; ask the author to push the run with `python -m textgan push`."
            )
        missing = "config.json" if "config.json" not in wanted else "*.safetensors weights"
        raise HubError(
            f"{repo_id} is not a textgan run: no {missing} (files: {', '.join(sorted(sizes)) or 'none'})"
        )
    if pickles:
        logger.warning("%s: ignoring pickle files %s (never downloaded)", repo_id, ", ".join(pickles))
    for name in wanted:
        size = sizes[name]
        if size is not None and size > max_file_bytes:
            raise HubError(
                f"refusing {repo_id}: {name} is {size:,} bytes, over the {max_file_bytes:,}-byte cap per file"
            )
    total = sum(sizes[name] or 0 for name in wanted)
    if total > max_total_bytes:
        raise HubError(f"refusing {repo_id}: its run files total {total:,} bytes, over the {max_total_bytes:,}-byte "
                       "cap for one run (TEXTGAN_MAX_PULL_BYTES)")
    return wanted


def _install(snapshot: Path, out: Path, *, repo_id: str, sha: str, overwrite: bool, max_file_bytes: int,
             max_total_bytes: int = MAX_PULL_BYTES) -> Path:
    """Copy the snapshot's run files into a temp dir beside `out`, validate, then rename into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.pull-", dir=out.parent))
    total = 0
    try:
        for src in sorted(snapshot.iterdir()):
            if src.name not in RUN_FILES or not src.is_file():
                continue
            size = src.stat().st_size  # the listing may have lied about sizes
            total += size
            if size > max_file_bytes:
                raise HubError(f"refusing {repo_id}: {src.name} is {size:,} bytes, over the {max_file_bytes:,}-byte cap")
            if total > max_total_bytes:
                raise HubError(f"refusing {repo_id}: its run files total over the {max_total_bytes:,}-byte cap")
            shutil.copyfile(src, tmp / src.name)  # follows the cache's symlinks: a plain file lands in `out`
        _validate_run_dir(tmp, what=f"{repo_id}@{sha[:10]} is not a valid textgan run")
        if out.exists():  # only reachable with overwrite=True (checked in `pull`)
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _validate_run_dir(path: Path, *, what: str) -> dict:
    """`textgan.rundir.validate_run_dir`, with its error turned into a HubError that names the repo or dir."""
    from .rundir import CheckpointError, validate_run_dir

    try:
        return validate_run_dir(path)
    except CheckpointError as e:
        raise HubError(f"{what}: {e}") from e


# ------------------------------------------------------------------------------------------------ plumbing


def _resolve_token(token: str | None) -> str | None:
    """The argument, else HF_TOKEN, else the token saved by `hf auth login`."""
    if token:
        return token
    from huggingface_hub import get_token

    return get_token()


def _endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def _portable_config(staged: Path) -> None:
    """The staged config.json without local paths, also for runs saved before config.json stopped recording them
    (an output folder, a text corpus's path: only its file name and hash go up)."""
    import json

    from .corpora import portable_spec

    config = json.loads(staged.read_text(encoding="utf-8"))
    run = config.get("run", {})
    clean = {k: v for k, v in run.items() if k != "out"}
    if isinstance(run.get("corpus"), dict):
        clean["corpus"] = portable_spec(run["corpus"])
    if clean != run:
        staged.unlink()  # a hard link to the run's own file: never edit that one
        staged.write_text(json.dumps({**config, "run": clean}, indent=2, allow_nan=True) + "\n", encoding="utf-8")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # checkpoints can be large: a hard link costs nothing
    except OSError:
        shutil.copyfile(src, dst)


@contextmanager
def _hub_errors(repo_id: str, endpoint: str, token: str | None, *, action: str, revision: str | None = None,
                offline: bool = False):
    """Turn huggingface_hub / HTTP exceptions into one HubError saying what happened and what to do."""
    import httpx2
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
        raise _error(f"{repo_id} is gated: request access on its page at {endpoint}/{repo_id}", token) from e
    except RepositoryNotFoundError as e:
        if token is None:
            msg = (f"repository {repo_id} not found at {endpoint}, or it is private and no token was given: "
                   "pass --token, set HF_TOKEN or run `hf auth login`")
        else:
            msg = f"repository {repo_id} not found at {endpoint}, or your token cannot {action} it"
        raise _error(msg, token) from e
    except RevisionNotFoundError as e:
        raise _error(f"revision {revision!r} not found in {repo_id} at {endpoint}", token) from e
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        if status == 401:
            msg = (f"the Hugging Face token was rejected by {endpoint} (401 Unauthorized): check HF_TOKEN or run "
                   "`hf auth login` again")
        elif status == 403:
            msg = f"your token may not {action} {repo_id} (403 Forbidden): use a token with write access to it"
        else:
            msg = f"could not {action} {repo_id}: the Hub at {endpoint} answered {status}: {e.server_message or e}"
        raise _error(msg, token) from e
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, RevisionResolutionError) as e:
        if offline or isinstance(e, OfflineModeIsEnabled):
            rev = f" at revision {revision!r}" if revision else ""
            msg = (f"{repo_id}{rev} is not in the local Hugging Face cache and offline mode is on "
                   "(HF_HUB_OFFLINE=1): pull it once while online, or unset HF_HUB_OFFLINE")
        elif isinstance(e.__cause__, (httpx2.TransportError, OSError)):
            msg = down
        else:
            msg = f"could not {action} {repo_id}: {e}"
        raise _error(msg, token) from e
    except (httpx2.TransportError, ConnectionError) as e:
        raise _error(f"{down} ({type(e).__name__})", token) from e


def _error(message: str, token: str | None) -> HubError:
    if token:
        message = message.replace(token, "***")
    return HubError(message)
