"""The live explanation reads the run's own history: each detection on a hand-made history (fast), and on the
scenarios' real runs in test_scenarios.py."""

import math

import pandas as pd

from textgan.lab.diagnosis import diagnose


def kinds(findings):
    return [f.kind for f in findings]


def gan_rows(n, critic_loss, grad_gen, start=1):
    return [{"step": s, "phase": 1.0, "loss/critic": critic_loss(s), "loss/gen": 5.0, "grad_norm/gen": grad_gen(s),
             "critic/p_real": 0.99} for s in range(start, start + n)]


def test_nothing_to_say_before_the_first_step():
    assert diagnose([], k=8) == []
    assert diagnose(None) == []


def test_critic_winning_with_a_vanishing_generator_gradient():
    rows = gan_rows(100, lambda s: 1.0 if s < 30 else 1e-3, lambda s: 1.0 if s < 30 else 1e-3)
    f = diagnose(rows, k=8)
    assert kinds(f)[0] == "critic_winning"
    assert "vanishing" in f[0].headline and "wgan-gp" in f[0].advice


def test_critic_ahead_but_gradient_alive_is_said_differently():
    rows = gan_rows(100, lambda s: 0.01, lambda s: 1.0)
    f = diagnose(rows, k=8)
    assert kinds(f) == ["critic_winning"] and "vanishing" not in f[0].headline


def test_a_balanced_critic_is_not_winning():
    rows = gan_rows(100, lambda s: 1.3, lambda s: 1.0)
    assert "critic_winning" not in kinds(diagnose(rows, k=8))


def test_wasserstein_critic_losses_are_not_read_as_winning():
    rows = [{"step": s, "phase": 1.0, "loss/critic": -0.001, "wasserstein": 0.5, "grad_norm/gen": 1e-4}
            for s in range(1, 100)]
    assert "critic_winning" not in kinds(diagnose(rows, k=8))


def evals(effs, precision=0.9, k=8):
    return [{"step": 20 * (i + 1), "eval/modes/effective": e, "eval/modes/precision": precision,
             "eval/modes/coverage": min(e, k) / k} for i, e in enumerate(effs)]


def test_collapse_is_effective_modes_falling_from_their_best():
    f = diagnose(evals([7.5, 7.0, 5.0, 3.0, 1.8]), k=8)
    assert kinds(f) == ["collapsing"]
    assert "7.5" in f[0].detail and "1.8" in f[0].detail


def test_learning_says_how_many_modes_are_covered():
    f = diagnose(evals([2.0, 4.0, 6.0, 8.0]), k=8)
    assert kinds(f) == ["learning"] and "all 8 modes" in f[0].headline


def test_no_valid_sentence_is_said_plainly():
    assert kinds(diagnose(evals([0.0, 0.0], precision=0.0), k=8)) == ["invalid"]


def test_oscillation_needs_repeated_swings():
    f = diagnose(evals([6.0, 3.0, 6.0, 3.0, 6.0, 3.0]), k=8)
    assert "oscillating" in kinds(f)
    assert "oscillating" not in kinds(diagnose(evals([6.0, 5.8, 6.1, 5.9, 6.0, 6.1]), k=8))


def test_divergence_from_a_nan_or_a_failure_comes_first():
    rows = gan_rows(30, lambda s: 1.0, lambda s: 1.0) + [{"step": 31, "loss/critic": math.nan}]
    f = diagnose(pd.DataFrame(rows).assign(**{"loss/gen": [5.0] * 30 + [math.inf]}), k=8)
    assert kinds(f) == ["diverged"] and "inf" in f[0].detail
    assert kinds(diagnose([], failed="loss/gen became nan at step 9")) == ["diverged"]


def test_pretraining_is_named():
    rows = [{"step": s, "phase": 0.0, "loss/mle": 2.5, "grad_norm/gen": 1.0} for s in range(1, 10)]
    f = diagnose(rows, k=8)
    assert kinds(f) == ["pretraining"] and "2.50" in f[0].detail
