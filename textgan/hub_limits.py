"""What a pulled run may hold: each file's size derived from its own config, and only the state tensors it declares.

A repo is untrusted bulk as much as untrusted code: a 300 MB `samples.txt` or a `state.safetensors` padded with a
junk tensor passes every schema check yet fills the server's disk. So before anything but the small JSON files is
downloaded, `file_caps` turns config.json (sample count, sequence length, net sizes, steps) into a byte cap per
file, and after download `check_state` holds the state tensors to what state.json refers to and to the size of the
optimizer state the nets can have. Storage checks (JSON, safetensors headers) are `textgan.checkpoint`'s.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from .checkpoint import MAX_JSON_BYTES, CheckpointError, read_json
from .config import RunConfig
from .nets import build_critic, build_generator

SMALL_FILES = ("config.json", "vocab.json", "tokenizer.json", "state.json")
"""Downloaded first: what the caps of the other files are derived from (each under the JSON cap)."""
MAX_SAMPLES_BYTES = 4 * 1_000_000
"""A loader reads at most a million characters of samples.txt (run.MAX_SAMPLES_CHARS), at most 4 bytes each."""
MAX_METRICS_BYTES = 1 * 2**20
HISTORY_ROW_BYTES = 256 * 32
"""A history row: at most 256 columns (64 modes' shares and the rest), 32 characters each (rows are ~1 kB)."""
STATE_FACTOR = 8
"""State tensors hold at most this many copies of the nets' parameters (Adam's two moments per optimizer, pre-
training's optimizer, a frozen copy of the generator for rollouts or DPGAN's language model)."""
RNG_BYTES = 64 * 1024
"""One random-number state (torch's CPU generator is 5,056 bytes)."""
HEADER_BYTES = 1 * 2**20
"""Room for a safetensors header (names and shapes as JSON)."""
DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
               "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def net_numels(config: dict[str, Any]) -> list[int]:
    """The element count of every parameter and buffer of the nets config.json describes (built on the meta
    device: nothing is allocated). Raises CheckpointError for a config that describes no buildable nets."""
    try:
        rc = RunConfig.from_dict(config["run"])
        info = config["corpus_info"]
        gen_spec, critic_spec = rc.net_specs()
        with torch.device("meta"):
            nets = [build_generator(gen_spec, int(info["vocab_size"]), int(info["seq_len"]), 0)]
            if critic_spec is not None:
                nets.append(build_critic(critic_spec, int(info["vocab_size"]), int(info["seq_len"])))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"config.json describes nets that cannot be built: {e}") from None
    return [t.numel() for net in nets for t in net.state_dict().values()]


def file_caps(root: Path) -> dict[str, int]:
    """Byte caps of a run's files, from the config.json (and vocab.json) already in `root`."""
    config = read_json(root / "config.json", dict)
    run, info = config.get("run"), config.get("corpus_info")
    if not isinstance(run, dict) or not isinstance(info, dict):
        raise CheckpointError("config.json has no 'run' and 'corpus_info' objects: not a textgan run directory")
    seq_len = _whole(info.get("seq_len"), "corpus_info.seq_len", 4096)
    step = _whole(config.get("step", 0), "step", 10**12)
    shown = _whole(run.get("show_samples", 16), "run.show_samples", 10**4)
    token_bytes = 64  # a tokenizer.json's tokens: BPE merges stay short
    if (root / "vocab.json").is_file():
        vocab = read_json(root / "vocab.json", list)
        token_bytes = max((len(str(t).encode()) for t in vocab), default=1)
    params = sum(net_numels(config))
    weights = 8 * params + HEADER_BYTES  # the shapes are checked exactly later; 8 bytes covers every dtype
    return {
        "config.json": MAX_JSON_BYTES, "vocab.json": MAX_JSON_BYTES, "tokenizer.json": MAX_JSON_BYTES,
        "state.json": MAX_JSON_BYTES, "README.md": MAX_JSON_BYTES,
        "metrics.json": MAX_METRICS_BYTES,
        "samples.txt": min(MAX_SAMPLES_BYTES, shown * (seq_len * (token_bytes + 1) + 1)),
        "history.csv": (2 * step + 2) * HISTORY_ROW_BYTES + HISTORY_ROW_BYTES,
        "generator.safetensors": weights, "critic.safetensors": weights,
        "state.safetensors": STATE_FACTOR * weights + 8 * RNG_BYTES,
    }


def check_sizes(sizes: dict[str, int | None], caps: dict[str, int]) -> None:
    """Refuse the first file over its cap (sizes from the Hub's listing or from disk; None = unknown)."""
    for name, size in sorted(sizes.items()):
        cap = caps.get(name)
        if size is not None and cap is not None and size > cap:
            raise CheckpointError(f"{name} is {size:,} bytes, over the {cap:,} bytes its run's config allows")


def check_state(root: Path) -> None:
    """state.safetensors holds only the tensors state.json refers to, each no larger than the largest parameter
    (optimizer moments have the parameters' shapes) or a random-number state, and all together at most
    STATE_FACTOR copies of the nets."""
    tensors_file, meta_file = root / "state.safetensors", root / "state.json"
    if not tensors_file.is_file():
        return
    if not meta_file.is_file():
        raise CheckpointError("state.safetensors comes without state.json: nothing declares its tensors")
    declared = _referenced(read_json(meta_file, dict).get("state"))
    numels = net_numels(read_json(root / "config.json", dict))
    largest, total_cap = max(numels, default=1), STATE_FACTOR * sum(numels) + 8 * RNG_BYTES
    try:
        with safe_open(str(tensors_file), framework="pt") as f:
            found = {k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"state.safetensors is not a valid safetensors file: {e}") from None
    extra = sorted(set(found) - declared)
    if extra:
        raise CheckpointError(f"state.safetensors holds tensors state.json does not declare: {extra[:5]}")
    total = 0
    for name, (shape, dtype) in found.items():
        numel = math.prod(shape)
        rng = dtype == "U8" and len(shape) == 1 and numel <= RNG_BYTES
        if numel > largest and not rng:
            raise CheckpointError(f"state.safetensors: tensor {name!r} has {numel:,} elements, more than any "
                                  f"parameter of the nets ({largest:,})")
        total += numel
    if total > total_cap:
        raise CheckpointError(f"state.safetensors holds {total:,} elements, over the {total_cap:,} the nets' "
                              "optimizer state can have")


def _referenced(skeleton: Any) -> set[str]:
    """The tensor names a state.json skeleton refers to ({"$t": name} anywhere in it)."""
    names: set[str] = set()
    stack = [skeleton]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("$t"), str):
                names.add(x["$t"])
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return names


def _whole(value: Any, what: str, limit: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise CheckpointError(f"config.json: {what}={value!r} must be an integer in 0..{limit}")
    return value
