"""The Compare tab, wired here: pick runs (this session's, saved, pulled), compare them at one seed and
temperature (samples side by side, a metrics table with ★ per column, one curve for all), sweep temperatures for
quality vs diversity, continue a saved run in the Train tab, and "Train and compare" several variants on the Train
tab's corpus and seed (`textgan.lab.multi.Sweep`, polled once a second). The numbers come from
`textgan.lab.compare`.

Experiment directories (`python -m textgan sweep`) open in their own accordion (`textgan.lab.experiments`). To add a
source of runs, extend `runs_for` and the picker's choices (`AppContext.checkpoint_choices`); to add a panel, create
it in the builder of its part of the page (`build_picker`, `build_results`, `build_experiments`), keep it in the
parts by name, and wire it in the wiring function of its concern. The curve picker's keys and plain names come from
the metrics catalog (`textgan.metrics.catalog.COMPARE_CURVES`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from textgan import lab as L
from textgan import plots
from textgan.lab.compare import PLAIN, plain_table, raw_keys
from textgan.metrics.catalog import COMPARE_CURVES, plain_name

from . import doors
from .common import THIS, AppContext
from .train_tab import RESIZE_JS, TrainTab

log = logging.getLogger(__name__)

HOVER_JS = ("() => { const keys = " + json.dumps(raw_keys(PLAIN.values())) + ";"
            " const label = () => document.querySelectorAll('#cmp-table th').forEach(th => {"
            " const h = th.querySelector('.header'); const name = h ? h.innerText.trim() : '';"
            " const want = keys[name] ? name + ' = ' + keys[name] : '';"
            " if (want && th.title !== want) th.title = want; });"
            " const root = document.querySelector('#cmp-table'); label();"
            " if (root && !root.dataset.hover) { root.dataset.hover = '1';"
            " new MutationObserver(label).observe(root, {childList: true, subtree: true}); } }")
"""The metrics table speaks plain words; hovering a column's name shows its raw key (e.g. `modes/effective`).

A MutationObserver keeps the titles when Gradio re-renders the table (a sweep's poll redraws it every second);
a one-shot timer lost them under load."""


@dataclass
class CompareTab:
    """The Compare tab's components that other tabs update."""

    runs: Any
    """The run picker (a CheckboxGroup of THIS and saved run directories)."""
    refresh: Any
    message: Any


def build(ctx: AppContext, demo: gr.Blocks, train: TrainTab) -> CompareTab:
    """Lay out the Compare tab inside the current Blocks and wire its events."""
    p: dict[str, Any] = {}
    with gr.Tab("Compare") as tab_el:
        build_picker(p)
        build_results(p)
        build_experiments(p)
    wire_experiments(ctx, p)
    wire_compare(ctx, p)
    wire_train_and_compare(ctx, p, train)

    def list_runs(request: gr.Request):
        return gr.update(choices=ctx.checkpoint_choices(request))

    def list_experiments():
        return experiment_choices(ctx)

    doors.on(demo.load, "list_runs_on_load", list_runs, None, p["runs"])
    doors.on(demo.load, "list_experiments_on_load", list_experiments, None, p["exp_pick"])
    tab_el.select(None, None, None, js=RESIZE_JS)
    return CompareTab(runs=p["runs"], refresh=p["refresh"], message=p["cmp_msg"])


def build_picker(p: dict[str, Any]) -> None:
    """The run picker, how to compare (samples, seed, temperature, curve), the actions, and "Train and compare"."""
    variants = L.forms.variant_names()
    with gr.Row():
        p["runs"] = gr.CheckboxGroup([THIS], label="runs (this session, saved in checkpoints/, pulled)", scale=3,
                                     info="Pick runs to compare; the bundled demo runs need no training.")
        p["refresh"] = gr.Button("↻ refresh list", scale=0)
    with gr.Row():
        p["n_cmp"] = gr.Number(8, label="samples per run (1–100)", precision=0,  # bounds checked below, by name
                               info="Sentences shown per run, side by side.")
        p["seed_cmp"] = gr.Number(0, label="sampling seed", precision=0,
                                  info="Same seed = the same random draws for every run.")
        p["temp_cmp"] = gr.Slider(0.0, 3.0, value=1.0, step=0.05, label="temperature (0 = greedy)",
                                  info="Below 1 sharpens the generator (quality up, variety down); above 1 flattens "
                                       "it.")
        p["column"] = gr.Dropdown([(plain_name(c), c) for c in COMPARE_CURVES], value="eval/modes/effective",
                                  label="curve", info="Which logged number to overlay across the runs.")
    with gr.Row():
        p["compare_btn"] = gr.Button("Compare", variant="primary")
        p["qd_btn"] = gr.Button("Quality–diversity sweep")
        p["cont_btn"] = gr.Button("Continue training the selected saved run")
    p["cmp_msg"] = gr.Markdown()
    with gr.Row():
        p["to_train"] = gr.CheckboxGroup(variants, value=[v for v in ("gan", "wgan", "wgan-gp") if v in variants],
                                         label="train these variants on the Train tab's corpus and seed")
        p["cmp_steps"] = gr.Number(300, label="steps each", precision=0, elem_id="cmp-steps",
                                   info="Training iterations per variant.")
        p["train_cmp_btn"] = gr.Button("Train and compare", elem_id="train-compare")
    p["sweep_msg"] = gr.Markdown()


def build_results(p: dict[str, Any]) -> None:
    """What a comparison shows: samples side by side, the metrics table, the curves, quality vs diversity."""
    p["side"] = gr.Dataframe(label="samples, same seed and temperature", wrap=True, interactive=False)
    p["table"] = gr.Dataframe(label="metrics (★ best per column; hover a column's name for its raw key)",
                              interactive=False, wrap=True, elem_id="cmp-table")
    with gr.Row():
        p["curves"] = gr.Plot(label="curves", elem_id="cmp-curves")
        p["qd_plot"] = gr.Plot(label="quality vs diversity")


def build_experiments(p: dict[str, Any]) -> None:
    """The accordion of experiment directories: summary table, frontier and learning curve."""
    with gr.Accordion("Experiments (python -m textgan sweep --out experiments/NAME)", open=False):
        with gr.Row():
            # custom values are let through to the lab, which accepts only names it lists itself
            p["exp_pick"] = gr.Dropdown([], label="experiment directory", scale=3, allow_custom_value=True)
            p["exp_metric"] = gr.Dropdown([], label="learning curve (mean over seeds, 95 % CI band)", scale=2,
                                          allow_custom_value=True)
            p["exp_open"] = gr.Button("Open", scale=0)
        p["exp_msg"] = gr.Markdown()
        p["exp_table"] = gr.Dataframe(label="summary at the final budget (mean ± 95 % CI over seeds)",
                                      interactive=False)
        with gr.Row():
            p["exp_frontier"] = gr.Plot(label="quality–diversity frontier (MLE dashed)")
            p["exp_curve"] = gr.Plot(label="learning curve")


# ---- comparing runs ----------------------------------------------------------------------------------------------

def runs_for(ctx: AppContext, selection, request) -> dict[str, Any]:
    """The picked runs by display name: this session's live run and saved runs the visitor may open."""
    if not selection:
        raise L.LabError("pick at least one run to compare")
    out = {}
    for item in selection:
        if item == THIS:
            s = ctx.get(request)
            if s is None or s.run is None:
                raise L.LabError("this session has no run yet: train one first (or pick saved runs)")
            out[f"{THIS} ({s.run.config.variant})"] = s.run
        else:
            out[Path(item).name] = ctx.open_saved(item, request)
    return out


def with_session_lock(ctx: AppContext, request, fn):
    """`fn()` under the session run's lock when the visitor has a live run (its weights must not move meanwhile)."""
    s = ctx.get(request)
    if s is None or s.run is None:
        return fn()
    return s.with_run(lambda _: fn())


def compare_runs(ctx: AppContext, selection, n, seed, temperature, column, request) -> tuple:
    """Samples side by side, the metrics table (★ per column), one curve for all, and a message; a refusal is the
    message alone."""
    try:
        n, seed = L.as_int(n, "samples per run"), L.as_int(seed, "sampling seed")
        if not 1 <= n <= 100:
            raise L.LabError(f"samples per run={n} must be in 1..100")
        if seed < 0:
            raise L.LabError(f"sampling seed={seed} must be 0 or more")
        chosen = runs_for(ctx, selection, request)

        def work():
            table = L.metrics_table(chosen, n=256, seed=seed, temperature=float(temperature))
            table, best = table.round(3), table.attrs  # 3 decimals: the table fits 1280 pixels
            table.attrs = best
            return L.side_by_side(chosen, n=n, seed=seed, temperature=float(temperature)), table

        side, table = with_session_lock(ctx, request, work)
        histories = {name: L.history_frame(run) for name, run in chosen.items()}
        msg = f"compared {len(chosen)} run(s) at seed {seed}, temperature {temperature} (★ = best per column)"
        return (side, plain_table(L.mark_best(table)), plots.compare_figure(histories, column), msg)
    except Exception as e:
        if not isinstance(e, ValueError):
            log.exception("comparing runs failed")
        return gr.skip(), gr.skip(), gr.skip(), f"⚠️ {e}"


def wire_compare(ctx: AppContext, p: dict[str, Any]) -> None:
    """Refresh the picker, Compare, the quality–diversity sweep, and continue a saved run in the Train tab."""
    def compare(selection, n, seed, temperature, column, request: gr.Request):
        return compare_runs(ctx, selection, n, seed, temperature, column, request)

    def quality_diversity(selection, request: gr.Request):
        try:
            chosen = runs_for(ctx, selection, request)
            dfs = with_session_lock(ctx, request, lambda: L.temperature_sweep(chosen))
            return plots.quality_diversity_figure(dfs), f"temperature sweep {L.QD_TEMPERATURES} on {len(chosen)} run(s)"
        except Exception as e:
            if not isinstance(e, ValueError):
                log.exception("the temperature sweep failed")
            return gr.skip(), f"⚠️ {e}"

    def refresh_runs(selection, request: gr.Request):
        choices = ctx.checkpoint_choices(request)
        listed = {value for _, value in choices}
        return gr.update(choices=choices, value=[x for x in (selection or []) if x in listed])

    @ctx.errors(status_only=False)
    def continue_training(selection, request: gr.Request):
        saved = [x for x in selection or [] if x != THIS]
        if len(saved) != 1:
            raise L.LabError("select exactly one saved run to continue training it")
        s = ctx.session(request)
        s.load(ctx.saved_run(request, saved[0]))
        return f"opened {Path(saved[0]).name} in the Train tab at step {s.step_count}: press Train to continue"

    runs, msg = p["runs"], p["cmp_msg"]
    doors.on(p["refresh"].click, "refresh_runs", refresh_runs, runs, runs)
    doors.on(p["compare_btn"].click, "compare", compare, [runs, p["n_cmp"], p["seed_cmp"], p["temp_cmp"], p["column"]],
             [p["side"], p["table"], p["curves"], msg], status=msg, concurrency_id="heavy").then(None, None, None,
                                                                                              js=HOVER_JS)
    doors.on(p["qd_btn"].click, "quality_diversity", quality_diversity, runs, [p["qd_plot"], msg], status=msg,
             concurrency_id="heavy")
    doors.on(p["cont_btn"].click, "continue_training", continue_training, runs, msg, status=msg,
             concurrency_id="heavy")


def wire_train_and_compare(ctx: AppContext, p: dict[str, Any], train: TrainTab) -> None:
    """"Train and compare": several variants on the Train tab's corpus and seed, then compared when done."""
    @ctx.errors(status_only=False)
    def train_variants(request: gr.Request, variants, steps, *values):
        form = train.read(values)
        # A bad form is refused before a session exists; an upload is the visitor's, charged to its disk quota.
        base = train.config(form, ctx.visitor(request))
        s = ctx.session(request)
        preset = form.preset or "paper"
        # The visitor's one job, admitted by the lab before anything trains (LabError: the form stays as it was).
        sw = L.Sweep(base, list(variants or []), steps, ctx.lab.session_dir(s.name), ctx.lab, f"cmp-{s.name[1:7]}",
                     preset=preset, session=s)
        s.sweep = ctx.sweeps[s.name] = sw.start()
        return f"training {', '.join(variants)} for {steps} steps each ({preset} settings)"

    def poll_sweep(listed, n, seed, temperature, column, request: gr.Request):
        """The comparison's progress, and the run picker whenever the visitor's runs change (a save, an autosave,
        a pull): no manual refresh. Never creates a session."""
        visitor = ctx.visitor(request)
        ctx.get(request)  # a comparison is watched while its tab polls
        choices = ctx.checkpoint_choices(request)
        now = "\n".join(value for _, value in choices)
        picker = gr.skip() if now == listed else gr.update(choices=choices)
        sw = ctx.sweeps.get(visitor)
        if sw is None:
            return (now, gr.skip(), picker) + (gr.skip(),) * 4
        if not sw.done:
            return (now, sw.status, picker) + (gr.skip(),) * 4
        ctx.sweeps.pop(visitor, None)
        paths = [L.shown_path(path, ctx.lab.checkpoints) for path in sw.results.values() if path]  # as listed
        picker = gr.update(choices=choices, value=paths)
        if not paths:
            return now, sw.status, picker, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (now, sw.status, picker, *compare_runs(ctx, paths, n, seed, temperature, column, request))

    doors.on(p["train_cmp_btn"].click, "train_variants", train_variants, [p["to_train"], p["cmp_steps"], *train.form],
             p["sweep_msg"], status=p["sweep_msg"], concurrency_id="heavy")
    cmp_timer = gr.Timer(1.0)
    # The picker is not an input of this timer: a value it does not list would be refused every second.
    listed = gr.State("")  # the run list the picker shows, to update it only when it changes
    doors.on(cmp_timer.tick, "poll_sweep", poll_sweep, [listed, p["n_cmp"], p["seed_cmp"], p["temp_cmp"], p["column"]],
             [listed, p["sweep_msg"], p["runs"], p["side"], p["table"], p["curves"], p["cmp_msg"]],
             status=p["sweep_msg"], show_progress="hidden", concurrency_limit=None)


# ---- experiment directories ---------------------------------------------------------------------------------------

def experiment_choices(ctx: AppContext):
    """The experiment picker's choices: the directories under the lab's experiments folder."""
    return gr.update(choices=L.list_experiments(ctx.lab.experiments))


def wire_experiments(ctx: AppContext, p: dict[str, Any]) -> None:
    """Open an experiment directory (summary, frontier, a learning curve) and list the ones there are."""
    def list_experiments():
        return experiment_choices(ctx)

    def open_experiment(name, metric):
        try:
            if not name:
                raise L.LabError("pick an experiment directory (run `python -m textgan sweep` to make one)")
            view = L.open_experiment(ctx.lab.experiments, name)
            metrics = list(view["curves"])
            metric = metric if metric in metrics else (metrics[0] if metrics else None)
            curve = view["curves"][metric] if metric else gr.skip()
            return (view["note"], view["rows"], view["frontier"], curve,
                    gr.update(choices=metrics, value=metric))
        except Exception as e:
            if not isinstance(e, ValueError):
                log.exception("loading the experiment failed")
            return (f"⚠️ {e}",) + (gr.skip(),) * 4

    exp_outputs = [p["exp_msg"], p["exp_table"], p["exp_frontier"], p["exp_curve"], p["exp_metric"]]
    doors.on(p["exp_open"].click, "open_experiment", open_experiment, [p["exp_pick"], p["exp_metric"]], exp_outputs,
             status=p["exp_msg"], concurrency_id="heavy")
    doors.on(p["exp_metric"].input, "experiment_curve", open_experiment, [p["exp_pick"], p["exp_metric"]],
             exp_outputs, status=p["exp_msg"], concurrency_id="heavy")
    doors.on(p["exp_pick"].focus, "list_experiments", list_experiments, None, p["exp_pick"])
