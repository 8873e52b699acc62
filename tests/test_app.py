"""The real app on a local port, driven with gradio_client as a browser would: train, watch the loss series grow,
pause, resume, stop, save, compare two runs; bad uploads and hub errors come back as messages."""

import time
from pathlib import Path

import pytest
from gradio_client import handle_file

from app_helpers import TINY, Poller, form, n_points, serving
from textgan import lab as L
from textgan.lab import quota as Q


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app as `python app.py` runs it: checkpoints in the relative `checkpoints/` (of a temporary working
    directory), since an absolute folder hid issue 15's defect 1."""
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    lab = L.Lab(max_training=2, checkpoints="checkpoints", torch_threads=1,
                sessions_per_client=16)  # every test client comes from 127.0.0.1
    try:
        with serving(lab) as (_, client, url):
            yield lab, client, url
    finally:
        os.chdir(cwd)


def new_client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def train(client, **changes):
    return client.predict(*form(client, "/train", **{**TINY, **changes}), api_name="/train")


def test_import_is_light():
    import subprocess
    import sys

    code = ("import threading, app; assert not any(t.name.startswith('textgan') for t in threading.enumerate()); "
            "assert len(app.demo.fns) > 10")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_train_pause_resume_stop_save_compare(served):
    lab, c, url = served
    assert "training" in train(c) or "queued" in train(c)
    poll = Poller(c)
    poll.wait(lambda s: n_points(s.get("loss")) >= 5)
    n1 = poll.loss_points()
    poll.wait(lambda s: n_points(s.get("loss")) > n1)  # the loss series grows while training

    c.predict(api_name="/pause")
    time.sleep(0.5)  # the iteration in flight lands
    n_paused = poll.loss_points()
    time.sleep(1.5)
    assert poll.loss_points() == n_paused and poll.last["status"].startswith("paused")

    # Hyperparameters change while paused; one critic update alone.
    status = c.predict(*form(c, "/apply", **{**L.variant_defaults("gan"), "lr_gen": 0.002}), api_name="/apply")
    assert "applied lr_gen=0.002" in status
    assert "one critic update" in c.predict(*form(c, "/step", step="critic", **TINY), api_name="/step")

    c.predict(api_name="/resume")
    poll.wait(lambda s: n_points(s.get("loss")) > n_paused + 3)
    poll.wait(lambda s: s.get("samples") and len(s["samples"]["data"]) == 16)
    assert all(row[1] == "invalid" or row[1].startswith("mode ") for row in poll.last["samples"]["data"])
    poll.wait(lambda s: n_points(s.get("modes")) == 5)  # 4 modes + invalid, next to the true weights

    c.predict(api_name="/stop")
    assert "stopped" in poll()["status"]
    assert "saved step" in c.predict("app-a", api_name="/save")
    # Train continues this run; with another variant in the form it says so instead of silently ignoring it
    refused = train(c, variant="mle")
    assert "gan on modes (K=4) and Train continues it" in refused and "mle on modes (K=4)" in refused, refused
    assert "press Reset" in refused and poll()["status"].startswith("stopped")
    c.predict(api_name="/reset")
    assert poll()["status"].startswith("idle") and n_points(poll.last["loss"]) == 0

    train(c, variant="mle")
    poll.wait(lambda s: "mle" in s["status"] and n_points(s.get("loss")) >= 5)
    c.predict(api_name="/stop")
    assert "saved step" in c.predict("app-b", api_name="/save")

    # saved in this session's own folder (visitors never overwrite or see each other's saves)
    # listed by their paths relative to the checkpoints folder (the server's folders stay hidden)
    paths = sorted(str(p.relative_to(lab.checkpoints)) for p in lab.checkpoints.glob("sessions/*/app-[ab]"))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["app-a", "app-b"]
    c.predict([], api_name="/refresh_runs")  # the browser refreshes the list on load
    side, table, curves, msg = c.predict(paths, 4, 7, 1.0, "loss/gen", api_name="/compare")
    assert msg.startswith("compared 2 run(s)"), msg
    assert side["headers"] == ["app-a", "app-b"] and len(side["data"]) == 4
    assert [row[0] for row in table["data"]] == ["app-a", "app-b"]
    assert not any(str(v).startswith("★") for row in table["data"] for h, v in zip(table["headers"], row)
                   if "distinct" in h or "unique" in h)  # no direction, no best (defect 7)
    assert n_points(curves) > 0
    again = c.predict(paths, 4, 7, 1.0, "loss/gen", api_name="/compare")[0]
    assert again["data"] == side["data"]  # same seed and temperature, same samples

    # The session's live run next to a saved one; then continue training a saved run.
    _, table, _, msg = c.predict([paths[0], "this session"], 4, 0, 0.5, "loss/gen",
                                 api_name="/compare")
    assert msg.startswith("compared 2"), msg
    assert "at step" in c.predict([paths[0]], api_name="/continue_training")
    assert "gan on modes" in poll()["status"]


def test_two_tabs_train_two_runs(served):
    lab, _, url = served
    a, b = new_client(url), new_client(url)
    train(a, seed=1)
    train(b, seed=2, variant="mle")
    pa, pb = Poller(a), Poller(b)
    pa.wait(lambda s: n_points(s.get("loss")) > 2)
    pb.wait(lambda s: n_points(s.get("loss")) > 2)
    assert "gan on modes" in pa()["status"] and "mle on modes" in pb()["status"]
    runs = [s.run for s in lab._sessions.values() if s.run is not None and s.state == "training"]
    assert len({id(r) for r in runs}) == len(runs) >= 2
    a.predict(api_name="/stop")
    b.predict(api_name="/stop")


@pytest.mark.parametrize("name,data,message", [
    ("empty.txt", b"", "is empty"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    ("latin1.txt", "d\xe9j\xe0 vu\nun caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("one.txt", b"a single sentence\n", "single line"),
])
def test_bad_uploads_give_a_message_not_a_traceback(served, tmp_path, name, data, message):
    _, c, _ = served
    c.predict(api_name="/reset")
    (tmp_path / name).write_bytes(data)
    status = train(c, corpus="upload", **{"upload a .txt corpus (one sentence per line)": handle_file(str(tmp_path / name))})
    assert message in status and "Traceback" not in status
    poll = Poller(c)
    assert message in poll()["status"]
    assert "training" in train(c)  # the app keeps working
    c.predict(api_name="/reset")


def test_bad_settings_give_messages(served, tmp_path, monkeypatch):
    _, c, _ = served
    c.predict(api_name="/reset")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a b c\n" * (L.MAX_UPLOAD_BYTES // 6 + 1))
    assert "upload limit" in train(c, corpus="upload", **{"upload a .txt corpus (one sentence per line)": handle_file(str(big))})
    small = tmp_path / "small.txt"
    small.write_text("".join(f"line {i} of text\n" for i in range(10)))
    assert "reads no files a visitor names" in train(c, corpus="path", **{"a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)": str(small)})
    monkeypatch.setenv("TEXTGAN_CORPUS_ROOTS", str(tmp_path))  # the operator allows a folder
    assert "larger than the corpus" in train(c, corpus="path", **{"a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)": str(small)})
    assert "learning rate" in train(c, lr_gen=1e6)
    assert "must be an integer in 1..65536" in train(c, **{"batch size": 10**6})
    c.predict(api_name="/reset")


def test_hub_messages_and_round_trip(served, local_hub, tmp_path):
    from hub_server import VALID_TOKENS

    lab, c, _ = served
    token = next(iter(VALID_TOKENS))
    c.predict(api_name="/reset")
    train(c)
    Poller(c).wait(lambda s: n_points(s.get("loss")) > 2)
    c.predict(api_name="/stop")
    msg, cleared = c.predict("this session", "alice/lab-run", "", False, api_name="/push")
    assert "sign in with Hugging Face" in msg and cleared == ""  # never the server's own token
    msg, _ = c.predict("this session", "alice/lab-run", "hf_not_a_valid_token_0000", False, api_name="/push")
    assert msg.startswith("⚠️") and "hf_not_a_valid" not in msg
    msg, cleared = c.predict("this session", "alice/lab-run", token, True, api_name="/push")
    assert msg.startswith("pushed") and "alice/lab-run" in msg and cleared == ""
    assert token not in msg
    msg, _, runs, _ = c.predict("alice/no-such-repo", "", token, api_name="/pull")
    assert msg.startswith("⚠️") and "no-such-repo" in msg
    msg, _, runs, _ = c.predict("alice/lab-run", "", token, api_name="/pull")
    assert msg.startswith("pulled"), msg
    pulled = lab.session_dir(Q.visitor_id(None, c.session_hash)) / "alice--lab-run"  # the puller's own folder
    assert (pulled / "generator.safetensors").is_file()
    side, table, _, msg = c.predict([str(pulled.relative_to(lab.checkpoints))], 3, 0, 1.0, "loss/gen", api_name="/compare")
    assert msg.startswith("compared 1"), msg


def test_one_click_trains_variants_and_fills_the_comparison(served):
    lab, c, _ = served
    args = form(c, "/train_variants", **{"train these variants on the Train tab's corpus and seed": ["mle", "gan"],
                                         "steps each": 3}, **TINY)
    assert c.predict(*args, api_name="/train_variants").startswith("training mle, gan for 3 steps")
    end = time.time() + 120
    while time.time() < end:
        status, runs, side, table, curves, msg = c.predict(4, 0, 1.0, "loss/gen",
                                                           api_name="/poll_sweep")
        if isinstance(status, str) and status.startswith("done"):
            break
        time.sleep(0.3)
    assert status.startswith("done"), status
    assert msg.startswith("compared 2"), msg
    # Defect 1: the picker's new value is among its choices (relative paths, as listed), so the picker's next
    # use is accepted instead of "Value ... is not in the list of choices".
    choices = {c[-1] if isinstance(c, (list, tuple)) else c for c in runs["choices"]}  # (label, value) pairs
    assert len(runs["value"]) == 2 and set(runs["value"]) <= choices, runs
    assert all(not Path(p).is_absolute() for p in runs["value"]), runs
    assert c.predict(runs["value"], 2, 0, 1.0, "loss/gen", api_name="/compare")[3].startswith("compared 2")
    assert [h.split("-")[2] for h in side["headers"]] == ["mle", "gan"], side["headers"]
    assert len(table["data"]) == 2 and n_points(curves) > 0


def test_every_registered_variant_fills_the_form(served):
    from textgan.variants import VARIANTS

    _, c, _ = served
    for variant in VARIANTS:
        out = c.predict(variant, api_name="/pick_variant")
        cls = VARIANTS[variant]
        # its one-line explanation, then its paper, and a batch size
        assert out[0].startswith(cls.summary) and f"*{cls.paper}*" in out[0] and out[1] >= 1, (variant, out[:6])


def test_bad_numbers_name_their_field_and_leave_the_form_usable(served):
    """Defect 4: seed < 0 or batch <= 0 gave a Gradio error naming no field, before the lab saw the value."""
    _, c, _ = served
    c.predict(api_name="/reset")
    status = train(c, seed=-1)
    assert "⚠️" in status and "seed" in status, status
    status = train(c, **{"batch size": 0})
    assert "⚠️" in status and "batch" in status, status
    msg = c.predict(["this session"], -3, 0, 1.0, "loss/gen", api_name="/compare")[3]
    assert "samples per run" in msg, msg
    assert "training" in train(c) or "queued" in train(c)
    c.predict(api_name="/reset")


def test_save_asks_before_replacing_another_run(served):
    """Defect 2: Save silently replaced an existing run."""
    lab, _, url = served
    a, b = new_client(url), new_client(url)
    for client, variant in ((a, "gan"), (b, "mle")):
        client.predict(*form(client, "/step", step="iteration", **{**TINY, "variant": variant}), api_name="/step")
    assert "saved step" in a.predict("shared-name", api_name="/save")
    # Issue 11: each visitor saves in their own folder, so the same name never touches another visitor's run.
    assert "saved step" in b.predict("shared-name", api_name="/save")
    saved = {L.load_run(p, device="cpu").config.variant for p in lab.checkpoints.glob("sessions/*/shared-name")}
    assert saved == {"gan", "mle"}
    # Within one session, a new run saved under an existing name asks first.
    a.predict(api_name="/reset")
    a.predict(*form(a, "/step", step="iteration", **TINY), api_name="/step")
    assert "already exists: press Save again" in a.predict("shared-name", api_name="/save")
    assert "saved step" in a.predict("shared-name", api_name="/save")
    assert len(list(lab.checkpoints.glob("sessions/*/shared-name"))) == 2


def test_text_corpus_hides_the_modes_panel_and_column(served, tmp_path):
    """Defect 10: an uploaded text corpus left an empty modes panel and an empty mode column on screen."""
    _, c, _ = served
    c.predict(api_name="/reset")
    text = tmp_path / "few.txt"
    text.write_text("".join(f"the cat number {i} sat on the mat\n" for i in range(40)))
    status = train(c, corpus="upload", seed=1, **{"batch size": 8,
                                                   "upload a .txt corpus (one sentence per line)": handle_file(str(text))})
    assert "training" in status or "queued" in status, status
    poll = Poller(c)
    snap = poll.wait(lambda s: s.get("samples") and s["samples"]["data"] and s["samples"]["data"][0][0])
    assert snap["samples"]["headers"] == ["sample"], snap["samples"]["headers"]
    modes = snap["modes"]
    assert isinstance(modes, dict) and modes.get("visible") is False, str(modes)[:300]
    c.predict(api_name="/reset")


def test_compare_tab_opens_an_experiment_directory(served, one_thread):
    """An experiment written by the sweep engine (in-process backend) opens in the Compare tab: its summary table,
    frontier and learning curves; a name the server does not list is refused."""
    from textgan.experiments import SweepSpec, run_in_process

    lab, c, url = served
    spec = SweepSpec.from_dict({"corpus": {"kind": "modes", "k": 4}, "variants": {"mle": {"generator.hidden": 16}},
                                "seeds": 2, "budget": {"steps": 4},
                                "run": {"batch_size": 16, "eval_every": 2, "eval_samples": 20, "sample_every": 0},
                                "temperatures": [0.8, 1.2], "temperature_samples": 20})
    run_in_process(spec, lab.experiments / "tiny")
    note, table, frontier, curve, metric = c.predict("tiny", None, api_name="/open_experiment")
    assert note.startswith("tiny: 2 trials on modes")
    assert table["data"][0][:3] == ["mle", "4", 2]  # variant (and swept settings), final budget, seeds
    assert frontier is not None and curve is not None
    note, *_ = c.predict("../tiny", None, api_name="/open_experiment")
    assert note.startswith("⚠️ no experiment named '../tiny'")
