"""ZeroGPU: training in bounded chunks, each inside one `@spaces.GPU(duration=...)` call.

A ZeroGPU Space lends a GPU to one decorated call at a time and takes it back when the call returns, so the lab's
long-lived training thread cannot hold one. Here a run lives on the CPU between calls; each chunk moves its nets,
optimizer state and random generator onto the GPU, trains up to `n` steps of `Run.steps`, and moves everything back
before the call returns. The session calls ONE hook, `steps(run, n)`, where it would call `run.steps(n)`: elsewhere
(no ZeroGPU) that is `run.steps(n)` itself.

`spaces` (Hugging Face's package, present on ZeroGPU Spaces) is imported only when `SPACES_ZERO_GPU` says this is
one, so the module costs nothing on other hardware. Chunking changes nothing in the arithmetic: on one device a
chunked run's history is the unchunked one's (tests/test_gpu_chunks.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..events import Event

CHUNK_STEPS = 200
"""Steps per GPU call at most: a tiny demo GAN does ~200 steps in a few seconds on a GPU."""
CHUNK_DEVICE = "cuda"
"""Where a ZeroGPU chunk trains (tests run the same path with "cpu")."""
CHUNK_SECONDS = 30
"""The duration each call asks ZeroGPU for; a chunk stops early at 80 % of it, so it never overruns its lease."""

_DECORATED: dict[int, Callable[..., tuple[Any, list[Event], int]]] = {}


def on_zero_gpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (the variable the `spaces` package itself reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


def steps(run, n: int, *, chunk: int = CHUNK_STEPS, duration: float = CHUNK_SECONDS,
          device: str | None = None) -> Iterator[Event]:
    """The session's hook, in place of `run.steps(n)`: on ZeroGPU (or when `device` names where chunks train),
    `n` steps in chunks of at most `chunk` steps, each inside one GPU call of `duration` seconds, the run parked on
    the CPU in between; elsewhere `run.steps(n)` unchanged."""
    if device is None and not on_zero_gpu():
        yield from run.steps(n)
        return
    call = _gpu_call(duration) if on_zero_gpu() else train_chunk
    left = n
    while left > 0:
        trained, events, done = call(run, min(chunk, left), device or CHUNK_DEVICE, 0.8 * duration)
        adopt(run, trained)
        yield from events
        left -= done
        if run.failed:
            return


def train_chunk(run, n: int, device: str, budget_s: float | None = None) -> tuple[Any, list[Event], int]:
    """What runs inside the GPU call: up to `n` steps on `device` (fewer once `budget_s` seconds are spent; at least
    one), the run moved there first and back to the CPU afterwards, also when a step raises. Returns the run, its
    events and the steps trained. ZeroGPU runs this in a forked worker and pickles arguments and results across, so
    the caller must take the returned run's state (`adopt`), not rely on changes to its own object."""
    home = run.device
    events: list[Event] = []
    done = 0
    move_run(run, torch.device(device))
    try:
        start = time.perf_counter()
        while done < n and not run.failed:
            events.extend(run.steps(1))
            done += 1
            if budget_s is not None and time.perf_counter() - start >= budget_s:
                break
    finally:
        move_run(run, home)
    return run, events, done


def adopt(run, trained) -> None:
    """Make `run` the run a GPU call returned (a copy across ZeroGPU's process boundary; itself elsewhere)."""
    if trained is not run:
        vars(run).clear()
        vars(run).update(vars(trained))


def _gpu_call(duration: float) -> Callable[..., tuple[Any, list[Event], int]]:
    """`train_chunk` wrapped by `spaces.GPU(duration=...)`, made once per duration."""
    key = int(duration)
    if key not in _DECORATED:
        import spaces  # only on ZeroGPU: the package is optional elsewhere

        _DECORATED[key] = spaces.GPU(duration=key)(train_chunk)
    return _DECORATED[key]


def move_run(run, device: torch.device) -> None:
    """Move a run's trainable state to `device`: nets (in place, so optimizers keep their parameters), optimizer
    state, the variant's other tensors and modules, and its random generator. A generator cannot change device, so
    each device keeps its own, stashed on the run: moving back and forth continues the same stream on each."""
    device = torch.device(device)
    if device == run.device:
        return
    variant = run.variant
    for value in _holders(variant):
        _move_value(value, device)
    for net in (run.gen, run.critic):
        if net is not None:
            net.to(device)
    for name, value in list(vars(variant).items()):
        if torch.is_tensor(value):
            setattr(variant, name, value.to(device))
    _swap_rng(run, device)
    if device.type == "cuda" and run.cuda_rng_state is None:
        run.cuda_rng_state = torch.Generator(device).manual_seed(run.config.seed + 3).get_state()
    run.train_on_device = None  # the training set's device copy: rebuilt on the next batch
    run.device = variant.device = device


def _holders(variant) -> list[Any]:
    """The variant's modules and optimizers (its `optimizers` dict included), wherever it keeps them."""
    found: list[Any] = []
    for value in vars(variant).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        found.extend(v for v in items if isinstance(v, (torch.nn.Module, torch.optim.Optimizer)))
    return found


def _move_value(value, device: torch.device) -> None:
    if isinstance(value, torch.nn.Module):
        value.to(device)
        return
    for state in value.state.values():  # an optimizer: its moments follow their parameters
        for key, t in state.items():
            if torch.is_tensor(t) and key != "step":  # Adam's step count stays on the CPU (non-capturable)
                state[key] = t.to(device)


def _swap_rng(run, device: torch.device) -> None:
    stash: dict[str, torch.Tensor] = run.__dict__.setdefault("_chunk_rng_states", {})
    stash[str(run.device)] = run.rng.get_state()
    rng = torch.Generator(device)
    if str(device) in stash:
        rng.set_state(stash[str(device)])
    else:
        rng.manual_seed(run.config.seed)  # what Run.__init__ gives a run created on that device
    run.rng = run.variant.rng = rng
