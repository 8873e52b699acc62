"""The Space as shipped: a real Chromium on an app that something else started (CI's "Space as shipped" job: a fresh
venv from requirements.txt alone, SPACE_ID and SPACE_HOST set, `python app.py`). Skipped unless TEXTGAN_SPACE_URL
names that app; the main suite never sets it. A visitor opens the page, clicks the first lesson, and the lesson runs
to its outcome: every step done and all the modes learnt."""

import os

import pytest

from app_helpers import chromium

URL = os.environ.get("TEXTGAN_SPACE_URL")
EFFECTIVE_JS = """() => {
  const m = document.querySelector('#headline').innerText.match(/Effective modes: ([0-9.]+) of 8/);
  return m ? parseFloat(m[1]) : null;
}"""

pytestmark = pytest.mark.skipif(not URL, reason="set TEXTGAN_SPACE_URL to a served app (CI's Space job)")


def test_a_visitor_runs_the_first_lesson_to_its_outcome():
    from textgan.lab.scenarios import SCENARIOS

    steps = SCENARIOS["learn"].steps
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(URL)
        page.click("#scenario-learn", timeout=60_000)
        page.wait_for_function("() => /^stopped.*done/s.test(document.querySelector('#status').innerText)",
                               timeout=240_000)  # "lesson done" (or "done: N steps")
        page.wait_for_function(f"() => document.querySelector('#headline').innerText.includes('step {steps}')",
                               timeout=30_000)  # the panels show the lesson's last step
        page.wait_for_function(f"({EFFECTIVE_JS})() !== null", timeout=30_000)
        assert page.evaluate(EFFECTIVE_JS) >= 6  # maximum likelihood learns (nearly) every mode of 8
