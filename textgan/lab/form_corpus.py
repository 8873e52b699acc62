"""The Train form's corpus choice turned into a corpus spec: the modes corpus' weights, uploads (checked, then stored
under the checkpoints folder by content hash) and server paths (only inside folders the operator lists)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

from ..corpora.hub import parse_hub_corpus
from .errors import LabError, as_int, slug
from .uploads import confined_upload

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Uploaded corpora above this size are refused (a Space has little disk and 2 CPU cores)."""
MODE_WEIGHTS = ("uniform", "skewed", "skewed-alike")
"""The form's choices for how often each mode occurs (skewed: Zipf, mode i has weight 1/(i+1)); 'skewed-alike'
also gives every mode the same sentence pattern, so that only the weights tell the modes apart."""
MODE_WEIGHT_LABELS = [("uniform", "uniform"), ("skewed", "skewed"), ("skewed, one sentence pattern", "skewed-alike")]
"""(label, value) pairs for the form's radio."""


def check_upload(path: str | Path) -> None:
    """Refuse uploads a text corpus cannot be: missing, empty, over the size limit, binary or not UTF-8."""
    p = Path(path)
    if not p.is_file():
        raise LabError(f"uploaded file {p.name!r} was not received; upload it again")
    size = p.stat().st_size
    if size == 0:
        raise LabError(f"{p.name} is empty: a corpus needs one sentence per line")
    if size > MAX_UPLOAD_BYTES:
        raise LabError(f"{p.name} is {size / 2**20:.1f} MB, over the {MAX_UPLOAD_BYTES / 2**20:.0f} MB upload limit; "
                       "use a smaller file, or run the CLI on a local path")
    head = p.read_bytes()[:65536]
    if b"\x00" in head:
        raise LabError(f"{p.name} looks like a binary file (it contains NUL bytes); upload plain UTF-8 text, "
                       "one sentence per line")
    try:
        p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise LabError(f"{p.name} is not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8 and upload "
                       "again") from None


def modes_settings(weights: str | None) -> dict[str, Any]:
    """The `modes` corpus settings of the form's weights choice: {} for uniform, else weights (and patterns)."""
    if weights not in (None, "", *MODE_WEIGHTS):
        raise LabError(f"mode weights {weights!r}: choose one of {MODE_WEIGHTS}")
    if weights == "skewed-alike":
        return {"weights": "skewed", "patterns": "alike"}
    return {"weights": weights} if weights == "skewed" else {}


def form_weights(weights: str = "uniform", patterns: str = "varied") -> str:
    """The form's weights choice for a `modes` corpus' settings (the inverse of `modes_settings`)."""
    return "skewed-alike" if weights == "skewed" and patterns == "alike" else weights


def corpus_roots() -> list[Path]:
    """The folders whose text files a visitor may name as a corpus: `TEXTGAN_CORPUS_ROOTS` (paths separated by
    the OS path separator), none by default, so a public server reads no server file a visitor names."""
    raw = os.environ.get("TEXTGAN_CORPUS_ROOTS", "")
    return [Path(r).expanduser() for r in raw.split(os.pathsep) if r.strip()]


def confined_path(path: str, roots: list[Path]) -> Path:
    """`path` resolved (symlinks followed) when it is a file inside one of `roots`, else a LabError that reveals
    nothing about files outside them."""
    if not roots:
        raise LabError("this server reads no files a visitor names: upload your text file instead (the operator can "
                       "allow folders with TEXTGAN_CORPUS_ROOTS)")
    p = Path(str(path).strip()).expanduser()
    for root in roots:
        base = root.resolve()
        real = (p if p.is_absolute() else base / p).resolve()
        if real.is_relative_to(base) and real.is_file():
            return real
    raise LabError(f"no text file {str(path).strip()!r} under the folders this server offers "
                   f"({', '.join(str(r) for r in roots)})")


def stored_upload(upload: str, upload_dir: str | Path, reserve: Callable[[int], None] | None = None) -> Path:
    """The upload checked and copied under `upload_dir`, named by its content hash, so that a run that records its
    path can be rebuilt after the browser's temporary file is gone. A new copy is first charged with `reserve(bytes)`
    (the app: the visitor's disk quota, `Lab.charge_disk`, which refuses with a LabError)."""
    upload = confined_upload(upload)  # only Gradio's upload cache: never a server file a caller names
    check_upload(upload)
    data = Path(upload).read_bytes()
    dest = Path(upload_dir) / f"{slug(Path(upload).stem)}-{hashlib.sha256(data).hexdigest()[:10]}.txt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        if reserve is not None:
            reserve(len(data))
        tmp = dest.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(dest)
    return dest


def corpus_spec(kind: str, k: int = 8, path: str | None = None, upload: str | None = None,
                upload_dir: str | Path = "checkpoints/uploads", level: str = "word",
                roots: list[Path] | None = None, weights: str | None = "uniform",
                reserve: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The corpus spec for the form's choice. An upload is stored by `stored_upload` (charged with `reserve`). A
    server path is allowed only inside `roots` (default: `corpus_roots()`, empty unless the operator lists folders)."""
    if kind == "modes":
        return {"kind": "modes", "k": as_int(k, "K (number of modes)"), **modes_settings(weights)}
    if kind in ("oracle", "coco"):  # coco ships with textgan: the published conventions (treebank words)
        return {"kind": kind}
    if kind == "hub":
        text = str(path or "").strip().removeprefix("hub:")
        if not text:
            raise LabError("type a Hub dataset as OWNER/NAME or OWNER/NAME:FILE (FILE defaults to train.txt)")
        return {**parse_hub_corpus(text), "level": level}
    if kind == "upload":
        if not upload:
            raise LabError("choose a .txt file to upload first (one sentence per line)")
        return {"kind": "text", "path": str(stored_upload(upload, upload_dir, reserve)), "level": level}
    if kind == "path":
        if not path or not str(path).strip():
            raise LabError("type the path of a local text file (one sentence per line)")
        p = confined_path(path, corpus_roots() if roots is None else roots)
        check_upload(p)
        return {"kind": "text", "path": str(p), "level": level}
    raise LabError(f"unknown corpus choice {kind!r}; choose modes, oracle, coco, hub, upload or path")
