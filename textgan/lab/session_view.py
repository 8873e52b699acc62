"""What the UI's polls read of a session: its state and message, a version that changes with anything shown, the
latest samples and the per-mode histogram, kept under one lock by `SessionView`; and the pure functions that turn a
run's history into the poll's copies (`snapshot`) and its status line."""

from __future__ import annotations

import math
import threading
from typing import Any, Callable

import pandas as pd
import torch

from ..device import describe_device
from ..events import Samples

HIST_SAMPLES = 256
"""Samples drawn (with their own RNG, never the training one) for the live per-mode histogram."""

Histogram = tuple[int, list[int], int]
"""(step, counts per mode, invalid count) of the live per-mode histogram."""


class SessionView:
    """The session's shown state, changed by its controls and its worker, copied by polls (all under `lock`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = "idle"
        self.message = ""
        self.version = 0
        """Bumped on every change of the history, samples or status: a poll that sees the same value can skip."""
        self.run_id = 0
        """Bumped when the run is replaced (reset, load): the UI resets the figures' zoom then."""
        self.samples: list[tuple[str, int | None]] = []
        self.hist: Histogram | None = None

    def set(self, state: str, message: str | None = None) -> None:
        """A new state (and message, when given)."""
        with self.lock:
            self.state = state
            if message is not None:
                self.message = message
            self.version += 1

    def changed(self) -> None:
        """Something polls show changed (the run recorded a row)."""
        with self.lock:
            self.version += 1

    def show_samples(self, samples: list[tuple[str, int | None]], hist: Histogram | None) -> None:
        with self.lock:
            self.samples = samples
            if hist is not None:
                self.hist = hist
            self.version += 1

    def new_run(self, state: str, message: str, samples: list[tuple[str, int | None]]) -> None:
        """The run was replaced (reset, load): new samples, no histogram, the figures' zoom reset."""
        with self.lock:
            self.samples, self.hist = samples, None
            self.state, self.message = state, message
            self.run_id += 1
            self.version += 1

    def copy(self) -> tuple[list[tuple[str, int | None]], Histogram | None, str, str, int]:
        """(samples, histogram, state, message, version), read together."""
        with self.lock:
            return list(self.samples), self.hist, self.state, self.message, self.version


def mode_label(mode: int | None) -> str:
    """How a sample's mode is shown ('' when the corpus has none)."""
    if mode is None:
        return ""
    return "invalid" if mode < 0 else f"mode {mode}"


def history_frame(rows: list[dict[str, float]], max_points: int) -> pd.DataFrame:
    """The history as a DataFrame thinned to about `max_points` rows (evaluation rows always kept), one row per
    step."""
    if len(rows) > max_points:
        stride = math.ceil(len(rows) / max_points)
        rows = [r for i, r in enumerate(rows) if i % stride == 0 or i == len(rows) - 1
                or any(k.startswith("eval/") for k in r)]
    df = pd.DataFrame(rows)
    if "step" in df:
        df = df.groupby("step", as_index=False, sort=True).last()
    return df


def snapshot(view: SessionView, run, max_points: int, status: Callable[[str, str], str]) -> dict[str, Any]:
    """Copies for the UI (see `Session.snapshot`); `status(state, message)` is the status line."""
    rows = run.history.rows() if run is not None else []  # the run's own bounded copy, not a second one
    samples, hist, state, message, version = view.copy()
    corpus = run.corpus if run is not None else None
    k = getattr(corpus, "k", None)
    return {
        "state": state, "message": message, "version": version, "step": run.step if run is not None else 0,
        "run_id": view.run_id, "history": history_frame(rows, max_points),
        "samples": [(t, mode_label(m)) for t, m in samples],
        "hist": None if hist is None or k is None else {
            "step": hist[0], "counts": hist[1], "invalid": hist[2], "weights": list(corpus.weights)},
        "has_modes": None if corpus is None else k is not None,
        "status": status(state, message),
    }


def status_line(state: str, message: str, run, queued: str | None) -> str:
    """'training · step 40 · gan on modes · CPU · message'; `queued` is the queue's place and wait (None when the
    session does not wait for a slot)."""
    line = f"{state} · step {run.step if run is not None else 0}"
    if run is not None:
        line += f" · {run.config.variant} on {run.corpus.name} · {describe_device(run.device)}"
    if queued is not None:
        line += f" · server busy: {queued}"
    if message:
        line += f" · {message}"
    return line


def labelled_samples(run, ev: Samples) -> tuple[list[tuple[str, int | None]], Histogram | None]:
    """The samples of `ev` with their modes, and a fresh per-mode histogram of `HIST_SAMPLES` samples drawn with
    their own seed (None on a corpus without modes)."""
    corpus = run.corpus
    labels: list[int | None] = [None] * len(ev.texts)
    hist = None
    if hasattr(corpus, "classify_ids"):
        if ev.ids:
            labels = corpus.classify_ids(torch.tensor(ev.ids)).tolist()
        modes = corpus.classify_ids(run.sample_tokens(HIST_SAMPLES, seed=10_007 + ev.step)).tolist()
        counts = [0] * corpus.k
        for m in modes:
            if m >= 0:
                counts[m] += 1
        hist = (ev.step, counts, sum(m < 0 for m in modes))
    return list(zip(ev.texts, labels)), hist
