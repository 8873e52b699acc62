"""Push a run directory to the Hugging Face Hub and pull one back, safely.

A pulled repo is untrusted input. `pull` therefore
  1. lists the repo first and refuses repos that carry only pickle checkpoints (`*.bin`, `*.pt`, ...): unpickling
     runs arbitrary code, and textgan never does it;
  2. downloads only the file types a run directory is made of (JSON, safetensors, CSV, TXT, the README card), only
     at the top level, and only files under a size cap;
  3. copies them into a temporary directory next to the destination, runs `textgan.rundir.validate_run_dir` on
     it (config schema/version, variant and net names, tensor names and shapes from the safetensors headers, vocab
     size), and only then renames it into place, so `checkpoints/` never holds half a repo.

Whose token a call carries is `textgan.hub_access`'s rule: the operator's may serve the CLI, never a visitor of the
app. A token is handed to `huggingface_hub` and nowhere else: never written into the run directory or the card, never
logged, and scrubbed from every error message. `HF_ENDPOINT` (self-hosted hubs, mirrors) and `HF_HUB_OFFLINE=1` are
read when a function is called, not only when huggingface_hub is imported.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from . import hub_limits
from .card import build_card
from .checkpoint import MAX_FILE_BYTES, PICKLE_SUFFIXES, CheckpointError
from .corpora import portable_spec
# The Hub plumbing and the token policy, used here and re-exported for the app, the lab and the tests
# (hub.HubError, hub.check_revision, hub.visitor_access, hub.PAGE_AUTH, ...).
from .hf import HubError, check_repo_id, check_revision, hub_endpoint, hub_errors, is_offline  # noqa: F401
from .hub_access import (CLI_AUTH, MOCK_OAUTH_TOKEN, PAGE_AUTH, acting_for_visitor, auth_advice,  # noqa: F401
                         resolve_token, serve_visitors, visitor_access)
from .rundir import validate_run_dir

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

NO_TOKEN_MESSAGE = f"no Hugging Face token: {CLI_AUTH}"
# ------------------------------------------------------------------------------------------------ public API


def push(
    run_dir: str | Path,
    repo_id: str,
    *,
    token: str | Literal[False] | None = None,
    private: bool = False,
    commit_message: str | None = None,
) -> str:
    """Upload a run directory (plus a generated model card) to `repo_id`, creating the repo if needed.

    Returns the repo's URL. Only the files a run directory is made of are uploaded; the run directory itself is not
    modified (the card is written into a staging copy). `token=None` resolves as `resolve_token` says.
    """
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    token = resolve_token(token)
    if token is None:
        raise HubError(f"no Hugging Face token: {auth_advice()}")
    run_dir = Path(run_dir)
    config = _validate_run_dir(run_dir, what=f"{run_dir.name} is not a valid run directory")
    endpoint = hub_endpoint()
    if is_offline():
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
    with hub_errors(repo_id, endpoint, token, action="push to"):
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


def whoami(token: str) -> str:
    """The Hub user name of `token` (for pushes to the visitor's own namespace)."""
    from huggingface_hub import HfApi

    endpoint = hub_endpoint()
    with hub_errors("your account", endpoint, token, action="read"):
        return str(HfApi(endpoint=endpoint, token=token).whoami()["name"])


def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | Literal[False] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    max_file_bytes: int | None = None,
    max_total_bytes: int | None = None,
    use_cache: bool = True,
) -> Path:
    """Download `repo_id` (at `revision`) into a run directory that `Run.load` accepts, and return its path.

    `out` defaults to `checkpoints/<owner>--<name>`. An existing non-empty `out` is refused unless `overwrite=True`.
    The repo is listed and checked before anything is downloaded; config.json and the other small JSON files come
    first and set each other file's size cap (`hub_limits.file_caps`); the whole is validated before anything is
    written to `out`. `max_file_bytes` defaults to `textgan.checkpoint.MAX_FILE_BYTES` (env `TEXTGAN_MAX_FILE_BYTES`),
    `max_total_bytes` (all files together) to `MAX_PULL_BYTES` (env `TEXTGAN_MAX_PULL_BYTES`). Only a run
    directory's own files (`RUN_FILES`) are downloaded and installed. With `use_cache=False` (a server) the files
    go to a temporary folder beside `out`, not into the Hugging Face cache too: a pull is stored once.
    """
    from huggingface_hub import HfApi

    max_file_bytes = MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
    max_total_bytes = MAX_PULL_BYTES if max_total_bytes is None else max_total_bytes
    check_repo_id(repo_id)
    revision = check_revision(revision)
    out = Path(out) if out is not None else Path("checkpoints") / repo_id.replace("/", "--")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise HubError(f"{out.name} already exists and is not empty: pass --out DIR or overwrite=True")
    token = resolve_token(token)
    endpoint, offline = hub_endpoint(), is_offline()

    api = HfApi(endpoint=endpoint, token=token or False)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.pull-", dir=out.parent))
    download_dir = stage.parent / f"{stage.name}.dl"  # without the cache: huggingface_hub's own folder, then moved
    try:
        with hub_errors(repo_id, endpoint, token, action="pull", revision=revision, offline=offline):
            # Resolve the revision to a commit once (this also records it in the cache for later offline pulls);
            # every file then comes from that commit, even if someone pushes meanwhile.
            rev = api.resolve_revision(repo_id, revision=revision, local_files_only=offline)
            if offline:  # no listing possible: take what the cache holds, then check it like a download
                sizes: dict[str, int | None] = {name: None for name in sorted(RUN_FILES)}
            else:
                info = api.model_info(repo_id, revision=rev.resolved, files_metadata=True)
                sizes = {s.rfilename: s.size for s in info.siblings or []}
                sizes = {name: sizes[name] for name in _check_listing(repo_id, sizes, max_file_bytes,
                                                                       max_total_bytes)}
            fetch = _Fetcher(repo_id, rev.resolved, token, endpoint, offline,
                             None if use_cache or offline else download_dir)
            for name in sorted(set(sizes) & set(hub_limits.SMALL_FILES)):
                fetch(name, stage)
            caps = _caps(stage, f"{repo_id}@{rev.resolved[:10]}")
            _limited(lambda: hub_limits.check_sizes(sizes, caps), f"refusing {repo_id}")
            for name in sorted(set(sizes) - set(hub_limits.SMALL_FILES)):
                fetch(name, stage)
        _install(stage, out, repo_id=repo_id, sha=rev.resolved, caps=caps, max_file_bytes=max_file_bytes,
                 max_total_bytes=max_total_bytes)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    return out


# ------------------------------------------------------------------------------------------------ safety checks


def _is_run_file(name: str) -> bool:
    return bool(_SAFE_NAME.fullmatch(name)) and (name.endswith(ALLOWED_SUFFIXES) or name in ALLOWED_EXTRA)


def _check_listing(repo_id: str, sizes: dict[str, int | None], max_file_bytes: int,
                   max_total_bytes: int = MAX_PULL_BYTES) -> list[str]:
    """Decide from the repo's file listing what to download, or refuse the repo. Nothing is downloaded yet."""
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


class _Fetcher:
    """Downloads one file of the resolved commit into the stage folder: through the Hugging Face cache (copied:
    the cache's symlinks never reach a run directory), or, with `download_dir`, straight into a temporary folder
    (moved: the file is stored once). A file the offline cache lacks is skipped; validation names what is missing."""

    def __init__(self, repo_id: str, sha: str, token: str | None, endpoint: str, offline: bool,
                 download_dir: Path | None) -> None:
        self.repo_id, self.sha, self.token, self.endpoint = repo_id, sha, token, endpoint
        self.offline, self.download_dir = offline, download_dir

    def __call__(self, name: str, stage: Path) -> None:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

        kwargs = {"local_dir": self.download_dir} if self.download_dir is not None else {}
        try:
            path = Path(hf_hub_download(self.repo_id, name, revision=self.sha, token=self.token or False,
                                        endpoint=self.endpoint, local_files_only=self.offline, **kwargs))
        except (EntryNotFoundError, LocalEntryNotFoundError):
            if self.offline:
                return
            raise
        if self.download_dir is not None:
            os.replace(path, stage / name)
        else:
            shutil.copyfile(path, stage / name)


def _caps(stage: Path, where: str) -> dict[str, int]:
    """Each file's byte cap from the config already in `stage` (a HubError naming the repo when it is unusable)."""
    if not (stage / "config.json").is_file():
        raise HubError(f"{where} is not a valid textgan run: config.json is missing")
    return _limited(lambda: hub_limits.file_caps(stage), f"{where} is not a valid textgan run")


def _limited(check, what: str):
    """`check()`, its CheckpointError turned into a HubError that starts with `what`."""
    try:
        return check()
    except CheckpointError as e:
        raise HubError(f"{what}: {e}") from None


def _install(stage: Path, out: Path, *, repo_id: str, sha: str, caps: dict[str, int], max_file_bytes: int,
             max_total_bytes: int = MAX_PULL_BYTES) -> Path:
    """Check the staged files' sizes on disk (the listing may have lied), validate the run and its state, then
    rename the stage into place: `out` never holds half a repo."""
    sizes = {p.name: p.stat().st_size for p in stage.iterdir() if p.is_file()}
    for name, size in sorted(sizes.items()):
        if size > max_file_bytes:
            raise HubError(f"refusing {repo_id}: {name} is {size:,} bytes, over the {max_file_bytes:,}-byte cap")
    if sum(sizes.values()) > max_total_bytes:
        raise HubError(f"refusing {repo_id}: its run files total over the {max_total_bytes:,}-byte cap")
    _limited(lambda: hub_limits.check_sizes(sizes, caps), f"refusing {repo_id}")
    _validate_run_dir(stage, what=f"{repo_id}@{sha[:10]} is not a valid textgan run")
    _limited(lambda: hub_limits.check_state(stage), f"refusing {repo_id}")
    if out.exists():  # only reachable with overwrite=True (checked in `pull`)
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        stage.rename(out)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        stage.rename(out)
    return out


def _validate_run_dir(path: Path, *, what: str) -> dict:
    """`textgan.rundir.validate_run_dir`, with its error turned into a HubError that names the repo or dir."""
    try:
        return validate_run_dir(path)
    except CheckpointError as e:
        raise HubError(f"{what}: {e}") from e


# ------------------------------------------------------------------------------------------------ plumbing


def _portable_config(staged: Path) -> None:
    """The staged config.json without local paths, also for runs saved before config.json stopped recording them
    (an output folder, a text corpus's path: only its file name and hash go up)."""
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
