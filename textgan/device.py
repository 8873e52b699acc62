"""One device setting for everything: 'auto' picks CUDA, then Apple MPS, then the CPU. Probed only when asked."""

from __future__ import annotations

import os

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch.device for a setting, or a clear error when the requested accelerator is absent."""
    base = name.split(":")[0]
    if base not in CHOICES:
        raise ValueError(f"unknown device {name!r}; choose one of {CHOICES} (or cuda:N)")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available here; use --device cpu or auto")
    if base == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' requested but Apple MPS is not available here; use --device cpu or auto")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A human label: 'cpu' or 'cuda (NVIDIA H100 80GB HBM3)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 matmuls and convolutions run faster than float32 here: CUDA GPUs that support bf16, and
    CPUs with AVX-512 BF16 or AMX (where oneDNN uses them; elsewhere bf16 on a CPU is emulated and slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
    return False


THREADS_ENV = "TEXTGAN_TORCH_THREADS"


def default_threads() -> int:
    """torch's intra-op threads for training, as the app and the CLI choose them: $TEXTGAN_TORCH_THREADS, else 1
    (0 = torch's own choice, one per core). On a few shared cores one thread is much faster: spinning threads on an
    oversubscribed machine cost up to 100x per tiny op (bench/RESULTS.md), and one core stays free for the server."""
    raw = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV}={raw!r} is not a whole number (1 = one thread, 0 = torch's choice)") from None
    if n < 0:
        raise ValueError(f"{THREADS_ENV}={n} must be 0 (torch's choice) or more")
    return n


def set_threads(n: int) -> None:
    """Pin torch's intra-op threads for this process (0 leaves torch's choice)."""
    if n < 0:
        raise ValueError(f"--threads {n} must be 0 (torch's choice) or more")
    if n and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def keep_freed_pages(keep: bool = True) -> bool:
    """Ask glibc's malloc to keep freed memory instead of handing big blocks back to the kernel (True), or set its
    initial thresholds back (False; glibc adapts its thresholds only until someone sets them, so False page-faults
    more than a process that never called this). Returns whether the setting applied (glibc only).

    By default glibc serves every block over 32 MB (a RelGAN critic activation is 39 MB) with a fresh mmap and
    unmaps it on free, so each new tensor page-faults all its pages in again: on a small VM that costs more than
    the arithmetic written into it (a fresh 39 MB fill 21 ms, a reused one 5 ms; bench/RESULTS.md). Keeping the
    pages costs memory: the process holds on to its peak. The same effect as running under jemalloc, without
    LD_PRELOAD."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    big = 1 << 30 if keep else 128 * 1024  # glibc's defaults are 128 KiB (its mmap threshold then adapts)
    return bool(mallopt(m_mmap_threshold, big)) and bool(mallopt(m_trim_threshold, big))
