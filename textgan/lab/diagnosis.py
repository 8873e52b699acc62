"""What is happening to this run, in plain words, read from its own history (the live explanation panel).

Every detection looks only at the history a run logs (`Run.history`, `Session.snapshot()["history"]`, a run
directory's history.csv): losses, gradient norms and the periodic evaluations. Nothing here trains or samples, so
the panel costs nothing and a saved run is diagnosed exactly as it was live.

Detections, most urgent first:
- `diverged`: a loss or gradient norm became NaN or infinite, or the run failed.
- `critic_winning`: the critic's loss is near 0 (it tells real from fake every time) and the generator's gradient
  has shrunk to a small fraction of its peak: the generator no longer learns.
- `collapsing`: the effective number of modes fell well below its best while the samples stay valid.
- `invalid`: the generator writes almost no valid sentence.
- `oscillating`: the evaluations swing up and down instead of settling.
- `learning`: modes are covered and the samples are valid; `pretraining`: the MLE warm start is running.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

CRITIC_WIN_LOSS = 0.05
"""A cross-entropy critic loss below this (out of 2 ln 2 ≈ 1.39 at balance) means it is right almost always."""
VANISHED = 0.1
"""The generator's gradient norm counts as vanished below this fraction of its adversarial-phase peak."""
COLLAPSE_DROP = 0.6
"""Collapse: the effective number of modes is at most this fraction of its best so far."""
WINDOW = 20
"""Logged steps averaged for "now" (medians, so one spike does not decide)."""


@dataclass(frozen=True)
class Finding:
    """One thing the panel says: `kind` (machine-readable), a headline, what it means, and what to try."""

    kind: str
    headline: str
    detail: str
    advice: str = ""

    def markdown(self) -> str:
        text = f"**{self.headline}** {self.detail}"
        return text + (f"  \n*Try:* {self.advice}" if self.advice else "")


def history_rows(history: Any) -> list[dict[str, float]]:
    if history is None:
        return []
    if hasattr(history, "to_dict"):  # a pandas DataFrame
        return [{k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
                for r in history.to_dict("records")]
    return list(history)


def _series(rows: Sequence[dict[str, float]], key: str) -> list[tuple[float, float]]:
    return [(r["step"], float(r[key])) for r in rows if key in r and r[key] is not None]


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def adversarial_rows(rows: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """Rows of the adversarial phase (phase 1.0), or every row when the run logs no phase."""
    if any("phase" in r for r in rows):
        return [r for r in rows if r.get("phase") == 1.0]
    return list(rows)


def diagnose(history: Any, k: int | None = None, failed: str | None = None) -> list[Finding]:
    """Findings about a run, most urgent first; empty when there is nothing to read yet.

    `history`: a list of logged rows or a DataFrame with a `step` column. `k`: the number of modes when the
    corpus has them. `failed`: the run's failure message, if any.
    """
    rows = history_rows(history)
    out: list[Finding] = []
    bad = _non_finite(rows)
    if failed or bad:
        where = f"{bad[0]} became {bad[1]} at step {bad[2]}" if bad else failed
        out.append(Finding("diverged", "Training diverged.",
                           f"{where}: the numbers blew up, so training stopped and the last good checkpoint is kept.",
                           "lower the learning rates (start with the generator's), or add a gradient penalty "
                           "(wgan-gp)."))
        return out
    if not rows:
        return out
    adv = adversarial_rows(rows)
    if rows[-1].get("phase") == 0.0:
        mle = _series(rows, "loss/mle")
        now = f" (MLE loss {mle[-1][1]:.2f} nats per word)" if mle else ""
        out.append(Finding("pretraining", "Pre-training with MLE.",
                           f"The generator learns to predict the next word of real sentences{now}; no critic yet. "
                           "Adversarial training starts after this warm start."))
    winning = _critic_winning(adv)
    if winning:
        out.append(winning)
    evals = [r for r in rows if "eval/modes/effective" in r]
    if evals and k:
        out.extend(_mode_findings(evals, k, critic_wins=winning is not None))
    osc = _oscillating(evals)
    if osc:
        out.append(osc)
    return out


def _non_finite(rows: Sequence[dict[str, float]]) -> tuple[str, float, float] | None:
    for r in rows:
        for key, v in r.items():
            if key.startswith(("loss/", "grad_norm/", "wasserstein", "gp")) and isinstance(v, float) \
                    and not math.isfinite(v):
                return key, v, r.get("step", float("nan"))
    return None


def _critic_winning(adv: Sequence[dict[str, float]]) -> Finding | None:
    """Cross-entropy critics only: a Wasserstein critic's loss has no 'near 0' (it is unbounded)."""
    loss = [v for _, v in _series(adv, "loss/critic")]
    if len(loss) < WINDOW or any(r.get("wasserstein") is not None for r in adv[-3:]):
        return None
    if any("critic/p_real" in r for r in adv) is False and min(loss) < 0:
        return None
    now = median(loss[-WINDOW:])
    if now >= CRITIC_WIN_LOSS:
        return None
    grads = [v for _, v in _series(adv, "grad_norm/gen")]
    peak = max(grads) if grads else 0.0
    g_now = median(grads[-WINDOW:]) if grads else 0.0
    vanished = peak > 0 and g_now < VANISHED * peak
    detail = (f"Its loss is {now:.1g} (about 1.39 when it cannot tell real from fake): it spots every fake "
              "sentence. ")
    if vanished:
        detail += (f"The generator's gradient has shrunk to {g_now:.1g}, {100 * g_now / peak:.2g} % of its peak "
                   f"{peak:.2g}: the generator stops learning (a critic this sure can saturate its loss, and a generator "
                   "sure of every word passes almost no gradient back through its softmax).")
        headline = "The critic is winning, and the generator's gradient is vanishing."
    else:
        detail += "The generator still gets a gradient, but the critic is far ahead."
        headline = "The critic is winning."
    return Finding("critic_winning", headline, detail,
                   "a Wasserstein critic with a gradient penalty (variant wgan-gp) keeps giving useful gradients; "
                   "or weaken the critic (lower its learning rate, fewer critic steps).")


def _mode_findings(evals: Sequence[dict[str, float]], k: int, critic_wins: bool) -> list[Finding]:
    last = evals[-1]
    eff, prec = last["eval/modes/effective"], last.get("eval/modes/precision", 1.0)
    covered = last.get("eval/modes/coverage")
    best_row = max(evals, key=lambda r: r["eval/modes/effective"])
    best = best_row["eval/modes/effective"]
    out = []
    if prec < 0.1:
        if not critic_wins:
            out.append(Finding("invalid", "Almost no valid sentence yet.",
                               f"Only {prec:.0%} of the samples are sentences of any mode, so there is nothing to "
                               "count modes on.",
                               "wait: a GAN from scratch needs a few hundred steps; if it stays here, lower the "
                               "generator's learning rate or start with MLE pre-training (pretrain_steps)."))
        return out
    if best >= 2 and eff <= COLLAPSE_DROP * best:
        out.append(Finding("collapsing", "The generator is collapsing onto a few modes.",
                           f"The effective number of modes fell from {best:.1f} (step {best_row['step']:.0f}) to "
                           f"{eff:.1f} of {k}: most valid sentences now come from "
                           f"{'one mode' if eff < 1.5 else 'a few modes'}. The critic pushes the generator towards "
                           "what it currently finds most real, and nothing rewards keeping the other modes.",
                           "a gradient penalty (wgan-gp) or MLE in the loop keeps the modes; lowering the "
                           "generator's learning rate slows the collapse."))
    elif covered is not None and covered * k >= k - 0.5 and prec >= 0.5:
        out.append(Finding("learning", f"Learning: all {k} modes are covered.",
                           f"{prec:.0%} of the samples are valid sentences, spread over {eff:.1f} effective modes "
                           f"of {k}."))
    else:
        n_cov = round((covered or 0) * k)
        out.append(Finding("learning", f"Learning: {n_cov} of {k} modes covered.",
                           f"{prec:.0%} of the samples are valid, spread over {eff:.1f} effective modes of {k}."))
    return out


def _oscillating(evals: Sequence[dict[str, float]], key: str = "eval/modes/effective", n: int = 8,
                 min_swing: float = 1.0) -> Finding | None:
    """At least 3 reversals of direction among the last `n` evaluations, each swing at least `min_swing`."""
    xs = [r[key] for r in evals if key in r][-n:]
    if len(xs) < 5:
        return None
    turns = 0
    direction = 0
    for a, b in zip(xs, xs[1:]):
        d = b - a
        if abs(d) < min_swing:
            continue
        s = 1 if d > 0 else -1
        if direction and s != direction:
            turns += 1
        direction = s
    if turns < 3:
        return None
    return Finding("oscillating", "Training oscillates.",
                   f"The effective number of modes swings between {min(xs):.1f} and {max(xs):.1f} over the last "
                   f"{len(xs)} evaluations: the generator chases whatever the critic currently likes, and the "
                   "critic follows.",
                   "lower both learning rates, or give the critic more steps per generator step.")


def lesson_story(history: Any, k: int | None, moment_step: int, failed: str | None = None, why: str = "") -> str:
    """The lesson view's explanation once its moment has shown: why it happens (`why`, the lesson's own words),
    what the panel said at that step (kept however the run goes on), then, when the run went on and something else
    is happening now, what."""
    rows = history_rows(history)
    then = [f for f in diagnose([r for r in rows if r.get("step", 0) <= moment_step], k=k)
            if f.kind != "pretraining"]
    parts = ([f"**Why:** {why}"] if why else []) + [f"*At step {moment_step}:* **{f.headline}** {f.detail}"
                                                    for f in then]  # no advice: the lesson's moment, in view
    text = "\n\n".join(parts) or "*Nothing more to say about that step.*"
    last = rows[-1].get("step", 0) if rows else 0
    now = [f for f in diagnose(rows, k=k, failed=failed) if f.kind != "pretraining"]
    if last > moment_step and [f.kind for f in now] != [f.kind for f in then]:
        text += f"\n\n**Then, by step {last:.0f}:** " + " ".join(f"{f.headline} {f.detail}" for f in now)
    return text
