"""`--log-to trackio|tensorboard` for single runs and sweeps, fed from the Run's event stream, with the real packages
and nothing online: what each tracker recorded is read back with the tracker's own reader and compared with the
run's history.csv."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_RUN = ["--corpus", "modes", "--k", "4", "--variant", "mle", "--generator", "lstm", "--gen-set", "hidden=8",
            "--gen-set", "emb_dim=8", "--batch-size", "8", "--log-every", "2", "--eval-every", "4",
            "--sample-every", "4", "--device", "cpu", "--threads", "1", "--quiet"]


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKIO_", "HF_"))}
    return {**env, "PYTHONPATH": str(ROOT), "TRACKIO_DIR": str(tmp_path / "trackio"), "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1"}


def _cli(tmp_path, *args):
    r = subprocess.run([sys.executable, "-m", "textgan", *args], env=_env(tmp_path), capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def _trackio_logs(tmp_path, *projects: str) -> dict[str, dict[str, list[dict]]]:
    """Every run of local trackio projects, read with trackio's own storage (TRACKIO_DIR is read at import), in
    one Python for all the projects."""
    code = ("import json, sys; from trackio.sqlite_storage import SQLiteStorage as S; "
            "print(json.dumps({p: {r: S.get_logs(p, r) for r in S.get_runs(p)} for p in sys.argv[1:]}, default=str))")
    r = subprocess.run([sys.executable, "-c", code, *projects], env=_env(tmp_path), capture_output=True, text=True,
                       timeout=120, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A `train` and a `sweep`, both logging to both trackers in one folder, and trackio's records of both read
    back at once (one Python start for the reader, not one per test)."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("trackio")
    tmp_path = tmp_path_factory.mktemp("trackers")
    train = _cli(tmp_path, "train", *TINY_RUN, "--steps", "8", "--out", "runs/tiny",
                 "--log-to", "tensorboard,trackio")
    _cli(tmp_path, "sweep", "--backend", "local", "--variants", "mle", "--seeds", "2", "--steps", "4",
         "--set", "eval_every=2", "--set", "eval_samples=16", "--set", "batch_size=8", "--set", "sample_every=0",
         "--set", "generator.hidden=8", "--temperatures", "", "--name", "tracked", "--no-images",
         "--log-to", "trackio", "--log-to", "tensorboard", "--out", "exp")
    return tmp_path, train, _trackio_logs(tmp_path, "textgan", "tracked")


def _tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_train_logs_to_tensorboard_and_trackio(tracked):
    tmp_path, r, projects = tracked
    assert r.stdout.strip().endswith("tiny")  # trackio's banner went to stderr: stdout is still the run's path
    history = pd.read_csv(tmp_path / "runs" / "tiny" / "history.csv")
    evals = history.dropna(subset=["eval/nll_gen"])

    scalars = _tensorboard_scalars(tmp_path / "runs" / "tensorboard" / "tiny")
    assert [s for s, _ in scalars["eval/nll_gen"]] == evals.step.tolist() == [4, 8]
    assert [v for _, v in scalars["eval/nll_gen"]] == pytest.approx(evals["eval/nll_gen"].tolist(), rel=1e-6)
    losses = history.dropna(subset=["loss/gen"])
    assert [v for _, v in scalars["loss/gen"]] == pytest.approx(losses["loss/gen"].tolist(), rel=1e-6)

    (logs,) = projects["textgan"].values()
    nll = [(row["step"], row["eval/nll_gen"]) for row in logs if row.get("eval/nll_gen") is not None]
    assert nll == [(s, pytest.approx(v, rel=1e-9)) for s, v in zip(evals.step, evals["eval/nll_gen"])]
    assert any(row.get("loss/gen") is not None for row in logs)
    # the samples too (sample_every=4): TensorBoard's text and trackio's table, at the samples' steps
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "runs" / "tensorboard" / "tiny"), size_guidance={"tensors": 0})
    acc.Reload()
    assert [e.step for e in acc.Tensors("samples/text_summary")] == [4, 8]
    assert [row["step"] for row in logs if row.get("samples") is not None] == [4, 8]


def test_sweep_logs_every_trial_to_both_trackers(tracked):
    tmp_path, _, projects = tracked
    results = pd.read_csv(tmp_path / "exp" / "results.csv")
    runs = projects["tracked"]  # the sweep's name is the trackio project, one run per trial
    assert sorted(runs) == sorted(results.trial.unique()) == ["mle-s0", "mle-s1"]
    for trial, rows in results.groupby("trial"):
        scalars = _tensorboard_scalars(tmp_path / "exp" / "tensorboard" / trial)
        assert [s for s, _ in scalars["eval/nll_gen"]] == rows.step.tolist() == [2, 4]
        assert [v for _, v in scalars["eval/nll_gen"]] == pytest.approx(rows["eval/nll_gen"].tolist(), rel=1e-6)
        logged = [(r["step"], r["eval/nll_gen"]) for r in runs[trial] if r.get("eval/nll_gen") is not None]
        assert [s for s, _ in logged] == [2, 4]


def test_an_unknown_or_missing_tracker_is_one_line(tmp_path, capsys, monkeypatch):
    from textgan.cli import main

    assert main(["train", *TINY_RUN, "--steps", "1", "--out", str(tmp_path / "x"), "--log-to", "wandb"]) == 2
    assert "unknown tracker; choose from trackio, tensorboard" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "trackio", None)  # as on a machine without it
    assert main(["train", *TINY_RUN, "--steps", "1", "--out", str(tmp_path / "y"), "--log-to", "trackio"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and 'pip install "textgan[track]"' in err[-1]


def test_a_tracker_that_fails_to_log_is_dropped_and_still_closed():
    """A sink that raises while logging stops getting events (training goes on) but is still closed at the end, so
    what it had buffered (TensorBoard's pending events, trackio's queue) is flushed, not lost."""
    from textgan.events import Metrics
    from textgan.trackers import Trackers

    class Sink:
        def __init__(self, fail):
            self.fail, self.seen, self.closed = fail, 0, False

        def log(self, event):
            self.seen += 1
            if self.fail:
                raise OSError("disk full")

        def close(self):
            self.closed = True

    bad, good = Sink(True), Sink(False)
    trackers = Trackers([bad, good])
    for step in range(3):
        trackers.log(Metrics(step, {"eval/x": 1.0}))
    trackers.close()
    assert (bad.seen, good.seen) == (1, 3)
    assert bad.closed and good.closed
