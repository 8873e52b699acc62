"""Autosaves: where an unsaved run is kept before Reset, a closed tab or a stop for want of watching discards it.
Each is a new, uniquely named run directory in the visitor's own folder; a visitor keeps a bounded number, the
oldest deleted first (never another visitor's)."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from .errors import slug

AUTOSAVE_PREFIX = "autosave-"
"""The names of autosaves (a Save may not use it)."""


def autosaves(folder: Path) -> list[Path]:
    """A visitor's autosaves, oldest first (links are never followed, nor deleted through)."""
    found = [p for p in folder.glob(AUTOSAVE_PREFIX + "*") if p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def drop_oldest(folder: Path) -> bool:
    """Delete the visitor's oldest autosave; False when it has none."""
    old = autosaves(folder)
    if old:
        shutil.rmtree(old[0], ignore_errors=True)
    return bool(old)


def new_autosave_dir(folder: Path, what: str, keep: int) -> Path:
    """A fresh autosave directory in `folder` named after `what` (variant and corpus), after deleting the oldest
    autosaves so that at most `keep` remain with it."""
    while len(autosaves(folder)) >= max(1, keep):
        drop_oldest(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{AUTOSAVE_PREFIX}{slug(what)}-{stamp}-{secrets.token_hex(3)}"
