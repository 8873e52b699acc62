"""A visitor is a quota (issue 21, items 2 and 6; issue 22 items 4 and 5): one running job, a parameter cap, a
compute budget, a disk quota, hourly Hub limits, a first-come, first-served queue with a place and a wait, runs
nobody watches stop, and the operator's variables. The lab-level half; raw attacks through the real app are in
tests/test_reconnect.py. Each test failed on the code before the quota (see the commit message)."""

import time

import pytest

from app_helpers import lab_config, wait_until
from textgan import lab as L
from textgan.lab import quota as Q


def tiny(variant="gan", gsize=16, **kw):
    return lab_config(variant, gsize, batch_size=16, **kw)


def test_a_generator_over_the_parameter_cap_is_refused_before_allocating(make_lab):
    import torch

    lab = make_lab(max_params=200_000)
    s = lab.session("v")
    s.configure(tiny(gsize=4096))
    allocated = []
    real = torch.nn.LSTM.__init__

    def watch(self, *a, **kw):
        real(self, *a, **kw)
        allocated.append(next(self.parameters()).device.type)

    torch.nn.LSTM.__init__ = watch
    try:
        with pytest.raises(L.LabError, match=r"parameters, over this server's 200,000"):
            s.step()
    finally:
        torch.nn.LSTM.__init__ = real
    assert s.run is None and set(allocated) <= {"meta"}  # sized on the meta device only
    s.configure(tiny(gsize=16))
    s.step()
    assert s.step_count == 1


def test_compute_budget_in_steps_times_model_cost(make_lab):
    lab = make_lab()
    s = lab.session("v")
    s.configure(tiny())
    s.prepare()
    per_step = s.step_units
    params = sum(p.numel() for n in (s.run.gen, s.run.critic) for p in n.parameters())
    assert per_step == pytest.approx(params * 16 / 1e9)
    lab.policy = lab.policy.replace(compute_units=per_step * 5.5)
    s.start()
    wait_until(lambda: s.state == "stopped", 60)
    assert "compute budget" in s.message and s.step_count == 5
    with pytest.raises(L.LabError, match="not enough compute left"):
        s.start()
    lab.close("v")
    again = lab.session("v")  # the ledger outlives the session: idling does not refill it
    again.configure(tiny())
    with pytest.raises(L.LabError, match="not enough compute left"):
        again.step()


def test_one_running_job_per_visitor_train_and_compare_included(make_lab):
    lab = make_lab()
    s = lab.session("v")
    s.configure(tiny())
    s.start()
    wait_until(lambda: s.step_count > 0)
    with pytest.raises(L.LabError, match="already have a job running"):
        L.Sweep(tiny(), ["mle"], 5, lab.session_dir("v"), lab, session=s)
    s.pause()
    sweep = L.Sweep(tiny(), ["mle"], 3, lab.session_dir("v"), lab, session=s)
    s.sweep = sweep.start()
    with pytest.raises(L.LabError, match="already have a job running"):
        s.start()
    sweep.join(60)
    assert sweep.done and sweep.error is None, sweep.status
    s.resume()
    wait_until(lambda: s.state == "training")


def test_train_and_compare_is_admitted_like_any_run(make_lab):
    lab = make_lab(max_params=100_000)
    s = lab.session("v")
    big = tiny()
    big.generator = L.net_spec("generator", "lstm", 512)
    with pytest.raises(L.LabError, match="parameters"):
        L.Sweep(big, ["gan"], 5, lab.session_dir("v"), lab, session=s)
    lab.policy = lab.policy.replace(max_params=10**7, compute_units=0.001)
    with pytest.raises(L.LabError, match="not enough compute"):
        L.Sweep(tiny(), ["gan", "wgan"], 1000, lab.session_dir("v"), lab, session=s)


def test_the_queue_is_first_come_first_served_with_a_place_and_a_wait(make_lab):
    lab = make_lab(max_training=1)
    a, b, c = (lab.session(k) for k in "abc")
    for s in (a, b, c):
        s.configure(tiny())
    a.start()
    wait_until(lambda: a.state == "training" and a.step_count > 0)
    b.start()
    wait_until(lambda: b.state == "queued")
    c.start()
    wait_until(lambda: c.state == "queued")
    assert "place 1 in the queue, about" in b.status_line() and "place 2 in the queue" in c.status_line()
    for s in (b, c):
        s.touch()
    a.pause()
    wait_until(lambda: b.state == "training" and b.step_count > 0)
    assert c.state == "queued" and c.step_count == 0  # nobody overtakes
    assert "place 1 in the queue" in c.status_line()


def test_a_turn_ends_when_others_wait(make_lab):
    lab = make_lab(max_training=1, turn_s=5.0)
    a, b = lab.session("a"), lab.session("b")
    for s in (a, b):
        s.configure(tiny())
    a.start()
    wait_until(lambda: a.step_count > 0)
    b.start()
    end = time.time() + 30
    while time.time() < end and not (b.state == "training" and b.step_count > 0):
        a.touch(), b.touch()  # both watched: a yields only because its turn is over
        time.sleep(0.2)
    assert b.step_count > 0 and a.state == "queued" and "your turn is over" in a.message


def test_a_run_nobody_watches_stops_and_is_kept(make_lab):
    lab = make_lab(unwatched_s=2.0)
    s = lab.session("walked-away")
    s.configure(tiny())
    s.start()
    wait_until(lambda: s.state == "stopped", 30)
    assert "nobody watched" in s.message and lab.has_free_slot()
    wait_until(lambda: "kept as autosave-" in s.message, 30)
    assert [p for p in lab.runs_for("walked-away") if "autosave-" in p]


def test_the_disk_quota_covers_saves_and_the_server_total(make_lab):
    lab = make_lab()
    s = lab.session("v")
    s.configure(tiny())
    s.step()
    first = s.save(lab.save_dir("one", s))
    size = Q.folder_bytes(first)
    lab.policy = lab.policy.replace(disk_per_visitor=Q.folder_bytes(lab.session_dir("v")) + Q.MB // 2)
    with pytest.raises(L.LabError, match="not enough space"):
        s.save(lab.save_dir("two", s))
    assert size > 0 and not lab.save_dir("two", s).exists()
    lab.policy = lab.policy.replace(disk_per_visitor=10**9, disk_total=Q.folder_bytes(lab.checkpoints) + 10)
    with pytest.raises(L.LabError, match="server's disk quota"):
        lab.charge_disk("someone-else", Q.MB)


def test_a_full_server_makes_room_from_the_folders_of_visitors_who_left(make_lab):
    """Raw callers get a fresh visitor with each session, so they could fill the server's total and lock every
    visitor out for good. When the total is reached, the folders of visitors with no open session go first, least
    recently changed first; an open session's folder and the shipped examples are never touched."""
    import os

    lab = make_lab()
    folders = {}
    for age, key in enumerate(("left-late", "left-early")):  # left-early changed longest ago
        folders[key] = lab.session_dir(key)
        (folders[key] / "run").mkdir(parents=True)
        (folders[key] / "run" / "weights.bin").write_bytes(b"x" * (400 * 1024))
        then = 1_000_000 - 1000 * age
        os.utime(folders[key] / "run" / "weights.bin", (then, then))
        os.utime(folders[key] / "run", (then, then))
        os.utime(folders[key], (then, then))
    here = lab.session("here")
    (lab.session_dir("here") / "run").mkdir(parents=True)
    (lab.session_dir("here") / "run" / "weights.bin").write_bytes(b"x" * (400 * 1024))
    lab.policy = lab.policy.replace(disk_total=Q.folder_bytes(lab.checkpoints) + 100 * 1024)
    lab.charge_disk("newcomer", 300 * 1024)  # refused on the old code: "the server's disk quota is used up"
    assert not folders["left-early"].exists() and folders["left-late"].exists()
    assert (lab.session_dir("here") / "run" / "weights.bin").exists()
    with pytest.raises(L.LabError, match="server's disk quota"):  # only open sessions' folders are left to take
        lab.charge_disk("newcomer", 1000 * 1024)
    assert (lab.session_dir("here") / "run" / "weights.bin").exists() and here.state != "closed"


def test_reopening_a_saved_run_on_a_hub_corpus_counts_as_a_pull(make_lab):
    """A saved run names its `hub:` corpus, which reopening downloads again: Continue training counts it as a pull
    (refused past the hourly limit before any download), as training on it does."""
    import json

    lab = make_lab(pulls_per_hour=0)
    s = lab.session("v")
    s.configure(tiny())
    s.step()
    path = s.save(lab.save_dir("on-the-hub", s))
    config = json.loads((path / "config.json").read_text())
    config["run"]["corpus"] = {"kind": "hub", "repo": "alice/never-downloaded", "file": "train.txt"}
    (path / "config.json").write_text(json.dumps(config))
    s.reset()
    with pytest.raises(L.LabError, match="pulls per hour"):  # old code: tried the download (a Hub error)
        s.load(path)


def test_hub_actions_are_limited_per_hour(make_lab):
    lab = make_lab(pulls_per_hour=2)
    lab.allow("v", "pull")
    lab.allow("v", "pull")
    with pytest.raises(L.LabError, match="your 2 pulls per hour"):
        lab.allow("v", "pull")
    lab.allow("w", "pull")  # another visitor has its own share
    lab.allow("v", "push")  # and pushes their own
    for i in range(9):
        lab.allow(f"x{i}", "pull")
    with pytest.raises(L.LabError, match="this server has made its 12"):
        lab.allow("y", "pull")


def test_a_hub_corpus_counts_as_a_pull_before_anything_is_downloaded(make_lab, monkeypatch):
    """A `hub:` corpus downloads a dataset file (up to 64 MB) into the Hugging Face cache, which no disk quota sees:
    nothing limited how many a visitor fetched. Each run built on one now counts as a pull (the hourly limits, also
    the server's), charged before any request. Train and compare is charged the same way."""
    import dataclasses

    from textgan import corpora

    fetched = []
    monkeypatch.setattr(corpora, "build_corpus", lambda spec, *a, **k: fetched.append(spec) or 1 / 0)
    lab = make_lab(pulls_per_hour=0)
    s = lab.session("v")
    s.configure(dataclasses.replace(tiny(), corpus={"kind": "hub", "repo": "alice/lines", "file": "train.txt"}))
    with pytest.raises(L.LabError, match="pulls per hour"):
        s.prepare()
    assert not fetched


def test_every_limit_is_an_operator_variable(monkeypatch, tmp_path):
    for name, value, field, expected in [
            ("TEXTGAN_UNWATCHED_S", "45", "unwatched_s", 45.0), ("TEXTGAN_APP_MAX_PARAMS", "3000000", "max_params",
                                                                  3_000_000),
            ("TEXTGAN_COMPUTE_UNITS", "12.5", "compute_units", 12.5),
            ("TEXTGAN_DISK_PER_VISITOR_MB", "50", "disk_per_visitor", 50 * Q.MB),
            ("TEXTGAN_DISK_TOTAL_MB", "900", "disk_total", 900 * Q.MB), ("TEXTGAN_PULLS_PER_HOUR", "3",
                                                                         "pulls_per_hour", 3),
            ("TEXTGAN_PUSHES_PER_HOUR", "4", "pushes_per_hour", 4), ("TEXTGAN_TURN_S", "90", "turn_s", 90.0),
            ("TEXTGAN_YIELD_S", "6", "yield_s", 6.0), ("TEXTGAN_AUTOSAVES_KEPT", "2", "autosaves_kept", 2),
            ("TEXTGAN_SESSIONS_PER_CLIENT", "35", "sessions_per_client", 35)]:
        monkeypatch.setenv(name, value)
        lab = L.Lab.from_env(checkpoints=tmp_path)
        assert getattr(lab.policy, field) == expected, name
    monkeypatch.setenv("TEXTGAN_APP_MAX_PARAMS", "lots")
    with pytest.raises(ValueError, match="TEXTGAN_APP_MAX_PARAMS='lots' is not a number"):
        L.Lab.from_env()
    assert Q.Policy().sessions_per_client >= 30  # a class of 30 behind one NAT


def test_a_space_keeps_checkpoints_in_its_persistent_storage(monkeypatch, tmp_path):
    from textgan.lab import server

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(server, "SPACE_DATA", data)
    monkeypatch.delenv("TEXTGAN_CHECKPOINTS", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert L.Lab.from_env().checkpoints == server.Path("checkpoints")
    monkeypatch.setenv("SPACE_ID", "someone/textgan-lab")
    assert L.Lab.from_env().checkpoints == data / "checkpoints"
    monkeypatch.setenv("TEXTGAN_CHECKPOINTS", str(tmp_path / "mine"))
    assert L.Lab.from_env().checkpoints == tmp_path / "mine"


def test_autosaves_are_per_visitor_and_named_uniquely(make_lab):
    lab = make_lab()
    a = lab.session("visitor-a")
    a.configure(tiny())
    a.step()
    a.reset()
    kept_a = lab.runs_for("visitor-a")
    b = lab.session("visitor-b")
    b.configure(tiny())
    names = set()
    for _ in range(lab.policy.autosaves_kept + 5):  # many Resets within the same second
        b.step()
        b.reset()
        names |= {p for p in lab.runs_for("visitor-b") if "autosave-" in p}
    assert lab.runs_for("visitor-a") == kept_a  # B's Resets never delete A's autosave
    assert len(names) == lab.policy.autosaves_kept + 5  # no two autosaves share a name
    assert len([p for p in lab.runs_for("visitor-b") if "autosave-" in p]) == lab.policy.autosaves_kept


def test_train_and_compare_is_refused_while_the_server_is_busy(make_lab):
    """Ten /train_variants calls queued 40 runs while the server was full; now a comparison starts on a free slot
    or is refused with the reason, and simultaneous calls cannot share one free slot."""
    lab = make_lab(max_training=1)
    a = lab.session("a")
    a.configure(tiny())
    a.start()
    wait_until(lambda: a.state == "training")
    b = lab.session("b")
    with pytest.raises(L.LabError, match=r"server is busy \(1 of 1 training slots in use"):
        L.Sweep(tiny(), ["mle"], 3, lab.session_dir("b"), lab, session=b)
    a.stop()
    first = L.Sweep(tiny(), ["mle"], 3, lab.session_dir("b"), lab, session=b)
    c = lab.session("c")
    with pytest.raises(L.LabError, match="server is busy"):  # the free slot is promised to the first
        L.Sweep(tiny(), ["mle"], 3, lab.session_dir("c"), lab, session=c)
    first.stop()  # never started: its slot is given back
    assert lab.slots.has_free()


def test_in_a_busy_class_late_polls_keep_their_runs_and_an_unpolled_raw_job_still_yields(make_lab, monkeypatch):
    """A class of 30 on 2 loaded cores: every visitor's polls come back 3-9 s apart. The yield rule compared a job's
    silence with the freshest waiting visitor's, about 0 s in a full class, so it stopped 24 of 30 lessons of
    visitors who were watching (bench/load.py, class of 30 at load 25-31). Now a job yields when it is silent for
    3 times its own visitor's usual gap between polls (at least yield_s); a raw job that never polled yields after
    yield_s as before (fails on the old code: the watched job was stopped)."""
    lab = make_lab(max_training=1, yield_s=2.0, unwatched_s=600.0)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    watched, raw, waiting = lab.session("watched"), lab.session("raw"), lab.session("waiting")
    for gap in (5.0, 6.0, 4.0, 5.0):  # a browser whose polls are answered late, about every 5 s
        clock[0] += gap
        watched.touch()
    clock[0] += 1.0
    waiting.view.set("queued")
    waiting.touch()  # a queued visitor who has just been answered
    monkeypatch.setattr(type(lab.slots), "waiting", property(lambda self: 1))
    clock[0] += 8.0  # 8 s without a poll: late, but not unusually late for this visitor
    waiting.touch()
    assert lab.verdict(watched, None) is None
    clock[0] += 10.0  # 18 s: more than 3 times its usual gap
    assert "nobody watched this run" in (lab.verdict(watched, None) or "")
    assert "nobody watched this run" in (lab.verdict(raw, None) or "")  # never polled: silent for 19 s > yield_s


def test_the_unwatched_clock_starts_when_the_job_starts(make_lab, monkeypatch):
    """Under load a /train's run was built for longer than unwatched_s before its client could poll, and the job was
    stopped at step 0 ("nobody watched this run for 30 s"): the count started at the page's last poll, before the
    build (fails on the old code)."""
    lab = make_lab(unwatched_s=2.0)
    s = lab.session("slow-build")
    s.configure(tiny())
    time.sleep(2.5)  # the page's last touch is older than unwatched_s when Train is pressed (a slow build, a raw call)
    s.start()
    wait_until(lambda: s.step_count > 0 or s.state == "stopped", 30)
    assert s.step_count > 0, s.message


def test_the_readme_states_every_quota_with_the_codes_default():
    """Issue 21, Done when: the operators' section lists every quota. Each variable of `Policy.from_env` has a
    README row, and every row naming it states the code's default (a second, older table said 4 sessions per
    address where the code allows 40)."""
    import inspect
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    p = Q.Policy()
    defaults = {"TEXTGAN_MAX_TRAINING": p.max_training, "TEXTGAN_TURN_S": p.turn_s, "TEXTGAN_UNWATCHED_S": p.unwatched_s,
                "TEXTGAN_YIELD_S": p.yield_s, "TEXTGAN_APP_MAX_PARAMS": p.max_params,
                "TEXTGAN_COMPUTE_UNITS": p.compute_units, "TEXTGAN_SESSION_BUDGET_S": p.session_budget_s,
                "TEXTGAN_DISK_PER_VISITOR_MB": p.disk_per_visitor // Q.MB, "TEXTGAN_DISK_TOTAL_MB": p.disk_total // Q.MB,
                "TEXTGAN_AUTOSAVES_KEPT": p.autosaves_kept, "TEXTGAN_IDLE_TIMEOUT_S": p.idle_timeout_s,
                "TEXTGAN_MAX_SESSIONS": p.max_sessions, "TEXTGAN_SESSIONS_PER_CLIENT": p.sessions_per_client,
                "TEXTGAN_PUSHES_PER_HOUR": p.pushes_per_hour, "TEXTGAN_PULLS_PER_HOUR": p.pulls_per_hour,
                "TEXTGAN_UPLOAD_MB_PER_HOUR": p.upload_per_hour // Q.MB}
    assert set(defaults) == set(re.findall(r'"(TEXTGAN_\w+)"', inspect.getsource(Q.Policy.from_env)))
    for var, default in defaults.items():
        rows = [line.split("|")[1:3] for line in readme.splitlines()
                if line.startswith("| ") and f"`{var}`" in line.split("|")[1]]
        assert rows, f"README has no row for {var}"
        for names, stated in rows:
            names = re.findall(r"`(\w+)`", names)
            stated = [s.strip(" `") for s in stated.split(",")]
            assert float(default) == float(stated[names.index(var)]), (var, stated)
