"""Every one-click lesson shows its outcome and ends on it (collapse and rare-modes stop at their moment), the recap
of that moment is what the explanation, the CLI and the notebooks tell, and the live explanation, reading only the
run's history, says what happened.

Real runs hold on any x86-64 CPU: float reductions differ between CPUs (an Intel Xeon with AMX takes other kernels
than an AMD EPYC), so one seed's trajectory differs from machine to machine. A lesson's test therefore passes when
the lesson shows in one of a few seeds (each shows in >= 19 of 20 seeds: bench/RESULTS.md), and the oscillation test
checks the detector against an independent count of the swings on several seeds, never one trajectory's values."""

import json
import os
import subprocess
import sys

import pytest

from textgan.lab.diagnosis import diagnose, lesson_story
from textgan.lab.scenarios import SCENARIOS, form_values, get_scenario, run_scenario

pytestmark = pytest.mark.usefixtures("one_thread")

SAYS = {"learn": "learning", "collapse": "collapsing", "critic-wins": "critic_winning"}
"""The finding the explanation panel gives at the lesson's moment (these follow from the moments' definitions)."""
SEEDS = (0, 1, 2)


def shown_in_one_of(key: str, seeds=SEEDS):
    """The first of `seeds` where the lesson shows its outcome: (seed, run, outcome); fails naming every try."""
    tries = []
    for seed in seeds:
        run, outcome = run_scenario(key, seed=seed, device="cpu", sample_every=0, eval_every=20)
        if outcome.ok:
            return seed, run, outcome
        tries.append(f"seed {seed}: {outcome.summary}")
    raise AssertionError(f"{key}: expected {get_scenario(key).expect}; got " + "; ".join(tries))


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_scenario_shows_its_outcome_and_ends_on_it(key):
    s = get_scenario(key)
    _, run, outcome = shown_in_one_of(key)
    moment = outcome.moment
    assert moment is not None and moment.recap.startswith(f"At step {moment.step}"), outcome
    assert run.step == (moment.step if s.stop_at_moment else s.steps)
    assert outcome.story().startswith(moment.recap) and "At the end:" in outcome.story()
    history = [r for r in run.history if r["step"] <= moment.step]
    kinds = [f.kind for f in diagnose(history, k=s.k, failed=run.failed)]
    if key in SAYS:
        assert SAYS[key] in kinds, kinds
    if key in ("learn", "gp-fix"):
        assert "critic_winning" not in kinds, kinds
    if key == "collapse":  # it ends collapsed: the check read 1000 fresh samples at the last step
        assert outcome.metrics["modes/precision"] >= 0.5 and outcome.metrics["modes/effective"] <= 2.5
    if key == "rare-modes":  # it names the modes lost first, with their true weights
        assert "the first modes went: mode" in moment.recap and "true weight" in moment.recap
    story = lesson_story(run.history, s.k, moment.step, why=s.why)
    assert story.startswith(f"**Why:** {s.why}") and f"At step {moment.step}" in story


def test_every_scenario_has_two_sentences_and_form_values():
    assert list(SCENARIOS)[:2] == ["learn", "collapse"]
    for key, s in SCENARIOS.items():
        assert s.watch.count(". ") + 1 >= 2 and s.watch.endswith(".") and len(s.watch) < 600, key
        assert s.why.endswith(".") and s.label and s.plot in ("share", "grad"), key
        values = form_values(key)
        assert values["variant"] == s.variant and values["k"] == 8
        for name, v in s.variant_config.items():
            assert values["hparams"][name] == v
    with pytest.raises(ValueError, match="unknown scenario"):
        get_scenario("nope")


def rows(*evals, warm_until=150):
    """A written history: one evaluation row per (step, effective, precision, {mode: share of all samples})."""
    out = []
    for step, eff, prec, shares in evals:
        r = {"step": step, "phase": 0.0 if step <= warm_until else 1.0, "eval/modes/effective": eff,
             "eval/modes/precision": prec, "eval/modes/coverage": sum(v > 0.03 for v in shares.values()) / 8}
        r.update({f"eval/modes/share/{i}": shares.get(i, 0.0) for i in range(8)})
        out.append(r)
    return out


def test_the_collapse_moment_and_its_recap_on_a_written_history():
    s = get_scenario("collapse")
    even = {i: 0.9 / 8 for i in range(8)}
    h = rows((140, 7.9, 0.9, even), (160, 7.8, 0.9, even), (180, 3.0, 0.9, {2: 0.5, 4: 0.4}),
             (200, 1.1, 0.97, {2: 0.95, 5: 0.02}), (220, 0.0, 0.0, {}))
    m = s.moment(h)
    assert m.step == 200 and m.recap == ("At step 200 it collapsed onto mode 2: 1.1 effective modes of 8, 1 covered, "
                                         "97% valid.")
    assert s.should_stop(h[:4]) == m and s.should_stop(h[:3]) is None  # the lesson stops at that evaluation
    assert s.should_stop(h) is None  # ... and only there (Train continues a stopped lesson past it)
    story = lesson_story(h, 8, m.step, why=s.why)
    assert "collapsing" in story and "**Then, by step 220:**" in story  # the recap stays; what came after follows


def test_the_rare_modes_moment_names_the_modes_with_their_weights():
    s = get_scenario("rare-modes")
    w = [1 / (i + 1) for i in range(8)]
    fair = {i: 0.95 * x / sum(w) for i, x in enumerate(w)}
    lost = {**fair, 0: fair[0] + fair[6] + fair[7], 6: 0.001, 7: 0.0}
    m = s.moment(rows((300, 7.0, 0.95, fair), (320, 6.5, 0.95, fair), (340, 5.0, 0.95, lost), warm_until=300))
    assert m.step == 340 and "modes 7 (true weight 4.6%) and 6 (5.3%), all in the rarer half" in m.recap
    frequent = {**fair, 4: fair[4] + fair[1], 1: 0.0}  # mode 1 (18 %) lost first: not this lesson's outcome
    assert s.moment(rows((300, 7.0, 0.95, fair), (340, 6.0, 0.95, frequent), warm_until=300)) is None


def test_the_stop_rule_evaluates_the_last_step():
    """The app's stop rule: a lesson that does not stop at its moment ends at its step count with an evaluation of
    that step, so no panel lags behind the others."""
    run, _ = run_scenario("learn", steps=25, device="cpu", sample_every=0, eval_every=20)
    said = get_scenario("learn").stop_rule(25)(run)
    assert run.history[-1]["step"] == 25 and "eval/modes/effective" in run.history[-1]
    assert said.startswith("lesson done at step 25")
    assert get_scenario("learn").stop_rule(200)(run) is None


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "textgan", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_trains_a_scenario_with_its_settings_and_says_the_outcome(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "--scenario", "collapse", "--steps", "3", "--out", str(out), "--device", "cpu", "--quiet")
    assert r.returncode == 0, r.stderr
    run = json.loads((out / "config.json").read_text())["run"]
    s = get_scenario("collapse")
    assert run["variant"] == "gan" and run["variant_config"] == s.variant_config and run["seed"] == 0
    assert run["generator"]["hidden"] == 64 and run["critic"]["filters"] == 32
    assert run["eval_every"] == 20  # the lesson's cadence: its moment is found at these evaluations
    assert "lesson collapse: The lesson's outcome did not show in this run. At the end:" in r.stderr


@pytest.mark.parametrize("flags, says", [(["--variant", "mle"], "trains gan, not --variant mle"),
                                         (["--set", "lr_gen=1"], "drop --set"),
                                         (["--corpus", "oracle"], "drop --corpus")])
def test_cli_refuses_flags_that_contradict_the_scenario(tmp_path, flags, says):
    r = cli("train", "--scenario", "collapse", *flags, "--out", str(tmp_path / "x"), "--steps", "1", timeout=120)
    assert r.returncode == 2 and says in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "x").exists()


def swings(xs, n=8, min_swing=1.0) -> int:
    """Reversals of direction of at least `min_swing` among the last `n` values (counted here independently of
    the explanation panel's code)."""
    xs, turns, last = xs[-n:], 0, 0
    for a, b in zip(xs, xs[1:]):
        if abs(b - a) >= min_swing:
            sign = 1 if b > a else -1
            turns += last != 0 and sign != last
            last = sign
    return turns


def test_the_explanation_says_oscillating_exactly_when_a_real_run_swings():
    """The gp-fix lesson's start with one critic step per generator step (instead of 3) and the generator's rate
    doubled: after the warm start the effective modes fall and recover, up and down, in every seed (6 of 6 on the
    bench). On three seeds, at every evaluation, the panel says "oscillating" exactly when an independent count
    finds 3 reversals of at least 1 effective mode among the last 8 evaluations, whatever the trajectory."""
    s = get_scenario("gp-fix")
    for seed in (0, 1, 2):
        run, _ = run_scenario("gp-fix", steps=300, seed=seed, device="cpu", sample_every=0, eval_every=20,
                              variant_config={**s.variant_config, "critic_steps": 1, "lr_gen": 1e-3})
        history = run.history
        evals = [r["eval/modes/effective"] for r in history if "eval/modes/effective" in r]
        adversarial = evals[8:]  # after the warm start (150 steps, 7 evaluations + step 160)
        assert min(adversarial) <= 0.6 * max(evals) and max(adversarial) - min(adversarial) >= 1.0, evals
        for i, r in enumerate(history):
            if "eval/modes/effective" in r:
                seen = [x["eval/modes/effective"] for x in history[:i + 1] if "eval/modes/effective" in x]
                says = "oscillating" in [f.kind for f in diagnose(history[:i + 1], k=s.k)]
                assert says == (len(seen) >= 5 and swings(seen) >= 3), (seed, r["step"], seen[-8:])
        kinds = [f.kind for f in diagnose(history, k=s.k)]
        assert "diverged" not in kinds, kinds
