"""The README's "Nothing is lost", in a real browser (headless Debian chromium driven by Playwright; issue 23 item 4:
"a reload test finds the run again"). A visitor trains, then reloads the tab, then opens the app in a second tab of
the same browser (the same storage, so the same `gr.BrowserState` visitor key): each page finds the run itself,
still training, its status and headline at the run's step. Another browser (a new context: its own storage) does
not see it. Reset keeps the run as `autosave-…`, which the Compare list shows without "↻ refresh list", and
Compare → Continue training opens it again at its step.

Everything is read from the page (its status line, headline, Compare list and message), as a student sees it."""

import re

import pytest

from app_helpers import browser_on
from textgan import lab as L

STATUS = re.compile(r"^training · step (\d+) · (\S+ on \S+)", re.M)
"""The status line of a run in training, e.g. "training · step 51 · wgan-gp on modes · cpu"."""
TRAINING_JS = "() => /^training · step [1-9]/m.test(document.querySelector('#status').innerText)"
"""The status line says the run is training, past its first step."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with browser_on(L.Lab(max_training=1, checkpoints=tmp_path_factory.mktemp("checkpoints"), torch_threads=1)) as a:
        yield a


def open_tab(context, url: str):
    """A new tab of `context` (one browser: one storage) on the app, once its page-load events have run."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#train", timeout=60_000)
    return page


def shown(page) -> tuple[int, str]:
    """(step, "variant on corpus") of the run the page shows training, read from its status line; the headline
    shows the run too."""
    page.wait_for_function(TRAINING_JS, timeout=60_000)
    page.wait_for_function("() => /\\bstep [1-9]/.test(document.querySelector('#headline').innerText)",
                           timeout=30_000)
    found = STATUS.search(page.inner_text("#status"))
    return int(found.group(1)), found.group(2)


def test_a_reload_and_a_second_tab_find_the_run_and_reset_keeps_it_for_compare(app):
    browser, lab, url = app
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    other = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = open_tab(context, url)
        page.wait_for_timeout(1500)  # the page-load events fill the form
        page.click("#train")
        first, run = shown(page)

        page.reload()  # the same tab, a new Gradio session: the key in the browser's storage finds the run
        page.wait_for_selector("#train", timeout=60_000)
        after_reload, again = shown(page)
        assert again == run and after_reload >= first, (run, first, again, after_reload)

        second = open_tab(context, url)  # a second tab of the same browser: the same visitor
        in_second, same = shown(second)
        assert same == run and in_second >= after_reload, (run, after_reload, same, in_second)
        assert len(lab) == 1  # one visitor, one session, however many tabs

        stranger = open_tab(other, url)  # another browser has its own key: nothing of this run
        stranger.wait_for_timeout(2500)  # a few polls
        assert not stranger.inner_text("#status").startswith("training"), stranger.inner_text("#status")
        assert run not in stranger.inner_text("#status")
        saved = "autosave-" + run.replace(" on ", "-")  # e.g. autosave-wgan-gp-modes-…

        second.click("#reset")  # the unsaved run is kept as an autosave in the visitor's folder ...
        page.wait_for_function("() => !document.querySelector('#status').innerText.startsWith('training')",
                               timeout=60_000)
        for tab in (page, second):  # ... and each tab's Compare list shows it by itself (no "↻ refresh list")
            tab.get_by_role("tab", name="Compare").click()
            tab.locator("label").filter(has_text=saved).first.wait_for(timeout=30_000)
        stranger.get_by_role("tab", name="Compare").click()
        stranger.wait_for_timeout(2500)  # its list's polls
        assert stranger.locator("label").filter(has_text="autosave-").count() == 0  # never another browser's saves

        page.locator("label").filter(has_text=saved).first.click()
        page.get_by_role("button", name="Continue training the selected saved run").click()
        opened = page.get_by_text(re.compile(rf"opened {re.escape(saved)}\S* in the Train tab at step \d+")).first
        opened.wait_for(timeout=60_000)
        message = opened.inner_text()
        assert int(re.search(r"at step (\d+)", message).group(1)) >= after_reload, message
    finally:
        context.close()
        other.close()
