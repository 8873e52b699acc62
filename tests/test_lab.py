"""textgan.lab without gradio: the live session's controls, its history, isolation, training slots, bad input."""

import dataclasses
import sys
import time

import pytest
import torch

from app_helpers import wait_until
from textgan import lab as L
from textgan.run import Run


def tiny(variant="gan", k=4, **kw):
    gen = L.net_spec("generator", "lstm", 16)
    critic = L.net_spec("critic", "cnn", 8) if variant != "mle" else None
    kw.setdefault("sample_every", 5)
    kw.setdefault("eval_every", 5)
    kw.setdefault("eval_samples", 64)
    return L.make_config({"kind": "modes", "k": k}, variant, generator=gen, critic=critic, batch_size=16,
                         device="cpu", **kw)


@pytest.fixture
def lab(tmp_path):
    lab = L.Lab(max_training=2, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    yield lab
    lab.close_all()


def test_gradio_is_not_imported():
    import subprocess

    code = "import sys, textgan.lab, textgan.plots; assert 'gradio' not in sys.modules and 'plotly' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_pause_step_update_resume_stop_save(lab, tmp_path):
    s = lab.session("tab-1")
    s.configure(tiny())
    s.start()
    wait_until(lambda: s.step_count >= 12)
    s.pause()
    time.sleep(0.2)  # the iteration in flight finishes
    n = s.step_count
    time.sleep(0.4)
    assert s.step_count == n and s.state == "paused"
    snap = s.snapshot()
    h = snap["history"]
    assert h["step"].is_monotonic_increasing and {"loss/critic", "loss/gen", "grad_norm/gen"} <= set(h.columns)
    assert "eval/modes/coverage" in h and h["eval/modes/coverage"].notna().sum() >= 2
    assert len(snap["samples"]) == 16 and all(lbl == "invalid" or lbl.startswith("mode ") for _, lbl in snap["samples"])
    assert snap["hist"]["weights"] == [0.25] * 4 and sum(snap["hist"]["counts"]) + snap["hist"]["invalid"] == L.HIST_SAMPLES

    # GAN Lab's Step: one iteration, or one critic / generator update alone.
    s.step("iteration")
    assert s.step_count == n + 1
    s.step("critic")
    s.step("generator")
    assert s.step_count == n + 1  # partial updates are not iterations
    with pytest.raises(L.LabError, match="unknown step"):
        s.step("both")

    # Live hyperparameters: the optimizer's learning rate changes, the model is kept.
    weights = [p.detach().clone() for p in s.run.gen.parameters()]
    applied = s.update_hyperparameters(lr_gen=2e-3, batch_size=8)
    assert applied == {"lr_gen": 2e-3, "batch_size": 8}
    assert s.run.variant.optimizers["gen"].param_groups[0]["lr"] == 2e-3 and s.run.config.batch_size == 8
    assert all(torch.equal(a, b) for a, b in zip(weights, s.run.gen.parameters()))
    with pytest.raises(L.LabError, match="learning rate"):
        s.update_hyperparameters(lr_gen=50.0)
    with pytest.raises(L.LabError, match="no setting"):
        s.update_hyperparameters(gp_lambda=5.0)  # gan has no gradient penalty

    s.resume()
    wait_until(lambda: s.step_count >= n + 10)
    with pytest.raises(L.LabError, match="pause first"):
        s.update_hyperparameters(lr_gen=1e-3)
    with pytest.raises(L.LabError, match="pause first"):
        s.step("iteration")
    s.stop()
    assert s.state == "stopped"
    path = s.save(tmp_path / "run-a")
    loaded = Run.load(path, device="cpu")
    assert loaded.step == s.step_count and loaded.config.batch_size == 8 and loaded.variant.cfg.lr_gen == 2e-3

    # Train after Stop continues the same run; Reset discards it.
    before = s.step_count
    s.start()
    wait_until(lambda: s.step_count > before + 3)
    s.reset()
    assert s.run is None and s.state == "idle" and s.snapshot()["history"].empty


def test_speed_cap(lab):
    s = lab.session("slow")
    s.configure(tiny(sample_every=0, eval_every=0))
    s.set_speed(5)
    s.start()
    wait_until(lambda: s.step_count >= 1)
    t0, n0 = time.time(), s.step_count
    time.sleep(1.2)
    assert s.step_count - n0 <= 5 * (time.time() - t0) + 2
    s.stop()
    with pytest.raises(L.LabError, match="speed"):
        s.set_speed(-1)


def test_sessions_are_isolated_and_slots_queue(tmp_path):
    lab = L.Lab(max_training=1, checkpoints=tmp_path, torch_threads=1)
    try:
        a, b = lab.session("a"), lab.session("b")
        assert lab.session("a") is a and a is not b
        a.configure(tiny(seed=1))
        b.configure(tiny(seed=2))
        a.start()
        wait_until(lambda: a.state == "training" and a.step_count > 0)
        b.start()
        wait_until(lambda: b.state == "queued")
        assert "server busy" in b.status_line() and b.step_count == 0
        a.pause()  # a paused run frees its slot
        wait_until(lambda: b.step_count > 3)
        assert a.run is not b.run and a.run.config.seed == 1 and b.run.config.seed == 2
        lab.close("b")  # the tab closed: the run is stopped and freed
        assert b.state == "closed" and b.run is None and lab.get("b") is None
        a.resume()
        wait_until(lambda: a.state == "training")
    finally:
        lab.close_all()


def test_failed_run_stops_with_its_message_and_keeps_the_checkpoint(lab, tmp_path):
    s = lab.session("nan")
    s.configure(tiny(sample_every=0, eval_every=0))
    s.step("iteration")
    good = s.save(tmp_path / "good")
    real_step = s.run.train_step

    def diverge():
        out = real_step()
        out["loss/critic"] = torch.tensor(float("nan"))
        return out

    s.run.train_step = diverge
    s.start()
    wait_until(lambda: s.state == "failed")
    assert "loss/critic became nan" in s.message and "checkpoint is kept" in s.message
    with pytest.raises(L.LabError, match="not saved"):
        s.save(tmp_path / "good")
    assert Run.load(good, device="cpu").step == 1
    with pytest.raises(L.LabError, match="Reset"):
        s.start()
    s.reset()
    s.start()
    wait_until(lambda: s.step_count >= 2)


def test_an_exception_in_the_worker_becomes_a_message(lab):
    s = lab.session("boom")
    s.configure(tiny())
    s.step("iteration")

    def boom():
        raise RuntimeError("simulated engine bug")

    s.run.train_step = boom
    s.start()
    wait_until(lambda: s.state == "failed")
    assert "RuntimeError: simulated engine bug" in s.message
    assert lab.training_count() == 0  # the slot was released


def test_bad_input_gives_messages(tmp_path, monkeypatch):
    up = tmp_path / "up"
    up.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(up))  # the upload cache: uploads are read from there only
    cases = {
        "empty.txt": (b"", "empty"),
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        "latin1.txt": ("caf\xe9 au lait\n".encode("latin-1"), "not UTF-8"),
    }
    for name, (data, message) in cases.items():
        (up / name).write_bytes(data)
        with pytest.raises(L.LabError, match=message):
            L.corpus_spec("upload", upload=str(up / name), upload_dir=tmp_path / "store")
    big = up / "big.txt"
    big.write_bytes(b"a b c\n" * (L.MAX_UPLOAD_BYTES // 6 + 1))
    with pytest.raises(L.LabError, match="upload limit"):
        L.corpus_spec("upload", upload=str(big))
    with pytest.raises(L.LabError, match="upload it first|choose a .txt"):
        L.corpus_spec("upload", upload=None)
    with pytest.raises(L.LabError, match="no file"):
        L.corpus_spec("path", path=str(tmp_path / "missing.txt"))

    # One line: the corpus cannot split off a test set; the session says so and stays usable.
    (up / "one.txt").write_text("just one sentence here\n")
    spec = L.corpus_spec("upload", upload=str(up / "one.txt"), upload_dir=tmp_path / "store")
    assert spec["path"].startswith(str(tmp_path / "store"))
    s = L.Session(L.make_config(spec, "gan", batch_size=4, device="cpu"))
    with pytest.raises(L.LabError, match="single line"):
        s.step("iteration")

    # A batch larger than the corpus.
    (up / "few.txt").write_text("".join(f"sentence number {i}\n" for i in range(12)))
    spec = L.corpus_spec("upload", upload=str(up / "few.txt"), upload_dir=tmp_path / "store")
    s = L.Session(L.make_config(spec, "gan", batch_size=64, device="cpu"))
    with pytest.raises(L.LabError, match="larger than the corpus"):
        s.step("iteration")

    # Absurd hyperparameters and settings.
    with pytest.raises(L.LabError, match="learning rate"):
        L.make_config({"kind": "modes"}, "wgan-gp", {"lr_gen": 1e9})
    with pytest.raises(L.LabError, match="critic_steps"):
        L.make_config({"kind": "modes"}, "wgan", {"critic_steps": 0})
    with pytest.raises(L.LabError, match="batch_size"):
        L.make_config({"kind": "modes"}, "gan", batch_size=0)
    with pytest.raises(L.LabError, match="not a finite"):
        L.make_config({"kind": "modes"}, "gan", {"tau": float("inf")})
    with pytest.raises(L.LabError, match="out of range"):
        L.Session(L.make_config({"kind": "modes", "k": 1000}, "gan", device="cpu")).step("iteration")
    with pytest.raises(L.LabError, match="size"):
        L.net_spec("generator", "lstm", -3)


def test_compare_helpers(lab, tmp_path):
    runs = {}
    for variant in ("gan", "mle"):
        s = lab.session(variant)
        s.configure(tiny(variant, sample_every=0, eval_every=0))
        for _ in range(3):
            s.step("iteration")
        runs[variant] = L.load_run(s.save(tmp_path / variant), device="cpu")
    assert set(L.list_checkpoints(tmp_path)) == {str(tmp_path / "gan"), str(tmp_path / "mle")}
    side = L.side_by_side(runs, n=5, seed=3, temperature=0.8)
    assert list(side.columns) == ["gan", "mle"] and len(side) == 5
    assert side.equals(L.side_by_side(runs, n=5, seed=3, temperature=0.8))  # same seed, same samples
    history_before = [dict(r) for r in runs["gan"].history]
    table = L.metrics_table(runs, n=64)
    assert runs["gan"].history == history_before  # comparing does not write into a run's history
    assert {"modes/coverage", "modes/precision", "step"} <= set(table.columns)
    assert all(L.direction(col) is not None and name in runs for col, name in table.attrs["best"].items())
    shown = L.mark_best(table)
    assert shown["run"].tolist() == ["gan", "mle"]
    assert sum(str(v).startswith("★") for col in shown for v in shown[col]) == len(table.attrs["best"])
    with pytest.raises(L.LabError, match="cannot open"):
        L.load_run(tmp_path / "nothing-here")


@pytest.mark.parametrize("concurrent", [False, True])
def test_sweep_trains_variants_and_saves_them(lab, tmp_path, concurrent):
    base = tiny("gan", sample_every=0, eval_every=0)
    sw = L.Sweep(base, ["mle", "gan"], steps=3, out_root=tmp_path / "cmp", lab=lab, tag="t",
                 concurrent=concurrent).start()
    sw.join(120)
    assert sw.done and sw.error is None, sw.status
    assert sw.status.startswith("done")
    runs = [Run.load(p, device="cpu") for p in sw.results.values()]
    assert [r.config.variant for r in runs] == ["mle", "gan"] and all(r.step == 3 for r in runs)
    assert runs[1].config.critic["filters"] == L.net_size("critic", L.variant_info("gan")["critic"])  # not the base's 8
    with pytest.raises(L.LabError, match="1 to 4"):
        L.Sweep(base, [], steps=3)


class StandInHost:
    """A lab reduced to `SessionHost`: records what a session asks of it."""

    def __init__(self):
        from textgan.lab.slots import Slots

        self.slots = Slots(1)
        self.asked: list[str] = []

    def admit(self, session, job, steps=None, model=None, replaces_run=False):
        self.asked.append(f"admit {job}")
        return 2.0

    def charge(self, session, units):
        self.asked.append(f"charge {units:g}")
        return True

    def charge_disk(self, key, nbytes):
        self.asked.append("disk")

    def allow_corpus(self, key, corpus):
        assert corpus.get("kind") != "hub"  # no Hub download here: nothing to allow

    def enqueue(self, session):
        session.ticket = self.slots.join()
        assert self.slots.acquire(session.ticket, timeout=0)
        session.launch()

    def has_free_slot(self):
        return self.slots.has_free()

    def queue_text(self, ticket):
        return ""

    def verdict(self, session, ticket):
        return None

    def turn_over(self, ticket):
        return False


def test_a_session_meets_its_lab_only_through_host_and_policy(tmp_path, one_thread):
    """A session needs no `Lab`: it asks its host to admit, charge and queue, keeps its autosave in its policy's
    folder and is bounded by its policy's budget (issue 24, item 4)."""
    from textgan.lab.session_policy import SessionPolicy

    host = StandInHost()
    policy = SessionPolicy(budget_s=None, idle_timeout_s=60, compute_units=0, max_params=10**6, max_training=1,
                           torch_threads=1, checkpoints=tmp_path, folder=tmp_path / "mine",
                           uploads=tmp_path / "uploads", autosaves_kept=2)
    s = L.Session(tiny("mle", sample_every=0, eval_every=0), lab=host, name="stand-in", policy=policy)
    s.step()
    assert host.asked == ["admit build", "admit step", "charge 2"]
    s.start(max_steps=3)
    wait_until(lambda: s.state == "stopped" and s.step_count == 3)
    assert host.slots.in_use == 0 and "charge 2" in host.asked[3:]  # the worker gave its slot back
    s.reset()
    kept = [p.name for p in (tmp_path / "mine").iterdir()]
    assert len(kept) == 1 and kept[0].startswith("autosave-mle-") and "disk" in host.asked
    s.policy = dataclasses.replace(policy, budget_s=0.0)
    with pytest.raises(L.LabError, match="budget"):
        s.start()
