"""Run directories on disk: atomic writes, JSON+safetensors state encoding, and validation before loading.

A run directory may come from anywhere (the Hub, a colleague), so loading treats it as hostile: only JSON and
safetensors are parsed, never pickle; every name, size and tensor shape is checked against the config before a
single parameter is allocated.
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

FORMAT = 1
MAX_FILE_BYTES = int(os.environ.get("TEXTGAN_MAX_FILE_BYTES", 2 * 1024**3))
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
NET_FILES = {"generator": "generator.safetensors", "critic": "critic.safetensors"}
MAX_JSON_BYTES = int(os.environ.get("TEXTGAN_MAX_JSON_BYTES", 64 * 1024**2))
LIMITS = {"vocab_size": 1_000_000, "seq_len": 4096}


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
            write(tmp / name)
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


def write_json(obj: Any) -> Callable[[Path], None]:
    return lambda p: p.write_text(json.dumps(obj, indent=2, allow_nan=True) + "\n", encoding="utf-8")


# ---- validation --------------------------------------------------------------------------------------------

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


def _check_files(root: Path) -> None:
    links = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_symlink())
    if links:
        raise CheckpointError(f"{root.name} holds symbolic links ({', '.join(links[:5])}): a run directory must hold "
                              "its own files (copy them in instead of linking)")
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    pickles = sorted(p.name for p in files if p.suffix.lower() in PICKLE_SUFFIXES)
    if "generator.safetensors" not in names:
        if pickles:
            raise CheckpointError(
                f"refusing to load {root.name}: it holds only pickle-format weights ({', '.join(pickles)}). "
                "Unpickling can run arbitrary code, so textgan loads weights from .safetensors only.")
        raise CheckpointError(f"{root} is not a textgan run directory: generator.safetensors is missing")
    if "config.json" not in names:
        raise CheckpointError(f"{root} is not a textgan run directory: config.json is missing")
    for p in files:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CheckpointError(f"{p.name} is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit "
                                  "(set TEXTGAN_MAX_FILE_BYTES to raise it for files you trust)")


def _check_tensors(file: Path, expected: dict[str, torch.Size]) -> None:
    """Tensor names and shapes in a safetensors header against the nets the config describes (nothing loaded)."""
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{file.name} is not a valid safetensors file: {e}") from None
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{file.name} does not match config.json: missing tensors {missing[:5]}, "
                              f"unexpected tensors {extra[:5]}")
    for k, shape in expected.items():
        if found[k] != tuple(shape):
            raise CheckpointError(f"{file.name}: tensor {k!r} has shape {list(found[k])} but config.json "
                                  f"implies {list(shape)}")


def _check_extras(root: Path) -> None:
    """The optional files: state (exact resume), metrics, tokenizer; each readable, of the right shape."""
    from safetensors import safe_open

    if (root / "state.json").is_file():
        meta = read_json(root / "state.json", dict)
        if "state" not in meta:
            raise CheckpointError("state.json has no 'state' entry (delete state.json and state.safetensors to "
                                  "resume without the optimizer state)")
        if not isinstance(meta.get("variant_config", {}), dict):
            raise CheckpointError("state.json: variant_config must be an object")
    if (root / "state.safetensors").is_file():
        try:
            with safe_open(str(root / "state.safetensors"), framework="pt") as f:
                for k in f.keys():
                    f.get_slice(k).get_shape()
        except Exception as e:  # safetensors raises its own error types for corrupt or truncated files
            raise CheckpointError(f"state.safetensors is not a valid safetensors file: {e}") from None
    if (root / "metrics.json").is_file():
        read_json(root / "metrics.json", dict)
    if (root / "tokenizer.json").is_file() and (root / "tokenizer.json").stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"tokenizer.json is over the {MAX_JSON_BYTES:,}-byte limit for JSON files")


def validate_run_dir(path: str | Path) -> dict[str, Any]:
    """Check a run directory completely, allocating nothing; return its parsed config.json.

    Raises CheckpointError with one clear message for: pickle-only repos, oversized files, invalid JSON, wrong
    format version, unknown variant / net / corpus names or settings, vocabulary size mismatches, and tensor
    names or shapes that do not match the config.
    """
    from .corpora import CorpusError, check_spec
    from .nets import CRITICS, GENERATORS, net_config
    from .run import RunConfig
    from .variants import VARIANTS

    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"run directory not found: {root}")
    _check_files(root)
    config = read_json(root / "config.json")
    if not isinstance(config, dict) or not isinstance(config.get("run"), dict):
        raise CheckpointError("config.json has no 'run' object: not a textgan run directory")
    if config.get("format") != FORMAT:
        raise CheckpointError(f"config.json has format {config.get('format')!r}; this textgan reads format {FORMAT}")
    try:
        rc = RunConfig.from_dict(config["run"])
        if rc.variant not in VARIANTS:
            raise CheckpointError(f"config.json names an unknown variant {rc.variant!r}; "
                                  f"known: {sorted(VARIANTS)}")
        variant = VARIANTS[rc.variant]
        variant_config(variant, rc.variant_config)
        check_spec(rc.corpus)
        gen_spec, critic_spec = rc.net_specs()
        net_config(GENERATORS, gen_spec, "generator")
        if critic_spec is not None:
            net_config(CRITICS, critic_spec, "critic")
    except (ValueError, TypeError, CorpusError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"config.json is invalid: {e}") from None

    info = config.get("corpus_info")
    if not isinstance(info, dict):
        raise CheckpointError("config.json has no 'corpus_info' object")
    for key, limit in LIMITS.items():
        v = info.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= limit:
            raise CheckpointError(f"config.json: corpus_info.{key}={v!r} must be an integer in 1..{limit}")
    vocab_size, seq_len = info["vocab_size"], info["seq_len"]
    if (root / "vocab.json").is_file():
        vocab = read_json(root / "vocab.json", list)
        if not all(isinstance(t, str) for t in vocab):
            raise CheckpointError("vocab.json must be a list of token strings")
        if len(vocab) != vocab_size:
            raise CheckpointError(f"vocab.json has {len(vocab)} tokens but config.json says vocab_size={vocab_size}")
    elif not (root / "tokenizer.json").is_file():
        raise CheckpointError("neither vocab.json nor tokenizer.json is present: samples could not be decoded")

    from .nets import build_critic, build_generator

    with torch.device("meta"):  # shapes only, no memory
        try:
            gen = build_generator(gen_spec, vocab_size, seq_len, 0)
            critic = build_critic(critic_spec, vocab_size, seq_len) if critic_spec is not None else None
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"config.json describes nets that cannot be built: {e}") from None
    from .checks import check_param_count

    try:
        check_param_count({"generator": gen, "critic": critic})
    except ValueError as e:
        raise CheckpointError(f"config.json: {e}") from None
    _check_tensors(root / NET_FILES["generator"], {k: v.shape for k, v in gen.state_dict().items()})
    _check_extras(root)
    if critic is not None:
        if not (root / NET_FILES["critic"]).is_file():
            raise CheckpointError("config.json has a critic but critic.safetensors is missing")
        _check_tensors(root / NET_FILES["critic"], {k: v.shape for k, v in critic.state_dict().items()})
    return config


def variant_config(variant: type, values: dict[str, Any]):
    """The variant's Config dataclass from a dict, with an error naming unknown fields and valid ones."""
    import dataclasses

    from .variants.base import check_config

    if not isinstance(values, dict):
        raise ValueError(f"variant_config must be a mapping, got {type(values).__name__}")
    names = {f.name for f in dataclasses.fields(variant.Config)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"variant {variant.name!r} has no setting(s) {sorted(unknown)}; it takes {sorted(names)}")
    from .checks import check_types

    check_types(variant.Config, values, f"variant {variant.name!r}")
    cfg = variant.Config(**values)
    check_config(cfg)
    return cfg
