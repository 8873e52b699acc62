"""The app's doors (issue 21, item 1): the live endpoint list is the table in textgan/app/doors.py, and every door,
called the way a stranger calls it (raw HTTP, any values, any order), answers with a message: no traceback in the
server's log, no file read or written outside the caller's own folder, no slot or session held after the caller
leaves. Also: a refused lesson leaves the form as it was (issue 23, item 5).

Private doors are called too: Gradio runs any event by its index (`fn_index`), whatever its `api_visibility`.
The attacks of issue 21 on these doors are tests of their own at the end."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app_helpers import TINY, serving
from textgan import lab as L
from textgan.lab import quota as Q
from textgan.app import doors

SECRET = "canary-e41c9 never leaves the server"
MARKDOWN = "[verify your token](https://evil.example/x) **bold** `code`"
HTML = "<img src=x onerror=alert(1)><script>alert(2)</script>"
HUGE = "x" * 100_000


# ---- reads outside the folders: every file the process opens, while a door is called ------------------------------

_watched: list[str] = []
_opened: list[str] = []


def _audit(event: str, args: tuple) -> None:
    """Python's audit hook (it sees every open() in the process, the server's threads included)."""
    if event == "open" and _watched and isinstance(args[0], (str, bytes, os.PathLike)):
        real = os.path.realpath(os.fsdecode(args[0]))  # a symlink's target counts
        if any(real == w or real.startswith(w + os.sep) for w in _watched):
            _opened.append(real)


@contextmanager
def watching(folder: Path):
    """The files under `folder` opened by anyone in this process meanwhile."""
    if not getattr(sys, "_textgan_doors_hook", False):
        sys.addaudithook(_audit)  # cannot be removed: it does nothing while nothing is watched
        sys._textgan_doors_hook = True
    _opened.clear()
    _watched.append(os.path.realpath(folder))
    try:
        yield _opened
    finally:
        _watched.clear()


# ---- the app, a canary outside it, and a raw caller ---------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, one_thread):
    """The app around a Lab whose folders sit in one temporary tree, with a canary file outside them and symlinks
    to it where a caller might reach: in the upload cache and in the checkpoints folder."""
    import gradio as gr

    root = tmp_path_factory.mktemp("doors")
    outside = root / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text("\n".join(f"{SECRET} {i}" for i in range(64)) + "\n")
    lab = L.Lab(max_training=2, checkpoints=root / "checkpoints", experiments=root / "experiments", torch_threads=1,
                sessions_per_client=10_000, max_sessions=10_000, session_budget_s=2.0,  # runs end within 2 s
                idle_timeout_s=1.0, unwatched_s=2.0)  # and its unpolled runs stop within 2 s  # a visitor's session outlives its tab (reconnect) until it is idle this long
    (root / "checkpoints" / "uploads").mkdir(parents=True)
    (root / "experiments").mkdir()
    (root / "checkpoints" / "uploads" / "planted.txt").symlink_to(canary)
    cache = Path(gr.utils.get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    cache_link = cache / f"planted-{uuid.uuid4().hex[:8]}.txt"
    cache_link.symlink_to(canary)
    try:
        with serving(lab) as (_, _, url):
            config = httpx.get(url + "config", timeout=30).json()
            yield dict(root=root, canary=canary, outside=outside, lab=lab, url=url, config=config,
                       paths=[str(canary), str(cache_link), "../../outside/canary.txt", "../" * 12 + "etc/passwd",
                              str(root / "checkpoints" / "uploads" / "planted.txt")])
    finally:
        cache_link.unlink(missing_ok=True)


def call(client: httpx.Client, fn_index: int, data: list, session: str) -> tuple[str, object]:
    """One queued call, as a stranger makes it: ('ok', outputs) or ('error', message)."""
    r = client.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                   "event_data": None, "trigger_id": None})
    if r.status_code != 200:
        return "http", f"{r.status_code} {r.text[:300]}"
    with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as s:
        for line in s.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                out = msg.get("output") or {}
                return ("ok", out.get("data")) if msg.get("success") else ("error", out.get("error"))
    return "none", None


def dependency(world, name: str) -> dict:
    (dep,) = [d for d in world["config"]["dependencies"] if d.get("api_name") == name and d.get("backend_fn")]
    return dep


def components(world) -> dict[int, dict]:
    return {c["id"]: c for c in world["config"]["components"]}


# ---- hostile values, by the type of the input --------------------------------------------------------------------

def hostile(component: dict, paths: list[str]) -> list:
    """Values a stranger may send for one input of this kind (the page never sends most of them)."""
    kind, props = component["type"], component.get("props", {})
    wrong = [None, {"a": 1}, ["x"], True]
    if kind in ("number", "slider"):
        return [*wrong, "NaN", "nan", "inf", 1e308, -1e308, -5, 2**70, "12abc", HUGE[:5000]]
    if kind in ("dropdown", "radio"):
        return [*wrong, "not-a-choice", HUGE, 7, paths[0], HTML]
    if kind == "checkboxgroup":
        return [*wrong, "mle", [paths[0]], [paths[2]], [None, 1], [HUGE], ["this session"] * 1000]
    if kind == "checkbox":
        return [None, "yes", 2, [True]]
    if kind == "file":
        meta = {"_type": "gradio.FileData"}
        return [*wrong, "x", 5, {"path": HUGE, "meta": meta}, *({"path": p, "meta": meta} for p in paths)]
    if kind == "textbox":
        return [*wrong, 12345, HUGE, "NaN", MARKDOWN, HTML, "", *paths]
    return wrong


def baseline(world, dep: dict) -> list:
    """The values the page would send: each input's value, the tiny training settings where the label says."""
    comps = components(world)
    out = []
    for cid in dep["inputs"]:
        props = comps[cid].get("props", {})
        out.append(TINY.get(props.get("label"), props.get("value")))
    return out


def plan(world, name: str, dep: dict) -> list[list]:
    """The calls made to one door: the page's values first (out of order: before anything else), then hostile
    values. A door with up to 3 inputs gets every hostile value in every input; others (a form has 46) get one per input,
    taken in turn from its type's list, and rows where every input is hostile at once. The Train form's fields are
    varied one by one on /train only: /step, /share_link and /train_variants read the same form the same way."""
    comps, base = components(world), baseline(world, dep)
    lists = [hostile(comps[cid], world["paths"]) for cid in dep["inputs"]]
    form = set(dependency(world, "train")["inputs"]) if name != "train" else set()
    calls = [base]
    for i, (cid, values) in enumerate(zip(dep["inputs"], lists)):
        if cid in form:
            continue
        for value in values if len(lists) <= 3 else [values[i % len(values)]]:
            calls.append([*base[:i], value, *base[i + 1:]])
    if len(lists) > 1:
        calls += [[v[k % len(v)] for v in lists] for k in range(max(len(v) for v in lists))]
    calls.append(base[:-1])  # too few values
    return calls


# ---- the table is the live list ----------------------------------------------------------------------------------

def test_the_live_endpoints_are_exactly_the_table(world):
    info = httpx.get(world["url"] + "gradio_api/info", timeout=30).json()
    public = {n.lstrip("/") for n in info["named_endpoints"]}
    assert not info.get("unnamed_endpoints")
    assert public == {n for n, d in doors.DOORS.items() if d.public}
    # Every event that runs Python is callable by index, so every one of them is a door of the table.
    running = [d for d in world["config"]["dependencies"] if d.get("backend_fn")]
    assert sorted(d["api_name"] for d in running) == sorted(doors.DOORS)
    # ... and by name too: a private door is hidden from the API page, not closed.
    r = httpx.post(world["url"] + "gradio_api/call/redraw", json={"data": []}, timeout=30)
    assert r.status_code == 200 and "event_id" in r.json()


def test_a_door_missing_from_the_table_stops_the_app_from_building():
    import gradio as gr

    with gr.Blocks() as demo:
        btn, out = gr.Button(), gr.Markdown()
        with pytest.raises(doors.DoorError, match="no door named 'backdoor'"):
            doors.on(btn.click, "backdoor", lambda: "x", None, out)
        btn.click(lambda: "x", None, out, api_name="backdoor")  # registered around the table
    with pytest.raises(doors.DoorError, match="backdoor"):
        doors.check(demo)


def test_the_readme_lists_the_table():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert doors.markdown_table() in readme, "README's table of doors differs: paste doors.markdown_table()"


# ---- every door, with hostile values ------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def leave(world, client: httpx.Client, session: str) -> None:
    """What a browser does when its tab closes: the unload doors for this session."""
    for name in ("close_session",):
        call(client, dependency(world, name)["id"], [], session)


KNOWN_TRACEBACKS: list[str] = []
"""Tracebacks a known hole prints (none now: autosaves are named uniquely since the visitors' quotas landed)."""


def tracebacks(text: str, records) -> list[str]:
    found = [m.group(0) for m in re.finditer(r"Traceback \(most recent call last\)[^\n]*\n(?:.*\n){0,40}", text)]
    found = [t for t in found if not any(k in t for k in KNOWN_TRACEBACKS)]
    return found + [r.getMessage() for r in records if r.exc_info]


def test_the_watch_sees_a_read_through_a_symlink_in_another_thread(world):
    """The read check itself: a server thread opening the canary through the upload cache's link is seen."""
    import threading

    with watching(world["outside"]) as opened:
        t = threading.Thread(target=lambda: Path(world["paths"][1]).read_text())
        t.start()
        t.join()
        assert opened == [os.path.realpath(world["canary"])]


@pytest.mark.parametrize("name", list(doors.DOORS))
def test_every_door_answers_hostile_calls_with_a_message(world, name, capfd, caplog):
    caplog.set_level(logging.WARNING)
    lab, url = world["lab"], world["url"]
    dep = dependency(world, name)
    visitor = f"door-{name}-{uuid.uuid4().hex[:6]}"
    mine = lab.session_dir(Q.visitor_id(None, visitor))  # a raw caller is the visitor of its session hash
    before, sessions_before = snapshot(world["root"]), len(lab)

    with httpx.Client(base_url=url, timeout=60) as client, watching(world["outside"]) as opened:
        answers = [call(client, dep["id"], data, visitor) for data in plan(world, name, dep)]
        leave(world, client, visitor)
        assert not opened, f"a file outside every folder was opened: {opened[:3]}"

    # A message: a status line from the door, or Gradio's own one-line refusal of a value the page never sends.
    for kind, out in answers:
        assert kind in ("ok", "error"), (kind, out)
        if kind == "error":
            assert isinstance(out, str) and out.startswith("⚠️") and len(out) < 600, out
    text = json.dumps([out for _, out in answers], default=str)
    assert SECRET not in text, "the canary's text was sent back"
    assert HUGE not in text, "a 100 kB value was echoed back"
    unechoed = text
    for path in world["paths"]:  # a refusal may quote the path the caller sent: that is no leak
        unechoed = unechoed.replace(path, "")
    for folder in {str(world["root"]), os.path.realpath(world["root"])}:  # the lab's folders are absolute here
        assert folder not in unechoed, "an answer showed the server's own folder"
    # No traceback in the server's log.
    err = capfd.readouterr().err
    assert not tracebacks(err, caplog.records), tracebacks(err, caplog.records)[:2]
    # No file written outside the caller's folder, nothing of the canary copied anywhere.
    after = snapshot(world["root"])
    changed = [p for p in after if before.get(p) != after[p] and not Path(p).is_relative_to(mine.resolve())
               and not Path(p).is_relative_to(mine)]
    assert not changed, changed
    for p in after:
        if p != str(world["canary"]) and Path(p).stat().st_size < 50_000_000:
            assert SECRET.encode() not in Path(p).read_bytes(), f"the canary was copied to {p}"
    # No slot or session held once the caller has left.
    end = time.time() + 20
    while time.time() < end and (lab.training_count() or len(lab) > sessions_before):
        time.sleep(0.1)
        lab.reap()  # what the next visitor's arrival does: sessions idle past idle_timeout_s close
    while any(t.name == "textgan-reap" and t.is_alive() for t in threading.enumerate()):
        time.sleep(0.1)  # a reaped session autosaves in its own thread: inside this test's window, not the next
    assert lab.training_count() == 0, "a training slot is still held"
    assert len(lab) <= sessions_before, "a session is still open"


# ---- refusals are messages (issue 23, item 5) ---------------------------------------------------------------------

@pytest.fixture
def spent(world):
    """The app with no training budget left for anyone: every lesson is refused."""
    from gradio_client import Client

    lab = world["lab"]
    before = lab.policy
    lab.policy = dataclasses.replace(before, session_budget_s=0.0)
    yield lab, Client(world["url"], verbose=False)
    lab.policy = before
    lab.close_all()


UNCHANGED = (None, {"__type__": "update"})


def test_a_refused_lesson_leaves_the_form_as_it_was_and_says_why(spent):
    """Each lesson button with the budget used up: the status line says so, every other output (the form's 44
    fields, the variant's blurb, the watch text) is left unchanged. Before, the handler answered one value where 46
    were expected: Gradio raised, the form was wiped and the reason never showed."""
    lab, client = spent
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    lessons = [n for n in api if n.startswith("/scenario_")]
    assert len(lessons) == 5
    for name in lessons:
        out = client.predict("cpu", api_name=name)
        assert len(out) == len(api[name]["returns"])
        labels = [r["label"] for r in api[name]["returns"]]
        status = [v for v in out if isinstance(v, str) and "budget" in v]
        assert len(status) == 1 and "used up" in status[0], (name, out)
        changed = [label for label, v in zip(labels, out) if v not in UNCHANGED and v is not status[0]]
        assert not changed, (name, changed)


# ---- attacks on the doors (issue 21) ------------------------------------------------------------------------------

def _train_on(world, client, visitor: str, upload) -> str:
    """/train on an 'upload' corpus whose file payload is `upload`, then a few polls: everything sent back."""
    dep = dependency(world, "train")
    labels = [components(world)[cid].get("props", {}).get("label") for cid in dep["inputs"]]
    data = baseline(world, dep)
    data[labels.index("corpus")] = "upload"
    data[[i for i, x in enumerate(labels) if x and x.startswith("upload a .txt")][0]] = upload
    seen = [call(client, dep["id"], data, visitor)]
    for _ in range(3):
        time.sleep(0.5)
        seen.append(call(client, dependency(world, "poll")["id"], [None, "auto"], visitor))
    leave(world, client, visitor)
    return json.dumps(seen, default=str)


def _copied(world) -> list[str]:
    return [str(p) for p in world["root"].rglob("*") if p.is_file() and not p.is_symlink() and p != world["canary"]
            and SECRET.encode() in p.read_bytes()]


def test_an_upload_payload_naming_a_server_file_is_refused(world):
    """Issue 21's first attack ({"path": "/any/where.txt"} as the file): Gradio 6 refuses a file payload without
    its `meta` and a path outside its upload cache, and the door answers one line."""
    with httpx.Client(base_url=world["url"], timeout=60) as client:
        seen = _train_on(world, client, f"hole-path-{uuid.uuid4().hex[:6]}", {"path": str(world["canary"])})
    assert SECRET not in seen and not _copied(world)


def test_an_upload_that_is_a_symlink_out_of_the_cache_is_refused(world):
    link = world["paths"][1]
    with httpx.Client(base_url=world["url"], timeout=60) as client:
        seen = _train_on(world, client, f"hole-link-{uuid.uuid4().hex[:6]}",
                         {"path": link, "meta": {"_type": "gradio.FileData"}})
    assert SECRET not in seen and not _copied(world)


@pytest.mark.parametrize("name", [
    "poll", "poll_lesson",
    "poll_sweep"])
def test_a_poll_from_a_new_visitor_opens_no_session(world, name):
    lab, dep = world["lab"], dependency(world, name)
    before = len(lab)
    with httpx.Client(base_url=world["url"], timeout=60) as client:
        visitor = f"hole-poll-{uuid.uuid4().hex[:6]}"
        kind, _ = call(client, dep["id"], baseline(world, dep), visitor)
        opened = len(lab) - before
        leave(world, client, visitor)
    assert kind == "ok" and opened == 0


def test_a_bad_form_opens_no_session(world):
    """A comparison's form refused by its own fields (here the generator's size) creates no session:
    /train_variants read its form after opening one once uploads were charged to the visitor's folder."""
    lab, comps = world["lab"], components(world)
    for name in ("train_variants",):
        dep = dependency(world, name)
        data = baseline(world, dep)
        (at,) = [i for i, cid in enumerate(dep["inputs"]) if comps[cid].get("props", {}).get("label") ==
                 "generator size"]
        data[at] = -5
        before = len(lab)
        with httpx.Client(base_url=world["url"], timeout=60) as client:
            visitor = f"hole-form-{uuid.uuid4().hex[:6]}"
            kind, out = call(client, dep["id"], data, visitor)
            opened = len(lab) - before
            leave(world, client, visitor)
        assert opened == 0 and "generator size" in json.dumps(out), (name, kind, out)


def test_a_refused_lesson_keeps_the_sessions_run(spent):
    lab, client = spent
    client.predict("cpu", api_name="/scenario_collapse")
    session = lab.get(Q.visitor_id(None, client.session_hash))  # a raw caller: the visitor of its session hash
    assert session is None or (session.run is None and session.config is None)


def test_two_autosaves_within_a_second_both_kept(tmp_path, monkeypatch, one_thread):
    from textgan.run import RunConfig

    monkeypatch.setattr(time, "strftime", lambda *a: "20260101-000000")  # both Resets in the same second
    lab = L.Lab(checkpoints=tmp_path, torch_threads=1)
    s = lab.session("visitor")
    s.configure(RunConfig(corpus={"kind": "modes", "k": 4, "n_train": 200, "n_test": 50}, variant="mle",
                          generator={"kind": "lstm", "emb_dim": 8, "hidden": 16}, batch_size=8, seed=1,
                          device="cpu", sample_every=0, eval_every=0))
    for _ in range(2):
        s.prepare()
        s.step()
        s.reset()
    assert len([p for p in lab.runs_for("visitor") if Path(p).name.startswith("autosave-")]) == 2
