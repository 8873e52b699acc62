"""The lesson parts of the real app, driven with gradio_client: a lesson button sets the form and starts its run,
and the lesson poll brings the headline (effective modes of K), the explanation, the mode-share plot, the critic's
scores and the real data. Every control of the Train tab carries one line of help."""

import time

import pytest

from app_helpers import launch
from textgan import lab as L
from textgan.lab.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lab = L.Lab(max_training=1, checkpoints=tmp_path_factory.mktemp("checkpoints"), torch_threads=1)
    demo, client, url = launch(lab)
    yield lab, demo, client
    lab.close_all()
    demo.close()


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
    done = poll_until(c, lambda o: "Learning: all 8 modes" in o[1])
    headline, explanation, share, scores, table, real = done
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
