"""The lesson parts of the Train tab: one-click scenarios (set the form and start), the "what is mode collapse"
note, the headline (effective modes of K), the live explanation, the mode-share plot, what the critic thinks
(scores per sample, real-vs-generated histogram, the word that looks fake) and the real data beside the fake.

Everything it shows comes from `textgan.lab` (scenarios, diagnosis, critic, help) and `textgan.plots`; it polls the
session on its own timer so the Train tab's poll stays as it is.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from textgan import lab as L
from textgan import plots
from textgan.lab import critic as C
from textgan.lab import help as H
from textgan.lab.diagnosis import diagnose, lesson_story
from textgan.lab.forms import FormValues
from textgan.lab.scenarios import SCENARIOS, form_values

from . import doors

CRITIC_EVERY_S = 3.0
"""Critic scores and histograms are recomputed at most this often per session (they take the run's lock)."""
HIST_N = 256


@dataclass
class LessonParts:
    buttons: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)


SCROLL_JS = ("() => { if (window.innerWidth < 700) { const v = document.querySelector('#lesson-view');"
             " if (v) setTimeout(() => v.scrollIntoView({behavior: 'smooth'}), 300); } }")
"""On a phone the lesson view sits under the whole form: bring it into view after a lesson button is pressed."""


def build_buttons() -> LessonParts:
    """The lessons as small buttons, first in the form's column: above the fold on a desktop, near the top on a
    phone (where the columns stack)."""
    out = LessonParts()
    with gr.Column(elem_id="lessons"):
        gr.Markdown("**One-click lessons** (set the form and start):", min_height=0, padding=False)
        with gr.Row(equal_height=True):
            for key, s in SCENARIOS.items():
                out.buttons[key] = gr.Button(s.label or key, size="sm", elem_id=f"scenario-{key}", min_width=76)
    return out


def build_view(out: LessonParts) -> None:
    """The lesson view, shown while a lesson's run is the session's: what to watch, the lesson's headline and
    explanation (its moment once shown) and the one figure the lesson points to, side by side above the figures
    (at 1280x720 all of it is above the fold)."""
    p = out.parts
    with gr.Row(visible=False, elem_id="lesson-view", equal_height=False) as view:
        with gr.Column(scale=1, min_width=300):
            p["watch"] = gr.Markdown("", elem_id="scenario-watch")
            p["lesson_headline"] = gr.Markdown("", elem_id="lesson-headline")
            p["lesson_explanation"] = gr.Markdown("", elem_id="lesson-explanation")
        with gr.Column(scale=1, min_width=300):
            p["lesson_plot"] = gr.Plot(show_label=False, elem_id="lesson-plot")
    p["view"] = view


def build_live(out: LessonParts) -> None:
    """Under the figures: the headline (effective modes of K), the live explanation, the mode-collapse note."""
    p = out.parts
    p["headline"] = gr.Markdown("**Effective modes:** — (press Train or pick a lesson)", elem_id="headline")
    p["explanation"] = gr.Markdown("", elem_id="explanation", label="what is happening")
    with gr.Accordion("What is mode collapse?", open=False):
        gr.Markdown(H.MODE_COLLAPSE)


def build_panels(out: LessonParts) -> None:
    """Below the samples: mode shares over time, the critic's view, the real data, how to read the numbers."""
    p = out.parts
    with gr.Row():
        p["share_plot"] = gr.Plot(label="mode shares over time", elem_id="share-plot")
        p["score_plot"] = gr.Plot(label="critic scores, real vs generated", elem_id="score-plot")
    p["scored"] = gr.Dataframe(headers=["", "sentence", "mode", "critic score"], label="what the critic thinks "
                               "(higher = looks real; [brackets] = the word that most makes it look fake)",
                               wrap=True, interactive=False, elem_id="scored")
    with gr.Accordion("The real data: each mode's grammar", open=False):
        p["real_data"] = gr.Markdown("")
    with gr.Accordion("How to read the numbers", open=False):
        gr.Markdown("\n".join(f"- **{name}**: {text}" for name, text in H.METRICS.items()))


def real_data_markdown(corpus) -> str:
    """The K grammars with their true weights ({a|b} = one of these words)."""
    if not hasattr(corpus, "grammar_lines"):
        return f"The {corpus.name} corpus has no known modes to show."
    lines = []
    for m in range(corpus.k):
        pats = "; ".join(f"`{g}`" for g in corpus.grammar_lines(m))
        lines.append(f"- **mode {m}** (true weight {corpus.weights[m]:.1%}): {pats}")
    return "{a|b} = one of these words.\n\n" + "\n".join(lines)


def headline(history, k: int | None) -> str:
    if history is None or "eval/modes/effective" not in history:
        return "**Effective modes:** — (appears after the first evaluation on the modes corpus)"
    row = history.dropna(subset=["eval/modes/effective"]).iloc[-1]
    k = k or 8
    covered = round(row.get("eval/modes/coverage", 0) * k)
    return (f"**Effective modes: {row['eval/modes/effective']:.1f} of {k}** · covered (fair share) {covered}/{k} · "
            f"JS divergence from the true weights {row.get('eval/modes/divergence', float('nan')):.2f} · "
            f"precision {row.get('eval/modes/precision', float('nan')):.0%} · step {int(row['step'])}")


def explanation(history, k: int | None, failed: str | None) -> str:
    findings = diagnose(history, k=k, failed=failed)
    if not findings:
        return "*The explanation appears here once training starts.*"
    return "\n\n".join(f.markdown() for f in findings)


def _marked(words: list[tuple[str, float]]) -> str:
    """The sentence with its most fake-looking word in [brackets] (when some word pulls the score down)."""
    if not words:
        return ""
    worst = min(range(len(words)), key=lambda i: words[i][1])
    return " ".join(f"[{w}]" if i == worst and a < 0 else w for i, (w, a) in enumerate(words))


def critic_view(run, n: int = 6, seed: int = 0) -> tuple[list[list[Any]], dict[str, Any] | None]:
    """Rows for the scored table (real then generated) and the score histogram data, or no critic rows."""
    test = run.corpus.test if run.corpus.test.shape[0] else run.corpus.train
    real = test[:n]
    fake = run.sample_tokens(n, seed=seed + run.step)
    rows: list[list[Any]] = []
    try:
        hist = C.score_histogram(run, HIST_N, seed=seed)
        for kind, ids in (("real", real), ("generated", fake)):
            scores = C.critic_scores(run, ids)
            attrs = C.token_attribution(run, ids)
            modes = run.corpus.classify_ids(ids).tolist() if hasattr(run.corpus, "classify_ids") else [None] * n
            for words, score, m in zip(attrs, scores, modes):
                rows.append([kind, _marked(words), _mode_label(m), round(score, 3)])
    except C.NoCritic:
        hist = None
        for kind, ids in (("real", real), ("generated", fake)):
            modes = run.corpus.classify_ids(ids).tolist() if hasattr(run.corpus, "classify_ids") else [None] * n
            for text, m in zip(run.corpus.decode_batch(ids), modes):
                rows.append([kind, text, _mode_label(m), "— (no critic)"])
    return rows, hist


def _mode_label(m) -> str:
    return "" if m is None else ("invalid" if m < 0 else f"mode {m}")


LESSONS: "weakref.WeakKeyDictionary[Any, tuple[int, str]]" = weakref.WeakKeyDictionary()
"""Which lesson each session's run is: session -> (its run_id when the lesson started it, the lesson's key). Kept on
the session object, so it follows the session wherever the lab finds it again, and goes with it."""


def lesson_of(s) -> Any:
    """The scenario of the session's current run when a lesson started it (also after Train continued it)."""
    entry = LESSONS.get(s)
    return SCENARIOS[entry[1]] if entry and entry[0] == s.run_id and s.run is not None else None


def lesson_headline(scenario, history, k: int | None, moment, state: str, step: int) -> str:
    """The lesson view's headline: the recap of its moment once shown; before that, what it is watching for."""
    if moment is not None:
        return f"**{moment.recap}**"
    if state in ("stopped", "failed") and step >= scenario.steps:
        return (f"**The lesson's outcome did not show in this run** (expected: {scenario.expect}). Runs differ "
                "with the seed: the form holds this lesson's settings, so change its seed and press Train to try "
                "them again (a lesson button always runs the lesson's own seed).")
    return f"*Watching for:* {scenario.expect}.  \n{headline(history, k)}"


def lesson_figure(scenario, history, k: int | None, moment, rev: str):
    """The one figure the lesson points to, with its moment marked."""
    if scenario.plot == "grad":
        fig = plots.grad_norm_figure(history, "lgrad" + rev)
    else:
        fig = plots.mode_share_figure(history, k, "lshare" + rev)
    if moment is not None:
        fig.add_vline(x=moment.step, line_dash="dot", annotation_text=f"step {moment.step}")
    return fig


LESSON_FORM = ("corpus", "k", "weights", "preset", "variant", "batch", "seed", "generator", "generator_size", "critic",
               "critic_size")
"""The Train form's inputs a lesson sets (then every hyperparameter, then "stop after")."""


def lesson_form(key: str, device: str | None) -> FormValues:
    """The Train form a lesson fills in: the demo preset on the modes corpus, with the lesson's own settings."""
    values = form_values(key)
    g, cr = values["generator"], values["critic"]
    return FormValues("modes", values["k"], preset="demo", variant=values["variant"], batch=values["batch_size"],
                      seed=values["seed"], device=device or "auto", generator=g["kind"],
                      generator_size=L.net_size("generator", g), critic=cr["kind"] if cr else None,
                      critic_size=L.net_size("critic", cr) if cr else None, weights=values["weights"],
                      hparams=values["hparams"])


def form_updates(form: FormValues, hp_names: list[str]) -> list[Any]:
    """What the Train form shows once a lesson starts: LESSON_FORM's inputs, then every hyperparameter (the
    lesson variant's shown with its values, the others hidden)."""
    has_critic = form.critic is not None
    shown = {"corpus": gr.update(value="modes"), "k": form.k, "weights": form.weights, "preset": form.preset,
             "variant": form.variant, "batch": form.batch, "seed": form.seed, "generator": form.generator,
             "generator_size": form.generator_size,
             "critic": gr.update(value=form.critic, visible=has_critic),
             "critic_size": gr.update(value=form.critic_size, visible=has_critic)}
    hp = form.hparams
    return [*(shown[n] for n in LESSON_FORM),
            *(gr.update(value=hp[n], visible=True) if n in hp else gr.update(visible=False) for n in hp_names)]


def start_lesson(ctx, tab, key: str, device: str | None, request: gr.Request) -> list[Any]:
    """Reset the visitor's run to the lesson's settings and start it; the Train form, the status line and the
    lesson view as the lesson sets them."""
    form, steps, scenario = lesson_form(key, device), SCENARIOS[key].steps, SCENARIOS[key]
    s = ctx.session(request)
    config = tab.config(form, s.name)
    ctx.lab.admit(s, "lesson", steps=steps, replaces_run=True)  # refused before Reset touches the run
    if s.run is not None or s.config is not None:
        s.reset()  # one click starts the lesson afresh (an unsaved run is autosaved first)
    s.configure(config)
    s.prepare()
    s.start(max_steps=steps, stop_when=scenario.stop_rule(steps))
    LESSONS[s] = (s.run_id, key)
    s.tell(f"lesson '{scenario.title}': {steps} steps" + (", or until it shows its outcome"
                                                          if scenario.stop_at_moment else ""))
    watch = f"**{scenario.title}** ({steps} steps). {scenario.watch}"
    return [*form_updates(form, tab.hp_names), steps, L.forms.variant_blurb(form.variant, "demo"), s.status_line(),
            watch, gr.update(visible=True)]


def wire(ctx, tab, out: LessonParts) -> None:
    """Scenario buttons and the lesson's own poll."""
    wire_buttons(ctx, tab, out)
    wire_poll(ctx, out)


def wire_buttons(ctx, tab, out: LessonParts) -> None:
    """Each lesson's button: set the form and start (refused: the message on the status line, all else as it was)."""
    c = tab.parts
    outputs = [*(c[n] for n in LESSON_FORM), *tab.hp_inputs.values(), c["stop_after"], c["paper"], tab.status,
               out.parts["watch"], out.parts["view"]]

    def start_scenario(key):
        @ctx.errors(status=tab.status)  # refused: the message on the status line, the form and view as they were
        def fn(device, request: gr.Request):
            return start_lesson(ctx, tab, key, device, request)

        fn.__name__ = f"scenario_{key.replace('-', '_')}"
        return fn

    for key, btn in out.buttons.items():
        doors.on(btn.click, f"scenario_{key.replace('-', '_')}", start_scenario(key), [tab.device], outputs,
                 status=tab.status, concurrency_id="heavy").then(None, None, None, js=SCROLL_JS)


def lesson_view(s, snap: dict[str, Any], k: int | None, failed: str | None) -> tuple:
    """The lesson view's outputs (watch, headline, explanation, figure, visibility) for the session's run."""
    scenario, h = lesson_of(s), snap["history"]
    if scenario is None:
        return (gr.skip(),) * 4 + (gr.update(visible=False),)
    moment = scenario.moment(h)
    story = (lesson_story(h, k, moment.step, failed, scenario.why) if moment is not None
             else explanation(h, k, failed))
    # once shown, the watch text shrinks to one line: the recap and why take its place, all in view
    watch = (f"**{scenario.title}**: its outcome showed at step {moment.step} (*expected:* "
             f"{scenario.expect}).") if moment is not None else gr.skip()
    return (watch, lesson_headline(scenario, h, k, moment, snap["state"], snap["step"]), story,
            lesson_figure(scenario, h, k, moment, f"r{snap['run_id']}"), gr.update(visible=True))


def wire_poll(ctx, out: LessonParts) -> None:
    """The lesson's own poll: headline, explanation, mode shares, the critic's view, the real data, the view."""
    p = out.parts
    cache: dict[str, Any] = {}  # per visitor: (run_id, time, rows, hist, real data, step)

    def critic_panels(s, snap):
        """The critic's view and the real data, recomputed at most every CRITIC_EVERY_S while training, and
        once more for the run's last step when it stops (so no panel lags behind the others)."""
        run, key, now = s.run, s.name, time.monotonic()  # per visitor: a reloaded tab finds the same entry
        if run is None:
            cache.pop(key, None)
            return [["", "", "", ""]], None, ""
        entry = cache.get(key)
        stale = entry is None or entry[0] != snap["run_id"] or (
            now - entry[1] > CRITIC_EVERY_S if snap["state"] == "training" else entry[5] != snap["step"])
        if stale:
            rows, hist = s.with_run(lambda r: critic_view(r))
            entry = cache[key] = (snap["run_id"], now, rows, hist, real_data_markdown(run.corpus), snap["step"])
            if len(cache) > 256:  # bounded: forget the oldest sessions
                cache.pop(next(iter(cache)))
        return entry[2] or [["", "", "", ""]], entry[3], entry[4]

    def poll(last, request: gr.Request):
        s = ctx.get(request)  # a poll never creates a session
        if s is None or s.version == last:
            return (gr.skip(),) * 12
        snap = s.snapshot()
        h, rev = snap["history"], f"r{snap['run_id']}"
        if s.run is None:  # keep the idle hints: nothing to show yet
            return (snap["version"],) + (gr.skip(),) * 10 + (gr.update(visible=False),)
        k = getattr(s.run.corpus, "k", None)
        failed = snap["message"] if snap["state"] == "failed" else None
        rows, hist, real = critic_panels(s, snap)
        return (snap["version"], headline(h, k), explanation(h, k, failed),
                plots.mode_share_figure(h, k, "share" + rev), plots.score_histogram(hist, "scores" + rev),
                rows, real, *lesson_view(s, snap, k, failed))

    version = gr.State(-1)
    timer = gr.Timer(1.5)
    doors.on(timer.tick, "poll_lesson", poll, [version],
             [version, p["headline"], p["explanation"], p["share_plot"], p["score_plot"], p["scored"], p["real_data"],
              p["watch"], p["lesson_headline"], p["lesson_explanation"], p["lesson_plot"], p["view"]],
             show_progress="hidden", concurrency_limit=None)
