"""The lesson parts of the real app, driven with gradio_client: a lesson button sets the form and starts its run,
and the lesson poll brings the headline (effective modes of K), the explanation, the mode-share plot, the critic's
scores and the real data. Every control of the Train tab carries one line of help."""

import time

import pytest

from app_helpers import serving
from textgan import lab as L
from textgan.lab.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lab = L.Lab(max_training=1, checkpoints=tmp_path_factory.mktemp("checkpoints"), torch_threads=1)
    with serving(lab) as (demo, client, _):
        yield lab, demo, client


def poll_until(client, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        out = client.predict(api_name="/poll_lesson")
        if isinstance(out[1], str):  # gr.skip() comes back as an update dict
            last = out
            if predicate(out):
                return out
        time.sleep(0.5)
    raise AssertionError(f"timed out; last lesson poll: {last and [str(x)[:200] for x in last]}")


def test_the_learn_lesson_sets_the_form_starts_and_explains(served):
    lab, demo, c = served
    out = c.predict("cpu", api_name="/scenario_learn")
    status, watch = out[-2], out[-1]
    assert "training" in status or "queued" in status
    assert SCENARIOS["learn"].watch in watch
    assert out[4] == "mle" and out[2] == "uniform"  # variant and weights in the form
    done = poll_until(c, lambda o: "Learning: all 8 modes" in o[1] and "it wrote every mode" in str(o[7]))
    headline, explanation, share, scores, table, real, watch, lesson_headline, lesson_explanation, lesson_plot = done
    assert lesson_headline.startswith("**At step ") and SCENARIOS["learn"].why in lesson_explanation
    assert "its outcome showed at step" in watch  # the watch text gives way to the recap, all in view
    assert "effective modes (right axis)" in str(lesson_plot)  # the figure the lesson points to
    assert "Effective modes:" in headline and "of 8" in headline
    assert "effective modes (right axis)" in str(share)
    assert table["data"][0][0] == "real" and "mode" in table["data"][0][2]
    assert "(no critic)" in table["data"][0][3]  # maximum likelihood has no critic to ask
    assert real.count("**mode") == 8 and "true weight 12.5%" in real


def test_a_gan_lesson_shows_the_critics_scores(served):
    lab, demo, c = served
    out = c.predict("cpu", api_name="/scenario_critic_wins")
    assert out[4] == "gan" and "lesson" in out[-2]
    done = poll_until(c, lambda o: any(isinstance(r[3], (int, float)) for r in o[4]["data"]))
    rows = done[4]["data"]
    assert {r[0] for r in rows} == {"real", "generated"}
    assert all(isinstance(r[3], (int, float)) for r in rows)
    assert '"name":"real"' in str(done[3]).replace(" ", "") and '"name":"generated"' in str(done[3]).replace(" ", "")
    c.predict(api_name="/stop")


def test_every_train_control_has_a_line_of_help(served):
    import gradio as gr

    lab, demo, c = served
    (train,) = [b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.label == "Train"]

    def walk(block):
        yield block
        for child in getattr(block, "children", []) or []:
            yield from walk(child)

    inputs = (gr.Number, gr.Slider, gr.Dropdown, gr.Radio, gr.Textbox, gr.Checkbox)
    controls = [b for b in walk(train) if isinstance(b, inputs) and b.interactive is not False and b.label]
    assert len(controls) > 20  # the form, the hyperparameters of every variant, step/speed/save
    missing = [b.label for b in controls if not b.info and b.label not in ("link to these settings",)]
    assert missing == []


@pytest.fixture(scope="module")
def spent(tmp_path_factory):
    """An app whose sessions have no training budget left (a budget of 0 s): every lesson is refused."""
    lab = L.Lab(max_training=1, checkpoints=tmp_path_factory.mktemp("spent"), torch_threads=1, session_budget_s=0.0)
    with serving(lab) as (_, client, _):
        yield lab, client


def test_a_refused_lesson_is_a_message_and_leaves_the_form_as_it_was(spent):
    lab, c = spent
    for key in SCENARIOS:
        out = c.predict("cpu", api_name=f"/scenario_{key.replace('-', '_')}")
        *form, status, watch = out  # (the lesson view's visibility is no value: the client leaves it out)
        assert "budget" in status and "used up" in status, status
        untouched = [x for x in (*form, watch) if not (isinstance(x, dict) and "value" not in x)]
        assert untouched == [], untouched  # every other output is skipped: the form and the view stay as they were
    assert all(s.run is None and s.config is None for s in lab._sessions.values())  # nothing was reset or built


def test_a_lesson_sets_its_steps_and_a_share_link_carries_them(served):
    from app_helpers import form

    lab, demo, c = served
    out = c.predict("cpu", api_name="/scenario_gp_fix")
    assert out[-4] == SCENARIOS["gp-fix"].steps  # the form's "stop after" field, after the hyperparameters
    c.predict(api_name="/stop")
    args = form(c, "/share_link", variant="gan", preset="demo", **{"stop after (steps; 0 = until stopped)": 450})
    link = c.predict(*args, api_name="/share_link")
    query = link["value"] if isinstance(link, dict) else link
    assert "variant=gan" in query and query.endswith("&steps=450"), query
    from textgan.app.train_form import steps_from_query

    assert steps_from_query("450") == (450, []) and steps_from_query(None) == (0, [])
    steps, notices = steps_from_query("-3")
    assert steps == 0 and "ignored steps" in notices[0]


def test_a_lesson_whose_outcome_did_not_show_says_what_a_student_can_do():
    """It said "change [the seed] in the form and press the lesson again", but a lesson button always runs the
    lesson's own seed: the same run again (fails on the old text). Now: press Train with the form's settings."""
    from textgan.app.lesson import lesson_headline

    s = SCENARIOS["collapse"]
    text = lesson_headline(s, [], 8, None, "stopped", s.steps)
    assert "did not show in this run" in text and s.expect in text
    assert "press Train" in text and "press the lesson again" not in text
    assert lesson_headline(s, [], 8, None, "training", 10).startswith("*Watching for:*")  # not while it runs
