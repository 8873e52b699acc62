"""Issue 15's defects, where they live in textgan.lab (no gradio): nothing saved or trained is lost (Save asks
before replacing, Reset and closed tabs autosave), the oracle's slow build says so, ★ marks only metrics with a
direction, and comparison runs are named as the run list names them."""

import threading
from pathlib import Path

import pytest

from textgan import lab as L
from textgan.lab.forms import FormValues


def tiny(variant="gan", **kw):
    critic = L.net_spec("critic", "cnn", 8) if variant != "mle" else None
    return L.make_config({"kind": "modes", "k": 4}, variant, generator=L.net_spec("generator", "lstm", 16),
                         critic=critic, batch_size=16, device="cpu", sample_every=0, eval_every=0, **kw)


@pytest.fixture
def lab(tmp_path, one_thread):
    lab = L.Lab(max_training=2, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    yield lab
    lab.close_all()


def stepped(lab, key, n=2, variant="gan"):
    s = lab.session(key)
    s.configure(tiny(variant))
    for _ in range(n):
        s.step("iteration")
    return s


def test_save_asks_before_replacing_another_run(lab):
    a, b = stepped(lab, "a"), stepped(lab, "b", variant="mle")
    target = lab.save_dir("mine")
    assert target == lab.checkpoints / "mine"
    a.save_as(target)
    a.step("iteration")
    a.save_as(target)  # where this session saved last: replaced without asking
    with pytest.raises(L.LabError, match="already exists: press Save again"):
        b.save_as(target)  # another session's run is there
    assert L.load_run(target, device="cpu").config.variant == "gan"  # not replaced
    b.save_as(target)  # asked twice: replaced
    assert L.load_run(target, device="cpu").config.variant == "mle"
    for bad in ("", "   ", "///", "autosave-x"):
        with pytest.raises(L.LabError, match="save as"):
            lab.save_dir(bad)


def all_saved(lab) -> list[str]:
    """Every run directory of the lab: the examples and each session's own folder (autosaves land there)."""
    return L.list_checkpoints(lab.checkpoints) + [p for d in sorted((lab.checkpoints / "sessions").glob("*"))
                                                  for p in L.list_checkpoints(d)]


def test_reset_and_closing_keep_an_unsaved_run(lab, monkeypatch):
    s = stepped(lab, "tab", n=3)
    s.reset()
    kept = [Path(p) for p in all_saved(lab)]
    assert lab.runs_for("tab") == [str(kept[0])]  # visible to its own session
    assert len(kept) == 1 and kept[0].name.startswith("autosave-gan-modes") and kept[0].name in s.message
    assert L.load_run(kept[0], device="cpu").step == 3
    s2 = stepped(lab, "tab2", n=2)
    s2.save(lab.save_dir("saved"))
    s2.reset()  # saved: nothing more to keep
    assert len(all_saved(lab)) == 2
    s3 = stepped(lab, "tab3", n=1)
    lab.close("tab3")  # the tab closed or reloaded
    assert len(all_saved(lab)) == 3 and s3.run is None
    # Bounded per visitor (issue 21: pruning was server-wide): each keeps its newest `autosaves_kept` only, and
    # another visitor's Resets never delete them (tests/test_reconnect.py has the rest).
    lab.policy = lab.policy.replace(autosaves_kept=2)
    x = stepped(lab, "x", n=1)
    for _ in range(3):
        x.reset()
        x.step("iteration")
    assert len([p for p in lab.runs_for("x") if Path(p).name.startswith("autosave-")]) == 2
    assert len(all_saved(lab)) == 5  # tab's and tab3's autosaves and tab2's save are still there


def test_building_the_oracle_says_so(lab, monkeypatch):
    import textgan.corpora as corpora

    release, entered = threading.Event(), threading.Event()
    real = corpora.build_corpus

    def slow(spec):
        entered.set()
        release.wait(30)
        return real({"kind": "modes", "k": 4})

    monkeypatch.setattr(corpora, "build_corpus", slow)
    s = lab.session("oracle")
    s.configure(L.make_config({"kind": "oracle"}, "mle", generator=L.net_spec("generator", "lstm", 16),
                              batch_size=16, device="cpu", sample_every=0, eval_every=0))
    t = threading.Thread(target=s.prepare)
    t.start()
    assert entered.wait(30)
    snap = s.snapshot()
    release.set()
    t.join(30)
    assert snap["state"] == "preparing" and "drawing the oracle's samples" in snap["status"], snap["status"]
    assert s.state == "idle" and s.run is not None


def test_best_marks_only_metrics_with_a_direction_among_valid_runs(monkeypatch):
    """wgan's word salad (precision ~0) won distinct-2 and unique; those columns have no direction."""
    metrics = {"good": {"eval/modes/coverage": 0.75, "eval/modes/precision": 0.9, "eval/distinct2": 0.1,
                        "eval/unique": 0.2, "eval/nll_gen": 3.0},
               "salad": {"eval/modes/coverage": 1.0, "eval/modes/precision": 0.01, "eval/distinct2": 0.9,
                         "eval/unique": 1.0, "eval/nll_gen": 2.0}}

    class FakeRun:
        def __init__(self, name):
            self.name, self.step = name, 10
            self.config = type("C", (), {"variant": name})()
            self.corpus = type("Corpus", (), {"name": "modes"})()

    monkeypatch.setattr("textgan.lab.compare.quick_metrics", lambda run, *a, **k: dict(metrics[run.name]))
    table = L.metrics_table({"good": FakeRun("good"), "salad": FakeRun("salad")})
    assert table.attrs["best"] == {"modes/coverage": "good", "modes/precision": "good", "nll_gen": "good"}
    shown = L.mark_best(table)
    assert not any(str(v).startswith("★") for v in shown["distinct2"]) and shown["modes/coverage"][0].startswith("★")


def test_comparison_runs_are_named_as_the_run_list_names_them(tmp_path, monkeypatch, one_thread):
    """Defect 1: under the default relative `checkpoints/`, the sweep reported absolute paths that were not in the
    Compare picker's choices (relative), and the picker errored every second."""
    monkeypatch.chdir(tmp_path)
    lab = L.Lab(max_training=1, checkpoints="checkpoints", torch_threads=1)
    sw = L.Sweep(tiny("gan"), ["mle"], steps=2, out_root=lab.checkpoints, lab=lab, tag="t").start()
    sw.join(120)
    assert sw.done and sw.error is None, sw.status
    assert list(sw.results.values()) == L.list_checkpoints(lab.checkpoints) == ["checkpoints/t-mle-modes-s0"]


def test_a_link_round_trips_the_form_and_ignores_bad_parameters():
    from urllib.parse import parse_qsl

    query, notices = L.forms.share_query(FormValues(
        "modes", 5, preset="paper", variant="gan", batch=64, seed=7, generator="lstm", generator_size=32,
        critic="cnn", hparams={"lr_gen": 0.002, "relaxation": "st", "critic_steps": None}))
    assert notices == [] and query.startswith("?")
    values, notices = L.forms.form_from_query(dict(parse_qsl(query[1:])))
    assert notices == []
    assert values["variant"] == "gan" and values["k"] == 5 and values["seed"] == 7 and values["preset"] == "paper"
    assert values["hparams"] == {"lr_gen": 0.002, "relaxation": "st"}  # only what differs from the preset
    _, notices = L.forms.share_query(FormValues("upload", preset="demo", variant="gan"))
    assert "cannot carry the upload corpus" in notices[0]
    bad = {"variant": "nope", "seed": "-1", "k": "1000", "corpus": "path", "lr_gen": "1e9", "zz": "1",
           "batch": "x" * 100, "__theme": "dark"}
    values, notices = L.forms.form_from_query(bad)
    assert values == {} and len(notices) == 7 and not any("__theme" in n for n in notices), notices
    assert any("seed" in n for n in notices) and any("lr_gen" in n for n in notices)
    _, notices = L.forms.form_from_query({f"p{i}": "1" for i in range(100)})
    assert "only the first 64" in notices[0]


def test_a_link_carries_the_mode_weights():
    """The rare-modes lesson trains on skewed mode weights: a link to its form must open on the same weights (it
    opened on uniform ones: the link did not carry them), and a bad value is named, not applied."""
    from urllib.parse import parse_qsl

    query, notices = L.forms.share_query(FormValues("modes", preset="demo", variant="gan", weights="skewed"))
    assert notices == [] and "weights=skewed" in query
    values, notices = L.forms.form_from_query(dict(parse_qsl(query[1:])))
    assert notices == [] and values["weights"] == "skewed" and values["corpus"] == "modes"
    query, _ = L.forms.share_query(FormValues("modes", preset="demo", variant="gan", weights="uniform"))
    assert "weights" not in query  # the default stays out of the link
    query, _ = L.forms.share_query(FormValues("oracle", preset="demo", variant="gan", weights="skewed"))
    assert "weights" not in query  # only the modes corpus has mode weights
    values, notices = L.forms.form_from_query({"corpus": "modes", "weights": "zipf"})
    assert "weights" not in values and len(notices) == 1 and "weights='zipf'" in notices[0], notices
    assert "uniform" in notices[0] and "skewed" in notices[0]
    values, notices = L.forms.form_from_query({"weights": "s" * 200})
    assert "weights" not in values and "too long" in notices[0]
    with pytest.raises(L.LabError, match="mode weights"):
        L.forms.share_query(FormValues("modes", preset="demo", variant="gan", weights="zipf"))


def test_the_rare_modes_lesson_s_corpus_survives_form_and_link():
    """The rare-modes lesson trains on skewed weights with one sentence pattern for every mode: the form's
    'skewed-alike' choice builds exactly that corpus, and a link carries it back."""
    from urllib.parse import parse_qsl

    from textgan.lab.scenarios import form_values, get_scenario

    lesson = get_scenario("rare-modes")
    assert lesson.corpus == {"kind": "modes", "k": 8, "weights": "skewed", "patterns": "alike"}
    assert form_values("rare-modes")["weights"] == "skewed-alike"
    assert L.forms.corpus_spec("modes", 8, weights="skewed-alike") == lesson.corpus
    assert L.forms.corpus_spec("modes", 8, weights="skewed") == {"kind": "modes", "k": 8, "weights": "skewed"}
    query, notices = L.forms.share_query(FormValues("modes", preset="demo", variant="gan", weights="skewed-alike"))
    values, notices = L.forms.form_from_query(dict(parse_qsl(query[1:])))
    assert notices == [] and values["weights"] == "skewed-alike"
