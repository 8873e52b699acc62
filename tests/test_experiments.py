"""Sweeps without Ray: spec errors before anything starts, the in-process backend (the app's), and the tables and
report it writes, checked against the trials' own run directories."""

import json
import math
import sys

import pandas as pd
import pytest

from textgan.cli import main
from textgan.experiments import SpecError, SweepSpec, run_in_process
from textgan.stats import t95

TINY = {"corpus": {"kind": "modes", "k": 4}, "seeds": 2,
        "variants": {"mle": {"generator.hidden": 16}, "wgan-gp": {"generator.hidden": 16, "critic.filters": 8}},
        "budget": {"steps": 12}, "run": {"batch_size": 16, "eval_every": 6, "eval_samples": 40, "sample_every": 0},
        "temperatures": [0.8, 1.2], "temperature_samples": 40}


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "steps=0 must be an integer of at least 1"),
    (["--seconds", "0"], "seconds=0.0 must be a number above 0"),
    (["--variants", "mle,nope"], "unknown variant 'nope'"),
    (["--grid", "lr_gen="], "grid.lr_gen is empty"),
    (["--variants", "mle", "--grid", "lr_critic=1e-3,1e-4"], "unknown setting 'lr_critic' for mle"),
    (["--set", "seed=3"], "'seed' is set by the sweep itself"),
    (["--temperatures", "0.7,abc"], "temperatures: a list of numbers in (0, 100]"),  # was float()'s own message
])
def test_bad_specs_are_one_line_errors_before_ray_starts(flags, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # would fail loudly if the CLI got as far as importing Ray
    assert main(["sweep", "--out", str(tmp_path / "x"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_temperatures_given_as_text_are_numbers():
    spec = SweepSpec.from_dict({"corpus": {"kind": "modes"}, "variants": ["mle"], "seeds": 1, "budget": 2,
                                "temperatures": ["0.7", " 1 ", 1.3]})
    assert spec.temperatures == [0.7, 1.0, 1.3]


def test_without_ray_the_error_names_the_install_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as on a machine without it
    assert main(["sweep", "--variants", "mle", "--steps", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert 'pip install "ray[tune]"' in err and "--backend local" in err


def test_spec_file_yaml_and_random_draws(tmp_path):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text("corpus: modes\nvariants: [mle]\nseeds: [3, 5]\nbudget: {seconds: 2}\n"
                         "random: {samples: 3, seed: 1, settings: {lr_gen: {loguniform: [1.0e-4, 1.0e-2]}}}\n")
    from textgan.experiments import load_spec

    spec = SweepSpec.from_dict(load_spec(spec_file))
    trials = spec.trials()
    assert len(trials) == 6 and {t.seed for t in trials} == {3, 5}
    lrs = sorted({t.settings["lr_gen"] for t in trials})
    assert len(lrs) == 3 and all(1e-4 <= v <= 1e-2 for v in lrs)
    assert all(t.config["variant_config"]["lr_gen"] == t.settings["lr_gen"] for t in trials)
    assert [t.name for t in SweepSpec.from_dict(load_spec(spec_file)).trials()] == [t.name for t in trials]
    with pytest.raises(SpecError, match="randint"):
        SweepSpec.from_dict({**TINY, "random": {"samples": 2, "settings": {"lr_gen": {"loguniform": [0, 1]}}}})


def test_a_yaml_spec_without_pyyaml_says_to_install_it(tmp_path, monkeypatch):
    """PyYAML is optional (`textgan[sweep]`): without it a YAML spec is one line naming the install, JSON still works."""
    from textgan.experiments import load_spec, spec

    monkeypatch.setattr(spec, "yaml", None)  # as on a machine without PyYAML
    (tmp_path / "s.yaml").write_text("corpus: modes\n")
    with pytest.raises(SpecError, match="pip install pyyaml"):
        load_spec(tmp_path / "s.yaml")
    (tmp_path / "s.json").write_text('{"corpus": "modes"}')
    assert load_spec(tmp_path / "s.json") == {"corpus": "modes"}


def test_in_process_sweep_tables_match_the_trials_run_directories(tmp_path, one_thread):
    exp = tmp_path / "exp"
    spec = SweepSpec.from_dict({**TINY, "grid": {"batch_size": [16, 6000]}})  # the second cannot run
    outcomes = run_in_process(spec, exp)
    assert len(outcomes) == 8
    bad = [o for o in outcomes if o.trial.settings["batch_size"] == 6000]
    assert all(o.status == "failed" and "batch size 6000" in o.message for o in bad)  # recorded, sweep went on
    good = [o for o in outcomes if o not in bad]
    assert all(o.status == "done" for o in good)

    results = pd.read_csv(exp / "results.csv")
    assert set(results.trial) == {o.trial.name for o in outcomes}
    for o in good:
        history = pd.read_csv(o.run_dir / "history.csv")
        evals = history.dropna(subset=["eval/nll_gen"]).set_index("step")
        mine = results[results.trial == o.trial.name].set_index("step")
        assert list(mine.index) == [6, 12] == list(evals.index)
        for col in [c for c in mine.columns if c.startswith("eval/")]:
            assert mine[col].tolist() == pytest.approx(evals[col].tolist(), rel=1e-9), col
        assert (mine.variant == o.trial.variant).all() and (mine.seed == o.trial.seed).all()
        assert mine.wall_time.is_monotonic_increasing and (mine.wall_time > 0).all()
        sweep = pd.read_csv(o.run_dir / "temperature.csv")
        assert sweep.temperature.tolist() == [0.8, 1.2]

    summary = pd.read_csv(exp / "summary.csv")
    ok = results[results.status == "done"]
    for (variant, budget), g in ok.groupby(["variant", "budget"]):
        row = summary[(summary.variant == variant) & (summary.budget == budget) & (summary.batch_size == 16)
                      & (summary.metric == "eval/nll_gen")].iloc[0]
        x = g["eval/nll_gen"]
        assert row.n == 2 and row["mean"] == pytest.approx(x.mean())
        assert row.ci95 == pytest.approx(t95(2) * x.std(ddof=1) / math.sqrt(2))
    temps = pd.read_csv(exp / "temperature.csv")
    assert len(temps) == 2 * len(good) and set(temps.variant) == {"mle", "wgan-gp"}
    html = (exp / "report.html").read_text(encoding="utf-8")
    assert html.count("plotly-graph-div") >= 3 and "Quality–diversity" in html and "batch size 6000" in html
    assert json.loads((exp / "spec.json").read_text())["budget"]["steps"] == 12

    (exp / "report.html").unlink()
    assert main(["report", str(exp)]) == 0 and (exp / "report.html").is_file()


def test_wall_clock_budget_evaluates_at_equal_time_marks(tmp_path, one_thread):
    spec = SweepSpec.from_dict({**TINY, "variants": {"mle": {"generator.hidden": 16}}, "seeds": 1,
                                "budget": {"seconds": 1.0, "evals": 2}, "temperatures": []})
    (o,) = run_in_process(spec, tmp_path / "exp")
    results = pd.read_csv(tmp_path / "exp" / "results.csv")
    assert o.status == "done" and results.budget.tolist() == [0.5, 1.0]
    assert results.wall_time.iloc[0] >= 0.5 and results.wall_time.iloc[1] >= 1.0
    assert results.step.iloc[1] > results.step.iloc[0] > 0


def test_ctrl_c_keeps_finished_trials_and_the_sweep_resumes_in_process(tmp_path, one_thread, capsys, request):
    """Ctrl-C (a real SIGINT) during the second trial: the first trial's rows, the tables and the report are
    written; `sweep --resume` continues in process, runs the finished trial not again, and the interrupted one
    from its checkpoint to the weights of an uninterrupted run (its restart recorded in results.csv)."""
    import os
    import signal

    import torch
    from safetensors.torch import load_file

    from textgan.experiments.local import SweepInterrupted, options_of, run_trials

    exp = tmp_path / "exp"
    spec = SweepSpec.from_dict({**TINY, "variants": {"mle": {"generator.hidden": 16}}, "temperatures": [1.0]})

    def ctrl_c(trial, report):
        if trial.seed == 1 and report.row["step"] == 6:
            os.kill(os.getpid(), signal.SIGINT)

    # Python's own Ctrl-C handler, as in a terminal: a test before this one in the same worker process (a browser,
    # a Ray driver) may have left its own
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    with pytest.raises(SweepInterrupted) as caught:
        run_in_process(spec, exp, on_report=ctrl_c)
    assert [o.status for o in caught.value.outcomes] == ["done", "stopped"]
    results = pd.read_csv(exp / "results.csv")
    assert results[results.trial == "mle-s0"].step.tolist() == [6, 12]
    assert set(results[results.trial == "mle-s0"].status) == {"done"}
    assert results[results.trial == "mle-s1"].step.tolist() == [6]
    summary = pd.read_csv(exp / "summary.csv")
    assert not summary[summary.metric == "eval/nll_gen"].empty
    assert "mle-s0" in (exp / "samples.csv").read_text() and (exp / "report.html").is_file()
    finished = (exp / "trials" / "mle-s0" / "history.csv").read_text()

    assert main(["sweep", "--resume", str(exp)]) == 0  # no --backend: it ran in process, so it resumes there
    assert "(resuming)" in capsys.readouterr().err
    assert (exp / "trials" / "mle-s0" / "history.csv").read_text() == finished  # not run again
    results = pd.read_csv(exp / "results.csv")
    assert results.groupby("trial").step.apply(list).to_dict() == {"mle-s0": [6, 12], "mle-s1": [6, 12]}
    assert set(results.status) == {"done"}
    assert results.groupby("trial").restarts.max().to_dict() == {"mle-s0": 0, "mle-s1": 1}
    assert results[results.trial == "mle-s1"].attempt.tolist() == [1, 2] and set(results.node) == {"local"}
    (victim,) = [t for t in spec.trials() if t.seed == 1]
    (reference,) = run_trials([victim], options_of(spec), tmp_path / "reference")
    a, b = load_file(exp / "trials" / "mle-s1" / "generator.safetensors"), load_file(
        reference.run_dir / "generator.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_on_the_cli_exits_130_with_the_resume_command(tmp_path, capsys, monkeypatch):
    """The CLI's side of Ctrl-C (the sweep's side is the test above; a real SIGINT to `python -m textgan sweep
    --backend local` was checked by hand): exit code 130, one line saying what was kept and how to continue."""
    from textgan.experiments import local
    from textgan.experiments.trial import TrialOutcome

    def interrupted(spec, out, **kwargs):
        a, b = spec.trials()
        raise local.SweepInterrupted(out, [TrialOutcome(a, status="done"), TrialOutcome(b, status="stopped")])

    monkeypatch.setattr(local, "run_in_process", interrupted)
    exp = tmp_path / "exp"
    assert main(["sweep", "--backend", "local", "--seeds", "2", "--steps", "2", "--out", str(exp)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"interrupted: 1/2 trials done; tables and report written to {exp}; continue with: "
                       f"python -m textgan sweep --resume {exp}")


def test_a_cluster_that_cannot_be_joined_is_one_line_naming_the_token(monkeypatch):
    """Joining failed after ~20 s with ~40 lines of Ray's traceback; now one line that says what to do."""
    from textgan.experiments.ray_tune import join

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # Ray's token rule is left alone (the 2-node test covers it)

    class Unreachable:
        def init(self, **kwargs):
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379\nTraceback ...\n...")

    with pytest.raises(SpecError) as caught:
        join(Unreachable(), "10.0.0.1:6379")
    message = str(caught.value)
    assert "\n" not in message and "cannot join the Ray cluster at 10.0.0.1:6379: Failed to connect" in message
    assert "~/.ray/auth_token" in message and "RAY_AUTH_TOKEN" in message


@pytest.mark.parametrize("flags, message", [
    (["--backend", "local", "--asha", "nll_gen:min"], "--asha runs on Ray Tune"),  # was ignored: no early stop
    (["--backend", "local", "--address", "head:6379"], "--address runs on Ray Tune"),
    (["--backend", "local", "--concurrent", "2"], "--concurrent runs on Ray Tune"),
    (["--backend", "local", "--gpus-per-trial", "1"], "--gpus-per-trial runs on Ray Tune"),
    (["--concurrent", "0"], "--concurrent 0: at most this many trials at once, at least 1"),  # was: ran anyway
    (["--num-cpus", "-2"], "--num-cpus -2: CPUs of the local Ray, 1..4096"),  # was: Ray's own message, after Ray
    (["--cpus-per-trial", "0"], "cpus per trial 0.0 must be in (0, 1024]"),
    (["--gpus-per-trial", "nan"], "GPUs per trial nan in [0, 64]"),
    (["--max-failures", "-1"], "max_failures=-1 must be in 0..100"),
    (["--asha", "nll_gen"], "--asha 'nll_gen': give METRIC:min or METRIC:max"),
])
def test_bad_backend_flags_are_one_line_errors_before_ray_starts(flags, message, capsys, tmp_path, monkeypatch):
    """Ray's flags are checked before Ray starts (or the experiment directory is made), and the in-process
    backend refuses the flags it cannot honour instead of ignoring them."""
    monkeypatch.setitem(sys.modules, "ray", None)  # would fail loudly if the CLI got as far as importing Ray
    assert main(["sweep", "--steps", "2", "--out", str(tmp_path / "x"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flags, message", [
    (["--search", "optuna", "--metric", "bleu4:up"], "--metric 'bleu4:up': give METRIC:min or METRIC:max"),
    (["--search", "optuna", "--metric", ":min"], "--metric ':min': give METRIC:min or METRIC:max"),
    (["--metric", "nll_gen:max"], "--metric and --samples only apply with --search"),
    (["--samples", "3"], "--metric and --samples only apply with --search"),
])
def test_bad_search_flags_are_one_line_errors_before_ray_starts(flags, message, capsys, tmp_path, monkeypatch):
    """A bad --metric fails before Ray starts or the experiment directory exists; --metric or --samples without
    --search are not silently ignored."""
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"variants": ["mle"], "random": {"samples": 2, "settings": {"lr_gen": {"loguniform": [1e-4, 1e-2]}}}}))
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["sweep", "--spec", str(spec), "--steps", "2", "--out", str(tmp_path / "x"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_trials_progress_line_names_the_headline_metrics_first():
    """Ray's one line per finished trial: on `modes` the many modes/* numbers sorted first once cut it off before
    NLL-gen; the headline metrics come first now, and the line is cut between whole items."""
    from textgan.experiments.ray_tune import progress_metrics

    result = {f"eval/modes/{k}": 0.5 for k in ("coverage", "divergence", "effective", "entropy", "hit", "invalid",
                                                "precision", "weights_max", "weights_min", "weights_mean")}
    result |= {"eval/distinct2": 0.3, "eval/nll_gen": 1.234, "eval/unique": 0.9, "loss/gen": 2.0}
    line = progress_metrics(result)
    assert line.startswith("modes/precision=0.5, modes/coverage=0.5, modes/entropy=0.5, modes/divergence=0.5")
    assert "nll_gen=1.23" in line and "loss" not in line
    assert len(line) <= 160 and all("=" in item for item in line.split(", "))  # whole items only
