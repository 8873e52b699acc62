"""Storage, knowing files and not runs: atomic directory writes, nested state as safetensors + JSON, bounded JSON.

What a run directory must hold, and the checks before one is loaded, are `textgan.rundir`'s. Files may come from
anywhere (the Hub, a colleague), so only JSON and safetensors are ever parsed, never pickle, and JSON is
size-checked before a byte is parsed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

MAX_FILE_BYTES = int(os.environ.get("TEXTGAN_MAX_FILE_BYTES", 2 * 1024**3))
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
MAX_JSON_BYTES = int(os.environ.get("TEXTGAN_MAX_JSON_BYTES", 64 * 1024**2))


class CheckpointError(ValueError):
    """A run directory that cannot (or must not) be loaded; the message says which file and why."""


# ---- state encoding: nested dicts/lists with tensors -> (flat tensor dict, JSON skeleton) ------------------

def encode_state(obj: Any) -> tuple[dict[str, Tensor], Any]:
    """Split a nested structure (optimizer state dicts, RNG states) into safetensors-able tensors + JSON.

    Dict keys keep their type (optimizer states use int keys), so the structure round-trips exactly.
    """
    tensors: dict[str, Tensor] = {}

    def enc(x: Any) -> Any:
        if isinstance(x, Tensor):
            name = f"t{len(tensors)}"
            tensors[name] = x.detach().cpu().clone().contiguous()
            return {"$t": name}
        if isinstance(x, dict):
            return {"$d": [[k, enc(v)] for k, v in x.items()]}
        if isinstance(x, tuple):
            return {"$tuple": [enc(v) for v in x]}
        if isinstance(x, list):
            return [enc(v) for v in x]
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"cannot store {type(x).__name__} in a checkpoint")

    return tensors, enc(obj)


def decode_state(skeleton: Any, tensors: dict[str, Tensor]) -> Any:
    """The structure `encode_state` split, rebuilt from its JSON skeleton and tensors."""
    def dec(x: Any) -> Any:
        if isinstance(x, dict):
            if "$t" in x:
                if x["$t"] not in tensors:
                    raise CheckpointError(f"state.json refers to a tensor {x['$t']!r} missing from state.safetensors")
                return tensors[x["$t"]]
            if "$d" in x:
                return {k: dec(v) for k, v in x["$d"]}
            if "$tuple" in x:
                return tuple(dec(v) for v in x["$tuple"])
            raise CheckpointError("state.json has an object of unknown form")
        if isinstance(x, list):
            return [dec(v) for v in x]
        return x

    return dec(skeleton)


# ---- atomic directory writes ------------------------------------------------------------------------------
#
# A save writes everything into `.NAME.tmp-PID-X`, renames that (complete) folder to `.NAME.new-PID-X`, moves the old
# run aside to `.NAME.old-PID-X`, then renames the new one into place. A kill at any point leaves either NAME, or no
# NAME plus a complete `.new`/`.old` sibling that `recover_run_dir` renames back: a run directory is never lost.

_SIDE = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|new|old)-(?P<pid>\d+)-[A-Za-z0-9_]+")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (EPERM)
        return True
    return True


def _siblings(path: Path) -> dict[str, list[Path]]:
    """Left-overs of saves to `path` by processes that are no longer running, by kind, newest first."""
    found: dict[str, list[Path]] = {"tmp": [], "new": [], "old": []}
    if not path.parent.is_dir():
        return found
    for p in path.parent.iterdir():
        m = _SIDE.fullmatch(p.name)
        if m and m["name"] == path.name and p.is_dir() and not p.is_symlink() and not _alive(int(m["pid"])):
            found[m["kind"]].append(p)
    for kind in found:
        found[kind].sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return found


def recover_run_dir(path: str | Path) -> bool:
    """Finish or undo a save that was killed between its renames, and delete stray temp folders of dead saves.

    Returns True when `path` was missing and has been restored (from the newer complete copy when there is one)."""
    path = Path(path)
    side = _siblings(path)
    restored = False
    if not path.exists() and not path.is_symlink():
        for candidate in side["new"] + side["old"]:  # a complete new save first, else the previous one
            if (candidate / "config.json").is_file():
                candidate.rename(path)
                restored = True
                break
    for p in side["tmp"] + side["new"] + side["old"]:
        if p.exists() and p != path:
            shutil.rmtree(p, ignore_errors=True)
    return restored


def write_run_dir(path: str | Path, files: dict[str, Callable[[Path], None]], keep: tuple[str, ...] = ("README.md",)) -> Path:
    """Write a run directory atomically as a whole (see above) and return its path.

    `files` maps names to writer functions. Files named in `keep` that already exist (the model card) are
    carried over. The caller decides whether `path` may be replaced (`Run.save` does); a symlink is never followed.
    """
    path = Path(path)
    if path.is_symlink():
        raise CheckpointError(f"{path} is a symbolic link: textgan writes a run directory only at a real path")
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_run_dir(path)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = path.parent / f".{path.name}.tmp-{tag}"
    new = path.parent / f".{path.name}.new-{tag}"
    old = path.parent / f".{path.name}.old-{tag}"
    tmp.mkdir()
    try:
        for name, write in files.items():
            try:
                write(tmp / name)
            except OSError:
                raise
            except Exception as e:  # a writer in native code (safetensors) reports the OS's error as its own
                raise as_os_error(e, tmp / name) or e
        for name in keep:
            if (path / name).is_file() and not (path / name).is_symlink() and not (tmp / name).exists():
                shutil.copy2(path / name, tmp / name)
        tmp.rename(new)  # complete from here on: recovery may promote it
        if path.exists():
            path.rename(old)
        new.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.exists() and old.is_dir():  # put the previous save back
            old.rename(path)
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def as_os_error(error: Exception, path: Path) -> OSError | None:
    """The OSError inside a native writer's exception (safetensors: "I/O error: No space left on device (os error
    28)"), so that a full disk or a read-only folder reads the same whichever writer hit it; None when it is none."""
    m = _OS_ERROR.search(str(error))
    if m is None:
        return None
    code = int(m.group(1))
    return OSError(code, os.strerror(code), str(path))


def write_json(obj: Any) -> Callable[[Path], None]:
    """A writer for `write_run_dir`: `obj` as indented JSON."""
    return lambda p: p.write_text(json.dumps(obj, indent=2, allow_nan=True) + "\n", encoding="utf-8")


# ---- bounded JSON -------------------------------------------------------------------------------------------

def read_json(path: Path, expect: type | None = None, max_bytes: int | None = None) -> Any:
    """Parse a JSON file of a run directory, its size checked before a byte is parsed (a parsed JSON list takes
    several times its file size), nesting depth bounded, and its top-level type checked when `expect` is given."""
    limit = MAX_JSON_BYTES if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CheckpointError(f"{path.name} cannot be read: {e.strerror}") from None
    if size > limit:
        raise CheckpointError(f"{path.name} is {size:,} bytes, over the {limit:,}-byte limit for JSON files "
                              "(set TEXTGAN_MAX_JSON_BYTES to raise it for files you trust)")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path.name} is not valid JSON: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{path.name} is nested too deeply to be a textgan file") from None
    if expect is not None and not isinstance(value, expect):
        raise CheckpointError(f"{path.name} must hold a JSON {'object' if expect is dict else 'list'}, "
                              f"not {type(value).__name__}")
    return value
