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
    plain: str = ""
    """How the app's pickers name it for a student, in plain words (`label` when empty)."""
    column: str = ""
    """Its column's name in the Compare tab's table: short, so a few runs fit 1280 px (`plain_name` when empty)."""

    @property
    def plain_name(self) -> str:
        return self.plain or self.label


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("eval/modes/coverage", "coverage", "modes", True, "modes covered", "covered"),
    Metric("eval/modes/precision", "precision", "modes", True, "valid share", "valid"),
    Metric("eval/modes/divergence", "JS divergence from true weights", "modes", True,
           "JS divergence from the true weights", "JS divergence"),
    Metric("eval/modes/entropy", "entropy", "modes", True, "mode entropy"),
    Metric("eval/modes/effective", "effective modes", "", False),  # 1..K: no figure group of its own
    Metric("eval/modes/hit", "modes hit", "", True),
    Metric("eval/bleu4", "BLEU-4", "n-grams", True),
    Metric("eval/self_bleu4", "Self-BLEU-4", "n-grams", True),
    Metric("eval/distinct2", "distinct-2", "n-grams", True, "", "distinct pairs"),
    Metric("eval/unique", "unique", "n-grams", True),
    Metric("eval/nll_oracle", "NLL-oracle", "likelihood", False),
    Metric("eval/nll_gen", "NLL-gen", "likelihood", False, "NLL-gen (test sentences)", "NLL-gen"),
    Metric("eval/nll_gen_train", "NLL-gen on the training file (published)", "likelihood", False, "",
           "NLL-gen (train)"),
    Metric("eval/unk_share", "<unk> share of NLL-gen's tokens", "likelihood", False,  # <unk> flatters NLL-gen
           "unk share"),
    Metric("eval/bleu2", "BLEU-2", "", True),  # the Compare table's extra BLEU orders: no figure group
    Metric("eval/bleu3", "BLEU-3", "", True),
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

TRAINING: dict[str, Metric] = {m.key: m for m in (
    Metric("loss/gen", "generator loss", "", False),
    Metric("loss/critic", "critic loss", "", False),
    Metric("wasserstein", "Wasserstein estimate", "", False),
    Metric("grad_norm/gen", "generator gradient norm", "", False),
)}
"""The training scalars a run logs every step that a comparison overlays (the loss figures draw them by role)."""

COMPARE_CURVES: tuple[str, ...] = (*TRAINING, "eval/modes/effective", "eval/modes/coverage", "eval/modes/precision",
                                   "eval/modes/divergence", "eval/modes/entropy", "eval/nll_gen", "eval/unk_share")
"""The curves the app's Compare tab offers to overlay across runs: the training scalars, then the modes corpus'
numbers and the likelihoods."""


def plain_name(key: str) -> str:
    """A logged key in plain words (the key itself when the catalog does not know it)."""
    metric = METRICS.get(key) or TRAINING.get(key)
    return metric.plain_name if metric is not None else key


def column_names() -> dict[str, str]:
    """The Compare table's column for each metric, by its key without `eval/` (how the table's rows hold them)."""
    return {m.key.removeprefix("eval/"): m.column or m.plain_name for m in METRICS.values()}
