"""A real browser (headless Debian chromium, driven by Playwright) opens the app, clicks Train on the default
settings and sees the loss figure gain points; the screenshot goes to tests/artifacts/browser_train.png.

CI installs: `apt-get install -y chromium` and `pip install playwright` (never `playwright install`: the system
chromium is used)."""

import shutil
import time
from pathlib import Path

import pytest

from app_helpers import launch
from textgan import lab as L
from textgan.lab.scenarios import SCENARIOS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

POINTS_JS = """() => {
  const g = document.querySelector('#loss-plot .js-plotly-plot');
  return g && g.data && g.data.length ? g.data[0].x.length : 0;
}"""


@pytest.fixture
def page(tmp_path, monkeypatch):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (CI installs it)")
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")  # notice a closed tab within a second or two
    lab = L.Lab(max_training=1, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    demo, _, url = launch(lab)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.goto(url)
        yield page, lab
        browser.close()
    lab.close_all()
    demo.close()


def test_click_train_and_watch_the_loss_curve(page):
    page, lab = page
    page.wait_for_selector("#train", timeout=60_000)
    page.wait_for_timeout(1000)  # page-load events fill the variant's defaults
    t0 = time.perf_counter()
    page.click("#train")
    page.wait_for_function(f"({POINTS_JS})() > 0", timeout=60_000)
    first_curve = time.perf_counter() - t0
    n1 = page.evaluate(POINTS_JS)
    page.wait_for_function(f"({POINTS_JS})() > {n1 + 5}", timeout=60_000)
    assert "training" in page.inner_text("#status")
    # Let the sample table and the mode histogram fill in, then keep a picture for a human to look at.
    page.wait_for_timeout(4000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_train.png"), full_page=True)
    page.click("#pause")
    page.wait_for_function("() => document.querySelector('#status').innerText.startsWith('paused')", timeout=20_000)
    session = next(iter(lab._sessions.values()))
    from textgan.run import RunConfig

    assert session.run.config.variant == RunConfig().variant and session.run.config.batch_size == RunConfig().batch_size
    print(f"first curve {first_curve:.2f} s after the click")

    # Closing the tab stops and frees its run.
    page.close()
    end = time.time() + 60
    while (lab._sessions or session.state != "closed") and time.time() < end:  # close() runs after the pop
        time.sleep(0.2)
    assert not lab._sessions and session.state == "closed" and session.run is None


EFFECTIVE_JS = """() => {
  const m = document.querySelector('#headline').innerText.match(/Effective modes: ([0-9.]+) of 8/);
  return m ? parseFloat(m[1]) : null;
}"""


def test_click_the_collapse_lesson_and_watch_the_modes_fall(page):
    """The student's one click: the collapse lesson sets the form and starts; the headline's effective number of
    modes rises with the warm start, then falls, and the explanation says the generator is collapsing. The
    screenshot goes to tests/artifacts/browser_collapse.png."""
    page, lab = page
    page.wait_for_selector("#scenario-collapse", timeout=60_000)
    page.wait_for_timeout(1000)
    page.click("#scenario-collapse")
    page.wait_for_function("() => document.querySelector('#scenario-watch').innerText.includes('collapse')",
                           timeout=60_000)
    page.wait_for_function(f"({EFFECTIVE_JS})() >= 6", timeout=120_000)  # the MLE warm start: ~8 modes
    peak = page.evaluate(EFFECTIVE_JS)
    page.wait_for_function("() => document.querySelector('#explanation').innerText.includes('collapsing')",
                           timeout=240_000)
    low = page.evaluate(EFFECTIVE_JS)
    assert low <= 0.6 * peak, (peak, low)
    assert "fell from" in page.inner_text("#explanation")
    session = next(iter(lab._sessions.values()))
    assert session.run.config.variant == "gan" and session.max_steps == SCENARIOS["collapse"].steps
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_collapse.png"), full_page=True)
    page.click("#stop")
