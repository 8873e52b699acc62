"""Small C kernels compiled on first use, and the row split that runs them on torch's threads.

Why C at all: a few hot loops (the multi-representation critic's window search, Gumbel sampling over a wide
vocabulary) are memory-bound in eager torch, which writes and re-reads a large intermediate per op; a loop that
keeps a row in the core's cache does the same arithmetic several times faster. Each source is compiled once per
process with the system C compiler (`cc -O3 -march=native`) into a temporary folder that is deleted once the library
is mapped. Without a compiler, when it fails, or with `TEXTGAN_NO_C_KERNELS=1`, `compile_library` returns None and
the caller keeps its torch path (with one warning, unless the variable chose it).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def compile_library(source: Path, declare: Callable[[ctypes.CDLL], None], purpose: str,
                    extra_flags: Sequence[str] = (), libs: Sequence[str] = ()) -> ctypes.CDLL | None:
    """Compile `source` into a shared library and load it; `declare` sets the functions' argument types.

    `purpose` names what falls back in the warning. The first build compiles with `-march=native` and
    `extra_flags`, then links with `libs`; if it fails (an exotic compiler, a missing library), a plain `-O3` build
    without them is tried."""
    if os.environ.get("TEXTGAN_NO_C_KERNELS") == "1":
        return None  # asked for: no warning
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    why = "no C compiler found (cc, gcc or $CC)"
    lib = None
    if cc:
        tmp = tempfile.mkdtemp(prefix="textgan-kernel-")
        try:
            so, obj = os.path.join(tmp, source.stem + ".so"), os.path.join(tmp, source.stem + ".o")
            # The flags go to the compile step only: linked with -ffast-math, GCC adds crtfastmath.o, which turns on
            # flush-to-zero for the whole process when the library loads (every later float op would change).
            builds = [[["-O3", "-march=native", "-fPIC", *extra_flags, "-c", "-o", obj, str(source)],
                       ["-shared", "-o", so, obj, *[f"-l{n}" for n in libs]]],
                      [["-O3", "-shared", "-fPIC", "-o", so, str(source)]]]
            for steps in builds:
                for flags in steps:
                    done = subprocess.run([cc, *flags], capture_output=True, timeout=120)
                    if done.returncode != 0:
                        why = f"{cc} failed: {done.stderr.decode(errors='replace')[-300:]}"
                        break
                else:
                    lib = ctypes.CDLL(so)  # mapped: the files can go
                    declare(lib)
                    break
        except (OSError, subprocess.SubprocessError, AttributeError) as err:
            lib, why = None, f"{cc}: {err}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if lib is None:
        warnings.warn(f"textgan: the {purpose} kernel is not available ({why}); the slower torch path runs "
                      "(set TEXTGAN_NO_C_KERNELS=1 to choose it quietly)", RuntimeWarning, stacklevel=4)
    return lib


def row_ranges(rows: int, min_rows: int = 64) -> list[tuple[int, int]]:
    """Row ranges, one per torch thread and at least `min_rows` each (ctypes releases the GIL while a kernel runs)."""
    if rows <= 0:
        return []
    n = max(1, min(torch.get_num_threads(), rows // min_rows or 1))
    step = -(-rows // n)
    return [(a, min(rows, a + step)) for a in range(0, rows, step)]


def run_parallel(calls: list[Callable[[], int]], what: str) -> None:
    """Run kernel calls (one per row range) on a pool of torch's thread count; a non-zero code is out of memory."""
    if len(calls) <= 1:
        codes = [call() for call in calls]
    else:
        with _lock:
            pool = _pools.get(len(calls))
            if pool is None:
                pool = _pools[len(calls)] = ThreadPoolExecutor(len(calls), thread_name_prefix="textgan-kernel")
        codes = list(pool.map(lambda f: f(), calls))
    if any(codes):
        raise MemoryError(f"{what} kernel: out of memory")


def ptr(t: Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr() if t is not None else 0)
