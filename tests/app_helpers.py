"""Shared fixtures for the app tests: launch the real app on a free local port and drive it with gradio_client."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time

from textgan import lab as L

# Tiny settings: a few milliseconds per iteration on 2 CPU cores.
TINY = {"corpus": "modes", "K (modes)": 4, "variant": "gan", "batch size": 16, "seed": 0, "device": "cpu",
        "generator": "lstm", "generator size": 16, "critic": "cnn", "critic size": 8}


def wait_until(cond, timeout: float = 60.0) -> None:
    """Poll `cond()` every 20 ms until it holds; fail the test after `timeout` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(lab: L.Lab):
    """(demo, client, url) for a fresh app around `lab`."""
    import app
    from gradio_client import Client

    demo = app.build_demo(lab)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    return demo, Client(url, verbose=False), url


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's chromium, which Playwright drives (never `playwright install`)."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium():
    """A headless Chromium (Playwright's Browser); skips the test where chromium or playwright is missing."""
    import pytest

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (CI installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serving(lab: L.Lab):
    """(demo, client, url) of a fresh app around `lab` (`launch`); the lab's sessions and the server are closed
    after, also when the test fails."""
    demo, client, url = launch(lab)
    try:
        yield demo, client, url
    finally:
        lab.close_all()
        demo.close()


@contextlib.contextmanager
def browser_on(lab: L.Lab):
    """(browser, lab, url): a Chromium and a fresh app around `lab`; both are closed (and the lab's sessions) after."""
    with chromium() as browser, serving(lab) as (_, _, url):
        yield browser, lab, url


def open_page(app, query: str = "", width: int = 1280, height: int = 720):
    """A new tab of `app` (from `browser_on`) at `url + query`, once the page-load events have filled the form."""
    browser, _, url = app
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url + query)
    page.wait_for_selector("#train", timeout=60_000)
    page.wait_for_timeout(1500)  # page-load events fill the form (the variant's defaults, a link's values)
    return page


def form(client, api_name: str, preset: str = "paper", **by_label):
    """Positional arguments of an endpoint, from its defaults overridden by label. With a variant, its fields get
    the preset's values (the browser does this when the variant changes) unless given."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]["parameters"]
    values = dict(by_label)
    variant = values.get("variant")
    if variant:
        info = L.variant_info(variant, preset)
        values.setdefault("preset", preset)
        values.setdefault("batch size", info["batch_size"])
        for role, spec in (("generator", info["generator"]), ("critic", info["critic"])):
            if spec is not None:
                values.setdefault(role, spec["kind"])
                values.setdefault(f"{role} size", L.net_size(role, spec))
        for k, v in info["defaults"].items():
            values.setdefault(k, v)
    return [values[p["label"]] if p["label"] in values else p.get("parameter_default") for p in params]


def n_points(plot) -> int:
    """Points in the first trace of a figure the client received (0 when empty)."""
    if isinstance(plot, dict) and "visible" in plot and "value" in plot:  # a figure sent with a visibility change
        plot = plot.get("value")
    if not plot:
        return 0
    fig = plot.get("plot") if isinstance(plot, dict) else plot
    fig = json.loads(fig) if isinstance(fig, str) else fig
    data = fig.get("data") or []
    return len(data[0].get("x") or []) if data else 0


class Poller:
    """Calls /poll and keeps the latest value of each output (the server skips unchanged ones)."""

    NAMES = ("status", "loss", "grad", "metrics", "modes", "samples")

    def __init__(self, client):
        self.client = client
        self.last: dict = {}

    def __call__(self) -> dict:
        out = self.client.predict(api_name="/poll")
        for name, value in zip(self.NAMES, out):
            if value is not None and value != {"__type__": "update"}:
                self.last[name] = value
        return self.last

    def loss_points(self) -> int:
        return n_points(self().get("loss"))

    def wait(self, cond, timeout: float = 60.0, every: float = 0.3):
        end = time.time() + timeout
        while time.time() < end:
            snap = self()
            if cond(snap):
                return snap
            time.sleep(every)
        raise AssertionError(f"timed out; last status: {self.last.get('status')!r}")


def lab_config(variant: str = "mle", gsize: int = 16, batch_size: int = 8, **kw):
    """A small run config as the lab's form makes it (modes with K=4, an LSTM generator of `gsize`, a CNN-8 critic
    unless MLE, no samples or evaluations), for the lab's quota and security tests."""
    critic = L.net_spec("critic", "cnn", 8) if variant != "mle" else None
    return L.make_config({"kind": "modes", "k": 4}, variant, generator=L.net_spec("generator", "lstm", gsize),
                         critic=critic, batch_size=batch_size, device="cpu", sample_every=0, eval_every=0, **kw)
