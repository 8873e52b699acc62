"""ZeroGPU's chunked training (textgan/lab/gpu_chunks.py), run on the CPU: the same seed gives the same history
chunked or not, also across a pickled process boundary like ZeroGPU's worker; without ZeroGPU the hook is
`Run.steps` and `spaces` is never imported; a chunk stops at its time budget."""

import math
import pickle
import sys
import types

import pytest
import torch

from textgan.events import Metrics, Samples, Scalars
from textgan.lab import gpu_chunks
from textgan.run import Run, RunConfig

NETS = {"generator": {"kind": "lstm", "emb_dim": 16, "hidden": 32},
        "critic": {"kind": "cnn", "emb_dim": 16, "filters": 16}}


def config(variant: str = "wgan-gp", **kw) -> RunConfig:
    """A tiny run that samples and evaluates inside the chunks (every 10 steps)."""
    base = dict(corpus={"kind": "modes", "k": 4}, variant=variant, batch_size=16, seed=5, device="cpu",
                sample_every=10, eval_every=10, eval_samples=64, **NETS)
    base.update(kw)
    return RunConfig(**base)


def summary(events) -> list[tuple]:
    """What a consumer sees: each event's kind, step and values."""
    out = []
    for e in events:
        if isinstance(e, (Scalars, Metrics)):
            out.append((type(e).__name__, e.step, tuple(sorted(e.values))))
        elif isinstance(e, Samples):
            out.append(("Samples", e.step, tuple(e.texts)))
        else:
            out.append((type(e).__name__, e.step))
    return out


def assert_same_history(a: Run, b: Run) -> None:
    rows_a, rows_b = a.history.rows(), b.history.rows()
    assert len(rows_a) == len(rows_b) > 0
    for ra, rb in zip(rows_a, rows_b):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert math.isclose(ra[k], rb[k], rel_tol=1e-6, abs_tol=1e-9), (ra["step"], k, ra[k], rb[k])
    for (name, pa), (_, pb) in zip(a.gen.state_dict().items(), b.gen.state_dict().items()):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-7, msg=name)


@pytest.fixture
def fake_zero_gpu(monkeypatch):
    """A ZeroGPU stand-in: SPACES_ZERO_GPU set and a `spaces` whose GPU(duration=...) pickles the arguments and the
    result across, as ZeroGPU's forked worker does. Records each decorated call's duration and count."""
    calls = {"durations": [], "n": 0}

    def gpu(duration=None):
        calls["durations"].append(duration)

        def wrap(fn):
            def across(*args):
                calls["n"] += 1
                return pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps(args)))))
            return across
        return wrap

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    monkeypatch.setattr(gpu_chunks, "_DECORATED", {})
    return calls


@pytest.mark.parametrize("variant", ["wgan-gp", "seqgan"])
def test_chunked_training_has_the_unchunked_history(one_thread, variant):
    whole = Run(config(variant))
    events_whole = list(whole.steps(25))
    chunked = Run(config(variant))
    events_chunked = list(gpu_chunks.steps(chunked, 25, chunk=6, device="cpu"))
    assert chunked.step == whole.step == 25
    assert summary(events_chunked) == summary(events_whole)
    assert_same_history(chunked, whole)


def test_across_a_process_boundary_the_caller_keeps_the_trained_run(one_thread, fake_zero_gpu):
    whole = Run(config())
    list(whole.steps(20))
    run = Run(config())
    events = list(gpu_chunks.steps(run, 20, chunk=7, duration=20, device="cpu"))
    assert fake_zero_gpu["n"] == 3 and fake_zero_gpu["durations"] == [20]  # ceil(20 / 7) calls, one decoration
    assert run.step == 20 and run.variant.gen is run.gen and run.device.type == "cpu"
    assert [e.step for e in events if isinstance(e, Scalars)] == list(range(1, 21))
    assert_same_history(run, whole)
    list(gpu_chunks.steps(run, 3, chunk=7, duration=20, device="cpu"))  # and it trains on from there
    list(whole.steps(3))
    assert_same_history(run, whole)


def test_without_zero_gpu_the_hook_is_run_steps_and_spaces_is_not_imported(one_thread, monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.delitem(sys.modules, "spaces", raising=False)
    a, b = Run(config()), Run(config())
    assert summary(gpu_chunks.steps(a, 11)) == summary(b.steps(11))
    assert "spaces" not in sys.modules
    assert not gpu_chunks.on_zero_gpu()


def test_a_chunk_stops_when_its_time_is_spent_but_trains_at_least_one_step(one_thread):
    run = Run(config())
    trained, events, done = gpu_chunks.train_chunk(run, 50, "cpu", budget_s=0.0)
    assert trained is run and done == 1 and run.step == 1 and events


def test_the_session_loop_gets_every_step_it_asked_for_when_chunks_stop_early(one_thread, monkeypatch):
    run = Run(config())
    monkeypatch.setattr(gpu_chunks, "train_chunk",
                        lambda r, n, d, budget: (r, list(r.steps(1)), 1))  # every chunk cut to one step
    assert sum(isinstance(e, Scalars) for e in gpu_chunks.steps(run, 6, device="cpu")) == 6
    assert run.step == 6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_each_chunk_moves_the_run_there_and_back(one_thread):
    runs = []
    for _ in range(2):
        run = Run(config())
        list(gpu_chunks.steps(run, 30, chunk=7, device="cuda"))
        assert run.device.type == "cpu" and run.step == 30
        assert all(p.device.type == "cpu" for p in run.gen.parameters())
        assert all(t.device.type == "cpu" for opt in run.variant.optimizers.values()
                   for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
        runs.append(run)
    assert_same_history(*runs)  # the GPU's random stream continues across chunks: same seed, same run


def test_on_zero_gpu_the_session_trains_in_chunks_and_keeps_the_run_on_the_cpu(one_thread, fake_zero_gpu,
                                                                                 monkeypatch):
    """The app's training loop calls the hook: 60 steps are two GPU calls (50 + 10), the run stays a CPU run
    between them, and its history is the unchunked run's."""
    from textgan.lab.session import Session

    monkeypatch.setattr(gpu_chunks, "CHUNK_DEVICE", "cpu")  # this machine has no GPU: the same path on the CPU
    s = Session(config(device="auto"))
    s.start(max_steps=60)
    s.join(120)
    assert s.run.step == 60 and fake_zero_gpu["n"] == 2
    assert s.run.device.type == "cpu" and s.run.config.device == "cpu"
    whole = Run(config())
    list(whole.steps(60))
    assert_same_history(s.run, whole)
