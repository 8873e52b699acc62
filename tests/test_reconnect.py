"""Visitors through the real app (issue 21 items 2 and 6, issue 22 item 4, issue 23 item 4): raw API calls as a
stranger makes them (gradio_client, no page), and a browser's page-load call that hands over the visitor key it
keeps in its storage (made here with the same HTTP requests the page makes; tests/test_reload_browser.py does the
reload in a real Chromium). Each test failed on the code before the visitor quota (see the commit message)."""

import json
import resource
import time

import httpx
import pytest

from app_helpers import TINY, Poller, form, serving, wait_until
from textgan import lab as L


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lab = L.Lab(max_training=1, checkpoints=tmp_path_factory.mktemp("checkpoints"), torch_threads=1, max_sessions=4,
                sessions_per_client=40)
    with serving(lab) as (demo, _, url):
        yield lab, demo, url
        stop_everything(lab)


def stop_everything(lab):
    for s in list(lab._sessions.values()):
        if getattr(s, "sweep", None) is not None:
            s.sweep.stop()
    lab.close_all()


@pytest.fixture
def app(served):
    lab, demo, url = served
    stop_everything(lab)
    yield served
    stop_everything(lab)


def new_client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def browser_load(url, demo, session_hash: str, key) -> str:
    """What a page does on load: send the visitor key from its storage (`key`, None when it has none) to the
    app's page-load event, and get back the key to keep."""
    index = next(i for i, f in demo.fns.items() if getattr(f.fn, "__name__", "") == "identify")
    with httpx.Client(base_url=url, timeout=30) as http:
        http.post("gradio_api/queue/join", json={"data": [key], "event_data": None, "fn_index": index,
                                                "trigger_id": None, "session_hash": session_hash}).raise_for_status()
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return msg["output"]["data"][0]
    raise AssertionError("the page-load event did not complete")


def test_raw_polls_never_create_sessions_and_never_raise(app):
    """64 raw /poll calls from new clients made 60 sessions and locked every visitor out ("server is full")."""
    lab, _, url = app
    for _ in range(8):  # twice the server's 4 sessions
        c = new_client(url)
        c.predict(api_name="/poll")
        c.predict(api_name="/poll_lesson")
        c.predict(4, 0, 1.0, "loss/gen", api_name="/poll_sweep")
    assert len(lab) == 0
    visitor = new_client(url)
    assert visitor.predict(*form(visitor, "/train", **TINY), api_name="/train").startswith(("training", "queued"))


def test_a_raw_train_nobody_polls_gives_way_to_a_visitor(app):
    """2 raw /train calls never polled held both slots for 587 s; a visitor who polls now trains within seconds."""
    lab, _, url = app
    raw = new_client(url)
    raw.predict(*form(raw, "/train", **TINY), api_name="/train")
    wait_until(lambda: lab.training_count() == 1, 30)
    browser = new_client(url)
    t0 = time.time()
    browser.predict(*form(browser, "/train", **TINY), api_name="/train")
    snap = Poller(browser).wait(lambda s: s.get("status", "").startswith("training")
                                and " step 0 " not in s.get("status", ""), timeout=25)
    assert time.time() - t0 < 20, snap["status"]


def test_train_and_compare_is_the_visitors_one_job(app):
    """/train_variants had no session, budget or cap: ten calls queued 40 runs beside a visitor's own."""
    lab, _, url = app
    c = new_client(url)
    c.predict(*form(c, "/train", **TINY), api_name="/train")
    args = form(c, "/train_variants", **{"train these variants on the Train tab's corpus and seed": ["mle"],
                                         "steps each": 50}, **TINY)
    msg = c.predict(*args, api_name="/train_variants")
    assert "already have a job running" in msg, msg


def test_a_refused_lesson_keeps_the_form_and_says_why(app):
    """A refused lesson returned 1 value where 46 were expected, which wiped the form."""
    lab, _, url = app
    c = new_client(url)
    args = form(c, "/train_variants", **{"train these variants on the Train tab's corpus and seed": ["mle"],
                                         "steps each": 20_000}, **TINY)
    assert c.predict(*args, api_name="/train_variants").startswith("training mle")
    out = c.predict("cpu", api_name="/scenario_collapse")
    status = [x for x in out if isinstance(x, str) and "⚠️" in x]
    assert status and "already have a job running" in status[0], out
    kept = [x for x in out if x not in (None, {"__type__": "update"}) and x is not status[0]]
    assert kept == [], kept  # every form field skipped: the form stays as it was


def test_a_huge_generator_is_refused_before_it_costs_memory(app):
    """One /step with generator size 4096 took RSS from 596 MB to 1,649 MB."""
    _, _, url = app
    c = new_client(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    msg = c.predict("iteration", *form(c, "/step", **{**TINY, "generator size": 4096})[1:], api_name="/step")
    assert "parameters" in msg and "over this server's" in msg, msg
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_a_reloaded_tab_finds_its_run_and_the_list_updates_by_itself(app):
    """A reloaded tab was a new session: its run was lost to it, and an autosave appeared only after a manual
    refresh. Now the browser's visitor key finds the run again, running, and the run list follows."""
    lab, demo, url = app
    tab = new_client(url)
    key = browser_load(url, demo, tab.session_hash, None)
    assert isinstance(key, str) and len(key) >= 22
    assert tab.predict(*form(tab, "/train", **TINY), api_name="/train").startswith(("training", "queued"))
    Poller(tab).wait(lambda s: " step 0 " not in s.get("status", " step 0 "), timeout=30)

    reloaded = new_client(url)  # the same browser, a new page: a new session hash, the same stored key
    assert browser_load(url, demo, reloaded.session_hash, key) == key
    snap = Poller(reloaded).wait(lambda s: s.get("status", "").startswith("training"), timeout=30)
    assert "gan on modes" in snap["status"]
    assert len(lab) == 1

    stranger = new_client(url)  # another browser (no key, or a forged one) gets its own visitor
    forged = browser_load(url, demo, stranger.session_hash, "../../etc/passwd")
    assert forged != key and len(forged) >= 22
    assert stranger.predict(api_name="/poll")[0] in (None, {"__type__": "update"})  # nothing of the other run

    reloaded.predict(api_name="/reset")  # the run is autosaved, and the picker lists it without a refresh
    listed = reloaded.predict(4, 0, 1.0, "loss/gen", api_name="/poll_sweep")[1]
    values = [c[-1] if isinstance(c, (list, tuple)) else c for c in listed["choices"]]
    assert any("autosave-gan-modes" in v for v in values), listed


def test_on_a_space_the_forwarded_address_counts(monkeypatch):
    from types import SimpleNamespace

    from textgan.app.common import client_of

    request = SimpleNamespace(headers={"x-forwarded-for": "198.51.100.1, 203.0.113.9"},
                              client=SimpleNamespace(host="10.0.0.2"))
    monkeypatch.delenv("TEXTGAN_TRUSTED_PROXY", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert client_of(request) == "10.0.0.2"  # a forged header is ignored off a Space
    monkeypatch.setenv("SPACE_ID", "someone/textgan-lab")
    assert client_of(request) == "203.0.113.9"  # the address the Space's proxy appended
