"""`hub`: a text file (one sentence per line) from a Hugging Face Hub *dataset* repo, through huggingface_hub.

On the command line the file lands in the Hugging Face cache (so a second run, or `HF_HUB_OFFLINE=1`, reads it
without the network) and is then read like any text corpus. For an app visitor (`hub_access.acting_for_visitor`)
it is downloaded into a private temporary folder that is deleted once the corpus is read, also on failure: the
cache counts in no disk quota and is never pruned, so a stranger must not be able to fill it. A pulled file is
untrusted input: the repo id and file name are checked before any request, the size is checked from the Hub's
metadata before downloading and again on disk, and every failure is one CorpusError line that says what to do.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from ..hf import HubError, check_repo_id, check_revision, hub_endpoint, hub_errors, is_offline, resolve_token
from ..hub_access import acting_for_visitor
from .base import CorpusError
from .text import TextCorpus

MAX_CORPUS_BYTES = 64 * 2**20
"""Cap on one downloaded corpus file (`TEXTGAN_MAX_CORPUS_BYTES` overrides): COCO is 0.5 MB, EMNLP News 7 MB."""
TEMP_PREFIX = "textgan-hub-corpus-"
"""The name a visitor's download folder starts with, in the system's temporary folder (gone once read)."""
_FILE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def max_corpus_bytes() -> int:
    raw = os.environ.get("TEXTGAN_MAX_CORPUS_BYTES")
    return int(raw) if raw and raw.isdigit() else MAX_CORPUS_BYTES


def check_filename(filename: str) -> str:
    """A relative path inside the repo made of plain names (no `..`, no hidden files, at most 4 levels)."""
    parts = filename.split("/") if isinstance(filename, str) else []
    if not parts or len(parts) > 4 or not all(_FILE_PART.fullmatch(p) for p in parts) or ".." in parts:
        raise CorpusError(f"invalid file name {filename!r} in a Hub dataset: expected a path such as train.txt or "
                          "data/train.txt (letters, digits, '-', '_', '.')")
    return filename


def fetch_text_file(repo: str, filename: str, revision: str | None = None,
                    cache_dir: str | Path | None = None) -> tuple[Path, str | None]:
    """(local path in the HF cache, or in `cache_dir` when given, commit sha when known) of `filename` in dataset
    repo `repo`."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    try:
        check_repo_id(repo)
        check_revision(revision)
    except HubError as e:
        raise CorpusError(f"hub corpus: {e}") from None
    check_filename(filename)
    cap = max_corpus_bytes()
    token, endpoint, offline = resolve_token(None), hub_endpoint(), is_offline()
    where = f"dataset {repo}" + (f"@{revision}" if revision else "")
    sha = None
    missing = CorpusError(f"{where} has no file {filename!r}: name a file of the repo (hub:OWNER/NAME:FILE)")
    try:
        with hub_errors(f"dataset {repo}", endpoint, token, action="download a corpus from", revision=revision,
                         offline=offline):
            try:
                if not offline:
                    meta = get_hf_file_metadata(hf_hub_url(repo, filename, repo_type="dataset", revision=revision,
                                                           endpoint=endpoint), token=token or False, endpoint=endpoint)
                    sha = meta.commit_hash
                    if meta.size is not None and meta.size > cap:
                        raise CorpusError(f"{where}: {filename} is {meta.size:,} bytes, over the {cap:,}-byte cap on "
                                          "a corpus file (TEXTGAN_MAX_CORPUS_BYTES raises it)")
                path = Path(hf_hub_download(repo, filename, repo_type="dataset", revision=revision,
                                            token=token or False, endpoint=endpoint, local_files_only=offline,
                                            cache_dir=cache_dir))
            except EntryNotFoundError:
                raise missing from None
    except HubError as e:
        raise CorpusError(str(e)) from None
    size = path.stat().st_size  # the metadata may have lied, or come from the cache offline
    if size > cap:
        raise CorpusError(f"{where}: {filename} is {size:,} bytes, over the {cap:,}-byte cap on a corpus file")
    return path, sha


@contextmanager
def fetched_text_file(repo: str, filename: str, revision: str | None = None) -> Iterator[tuple[Path, str | None]]:
    """`fetch_text_file` for as long as the block runs. On the command line the file stays in the Hugging Face cache;
    for an app visitor it is downloaded into a private temporary folder, deleted when the block ends (also on an
    error), so a visitor's corpus leaves nothing on the server's disk."""
    if not acting_for_visitor():
        yield fetch_text_file(repo, filename, revision)
        return
    if is_offline():  # a visitor never reads the server's cache: it may hold what the operator's token could see
        raise CorpusError("this server is offline (HF_HUB_OFFLINE=1): it cannot download a corpus from the Hub; "
                          "choose another corpus")
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as folder:
        yield fetch_text_file(repo, filename, revision, cache_dir=folder)


class HubCorpus(TextCorpus):
    """A text corpus from a Hub dataset repo: `file` for training, `test_file` (same repo) or a split for testing."""

    def __init__(self, repo: str, file: str = "train.txt", test_file: str | None = None, revision: str | None = None,
                 level: str = "word", lowercase: bool = True, vocab_cap: int = 10_000, max_len: int | None = None,
                 test_fraction: float = 0.1, bpe_vocab: int = 2000, seed: int = 0, tokenize: str = "regex",
                 vocab_from: str = "train") -> None:
        with ExitStack() as files:  # both files are read here, once: nothing reads their paths later
            train_path, sha = files.enter_context(fetched_text_file(repo, file, revision))
            test_path = files.enter_context(fetched_text_file(repo, test_file, revision))[0] if test_file else None
            try:
                super().__init__(str(train_path), str(test_path) if test_path else None, level=level,
                                 lowercase=lowercase, vocab_cap=vocab_cap, max_len=max_len,
                                 test_fraction=test_fraction, bpe_vocab=bpe_vocab, seed=seed, tokenize=tokenize,
                                 vocab_from=vocab_from)
            except CorpusError as e:  # name the file by its repo, never by a path on this machine
                message = str(e).replace(str(train_path), f"{repo}:{file}")
                if test_path is not None:
                    message = message.replace(str(test_path), f"{repo}:{test_file}")
                raise CorpusError(message) from None
        # The spec names the repo, never the cache path, so a run directory carries no local path.
        self.spec = {"kind": "hub", "repo": repo, "file": file, "test_file": test_file, "revision": revision,
                     "level": level, "lowercase": lowercase, "vocab_cap": vocab_cap, "max_len": self.info["max_len"],
                     "test_fraction": test_fraction, "bpe_vocab": bpe_vocab, "seed": seed, "tokenize": tokenize,
                     "vocab_from": vocab_from}
        self.info.update({"hub_repo": repo, "hub_file": file, "hub_commit": sha})


def parse_hub_corpus(arg: str) -> dict:
    """`hub:OWNER/NAME[:FILE]` -> a corpus spec (FILE defaults to train.txt)."""
    body = arg.removeprefix("hub:")
    repo, _, filename = body.partition(":")
    spec = {"kind": "hub", "repo": repo}
    if filename:
        spec["file"] = filename
    return spec
