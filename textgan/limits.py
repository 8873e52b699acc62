"""One table of the bounds every surface shares: the CLI, the sweep, config.json of a pulled run, the app's form.

A bound here is what the engine accepts at all; it sits below every other module (nets, corpora, variants and the
config read it), so a size means the same thing wherever it is typed. The public app's quotas (parameters per
visitor, compute budget) are tighter and are the lab's; they read these as their ceiling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """An inclusive numeric range `lo..hi`; `open_lo` excludes `lo` itself (a learning rate above 0)."""

    lo: float
    hi: float
    open_lo: bool = False
    noun: str = ""
    """What a value in this range is, for messages ("a learning rate"); by default its type."""

    def __contains__(self, value: float) -> bool:
        return (self.lo < value if self.open_lo else self.lo <= value) and value <= self.hi

    def describe(self) -> str:
        def fmt(x: float) -> str:
            return str(x) if isinstance(x, int) else f"{x:g}"

        return f"in ({fmt(self.lo)}, {fmt(self.hi)}]" if self.open_lo else f"in {fmt(self.lo)}..{fmt(self.hi)}"


MAX_PARAMS = int(os.environ.get("TEXTGAN_MAX_PARAMS", 500_000_000))
"""Largest parameter count of one net, checked on the meta device before a weight is allocated (operator setting)."""

LIMITS: dict[str, Range] = {
    "net_size": Range(1, 65_536, noun="a positive integer"),
    # hidden units, embedding, channels, filters, layers, heads of any net
    "seed": Range(0, 2**32 - 1),
    # every seed (run, corpus): a run derives more seeds from it (seed * 1_000_003 + step must fit torch's 64 bits)
    "batch_size": Range(1, 65_536),
    "every": Range(0, 10**9),
    # log/sample/eval/save cadences, in steps (0 = never, where allowed)
    "eval_samples": Range(1, 10**6),
    "show_samples": Range(0, 10**4),
    "steps": Range(1, 1000),
    # critic/generator updates per iteration, and other per-iteration step counts
    "pretrain_steps": Range(0, 10_000_000),
    "iterations": Range(1, 10**9),
    "learning_rate": Range(0, 1, open_lo=True, noun="a learning rate"),
    "positive": Range(0, 1e6, open_lo=True, noun="a positive number"),
    "non_negative": Range(0, 1e6, noun="a number >= 0"),
    "vocab_size": Range(1, 1_000_000),
    "seq_len": Range(1, 4096),
    "modes": Range(2, 64),
    "corpus_rows": Range(1, 1_000_000),
}
"""Name -> the range it allows. Fields declare which one applies (`textgan.checks`: `Annotated[int, LIMITS[...]]`)."""


def limit(name: str) -> Range:
    """The range called `name` in LIMITS (a KeyError names the known ones)."""
    try:
        return LIMITS[name]
    except KeyError:
        raise KeyError(f"no limit {name!r}; known: {sorted(LIMITS)}") from None
