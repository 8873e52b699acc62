"""One-click lessons: settings that reliably show one outcome on the `modes` corpus within about a minute on 2 CPU
cores, each with two sentences on what to watch and a check of its outcome (tests/test_scenarios.py runs every
check at its fixed seed and step count; bench/scenarios.py measures seconds and how often it shows over 5 seeds).

All share the demo preset's small nets (LSTM-64 generator, CNN-32 critic) and batch 64, so the only thing that
changes between two scenarios is what the lesson is about. The GAN scenarios start from 150 steps of MLE (a few
seconds; 300 on skewed weights, where the rare modes take longer to learn; SeqGAN, RelGAN and most text GANs start
the same way): the student sees a generator that already writes all 8 modes, then watches what the adversarial
loss does to it. From scratch the same losses need thousands of steps before any sentence is valid, which hides the
lesson behind noise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from ..events import Metrics
from ..metrics.modes import FAIR_SHARE, covered_modes
from ..presets import preset_config
from ..run import Run, RunConfig
from ..variants import get_variant
from .diagnosis import CRITIC_WIN_LOSS, VANISHED, WINDOW, adversarial_rows, history_rows, median
from .forms import form_weights

GENERATOR = {"kind": "lstm", "emb_dim": 32, "hidden": 64}
CRITIC = {"kind": "cnn", "emb_dim": 32, "filters": 32}
WARM_START = {"pretrain_steps": 150, "pretrain_lr": 1e-2}
"""150 MLE steps at a high rate: ~0.9 precision and all 8 modes in a few seconds (bench/RESULTS.md)."""
CHECK_SAMPLES = 1000
CHECK_SEED = 123
"""The outcome is read from CHECK_SAMPLES fresh samples at this sampling seed (never the training RNG)."""


@dataclass(frozen=True)
class Outcome:
    """Did the scenario show what it promises? `ok`, and the numbers in words (`summary`)."""

    ok: bool
    summary: str
    metrics: dict[str, float] = field(default_factory=dict)
    moment: Moment | None = None
    """When and how the lesson showed its outcome (the recap), or None when it did not."""

    def story(self) -> str:
        """What the run showed, in words: the recap of its moment, then the numbers at the end."""
        first = self.moment.recap if self.moment else "The lesson's outcome did not show in this run."
        return f"{first} At the end: {self.summary.split(': ', 1)[-1]}."


@dataclass(frozen=True)
class Moment:
    """The evaluation where a lesson showed its outcome: its step and a recap in words ("At step 320 it collapsed
    onto mode 2: 1.1 effective modes, 97 % valid."), kept on screen however the run goes on afterwards."""

    step: int
    recap: str


@dataclass(frozen=True)
class Scenario:
    """A lesson: the settings of the form, how long to train, what to watch and how its outcome is checked."""

    key: str
    title: str
    watch: str
    """Two sentences: what to look at, and why it happens."""
    variant: str
    variant_config: dict[str, Any]
    steps: int
    expect: str
    """The outcome the check asserts, in words."""
    check: Callable[[dict[str, float], list[dict[str, float]]], bool] = field(repr=False, compare=False)
    find_moment: Callable[[list[dict[str, float]], "Scenario"], Moment | None] | None = field(
        default=None, repr=False, compare=False)
    """The lesson's moment in a history (None while not shown): what the recap, the CLI and the notebooks tell."""
    stop_at_moment: bool = False
    """Stop training at the moment: its outcome is transient (a standard GAN does not stay collapsed)."""
    plot: str = "share"
    """The one figure `watch` points to, shown beside it in the lesson view: 'share' (mode shares over time) or
    'grad' (gradient norms)."""
    label: str = ""
    """The lesson button's short name."""
    why: str = ""
    """Why the moment happens, in one or two sentences: the lesson view's explanation leads with it."""
    k: int = 8
    weights: str = "uniform"
    patterns: str = "varied"
    """The modes' sentence patterns: 'varied' (the corpus default) or 'alike' (one pattern for every mode)."""
    seed: int = 0
    batch_size: int = 64
    generator: dict[str, Any] = field(default_factory=lambda: dict(GENERATOR))
    critic: dict[str, Any] | None = field(default_factory=lambda: dict(CRITIC))

    @property
    def corpus(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": "modes", "k": self.k}
        if self.weights != "uniform":
            spec["weights"] = self.weights
        if self.patterns != "varied":
            spec["patterns"] = self.patterns
        return spec

    def config(self, **overrides: Any):
        """The RunConfig of this scenario (keyword overrides win: seed, device, cadence, out...)."""
        fields: dict[str, Any] = dict(corpus=self.corpus, variant=self.variant,
                                      variant_config=dict(self.variant_config), generator=dict(self.generator),
                                      critic=dict(self.critic) if self.critic else None,
                                      batch_size=self.batch_size, seed=self.seed, sample_every=20, eval_every=20,
                                      eval_samples=256)
        fields.update(overrides)
        return RunConfig(**fields)

    def moment(self, history: Any) -> Moment | None:
        """The first evaluation where this lesson showed its outcome, read from a run's history (rows or a
        DataFrame), or None."""
        return self.find_moment(history_rows(history), self) if self.find_moment else None

    def should_stop(self, history: list[dict[str, float]]) -> Moment | None:
        """The moment, when this lesson stops there and the newest row is the evaluation that showed it."""
        if not self.stop_at_moment or not history or "eval/modes/effective" not in history[-1]:
            return None
        found = self.moment(history)
        return found if found is not None and found.step == history[-1].get("step") else None

    def stop_rule(self, steps: int | None = None) -> Callable[[Any], str | None]:
        """For `Session.start(stop_when=...)`: stop at the moment where this lesson stops there, else at its last
        step, evaluated at that step so every panel ends on the same step. Returns the status line's message."""
        last = self.steps if steps is None else steps

        def rule(run) -> str | None:
            found = self.should_stop(run.history)
            if found is not None:
                return f"lesson shown, stopped at step {run.step}: {found.recap}"
            if run.step < last:
                return None
            newest = run.history[-1] if run.history else {}
            if newest.get("step") != run.step or "eval/modes/effective" not in newest:
                run.evaluate()
            found = self.moment(run.history)
            return f"lesson done at step {run.step}: " + (found.recap if found else
                                                          "its outcome did not show in this run (runs differ with the seed)")
        return rule

    def outcome(self, run) -> Outcome:
        """Check the run against `expect`, on fresh samples at a fixed sampling seed."""
        m = {k.removeprefix("eval/"): v for k, v in
             run.evaluate(CHECK_SAMPLES, seed=CHECK_SEED, record=False).items()}
        m.update(_recent(run.history))
        if hasattr(run.corpus, "classify_ids"):  # the same samples again (same seed): which modes hold their share
            modes = run.corpus.classify_ids(run.sample_tokens(CHECK_SAMPLES, seed=CHECK_SEED)).tolist()
            counts = [modes.count(i) for i in range(run.corpus.k)]
            covered = covered_modes(counts, run.corpus.weights)
            order = sorted(range(run.corpus.k), key=lambda i: run.corpus.weights[i])
            m["modes/rare_covered"] = sum(covered[i] for i in order[:3])
            m["modes/frequent_covered"] = sum(covered[i] for i in order[-3:])
        ok = bool(self.check(m, run.history))
        return Outcome(ok, f"{'shown' if ok else 'NOT shown'}: {describe(m, self.k)}", m, self.moment(run.history))


def _recent(history: list[dict[str, float]], n: int = 20) -> dict[str, float]:
    """Medians of the last `n` logged critic losses and generator gradient norms, and the generator gradient's
    peak in the adversarial phase (what 'vanishing' is measured against)."""
    adv = adversarial_rows(history)
    out = {}
    for key in ("loss/critic", "grad_norm/gen"):
        xs = [r[key] for r in adv if key in r]
        if xs:
            out[f"recent/{key}"] = median(xs[-n:])
            out[f"peak/{key}"] = max(xs)
    return out


def describe(m: dict[str, float], k: int) -> str:
    """The headline numbers in words."""
    parts = [f"{m.get('modes/effective', 0):.1f} effective modes of {k}",
             f"{round(m.get('modes/coverage', 0) * k)} covered",
             f"precision {m.get('modes/precision', 0):.2f}"]
    if "recent/loss/critic" in m:
        parts.append(f"critic loss {m['recent/loss/critic']:.2g}")
    if "recent/grad_norm/gen" in m:
        parts.append(f"generator gradient {m['recent/grad_norm/gen']:.2g} (peak {m['peak/grad_norm/gen']:.2g})")
    return ", ".join(parts)


def _covered(m: dict[str, float], k: int = 8) -> int:
    return round(m["modes/coverage"] * k)


def _learns(m, history) -> bool:
    return m["modes/precision"] >= 0.85 and _covered(m) == 8


def _evals(history) -> list[dict[str, float]]:
    """The adversarial phase's evaluations (the warm start's are not the lesson)."""
    return [r for r in adversarial_rows(history) if "eval/modes/effective" in r]


def _numbers(r: dict[str, float], k: int) -> str:
    return (f"{r['eval/modes/effective']:.1f} effective modes of {k}, {round(r.get('eval/modes/coverage', 0) * k)} "
            f"covered, {r.get('eval/modes/precision', 0):.0%} valid")


def _shares(r: dict[str, float], k: int) -> list[float]:
    """Each mode's share of the valid samples in an evaluation row."""
    p = r.get("eval/modes/precision", 0)
    return [r.get(f"eval/modes/share/{i}", 0) / p if p else 0.0 for i in range(k)]


def _mode_list(modes: list[int], weights: list[float] | None = None) -> str:
    """'mode 2', 'modes 2 and 5', 'modes 6 (true weight 5.3 %) and 7 (4.6 %)'."""
    names = [f"{i}" + (f" ({'true weight ' if j == 0 else ''}{weights[i]:.1%})" if weights else "")
             for j, i in enumerate(modes)]
    words = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return ("mode " if len(names) == 1 else "modes ") + words


def _moment_learns(rows, s: "Scenario") -> Moment | None:
    for r in rows:
        if "eval/modes/effective" in r and r.get("eval/modes/precision", 0) >= 0.85 \
                and round(r.get("eval/modes/coverage", 0) * s.k) == s.k:
            return Moment(int(r["step"]), f"At step {int(r['step'])} it wrote every mode: {_numbers(r, s.k)}.")
    return None


COLLAPSED_EFFECTIVE, COLLAPSED_VALID = 2.0, 0.6
"""The collapse lesson's moment: at most this many effective modes while at least this share of the samples is
valid (a real collapse onto one or two sentences, not a repeated invalid word). It stops there, so it ends
collapsed: checked again on 1000 fresh samples, at most 2.5 effective modes with at least half valid."""


def _moment_collapses(rows, s: "Scenario") -> Moment | None:
    for r in _evals(rows):
        if r.get("eval/modes/precision", 0) >= COLLAPSED_VALID and r["eval/modes/effective"] <= COLLAPSED_EFFECTIVE:
            shares = _shares(r, s.k)
            kept = sorted((i for i in range(s.k) if shares[i] >= 0.1), key=lambda i: -shares[i])
            return Moment(int(r["step"]), f"At step {int(r['step'])} it collapsed onto {_mode_list(kept)}: "
                                          f"{_numbers(r, s.k)}.")
    return None


def _collapses(m, history) -> bool:
    """Collapsed now (precision >= 0.5, at most 2.5 effective modes on the check's fresh samples) and the
    history holds the moment it happened. A standard GAN does not stay collapsed (the critic learns the one
    sentence left, and the generator hops to another mode or breaks), so the lesson stops at that moment."""
    return (m["modes/precision"] >= 0.5 and m["modes/effective"] <= 2.5
            and _moment_collapses(history, SCENARIOS["collapse"]) is not None)


def _critic_wins(m, history) -> bool:
    return (m["recent/loss/critic"] < 0.05 and m["recent/grad_norm/gen"] < 0.1 * m["peak/grad_norm/gen"]
            and m["modes/precision"] < 0.1)


def _moment_critic_wins(rows, s: "Scenario") -> Moment | None:
    adv = adversarial_rows(rows)
    for i, r in enumerate(adv):
        if "eval/modes/effective" not in r or r.get("eval/modes/precision", 1) >= 0.1:
            continue
        loss = [x["loss/critic"] for x in adv[:i + 1] if "loss/critic" in x]
        grads = [x["grad_norm/gen"] for x in adv[:i + 1] if "grad_norm/gen" in x]
        if len(loss) < WINDOW or not grads:
            continue
        now, g, peak = median(loss[-WINDOW:]), median(grads[-WINDOW:]), max(grads)
        if now < CRITIC_WIN_LOSS and g < VANISHED * peak:
            return Moment(int(r["step"]), f"At step {int(r['step'])} the critic had won: its loss was {now:.2g} "
                                          f"and the generator's gradient {100 * g / peak:.2g} % of its peak, with "
                                          f"{r.get('eval/modes/precision', 0):.0%} of the samples valid.")
    return None


def _gp_keeps_modes(m, history) -> bool:
    return m["modes/precision"] >= 0.5 and _covered(m) >= 5 and m["modes/effective"] >= 4.0


def _moment_gp_keeps(rows, s: "Scenario") -> Moment | None:
    for r in _evals(rows):
        if r["step"] >= s.steps and r.get("eval/modes/precision", 0) >= 0.5 and r["eval/modes/effective"] >= 4.0:
            pre = int(s.variant_config.get("pretrain_steps", 0))
            return Moment(int(r["step"]), f"At step {int(r['step'])}, {int(r['step']) - pre} steps into WGAN-GP, "
                                          f"it still wrote {_numbers(r, s.k)}.")
    return None


def _lost_modes(r, fair: list[float]) -> set[int]:
    """Modes without a fair share of the valid samples in an evaluation row (from its per-mode shares)."""
    return {i for i, (x, f) in enumerate(zip(_shares(r, len(fair)), fair)) if x < f}


def _skewed() -> list[float]:
    weights = [1.0 / (i + 1) for i in range(8)]
    return [w / sum(weights) for w in weights]


RARE_VALID = 0.5
"""rare-modes: a mode counts as lost only while the generator still writes at least this share of valid sentences."""


RARE = {4, 5, 6, 7}
"""The rarer half of the 8 modes under 'skewed' weights (true weights 4.6-7.4 %; the other half 9.2-36.8 %)."""


def _moment_drops_rare(rows, s: "Scenario") -> Moment | None:
    """The rare modes go first: the warm start covers every mode; at the first evaluation of the adversarial phase
    where the generator (still writing valid sentences) has lost some modes, at least half of them are in the
    rarer half (by chance, half of them would be). The rarer modes differ little in weight (4.6-7.4 %), so which
    of them goes first is noise at 256 samples; that the frequent half keeps its share is the lesson."""
    weights = _skewed()
    fair = [FAIR_SHARE * w for w in weights]
    warm = [r for r in rows if r.get("phase") == 0.0 and "eval/modes/effective" in r]
    if not warm or _lost_modes(warm[-1], fair):
        return None
    for r in _evals(rows):
        lost = _lost_modes(r, fair)
        if lost and r.get("eval/modes/precision", 0) >= RARE_VALID:
            if 2 * len(lost & RARE) < len(lost):
                return None
            order = sorted(lost, key=lambda i: weights[i])
            rare = len(lost & RARE)
            which = ("all in the rarer half" if rare == len(lost) else f"{rare} of them in the rarer half")
            if len(lost) == 1:
                which = "in the rarer half"
            return Moment(int(r["step"]), f"At step {int(r['step'])} the first modes went: "
                                          f"{_mode_list(order, weights)}, {which}, while "
                                          + ("the frequent modes 0-3 kept their share and " if lost <= RARE else "")
                                          + f"{r.get('eval/modes/precision', 0):.0%} of the samples were still "
                                          "valid.")
    return None


def _drops_rare(m, history) -> bool:
    return _moment_drops_rare(history, SCENARIOS["rare-modes"]) is not None


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario(
        key="learn",
        why=(
            'Maximum likelihood raises the probability of every real sentence it is shown, so every mode gets its'
            ' share: there is no critic to please, only the data to fit.'),
        label="Learn", title="See it learn (maximum likelihood)", variant="mle", variant_config={"lr_gen": 1e-2},
        steps=200, check=_learns, find_moment=_moment_learns, critic=None,
        watch="Watch precision climb from 0 to about 90 % and the effective modes reach 8 in a few seconds: "
              "maximum likelihood is shown every real sentence, so it learns every mode. This is the yardstick the "
              "GANs below are measured against.",
        expect="precision >= 0.85 and all 8 modes covered"),
    Scenario(
        key="collapse",
        why=(
            'The critic rewards whatever looks most real right now, and nothing in the standard GAN loss asks the'
            ' generator to keep the other modes, so it piles onto the one or two sentences the critic likes best.'),
        label="Collapse", title="See it collapse onto a few modes (standard GAN)", variant="gan",
        variant_config={**WARM_START, "lr_gen": 5e-4, "lr_critic": 1e-3}, steps=450, check=_collapses,
        find_moment=_moment_collapses, stop_at_moment=True,
        watch="After 150 steps of maximum likelihood the generator writes all 8 modes; then the standard GAN loss "
              "takes over and the mode-share plot loses its colours one by one until nearly every sentence is the "
              "same valid sentence. The critic rewards whatever looks most real right now, and nothing in the loss "
              "asks the generator to keep the other modes; once the critic learns that one sentence too, the "
              "generator hops to another mode or breaks.",
        expect="at most 2 effective modes of 8 with at least 60 % of the samples valid; the lesson stops there, "
               "collapsed"),
    Scenario(
        key="critic-wins",
        why=(
            'The critic spots every fake, yet its verdict is not what stops the generator: a generator sure of '
            'every word has a saturated softmax, which passes almost no gradient back, so it stays stuck.'),
        label="Critic wins", title="See the critic win (generator learning rate too high)", variant="gan",
        variant_config={**WARM_START, "lr_gen": 2e-2, "lr_critic": 1e-3}, steps=450, check=_critic_wins,
        find_moment=_moment_critic_wins, plot="grad",
        watch="Same start, but the generator takes steps 40x larger: its word choices harden until every sample is "
              "one word repeated, which the critic spots every time (its loss drops towards 0). Then the generator's "
              "gradient norm falls by orders of magnitude: the critic still points somewhere, but a generator sure "
              "of every word passes almost no gradient back through its softmax, so it is stuck.",
        expect="critic loss < 0.05, generator gradient < 10 % of its peak, precision < 0.1"),
    Scenario(
        key="gp-fix",
        why=(
            "The gradient penalty keeps the Wasserstein critic's gradient informative everywhere, so the "
            "generator is pushed towards all the real modes, not only the most convincing one."),
        label="GP fixes it", title="See gradient penalty fix it (WGAN-GP)", variant="wgan-gp",
        variant_config={**WARM_START, "lr_gen": 5e-4, "lr_critic": 1e-3, "critic_steps": 3}, steps=350,
        check=_gp_keeps_modes, find_moment=_moment_gp_keeps,
        watch="The collapse scenario's start, nets and learning rates; the loss changes to a Wasserstein critic with "
              "a gradient penalty, trained 3 times per generator step as its paper does (5). The effective modes "
              "stay near 7 instead of falling to 1: the penalty keeps the critic's gradient informative everywhere, "
              "so the generator is pushed towards all the real modes, not just the most convincing one.",
        expect="precision >= 0.5, at least 5 of 8 modes covered, effective modes >= 4"),
    Scenario(
        key="rare-modes",
        why=(
            "The critic sees mode 7 in about 1 real sentence of 22 and mode 0 in 1 of 3: fooling it never "
            "requires the rare modes, and nothing in the GAN loss asks for them, so the generator's probability "
            "drains from them first."),
        label="Rare modes", title="See the rare modes dropped (skewed weights)", variant="gan",
        variant_config={**WARM_START, "pretrain_steps": 300, "lr_gen": 5e-4, "lr_critic": 1e-3}, steps=450,
        weights="skewed", patterns="alike", check=_drops_rare,
        find_moment=_moment_drops_rare, stop_at_moment=True,
        watch="The modes now have Zipf weights (mode 0 is 8x more common than mode 7) and all share one sentence "
              "pattern, so only their weights differ; a longer warm start (300 steps) gives every mode its share. "
              "On the mode-share plot, watch the thin bands of the rare modes 4-7 thin out first while mode 0's "
              "grows: the critic sees the rare modes seldom, so fooling it never requires them.",
        expect="the warm start covers all 8 modes; the first modes the GAN loses are mostly in the rarer half "
               "(modes 4-7, true weights 4.6-7.4 %); the lesson stops there"),
)}
"""The lessons, in the order the app shows them."""


def get_scenario(key: str) -> Scenario:
    if key not in SCENARIOS:
        raise ValueError(f"unknown scenario {key!r}; choose one of {sorted(SCENARIOS)}")
    return SCENARIOS[key]


def run_scenario(key: str, steps: int | None = None, **overrides: Any):
    """Train a scenario without the app, to its step count (or `steps`), or to its moment where the lesson stops
    there; returns (run, Outcome)."""
    s = get_scenario(key)
    run = Run(s.config(**overrides))
    n = s.steps if steps is None else steps
    for ev in run.steps(n):
        if isinstance(ev, Metrics) and s.should_stop(run.history):
            break
    else:
        s.stop_rule(n)(run)  # ends evaluated at its last step, as in the app
    return run, s.outcome(run)


def form_values(key: str) -> dict[str, Any]:
    """What the app's form shows for a scenario: corpus K and weights, variant, the demo preset's
    hyperparameters updated by the scenario's, nets (kind and size), batch size and seed."""
    s = get_scenario(key)
    hp = {**dataclasses.asdict(get_variant(s.variant).Config()), **preset_config("demo", s.variant).variant_config,
          **s.variant_config}
    return {"k": s.k, "weights": form_weights(s.weights, s.patterns), "variant": s.variant, "preset": "demo",
            "hparams": hp, "generator": dict(s.generator), "critic": dict(s.critic) if s.critic else None,
            "batch_size": s.batch_size, "seed": s.seed, "steps": s.steps}
