"""What each evaluation metric is called, where it lies, and which metrics each corpus reports: one list per fact.

`Run.evaluate` computes a corpus's metrics, the experiment report draws their curves, the app's figures group them
and fix the axis of scores in [0, 1]; all of them read the lists here, so a metric added to a corpus shows up
everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    """The history column (`eval/...`)."""
    label: str
    """How figures and tables name it."""
    group: str
    """The app's metrics figure it belongs to: "modes", "n-grams" or "likelihood" (one axis each)."""
    unit: bool
    """A score in [0, 1] (a figure fixes its axis), else an unbounded value (nats)."""


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("eval/modes/coverage", "coverage", "modes", True),
    Metric("eval/modes/precision", "precision", "modes", True),
    Metric("eval/modes/divergence", "JS divergence from true weights", "modes", True),
    Metric("eval/modes/entropy", "entropy", "modes", True),
    Metric("eval/modes/hit", "modes hit", "", True),
    Metric("eval/bleu4", "BLEU-4", "n-grams", True),
    Metric("eval/self_bleu4", "Self-BLEU-4", "n-grams", True),
    Metric("eval/distinct2", "distinct-2", "n-grams", True),
    Metric("eval/unique", "unique", "n-grams", True),
    Metric("eval/nll_oracle", "NLL-oracle", "likelihood", False),
    Metric("eval/nll_gen", "NLL-gen", "likelihood", False),
    Metric("eval/nll_gen_train", "NLL-gen on the training file (published)", "likelihood", False),
    Metric("eval/unk_share", "<unk> share of NLL-gen's tokens", "likelihood", False),  # <unk> flatters NLL-gen
)}
"""Every metric a run may report, in the order figures show them."""

CORPUS_METRICS: dict[str, tuple[str, ...]] = {
    "modes": ("eval/modes/precision", "eval/modes/coverage", "eval/modes/entropy", "eval/modes/divergence"),
    "oracle": ("eval/nll_oracle", "eval/nll_gen"),
    "text": ("eval/bleu4", "eval/self_bleu4", "eval/nll_gen_train", "eval/nll_gen", "eval/unk_share"),
}
"""The headline metrics of each family of corpora (`Corpus.metric_family`): what the report plots over time and what
evaluation computes beyond the metrics every corpus gets (distinct-2, unique, NLL-gen for autoregressive nets)."""

GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    group: tuple((m.key, m.label) for m in METRICS.values() if m.group == group)
    for group in ("modes", "n-grams", "likelihood")}
"""The app's metrics figures: (column, label) per group, one axis each."""
UNIT_METRICS = frozenset(m.key for m in METRICS.values() if m.unit)
"""Metrics in [0, 1]: a figure fixes its axis for them."""
