"""Gumbel-max tokens and Gumbel-softmax vectors over a wide vocabulary in one pass per row (`gumbel.c`).

Why: RelGAN draws Gumbel noise for every word at every step (320 rows x 20 steps x 5,000 words per iteration on the
oracle). torch's `rand` runs on one thread and each following op (two logs, add, max, argmax, scale, softmax) is
a pass over megabytes; together they took about 0.3 s of a 3.1 s iteration on 2 cores. The kernel does all of it
in cache, on torch's thread count.

Its noise is its own: Philox4x32-10 keyed by one 64-bit seed drawn from the caller's generator, counted by row and
column, so a run stays reproducible (and resumes exactly) and gives the same values on any number of threads; it
is not the noise `torch.rand` would have given. Exact in distribution: standard Gumbel noise from 23-bit open
uniforms (tests check the tokens' frequencies against the softmax and the noise's moments). The kernel runs on
CPU float32 rows from `MIN_VOCAB` words up (below it the eager ops are cheap and the small scenarios keep their
random streams); everywhere else the caller's torch path runs.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor

from .native import compile_library, ptr, row_ranges, run_parallel

MIN_VOCAB = 512
"""Vocabularies from this size take the kernel (the same threshold as the other wide-vocabulary paths)."""

_SOURCE = Path(__file__).with_name("gumbel.c")
_lock = threading.Lock()
_state: dict = {}


def _declare(lib: ctypes.CDLL) -> None:
    vp, n = ctypes.c_void_p, ctypes.c_long
    lib.gumbel_rows.argtypes = [vp, n, n, n, n, ctypes.c_uint64, ctypes.c_float, vp, vp, vp]
    lib.gumbel_rows.restype = ctypes.c_int
    lib.philox4x32_10.argtypes = [ctypes.POINTER(ctypes.c_uint32)] * 3
    lib.philox4x32_10.restype = None


def _load() -> ctypes.CDLL | None:
    with _lock:
        if "lib" not in _state:
            # libmvec gives vectorised logf/expf under -ffast-math; nothing here relies on infinities or NaNs
            _state["lib"] = compile_library(_SOURCE, _declare, "Gumbel sampling",
                                            extra_flags=("-ffast-math", "-fopenmp-simd"), libs=("mvec",))
        return _state["lib"]


@contextmanager
def torch_path() -> Iterator[None]:
    """Within this block the callers' torch path runs (benches time the path before the kernel with it)."""
    lib = _load()
    _state["lib"] = None
    try:
        yield
    finally:
        _state["lib"] = lib


def use_kernel(logits: Tensor) -> bool:
    """Whether `sample` runs the kernel for these logits (CPU float32, at least `MIN_VOCAB` columns)."""
    return (logits.device.type == "cpu" and logits.dtype == torch.float32 and logits.shape[-1] >= MIN_VOCAB
            and _load() is not None)


def draw_seed(rng: torch.Generator | None) -> int:
    """One 64-bit key from the caller's generator (or torch's default one): the generator's state is the run's."""
    return int(torch.randint(0, 2 ** 63 - 1, (), generator=rng, dtype=torch.int64))


def sample(logits: Tensor, tau: float, rng: torch.Generator | None, soft: bool = True,
           noise: bool = False) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """For `(.., V)` logits: the Gumbel-max tokens `(..)`, and (when asked) softmax((logits + g) / tau) and the
    noise g, both `(.., V)`; not differentiable (`relax.relax` wraps it for gradients). Requires `use_kernel`."""
    lib = _load()
    shape, v = logits.shape, logits.shape[-1]
    rows = logits.detach().reshape(-1, v)
    if rows.stride(1) != 1:
        rows = rows.contiguous()
    n = rows.shape[0]
    tokens = torch.empty(n, dtype=torch.int64, device="cpu")
    out = torch.empty(n, v, dtype=torch.float32, device="cpu") if soft else None
    g = torch.empty(n, v, dtype=torch.float32, device="cpu") if noise else None
    seed, inv_tau = draw_seed(rng), 1.0 / tau
    args = [ptr(rows), rows.stride(0)]
    tail = [v, seed, inv_tau, ptr(out), ptr(g), ptr(tokens)]
    run_parallel([lambda a=a, b=b: lib.gumbel_rows(*args, a, b, *tail) for a, b in row_ranges(n, 16)], "Gumbel")
    return (tokens.view(shape[:-1]), None if out is None else out.view(shape),
            None if g is None else g.view(shape))


def philox(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """The kernel's generator on one counter (for the known-answer test)."""
    lib = _load()
    c, k, out = (ctypes.c_uint32 * 4)(*counter), (ctypes.c_uint32 * 2)(*key), (ctypes.c_uint32 * 4)()
    lib.philox4x32_10(c, k, out)
    return tuple(out)
