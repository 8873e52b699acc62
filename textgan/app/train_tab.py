"""The Train tab: the form (corpus, preset, variant, seed, device, hyperparameters, nets), the controls (Train,
Pause, Resume, Stop, Reset, Step, speed, Save) and the live view (status, four plots, latest samples), polled
once a second. Training itself happens in `textgan.lab.session.Session` (one per browser session).

To add a panel: create its components in `build` (in the column where it belongs), keep them on `TrainTab`, and
wire its events in `_wire`; read the form with `TrainTab.config(*values)`, never by re-parsing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from textgan import lab as L
from textgan import plots
from textgan.lab import help as H

from . import doors, lesson
from .common import AppContext

STEP_KINDS = ["iteration", "critic", "generator"]
CORPORA = ["modes", "oracle", "coco", "hub", "upload", "path"]


@dataclass
class TrainTab:
    """The Train tab's components that other tabs read or update."""

    form: list[Any]
    """Every input that describes a run, in `L.form_config`'s order, then the mode weights, then one per
    hyperparameter (`hp_names`)."""
    hp_names: list[str]
    preset: Any
    variant: Any
    device: Any
    device_md: Any
    status: Any
    plots: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)
    """Every component of the tab by its name in `build` (e.g. parts["samples"], parts["train_btn"])."""
    ctx: AppContext | None = None

    def config(self, *values):
        """The RunConfig the form's `values` describe (LabError naming the field when one is bad)."""
        fixed, weights, hp = values[:13], values[13], values[14:]
        return L.form_config(*fixed, hparams=dict(zip(self.hp_names, hp)),
                             upload_dir=self.ctx.lab.checkpoints / "uploads", weights=weights)

    @staticmethod
    def preset_of(values) -> str:
        return values[4] or "paper"


def samples_frame(samples: list[tuple[str, str]], with_modes: bool):
    """The latest samples for the table: (sentence, mode) on corpora with modes, the sentence alone otherwise."""
    import pandas as pd

    if with_modes:
        return pd.DataFrame(samples or [("", "")], columns=["sample", "mode"])
    return pd.DataFrame([t for t, _ in samples] or [""], columns=["sample"])


def hp_input(name: str, value, visible: bool):
    """The form control of one hyperparameter, by its type."""
    choices = L.forms.choices_for(name)
    if choices is not None:
        return gr.Dropdown(choices, value=value, label=name, visible=visible, elem_id=f"hp-{name}",
                           info=H.hp_help(name) or None)
    if isinstance(value, bool):
        return gr.Checkbox(value=value, label=name, visible=visible, elem_id=f"hp-{name}", info=H.hp_help(name) or None)
    if isinstance(value, (int, float)):
        return gr.Number(value, label=name, precision=0 if isinstance(value, int) else None, visible=visible,
                         elem_id=f"hp-{name}", info=H.hp_help(name) or None)
    return gr.Textbox(str(value), label=name, visible=visible, elem_id=f"hp-{name}", info=H.hp_help(name) or None)


LINK_JS = ("(q) => { if (typeof q !== 'string' || !q.startsWith('?')) return q;"
           " const url = location.origin + location.pathname + q;"
           " if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {}); return url; }")
"""Turns the server's query string into this page's full link and copies it (where the browser allows)."""
IDLE_HINT = "idle · press **Train**, or a one-click lesson (top left)"
"""The status line before any run: kept until there is something else to say."""
RESIZE_JS = "() => { setTimeout(() => window.dispatchEvent(new Event('resize')), 60); }"
"""Run when a tab is shown: Plotly figures drawn while their tab was hidden measured a zero-width box and kept
their default 700 px; a resize event makes each responsive figure fit its box again."""


MAX_STOP_AFTER = 1_000_000
"""The largest "stop after" a form or a link may ask for (the session's training budget ends a run sooner)."""


def _stop_after(value) -> int | None:
    """The "stop after" field as a step count (None = until stopped); refused with its name when out of range."""
    steps = L.as_int(value if value not in (None, "") else 0, "stop after (steps)")
    if not 0 <= steps <= MAX_STOP_AFTER:
        raise L.LabError(f"stop after (steps)={steps} must be in 0..{MAX_STOP_AFTER} (0 = until stopped)")
    return steps or None


def _steps_from_query(raw: str | None) -> tuple[int, list[str]]:
    """A link's `steps` (a lesson's step count) for the "stop after" field, or 0 with a notice when it is bad."""
    if raw is None:
        return 0, []
    try:
        return _stop_after(str(raw)[:16]) or 0, []
    except L.LabError as e:
        return 0, [f"ignored steps: {e}"]


def build(ctx: AppContext, demo: gr.Blocks) -> TrainTab:
    """Lay out the Train tab inside the current Blocks and wire its events. At 1280x720 the variant picker, the
    controls and the four figures are above the fold; Step, speed, Save and the samples follow them."""
    default = L.forms.default_config()
    preset0 = L.presets()[0]
    info0 = L.variant_info(default.variant, preset0)
    hp = L.forms.hp_fields(default.variant, preset0)
    with gr.Tab("Train") as tab_el:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                lesson_parts = lesson.build_buttons()  # first: above the fold, and near the top on a phone
                with gr.Row():
                    variant = gr.Dropdown(L.forms.variant_names(), value=default.variant, label="variant",
                                          elem_id="variant", min_width=120, info=H.CONTROLS["variant"])
                    preset = gr.Radio(list(L.presets()), value=preset0, label="preset", elem_id="preset",
                                      min_width=120, info=H.CONTROLS["preset"])
                paper = gr.Markdown(L.forms.variant_blurb(default.variant, preset0), elem_id="variant-blurb")
                kind = gr.Radio(CORPORA, value="modes", label="corpus", elem_id="corpus", info=H.CONTROLS["corpus"])
                k = gr.Slider(2, 64, value=default.corpus.get("k", 8), step=1, label="K (modes)", elem_id="k",
                              info=H.CONTROLS["k"])
                weights = gr.Radio(L.forms.MODE_WEIGHT_LABELS, value="uniform", label="mode weights",
                                   elem_id="weights", info=H.CONTROLS["weights"])
                upload = gr.File(label="upload a .txt corpus (one sentence per line)", type="filepath",
                                 file_types=[".txt"], visible=False, elem_id="upload")  # its label says what
                path = gr.Textbox(label="a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)",
                                  placeholder="OWNER/NAME:train.txt", visible=False, elem_id="path",
                                  info=H.CONTROLS["path"])
                with gr.Row():
                    # No minimum here: Gradio would refuse a bad value before the lab could name the field, and
                    # refuse every later click while it stays in the form.
                    seed = gr.Number(default.seed, label="seed", precision=0, elem_id="seed", min_width=80,
                                     info=H.CONTROLS["seed"])
                    device = gr.Dropdown(["auto", "cpu"], value=default.device, label="device", min_width=80,
                                         info=H.CONTROLS["device"])
                device_md = gr.Markdown("device: …")
                gdef, cdef = info0["generator"], info0["critic"]
                with gr.Accordion("hyperparameters (the preset's values; Apply changes them while paused)", open=False,
                                  elem_id="hyperparameters"):
                    batch = gr.Number(info0["batch_size"], label="batch size", precision=0, elem_id="batch",
                                      info=H.CONTROLS["batch"])
                    hp_inputs = [hp_input(n, v, n in info0["defaults"]) for n, v in hp.items()]
                    with gr.Row():
                        gkind = gr.Dropdown(L.net_kinds("generator"), value=gdef["kind"], label="generator",
                                            info=H.CONTROLS["generator"])
                        gsize = gr.Number(L.net_size("generator", gdef), label="generator size", precision=0,
                                          info=H.CONTROLS["generator size"])
                    with gr.Row():
                        ckind = gr.Dropdown(L.net_kinds("critic"), value=cdef["kind"] if cdef else None, label="critic",
                                            info=H.CONTROLS["critic"])
                        csize = gr.Number(L.net_size("critic", cdef) if cdef else None, label="critic size",
                                          precision=0, info=H.CONTROLS["critic size"])
                    apply_btn = gr.Button("Apply (while paused)")
                    stop_after = gr.Number(0, label="stop after (steps; 0 = until stopped)", precision=0,
                                           elem_id="stop-after", info=H.STOP_AFTER)
                with gr.Row():
                    link_btn = gr.Button("copy link to these settings", size="sm", elem_id="copy-link")
                link = gr.Textbox(label="link to these settings", visible=False, elem_id="share-link",
                                  buttons=["copy"], interactive=False)
            with gr.Column(scale=3):
                status = gr.Markdown(IDLE_HINT, elem_id="status")
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary", elem_id="train", min_width=80)
                    pause_btn = gr.Button("Pause", elem_id="pause", min_width=80)
                    resume_btn = gr.Button("Resume", elem_id="resume", min_width=80)
                    stop_btn = gr.Button("Stop", elem_id="stop", min_width=80)
                    reset_btn = gr.Button("Reset", elem_id="reset", min_width=80)
                    metric_group = gr.Dropdown([(f"metrics: {g}", g) for g in ("auto", *plots.METRIC_GROUPS)],
                                               value="auto", show_label=False, elem_id="metric-group",
                                               min_width=150, scale=0, container=False)
                lesson.build_view(lesson_parts)  # while a lesson runs: its words and its figure, above the fold
                with gr.Row():
                    loss_plot = gr.Plot(show_label=False, elem_id="loss-plot", min_width=240)
                    grad_plot = gr.Plot(show_label=False, elem_id="grad-plot", min_width=240)
                with gr.Row():
                    metrics_plot = gr.Plot(show_label=False, elem_id="metrics-plot", min_width=240)
                    modes_plot = gr.Plot(show_label=False, elem_id="modes-plot", min_width=240)
                lesson.build_live(lesson_parts)
                with gr.Row():
                    step_kind = gr.Dropdown(STEP_KINDS, value="iteration", label="step", scale=1,
                                            info=H.CONTROLS["step"])
                    step_btn = gr.Button("Step", scale=1)
                    speed = gr.Slider(0, 50, value=0, step=1, label="speed (iterations/s, 0 = full)", scale=2,
                                      info=H.CONTROLS["speed"])
                    save_name = gr.Textbox(label="save as checkpoints/…", value="my-run", scale=2,
                                           info=H.CONTROLS["save"])
                    save_btn = gr.Button("Save", scale=1, elem_id="save")
                samples = gr.Dataframe(headers=["sample", "mode"], label="latest samples", wrap=True,
                                       interactive=False, elem_id="samples")
                lesson.build_panels(lesson_parts)
    form = [kind, k, upload, path, preset, variant, batch, seed, device, gkind, gsize, ckind, csize, weights,
            *hp_inputs]
    tab = TrainTab(form=form, hp_names=list(hp), preset=preset, variant=variant, device=device,
                   device_md=device_md, status=status, ctx=ctx,
                   plots={"loss": loss_plot, "grad": grad_plot, "metrics": metrics_plot, "modes": modes_plot})
    tab.parts = {name: v for name, v in locals().items() if isinstance(v, (gr.blocks.Block, list)) and name != "form"}
    _wire(ctx, demo, tab)
    lesson.wire(ctx, demo, tab, lesson_parts)
    return tab


def _wire(ctx: AppContext, demo: gr.Blocks, tab: TrainTab) -> None:
    """The Train tab's events."""
    c = tab.parts
    default, preset0 = L.forms.default_config(), L.presets()[0]
    errors = ctx.errors
    hp_names = tab.hp_names

    @errors()
    def train(request: gr.Request, oauth: gr.OAuthToken | None, *values):  # oauth: a Hub corpus the visitor may read
        *form, stop = values
        steps = _stop_after(stop)
        s = ctx.session(request)
        if s.run is None:
            s.configure(tab.config(*form))
            s.prepare()  # bad corpus / sizes are reported here, not by the worker a moment later
        elif not s.loaded:  # Train continues the run: say so when the form now asks for another algorithm or corpus
            wanted, have = tab.config(*form), s.run.config
            if L.forms.run_identity(wanted) != L.forms.run_identity(have):
                raise L.LabError(f"this session's run is {L.forms.describe_config(have)} and Train continues it; "
                                 f"the form now says {L.forms.describe_config(wanted)}: press Reset to start that "
                                 "(Save first to keep this run), or set the form back to continue")
        s.start(max_steps=steps)
        return s.status_line()

    def existing(request: gr.Request) -> L.Session:
        """The visitor's session for a control that neither trains nor stores (never created by it)."""
        s = ctx.get(request)
        if s is None:
            raise L.LabError("nothing to control yet: press Train, or a one-click lesson")
        return s

    def control(action):
        @errors()
        def fn(request: gr.Request):
            s = existing(request)
            getattr(s, action)()
            return s.status_line()
        fn.__name__ = action
        return fn

    @errors()
    def step(request: gr.Request, oauth: gr.OAuthToken | None, kind, *form):
        s = ctx.session(request)
        if s.run is None and s.config is None:
            s.configure(tab.config(*form))
        s.step(kind)
        return s.status_line()

    @errors()
    def set_speed(speed, request: gr.Request):
        s = existing(request)
        s.set_speed(speed)
        return s.status_line()

    @errors()
    def apply(request: gr.Request, batch, *hp):
        s = existing(request)
        if s.run is None:
            raise L.LabError("no run yet: the form's values are used when you press Train")
        names = L.variant_defaults(s.run.config.variant)
        s.update_hyperparameters(batch_size=batch, **{n: v for n, v in zip(hp_names, hp) if n in names})
        return s.status_line()

    @errors()
    def save(name, request: gr.Request):
        s = existing(request)
        s.save_as(ctx.lab.save_dir(name, s))  # a directory that exists is replaced only when asked twice
        return s.status_line()

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

    def pick_variant(variant, preset):
        info = L.variant_info(variant, preset or "paper")
        d = info["defaults"]
        hp = [gr.update(value=d[n], visible=True) if n in d else gr.update(visible=False) for n in hp_names]
        g, cr = info["generator"], info["critic"]
        return [L.forms.variant_blurb(variant, preset or "paper"), info["batch_size"], gr.update(value=g["kind"]),
                L.net_size("generator", g),
                gr.update(value=cr["kind"] if cr else None, visible=cr is not None),
                gr.update(value=L.net_size("critic", cr) if cr else None, visible=cr is not None), *hp]

    def page_load():
        return gr.update(choices=L.forms.device_choices()), L.forms.device_note()

    def show_corpus_inputs(kind):
        """Only the chosen corpus's inputs: K on modes, the file box on upload, the path box on path and hub."""
        return (gr.update(visible=kind == "modes"), gr.update(visible=kind == "upload"),
                gr.update(visible=kind in ("path", "hub")), gr.update(visible=kind == "modes"),
                gr.update(visible=kind == "modes"))

    def restore(request: gr.Request):
        """The form a shared link describes (its query parameters); what cannot be restored is named on the
        status line and ignored."""
        params = dict(request.query_params)
        steps, notices = _steps_from_query(params.pop("steps", None))
        values, more = L.forms.form_from_query(params)
        notices += more
        variant = values.get("variant", default.variant)
        preset = values.get("preset", preset0)
        picked = pick_variant(variant, preset)
        info = L.variant_info(variant, preset)
        if "batch" in values:
            picked[1] = values["batch"]
        for i, role in ((2, "generator"), (4, "critic")):
            base = info[role]
            if base is None:
                continue
            spec = L.form_net(role, values.get(role, base["kind"]), values.get(f"{role}_size"), base)
            picked[i] = gr.update(value=spec["kind"], visible=True)
            picked[i + 1] = gr.update(value=L.net_size(role, spec), visible=True)
        for name, value in values.get("hparams", {}).items():
            picked[6 + hp_names.index(name)] = gr.update(value=value, visible=True)
        notice = gr.skip()
        if notices:
            notice = ctx.shown("the link's settings were restored except: " + "; ".join(notices))
        corpus = values.get("corpus", "modes")
        return [steps, corpus, values.get("k", default.corpus.get("k", 8)), values.get("weights", "uniform"), preset,
                variant, values.get("seed", default.seed), *picked, notice]

    @errors(status_only=False)
    def make_link(*values):
        *form, stop = values
        kind, k, _, _, preset, variant, batch, seed, _, gkind, gsize, ckind, csize, weights, *hp = form
        query, notices = L.forms.share_query(kind, k, preset, variant, batch, seed, gkind, gsize, ckind, csize,
                                             dict(zip(hp_names, hp)), weights=weights)
        steps = _stop_after(stop)
        query += f"&steps={steps}" if steps else ""  # a lesson's step count travels with its settings
        return gr.update(value=query, visible=True, info="; ".join(notices) or None)

    form, version = tab.form, gr.State(-1)
    p = tab.plots
    timer = gr.Timer(1.0)
    poll_out = [version, c["status"], p["loss"], p["grad"], p["metrics"], p["modes"], c["samples"]]
    status = c["status"]
    doors.on(timer.tick, "poll", poll, [version, c["metric_group"]], poll_out, status=status, show_progress="hidden",
             concurrency_limit=None)
    doors.on(c["metric_group"].change, "redraw", lambda: -1, None, version)  # redraw at the next poll
    # Actions that build nets share the "heavy" limit: their work never takes every server thread from the polls.
    doors.on(c["train_btn"].click, "train", train, [*form, c["stop_after"]], status, status=status,
             concurrency_id="heavy")
    for action in ("pause", "resume", "stop", "reset"):
        doors.on(c[f"{action}_btn"].click, action, control(action), None, status, status=status,
                 concurrency_limit=None)
    doors.on(c["step_btn"].click, "step", step, [c["step_kind"], *form], status, status=status,
             concurrency_id="heavy")
    doors.on(c["speed"].change, "speed", set_speed, c["speed"], status, status=status, concurrency_limit=None)
    doors.on(c["apply_btn"].click, "apply", apply, [c["batch"], *c["hp_inputs"]], status, status=status,
             concurrency_limit=None)
    doors.on(c["save_btn"].click, "save", save, c["save_name"], status, status=status, concurrency_id="heavy")
    picked = [c["paper"], c["batch"], c["gkind"], c["gsize"], c["ckind"], c["csize"], *c["hp_inputs"]]
    # .input, not .change: a shared link sets the variant and then its own hyperparameters, which a change event
    # would overwrite with the preset's.
    doors.on(c["variant"].input, "pick_variant", pick_variant, [c["variant"], c["preset"]], picked)
    doors.on(c["preset"].input, "preset_defaults", pick_variant, [c["variant"], c["preset"]], picked)
    doors.on(c["kind"].change, "corpus_inputs", show_corpus_inputs, c["kind"],
             [c["k"], c["upload"], c["path"], p["modes"], c["weights"]])
    doors.on(demo.load, "restore_link", restore, None,
             [c["stop_after"], c["kind"], c["k"], c["weights"], c["preset"], c["variant"], c["seed"], *picked,
              c["status"]])
    doors.on(demo.load, "device_choices", page_load, None, [tab.device, tab.device_md])
    doors.on(c["link_btn"].click, "share_link", make_link, [*form, c["stop_after"]], c["link"]).then(
        None, c["link"], c["link"], js=LINK_JS)
    c["tab_el"].select(None, None, None, js=RESIZE_JS)
