"""The Train tab: the form (`train_form`: corpus, preset, variant, seed, device, hyperparameters, nets), the controls
(Train, Pause, Resume, Stop, Reset, Step, speed, Save) and the live view (status, four plots, latest samples),
polled once a second. Training itself happens in `textgan.lab.session.Session` (one per browser session).

To add a panel: create its components in a builder here or in `train_form` (in the column where it belongs), keep
them in `TrainTab.parts` by name, and wire its events in the wiring function of its concern; read the form with
`TrainTab.read(values)` (a `FormValues`) and `TrainTab.config(form)`, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import gradio as gr
import pandas as pd

from textgan import lab as L
from textgan import plots
from textgan.lab import forms as F
from textgan.lab import help as H
from textgan.lab.forms import FormValues

from . import doors, lesson, train_form
from .common import AppContext

STEP_KINDS = ["iteration", "critic", "generator"]
IDLE_HINT = "idle · press **Train**, or a one-click lesson (top left)"
"""The status line before any run: kept until there is something else to say."""
RESIZE_JS = "() => { setTimeout(() => window.dispatchEvent(new Event('resize')), 60); }"
"""Run when a tab is shown: Plotly figures drawn while their tab was hidden measured a zero-width box and kept
their default 700 px; a resize event makes each responsive figure fit its box again."""


@dataclass
class TrainTab:
    """The Train tab's components, by name, that its wiring and the other tabs read or update."""

    parts: dict[str, Any]
    """Every component of the tab by name: the form's inputs by their `FormValues` field (parts["corpus"],
    parts["generator_size"]), the rest by what they are (parts["samples"], parts["train_btn"])."""
    hp_inputs: dict[str, Any]
    """One input per hyperparameter of any variant, by its name."""
    plots: dict[str, Any] = field(default_factory=dict)
    ctx: AppContext | None = None

    @property
    def hp_names(self) -> list[str]:
        return list(self.hp_inputs)

    @property
    def form(self) -> list[Any]:
        """Every input that describes a run, in the order the page sends them: `FormValues`' fields, then the
        hyperparameters."""
        return [*(self.parts[name] for name in F.input_names()), *self.hp_inputs.values()]

    def read(self, values: Sequence[Any]) -> FormValues:
        """The form's values, as the page sends them (`form`), by name."""
        return FormValues.from_inputs(values, self.hp_names)

    def config(self, form: FormValues, visitor: str):
        """The RunConfig the form describes for `visitor` (LabError naming the field when one is bad): an upload is
        copied into the visitor's folder, charged to its disk quota."""
        upload_dir, reserve = self.ctx.lab.store_upload(visitor)
        return F.form_config(form, upload_dir=upload_dir, reserve=reserve)

    @property
    def status(self) -> Any:
        return self.parts["status"]

    @property
    def device(self) -> Any:
        return self.parts["device"]


def samples_frame(samples: list[tuple[str, str]], with_modes: bool) -> pd.DataFrame:
    """The latest samples for the table: (sentence, mode) on corpora with modes, the sentence alone otherwise."""
    if with_modes:
        return pd.DataFrame(samples or [("", "")], columns=["sample", "mode"])
    return pd.DataFrame([t for t, _ in samples] or [""], columns=["sample"])


def build(ctx: AppContext, demo: gr.Blocks) -> TrainTab:
    """Lay out the Train tab inside the current Blocks and wire its events. At 1280x720 the variant picker, the
    controls and the four figures are above the fold; Step, speed, Save and the samples follow them."""
    default, preset0 = F.default_config(), F.presets()[0]
    info0 = L.variant_info(default.variant, preset0)
    p: dict[str, Any] = {}
    with gr.Tab("Train") as p["tab_el"]:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                lesson_parts = lesson.build_buttons()  # first: above the fold, and near the top on a phone
                train_form.build_algorithm(p, default.variant, preset0)
                train_form.build_corpus(p, default)
                hp_inputs = train_form.build_hyperparameters(p, info0, F.hp_fields(default.variant, preset0))
                train_form.build_link(p)
            with gr.Column(scale=3):
                figures = build_view(p, lesson_parts)
    tab = TrainTab(parts=p, hp_inputs=hp_inputs, plots=figures, ctx=ctx)
    wire_poll(ctx, tab)
    wire_controls(ctx, tab)
    train_form.wire_form(ctx, demo, tab)
    p["tab_el"].select(None, None, None, js=RESIZE_JS)
    lesson.wire(ctx, tab, lesson_parts)
    return tab


def build_view(p: dict[str, Any], lesson_parts: lesson.LessonParts) -> dict[str, Any]:
    """The right column: status, controls, the lesson view, the four figures, Step / speed / Save, the samples and
    the lesson's panels. Returns the four figures by name."""
    p["status"] = gr.Markdown(IDLE_HINT, elem_id="status")
    with gr.Row():
        for action in ("train", "pause", "resume", "stop", "reset"):
            p[f"{action}_btn"] = gr.Button(action.capitalize(), variant="primary" if action == "train" else "secondary",
                                           elem_id=action, min_width=80)
        p["metric_group"] = gr.Dropdown([(f"metrics: {g}", g) for g in ("auto", *plots.METRIC_GROUPS)],
                                        value="auto", show_label=False, elem_id="metric-group", min_width=150,
                                        scale=0, container=False)
    lesson.build_view(lesson_parts)  # while a lesson runs: its words and its figure, above the fold
    figures = {}
    for row in (("loss", "grad"), ("metrics", "modes")):
        with gr.Row():
            for name in row:
                figures[name] = gr.Plot(show_label=False, elem_id=f"{name}-plot", min_width=240)
    lesson.build_live(lesson_parts)
    with gr.Row():
        p["step_kind"] = gr.Dropdown(STEP_KINDS, value="iteration", label="step", scale=1, info=H.CONTROLS["step"])
        p["step_btn"] = gr.Button("Step", scale=1)
        p["speed"] = gr.Slider(0, 50, value=0, step=1, label="speed (iterations/s, 0 = full)", scale=2,
                               info=H.CONTROLS["speed"])
        p["save_name"] = gr.Textbox(label="save as checkpoints/…", value="my-run", scale=2, info=H.CONTROLS["save"])
        p["save_btn"] = gr.Button("Save", scale=1, elem_id="save")
    p["samples"] = gr.Dataframe(headers=["sample", "mode"], label="latest samples", wrap=True, interactive=False,
                                elem_id="samples")
    lesson.build_panels(lesson_parts)
    return figures


def wire_poll(ctx: AppContext, tab: TrainTab) -> None:
    """The once-a-second poll of the visitor's run (status, figures, samples) and the metrics group's redraw."""
    c, p = tab.parts, tab.plots

    def poll(last, group, request: gr.Request):
        s = ctx.get(request)  # a poll never creates a session, and never raises for want of one
        if s is None or s.version == last:
            return (gr.skip(),) * 7
        snap = s.snapshot()
        h, rev = snap["history"], f"r{snap['run_id']}"
        hist = snap["hist"] or {}
        modes = snap["has_modes"]  # None before a run: the corpus picker decides what is shown
        if s.run is not None and modes and snap["state"] != "training" and hist.get("step") != snap["step"]:
            hist = s.with_run(lambda r: L.mode_counts(r, n=256, seed=10_007 + r.step))  # the run's last step
        status = gr.skip() if snap["state"] == "idle" and not snap["message"] else snap["status"]
        modes_fig = plots.mode_histogram(hist.get("counts"), hist.get("weights"), hist.get("invalid", 0),
                                         hist.get("step"), "modes" + rev)
        return (snap["version"], status, plots.loss_figure(h, "loss" + rev),
                plots.grad_norm_figure(h, "grad" + rev), plots.metrics_figure(h, "metrics" + rev, group or "auto"),
                modes_fig if modes is None else gr.update(value=modes_fig, visible=modes),
                samples_frame(snap["samples"], modes is not False))

    version, timer = gr.State(-1), gr.Timer(1.0)
    poll_out = [version, c["status"], p["loss"], p["grad"], p["metrics"], p["modes"], c["samples"]]
    doors.on(timer.tick, "poll", poll, [version, c["metric_group"]], poll_out, status=c["status"],
             show_progress="hidden", concurrency_limit=None)
    doors.on(c["metric_group"].change, "redraw", lambda: -1, None, version)  # redraw at the next poll


def existing(ctx: AppContext, request: gr.Request) -> L.Session:
    """The visitor's session for a control that neither trains nor stores (never created by it)."""
    s = ctx.get(request)
    if s is None:
        raise L.LabError("nothing to control yet: press Train, or a one-click lesson")
    return s


def control(ctx: AppContext, action: str):
    """The handler of Pause, Resume, Stop or Reset: the session's method of that name."""
    @ctx.errors()
    def fn(request: gr.Request):
        s = existing(ctx, request)
        getattr(s, action)()
        return s.status_line()
    fn.__name__ = action
    return fn


def wire_controls(ctx: AppContext, tab: TrainTab) -> None:
    """Train, Pause, Resume, Stop, Reset, Step, speed, Apply and Save: the controls of the visitor's run."""
    c, status, errors = tab.parts, tab.parts["status"], ctx.errors

    @errors()
    def train(request: gr.Request, oauth: gr.OAuthToken | None, *values):  # oauth: a Hub corpus the visitor may read
        *form, stop = values
        steps = train_form.stop_after_steps(stop)
        s = ctx.session(request)
        if s.run is None:
            s.configure(tab.config(tab.read(form), s.name))
            s.prepare()  # bad corpus / sizes are reported here, not by the worker a moment later
        elif not s.loaded:  # Train continues the run: say so when the form now asks for another algorithm or corpus
            wanted, have = tab.config(tab.read(form), s.name), s.run.config
            if F.run_identity(wanted) != F.run_identity(have):
                raise L.LabError(f"this session's run is {F.describe_config(have)} and Train continues it; "
                                 f"the form now says {F.describe_config(wanted)}: press Reset to start that "
                                 "(Save first to keep this run), or set the form back to continue")
        s.start(max_steps=steps)
        return s.status_line()

    @errors()
    def step(request: gr.Request, oauth: gr.OAuthToken | None, kind, *form):
        s = ctx.session(request)
        if s.run is None and s.config is None:
            s.configure(tab.config(tab.read(form), s.name))
        s.step(kind)
        return s.status_line()

    @errors()
    def set_speed(speed, request: gr.Request):
        s = existing(ctx, request)
        s.set_speed(speed)
        return s.status_line()

    @errors()
    def apply(request: gr.Request, batch, *hp):
        s = existing(ctx, request)
        if s.run is None:
            raise L.LabError("no run yet: the form's values are used when you press Train")
        names = L.variant_defaults(s.run.config.variant)
        s.update_hyperparameters(batch_size=batch, **{n: v for n, v in zip(tab.hp_names, hp) if n in names})
        return s.status_line()

    @errors()
    def save(name, request: gr.Request):
        s = existing(ctx, request)
        s.save_as(ctx.lab.save_dir(name, s))  # a directory that exists is replaced only when asked twice
        return s.status_line()

    # Actions that build nets share the "heavy" limit: their work never takes every server thread from the polls.
    doors.on(c["train_btn"].click, "train", train, [*tab.form, c["stop_after"]], status, status=status,
             concurrency_id="heavy")
    for action in ("pause", "resume", "stop", "reset"):
        doors.on(c[f"{action}_btn"].click, action, control(ctx, action), None, status, status=status,
                 concurrency_limit=None)
    doors.on(c["step_btn"].click, "step", step, [c["step_kind"], *tab.form], status, status=status,
             concurrency_id="heavy")
    doors.on(c["speed"].change, "speed", set_speed, c["speed"], status, status=status, concurrency_limit=None)
    doors.on(c["apply_btn"].click, "apply", apply, [c["batch"], *tab.hp_inputs.values()], status, status=status,
             concurrency_limit=None)
    doors.on(c["save_btn"].click, "save", save, c["save_name"], status, status=status, concurrency_id="heavy")
