"""Run directories: what one holds, the checks before one is loaded, and reading its parts back.

A run directory may come from anywhere (the Hub, a colleague), so loading treats it as hostile: only JSON and
safetensors are parsed, never pickle; every name, size and tensor shape is checked against the config before a
single parameter is allocated. Writing is `textgan.checkpoint`'s (atomic, files only); `Run.save`/`Run.load` put
the two together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from . import checkpoint
from .checkpoint import CheckpointError, read_json
from .checks import check_param_count
from .config import RunConfig
from .corpora import Corpus, CorpusError, build_corpus, check_spec
from .history import History
from .limits import LIMITS
from .nets import CRITICS, GENERATORS, build_critic, build_generator, net_config
from .variants import VARIANTS, variant_config

FORMAT = 1
NET_FILES = {"generator": "generator.safetensors", "critic": "critic.safetensors"}
MAX_SAMPLES_CHARS, MAX_SHOWN_SAMPLES = 1_000_000, 10_000  # what a loaded samples.txt may put in memory


def _check_files(root: Path) -> None:
    links = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_symlink())
    if links:
        raise CheckpointError(f"{root.name} holds symbolic links ({', '.join(links[:5])}): a run directory must hold "
                              "its own files (copy them in instead of linking)")
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    pickles = sorted(p.name for p in files if p.suffix.lower() in checkpoint.PICKLE_SUFFIXES)
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
        if size > checkpoint.MAX_FILE_BYTES:
            raise CheckpointError(f"{p.name} is {size:,} bytes, over the {checkpoint.MAX_FILE_BYTES:,}-byte limit "
                                  "(set TEXTGAN_MAX_FILE_BYTES to raise it for files you trust)")


def _check_tensors(file: Path, expected: dict[str, torch.Size]) -> None:
    """Tensor names and shapes in a safetensors header against the nets the config describes (nothing loaded)."""
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
    limit = checkpoint.MAX_JSON_BYTES
    if (root / "tokenizer.json").is_file() and (root / "tokenizer.json").stat().st_size > limit:
        raise CheckpointError(f"tokenizer.json is over the {limit:,}-byte limit for JSON files")


def validate_run_dir(path: str | Path) -> dict[str, Any]:
    """Check a run directory completely, allocating nothing; return its parsed config.json.

    Raises CheckpointError with one clear message for: pickle-only repos, oversized files, invalid JSON, wrong
    format version, unknown variant / net / corpus names or settings, vocabulary size mismatches, and tensor
    names or shapes that do not match the config.
    """
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"run directory not found: {root}")
    _check_files(root)
    config = read_json(root / "config.json")
    if not isinstance(config, dict) or not isinstance(config.get("run"), dict):
        raise CheckpointError("config.json has no 'run' object: not a textgan run directory")
    if config.get("format") != FORMAT:
        raise CheckpointError(f"config.json has format {config.get('format')!r}; this textgan reads format {FORMAT}")
    gen_spec, critic_spec = _check_run(config["run"])
    vocab_size, seq_len = _check_vocab(root, config.get("corpus_info"))
    with torch.device("meta"):  # shapes only, no memory
        try:
            gen = build_generator(gen_spec, vocab_size, seq_len, 0)
            critic = build_critic(critic_spec, vocab_size, seq_len) if critic_spec is not None else None
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"config.json describes nets that cannot be built: {e}") from None
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


def _check_run(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """config.json's run settings against every registry; the (generator, critic) specs they describe."""
    try:
        rc = RunConfig.from_dict(run)
        if rc.variant not in VARIANTS:
            raise CheckpointError(f"config.json names an unknown variant {rc.variant!r}; "
                                  f"known: {sorted(VARIANTS)}")
        variant_config(VARIANTS[rc.variant], rc.variant_config)
        check_spec(rc.corpus)
        gen_spec, critic_spec = rc.net_specs()
        net_config(GENERATORS, gen_spec, "generator")
        if critic_spec is not None:
            net_config(CRITICS, critic_spec, "critic")
    except (ValueError, TypeError, CorpusError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"config.json is invalid: {e}") from None
    return gen_spec, critic_spec


def _check_vocab(root: Path, info: Any) -> tuple[int, int]:
    """(vocab_size, seq_len) of config.json's corpus_info, in bounds and matching vocab.json."""
    if not isinstance(info, dict):
        raise CheckpointError("config.json has no 'corpus_info' object")
    for key in ("vocab_size", "seq_len"):
        v = info.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v not in LIMITS[key]:
            raise CheckpointError(f"config.json: corpus_info.{key}={v!r} must be an integer "
                                  f"{LIMITS[key].describe()}")
    vocab_size, seq_len = info["vocab_size"], info["seq_len"]
    if (root / "vocab.json").is_file():
        vocab = read_json(root / "vocab.json", list)
        if not all(isinstance(t, str) for t in vocab):
            raise CheckpointError("vocab.json must be a list of token strings")
        if len(vocab) != vocab_size:
            raise CheckpointError(f"vocab.json has {len(vocab)} tokens but config.json says vocab_size={vocab_size}")
    elif not (root / "tokenizer.json").is_file():
        raise CheckpointError("neither vocab.json nor tokenizer.json is present: samples could not be decoded")
    return vocab_size, seq_len


# ---- saving into and reading back from a run directory ------------------------------------------------------------

def check_target(path: str | Path, own: set[Path], overwrite: bool = False) -> Path:
    """`path` if a run may save there, else a ValueError saying why not.

    Allowed: a new or empty directory, any directory in `own` (resolved paths the run was loaded from or saved
    to) and, with `overwrite=True`, another run directory (config.json + generator.safetensors). Never a file, a
    symbolic link, or a directory holding anything else."""
    target = Path(path)
    if target.is_symlink():
        raise ValueError(f"{target} is a symbolic link: save to a real directory")
    if not target.exists():
        return target
    if not target.is_dir():
        raise ValueError(f"{target} is a file, not a run directory: choose another directory")
    if not any(target.iterdir()):
        return target
    if not ((target / "config.json").is_file() and (target / NET_FILES["generator"]).is_file()):
        raise ValueError(f"{target} holds files that are not a textgan run: not replacing it; choose another "
                         "directory")
    if target.resolve() in own or overwrite:
        return target
    raise ValueError(f"{target} holds another run: not replacing it; choose another name, or delete it first")


def rebuild_corpus(root: Path, spec: dict[str, Any], info: dict[str, Any]) -> Corpus:
    """The corpus of a saved run: rebuilt from its spec, or (a text file, or a Hub file offline and not cached)
    from vocab.json alone, with no rows: enough to sample, decode and evaluate without data."""
    if spec.get("kind") == "hub":  # offline without the file in the cache: sample and decode from vocab.json
        try:
            return build_corpus(spec)
        except CorpusError:
            pass
    elif spec.get("kind") != "text":  # a text file is never read from a path in config.json (see Run.load)
        return build_corpus(spec)
    vocab = read_json(root / "vocab.json", list)
    tokenizer = None
    if (root / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    empty = torch.zeros(0, info["seq_len"], dtype=torch.long)
    return Corpus(name="text", vocab=vocab, train=empty, test=empty, spec=spec,
                  joiner=" " if spec.get("level", "word") == "word" else "", tokenizer=tokenizer,
                  info={k: v for k, v in info.items() if k not in ("name", "vocab_size", "seq_len", "n_train", "n_test")})


def read_step(config: dict[str, Any]) -> int:
    step = config.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 10**12:
        raise CheckpointError(f"config.json: step={step!r} must be a non-negative integer")
    return step


def read_history(root: Path) -> History:
    """history.csv as a History (empty when missing); a malformed file is a CheckpointError naming it."""
    try:
        return History.read_csv(root / "history.csv")
    except ValueError as e:
        raise CheckpointError(str(e)) from None


def read_samples(root: Path) -> list[str]:
    """samples.txt's lines, bounded in characters and lines (empty when missing)."""
    if not (root / "samples.txt").is_file():
        return []
    with open(root / "samples.txt", encoding="utf-8", errors="replace") as f:
        return f.read(MAX_SAMPLES_CHARS).splitlines()[:MAX_SHOWN_SAMPLES]


def read_metrics(root: Path) -> dict[str, float]:
    """metrics.json's numbers (empty when missing)."""
    if not (root / "metrics.json").is_file():
        return {}
    m = read_json(root / "metrics.json", dict)
    return {k: v for k, v in m.items() if k != "step" and isinstance(v, (int, float))}
