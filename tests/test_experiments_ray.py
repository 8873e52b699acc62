"""Sweeps on a real local Ray cluster (num_cpus=2, shared by this module): tables against the trials' own run
directories, a trial whose worker is killed mid-run restarting exactly from its checkpoint, and an interrupted
sweep resuming without redoing its finished trials."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from textgan.checkpoint import decode_state
from textgan.experiments import SweepSpec
from textgan.experiments.local import options_of, run_trials
from textgan.experiments.ray_tune import TUNE_DIR, TUNE_NAME, run_on_ray

ray = pytest.importorskip("ray")

SPEC = {"corpus": {"kind": "modes", "k": 4}, "seeds": 2,
        "variants": {"mle": {"generator.hidden": 16}, "gan": {"generator.hidden": 16, "critic.filters": 8}},
        "budget": {"steps": 60}, "run": {"batch_size": 16, "eval_every": 20, "eval_samples": 40, "sample_every": 0},
        "temperatures": [1.0], "temperature_samples": 40}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _results_of(trial_dir: Path) -> list[dict]:
    p = trial_dir / "result.json"
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def _kill_when_checkpointed(tune_dir: Path, trial: str, killed: list, deadline: float) -> None:
    """SIGKILL the worker of `trial` once it has reported its second evaluation: by then Tune has registered the
    first one's checkpoint (a kill right after the first report can beat that registration, and the trial then
    restarts from scratch: CI saw it once under load)."""
    while time.monotonic() < deadline:
        rows = _results_of(tune_dir / trial)
        if len(rows) >= 2 and rows[-1]["step"] < SPEC["budget"]["steps"]:
            os.kill(rows[-1]["pid"], signal.SIGKILL)
            killed.append(rows[-1]["step"])
            return
        time.sleep(0.02)


def test_sweep_on_ray_with_a_killed_worker(cluster, tmp_path, one_thread):
    exp = tmp_path / "exp"
    spec = SweepSpec.from_dict(SPEC)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_checkpointed, daemon=True,
                              args=(exp / TUNE_DIR / TUNE_NAME, "gan-s0", killed, time.monotonic() + 120))
    killer.start()
    outcomes = run_on_ray(spec, exp, max_failures=1)
    killer.join()
    assert killed, "the trial finished before it could be killed"
    assert [o.status for o in outcomes] == ["done"] * 4

    # the tables hold what each trial's own history.csv says
    results = pd.read_csv(exp / "results.csv")
    for o in outcomes:
        evals = pd.read_csv(o.run_dir / "history.csv").dropna(subset=["eval/nll_gen"]).set_index("step")
        mine = results[results.trial == o.trial.name].set_index("step")
        assert list(mine.index) == list(range(20, 61, 20)) == list(evals.index)
        for col in [c for c in mine.columns if c.startswith("eval/")]:
            assert mine[col].tolist() == pytest.approx(evals[col].tolist(), rel=1e-9), col
        assert (o.run_dir / "temperature.csv").is_file()
    summary = pd.read_csv(exp / "summary.csv")
    final = summary[(summary.budget == 60) & (summary.metric == "eval/nll_gen")].set_index("variant")
    for variant in ("mle", "gan"):
        x = results[(results.variant == variant) & (results.step == 60)]["eval/nll_gen"]
        assert final.loc[variant, "n"] == 2 and final.loc[variant, "mean"] == pytest.approx(x.mean())

    # the killed trial restarted from its checkpoint and ends with the weights of an uninterrupted run
    (victim,) = [o for o in outcomes if o.trial.name == "gan-s0"]
    state = json.loads((victim.run_dir / "trial.json").read_text())["state"]
    assert state["attempt"] == 2 and 0 < state["restored_from"] <= killed[0] + 20
    # results.csv: the restart, and the node and attempt of every row (not only the trial's last node)
    assert results.groupby("trial").restarts.max().to_dict() == {"gan-s0": 1, "gan-s1": 0, "mle-s0": 0, "mle-s1": 0}
    mine = results[results.trial == "gan-s0"]
    assert mine.attempt.tolist()[-1] == 2 and mine.node.notna().all()
    assert set(mine.node) <= set(mine.nodes.iloc[0].split(";"))
    (reference,) = run_trials([victim.trial], options_of(spec), tmp_path / "reference")
    for name in ("generator.safetensors", "critic.safetensors"):
        a, b = load_file(victim.run_dir / name), load_file(reference.run_dir / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    a, b = _training_state(victim.run_dir), _training_state(reference.run_dir)
    assert a["rng"]["run"].equal(b["rng"]["run"]) and a["rng"]["data"].equal(b["rng"]["data"])
    torch.testing.assert_close(a["variant"], b["variant"], rtol=0, atol=0)  # optimizer moments, step counts


def _training_state(run_dir: Path) -> dict:
    """The run's own RNGs and the variant's optimizer state (the process-wide torch RNG is not the run's)."""
    skeleton = json.loads((run_dir / "state.json").read_text())["state"]
    return decode_state(skeleton, load_file(run_dir / "state.safetensors"))


def test_interrupted_sweep_resumes_without_redoing_finished_trials(cluster, tmp_path, one_thread):
    exp = tmp_path / "exp"
    spec = SweepSpec.from_dict({**SPEC, "variants": {"mle": {"generator.hidden": 16}}})
    tune_dir = exp / TUNE_DIR / TUNE_NAME

    def interrupt_after_first_trial():  # Ctrl-C, as a user would press it
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(r.get("status") == "done" for r in _results_of(tune_dir / "mle-s0")):
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.02)

    t = threading.Thread(target=interrupt_after_first_trial, daemon=True)
    t.start()
    first = run_on_ray(spec, exp, concurrent=1)
    t.join()
    assert [o.status for o in first] == ["done", "stopped"]
    finished = _results_of(tune_dir / "mle-s0")

    second = run_on_ray(spec, exp, resume=True)
    assert [o.status for o in second] == ["done", "done"]
    assert _results_of(tune_dir / "mle-s0") == finished  # not run again: no new report
    assert json.loads((exp / "trials" / "mle-s0" / "trial.json").read_text())["state"]["attempt"] == 1
    results = pd.read_csv(exp / "results.csv")
    assert results.groupby("trial").step.apply(list).to_dict() == {
        "mle-s0": list(range(20, 61, 20)), "mle-s1": list(range(20, 61, 20))}


def test_a_resource_request_no_node_can_meet_fails_in_one_line(cluster, tmp_path, capsys):
    """`--gpus-per-trial 1` on a cluster without a GPU used to wait silently (75 s until interrupted)."""
    from textgan.cli import main
    from textgan.experiments import SpecError

    spec = SweepSpec.from_dict({**SPEC, "variants": ["mle"], "seeds": 1})
    t0 = time.monotonic()
    with pytest.raises(SpecError, match=r"--gpus-per-trial 1 cannot be met: no node .* more than 0 GPU"):
        run_on_ray(spec, tmp_path / "a", gpus_per_trial=1)
    assert main(["sweep", "--variants", "mle", "--steps", "2", "--cpus-per-trial", "64", "--out",
                 str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--cpus-per-trial 64 cannot be met" in err[-1]  # (the first line: "N trials on ...")
    assert time.monotonic() - t0 < 60


def test_trials_asha_stops_are_reported_as_stopped_early(cluster, tmp_path, one_thread, capsys):
    """One trial at a time, the hopeless learning rate after the good one: ASHA stops it at its first rung. It is
    "stopped early by ASHA", and the CLI's summary does not tell the user to --resume it."""
    from textgan.experiments.ray_tune import _outcome  # noqa: F401  (the path the statuses come from)

    spec = SweepSpec.from_dict({**SPEC, "variants": ["mle"], "seeds": 1, "grid": {"lr_gen": [1e-2, 1e-7]},
                                "budget": {"steps": 80}, "temperatures": []})
    ctrl_c = signal.getsignal(signal.SIGINT)
    outcomes = run_on_ray(spec, tmp_path / "exp", asha="nll_gen:min", concurrent=1)
    assert signal.getsignal(signal.SIGINT) is ctrl_c  # Tune's own Ctrl-C handler does not outlive the sweep
    by_lr = {o.trial.settings["lr_gen"]: o for o in outcomes}
    assert by_lr[1e-2].status == "done" and not by_lr[1e-2].early_stopped
    slow = by_lr[1e-7]
    assert slow.status == "stopped" and slow.early_stopped and "stopped early by ASHA" in slow.message
    assert "--resume" not in slow.message
    results = pd.read_csv(tmp_path / "exp" / "results.csv")
    assert results[results.trial == slow.trial.name].step.max() < 80


def test_optuna_search_proposes_the_trials_and_tune_reads_them_back(cluster, tmp_path, one_thread):
    """`--search optuna --samples 3`: Tune's OptunaSearch proposes 3 learning rates inside the spec's
    random.settings; each runs as a checked trial; the README's way of reading results with Tune's own API
    (ExperimentAnalysis, Tuner.restore(...).get_results()) works on the experiment directory."""
    pytest.importorskip("optuna")
    from ray import tune

    spec = SweepSpec.from_dict({**SPEC, "variants": ["mle"], "seeds": 1, "budget": {"steps": 20}, "temperatures": [],
                                "random": {"samples": 1, "seed": 3,
                                           "settings": {"lr_gen": {"loguniform": [1e-4, 1e-1]},
                                                        "batch_size": [8, 16]}}})
    exp = tmp_path / "exp"
    outcomes = run_on_ray(spec, exp, search="optuna", samples=3, metric="nll_gen:min", concurrent=1)
    assert len(outcomes) == 3 and [o.status for o in outcomes] == ["done"] * 3
    lrs = [o.trial.settings["lr_gen"] for o in outcomes]
    assert len(set(lrs)) == 3 and all(1e-4 <= lr <= 1e-1 for lr in lrs)
    assert all(o.trial.config["variant_config"]["lr_gen"] == o.trial.settings["lr_gen"] for o in outcomes)
    assert {o.trial.settings["batch_size"] for o in outcomes} <= {8, 16}
    results = pd.read_csv(exp / "results.csv")
    assert sorted(results.trial.unique()) == sorted(o.trial.name for o in outcomes)
    assert results.lr_gen.nunique() == 3 and all((exp / "trials" / o.trial.name / "config.json").is_file()
                                                  for o in outcomes)

    path = str(exp / TUNE_DIR / TUNE_NAME)
    assert len(tune.ExperimentAnalysis(path).dataframe()) == 3
    from textgan.experiments.ray_tune import trainable

    grid = tune.Tuner.restore(path, trainable=trainable).get_results()  # Tune checks it is the same trainable
    best = grid.get_best_result(metric="eval/nll_gen", mode="min")
    assert best.metrics["eval/nll_gen"] == pytest.approx(results[results.step == 20]["eval/nll_gen"].min())
