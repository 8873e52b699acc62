"""The lesson parts of the Train tab: one-click scenarios (set the form and start), the "what is mode collapse"
note, the headline (effective modes of K), the live explanation, the mode-share plot, what the critic thinks
(scores per sample, real-vs-generated histogram, the word that looks fake) and the real data beside the fake.

Everything it shows comes from `textgan.lab` (scenarios, diagnosis, critic, help) and `textgan.plots`; it polls the
session on its own timer so the Train tab's poll stays as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from textgan import lab as L
from textgan import plots
from textgan.lab import critic as C
from textgan.lab import help as H
from textgan.lab.diagnosis import diagnose
from textgan.lab.scenarios import SCENARIOS, form_values

from . import doors

CRITIC_EVERY_S = 3.0
"""Critic scores and histograms are recomputed at most this often per session (they take the run's lock)."""
HIST_N = 256


@dataclass
class LessonParts:
    buttons: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)


def build_top() -> LessonParts:
    """The lessons as one row of buttons, and what to watch in the one started."""
    out = LessonParts()
    with gr.Row(equal_height=True):
        gr.Markdown("**One-click lessons** (set the form and start):", min_height=0)
        for key, s in SCENARIOS.items():
            out.buttons[key] = gr.Button(s.title.split(" (")[0], size="sm", elem_id=f"scenario-{key}", min_width=100)
    out.parts["watch"] = gr.Markdown("", elem_id="scenario-watch")
    return out


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


def wire(ctx, demo: gr.Blocks, tab, out: LessonParts) -> None:
    """Scenario buttons and the lesson's own poll."""
    c = tab.parts
    p = out.parts
    cache: dict[str, Any] = {}  # per session hash: (last critic time, rows, hist)
    form_out = [c["kind"], c["k"], c["weights"], c["preset"], c["variant"], c["batch"], c["seed"], c["gkind"],
                c["gsize"], c["ckind"], c["csize"], *c["hp_inputs"]]

    def start_scenario(key):
        @ctx.errors(status=tab.status)  # refused: the message on the status line, the form as it was
        def fn(device, request: gr.Request):
            """A refusal (busy, budget, cap) is a message on the status line; the form stays as it was."""
            return started(key, device, request)

        fn.__name__ = f"scenario_{key.replace('-', '_')}"
        return fn

    def started(key, device, request: gr.Request):
        values = form_values(key)
        s = ctx.session(request)
        g, cr = values["generator"], values["critic"]
        config = L.form_config("modes", values["k"], None, None, "demo", values["variant"], values["batch_size"],
                               values["seed"], device or "auto", g["kind"], L.net_size("generator", g),
                               cr["kind"] if cr else None, L.net_size("critic", cr) if cr else None,
                               hparams=values["hparams"], weights=values["weights"],
                               upload_dir=ctx.lab.checkpoints / "uploads")
        ctx.lab.admit(s, "lesson", steps=values["steps"], replaces_run=True)  # before the old run is reset
        if s.run is not None or s.config is not None:
            s.reset()  # one click starts the lesson afresh (Save first to keep a run)
        s.configure(config)
        s.prepare()
        s.start(max_steps=values["steps"])
        s.tell(f"lesson '{SCENARIOS[key].title}': {values['steps']} steps")
        hp = values["hparams"]
        scenario = SCENARIOS[key]
        watch = f"**{scenario.title}** ({values['steps']} steps). {scenario.watch}  \n*Expect:* {scenario.expect}."
        return [gr.update(value="modes"), values["k"], values["weights"], "demo", values["variant"],
                values["batch_size"], values["seed"], g["kind"], L.net_size("generator", g),
                gr.update(value=cr["kind"] if cr else None, visible=cr is not None),
                gr.update(value=L.net_size("critic", cr) if cr else None, visible=cr is not None),
                *[gr.update(value=hp[n], visible=True) if n in hp else gr.update(visible=False)
                  for n in tab.hp_names],
                L.forms.variant_blurb(values["variant"], "demo"), s.status_line(), watch]

    for key, btn in out.buttons.items():
        doors.on(btn.click, f"scenario_{key.replace('-', '_')}", start_scenario(key), [tab.device],
                 [*form_out, c["paper"], tab.status, p["watch"]], status=tab.status, concurrency_id="heavy")

    def poll(last, request: gr.Request):
        s = ctx.get(request)  # a poll never creates a session
        if s is None or s.version == last:
            return (gr.skip(),) * 7
        snap = s.snapshot()
        h, rev = snap["history"], f"r{snap['run_id']}"
        run = s.run
        corpus = run.corpus if run is not None else None
        k = getattr(corpus, "k", None)
        failed = snap["message"] if snap["state"] == "failed" else None
        key = s.name
        now = time.monotonic()
        entry = cache.get(key)
        if run is not None and (entry is None or entry[0] != snap["run_id"] or now - entry[1] > CRITIC_EVERY_S):
            rows, hist = s.with_run(lambda r: critic_view(r))
            entry = cache[key] = (snap["run_id"], now, rows, hist, real_data_markdown(corpus))
            if len(cache) > 256:  # bounded: forget the oldest sessions
                cache.pop(next(iter(cache)))
        if run is None:
            cache.pop(key, None)
            entry = None
        rows, hist, real = (entry[2], entry[3], entry[4]) if entry else ([["", "", "", ""]], None, "")
        return (snap["version"], headline(h, k), explanation(h, k, failed),
                plots.mode_share_figure(h, k, "share" + rev), plots.score_histogram(hist, "scores" + rev),
                rows or [["", "", "", ""]], real)

    version = gr.State(-1)
    timer = gr.Timer(1.5)
    doors.on(timer.tick, "poll_lesson", poll, [version], [version, p["headline"], p["explanation"], p["share_plot"],
                                                         p["score_plot"], p["scored"], p["real_data"]],
             show_progress="hidden", concurrency_limit=None)
