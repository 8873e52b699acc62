"""TextGAN Lab: train a text GAN live, watch it learn or collapse, compare variants, share runs on the Hub.

`python app.py` serves on 0.0.0.0:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override). Layout and wiring only:
training lives in `textgan.lab` (one Session per browser tab, on a worker thread), figures in `textgan.plots`.
Nothing heavy happens at import: tests import this module and launch `demo` on a free port.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from functools import wraps
from pathlib import Path

import gradio as gr

from textgan import lab as L
from textgan import plots
from textgan.run import RunConfig
from textgan.variants import VARIANTS

THIS = "this session"
STEP_KINDS = ["iteration", "critic", "generator"]


PRESET = L.presets()[0]
DEFAULT = L.variant_info(RunConfig().variant, PRESET)
"""What the form shows before the page's load event fills it in (and what an API client gets by default)."""


def _hp_fields() -> dict[str, object]:
    """Every hyperparameter of every registered variant (the form shows the union and hides what the selected
    variant lacks), with the default variant's values, else the first default seen."""
    out: dict[str, object] = dict(DEFAULT["defaults"])
    for v in VARIANTS.values():
        for f in dataclasses.fields(v.Config):
            out.setdefault(f.name, getattr(v.Config(), f.name))
    return out


HP = _hp_fields()
HP_DEFAULT = set(DEFAULT["defaults"])


def hp_input(name: str, value):
    """The form control of one hyperparameter, by its type; hidden unless the default variant has it."""
    visible = name in HP_DEFAULT
    if name == "relaxation":
        from textgan.nets.relax import RELAXATIONS

        return gr.Dropdown(list(RELAXATIONS), value=value, label=name, visible=visible)
    if isinstance(value, bool):
        return gr.Checkbox(value=value, label=name, visible=visible)
    if isinstance(value, (int, float)):
        return gr.Number(value, label=name, precision=0 if isinstance(value, int) else None, visible=visible)
    return gr.Textbox(str(value), label=name, visible=visible)


def _what(config: RunConfig) -> tuple:
    """The settings that make a different run (not just different hyperparameters): algorithm and corpus."""
    return config.variant, config.corpus.get("kind"), config.corpus.get("k"), config.corpus.get("path")


def _describe(config: RunConfig) -> str:
    corpus = config.corpus.get("kind")
    if corpus == "modes":
        corpus = f"modes (K={config.corpus.get('k')})"
    return f"{config.variant} on {corpus}"


def variant_blurb(summary: str, paper: str) -> str:
    """The line under the variant picker: what the algorithm does, then where it comes from."""
    return f"{summary}  \n*{paper}*"


def build_demo(lab: L.Lab) -> gr.Blocks:
    """The whole app around one Lab (tests build their own with a temporary checkpoints directory)."""
    default = RunConfig()
    sweeps: dict[str, L.Sweep] = {}
    loaded: dict[str, object] = {}

    def session(request: gr.Request) -> L.Session:
        return lab.session(request.session_hash)

    def _errors(status_only: bool = True):
        """Refused input (LabError, CorpusError, CheckpointError, HubError: ValueErrors or named so) becomes a
        readable message, on the session's status line or returned; anything else is logged and shown short.
        The server keeps running either way."""
        def deco(fn):
            @wraps(fn)
            def inner(*args, **kwargs):
                try:
                    return fn(*args, **kwargs)
                except ValueError as e:
                    msg = f"⚠️ {e}"
                except Exception as e:
                    if type(e).__name__ == "HubError":
                        msg = f"⚠️ {e}"
                    else:
                        traceback.print_exc()
                        msg = f"⚠️ {type(e).__name__}: {e}"
                request = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
                if request is not None and status_only:
                    s = session(request)
                    s._set_state(s.state, msg)
                    return s.status_line()
                return msg
            return inner
        return deco

    def form_config(kind, k, upload, path, preset, variant, batch, seed, device, gkind, gsize, ckind, csize, *hp):
        corpus = L.corpus_spec(kind, k=k, path=path, upload=upload, upload_dir=lab.checkpoints / "uploads")
        info = L.variant_info(variant, preset or "paper")
        hparams = {name: value for name, value in zip(HP, hp) if name in info["defaults"]}
        gen = L.form_net("generator", gkind, gsize, info["generator"])
        critic = L.form_net("critic", ckind, csize, info["critic"]) if info["needs_critic"] else None
        v = VARIANTS[variant]
        gen = None if gen == v.default_generator else gen  # None = the variant's own default, recorded as such
        critic = None if critic == v.default_critic else critic
        return L.make_config(corpus, variant, hparams, gen, critic, batch, seed, device)

    # ---- Train tab callbacks ------------------------------------------------------------------------------

    @_errors()
    def train(request: gr.Request, *form):
        s = session(request)
        if s.run is None:
            s.configure(form_config(*form))
            s.prepare()  # bad corpus / sizes are reported here, not by the worker a moment later
        elif not s.loaded:  # Train continues the run: say so when the form now asks for another algorithm or corpus
            wanted, have = form_config(*form), s.run.config
            if _what(wanted) != _what(have):
                raise L.LabError(f"this session's run is {_describe(have)} and Train continues it; the form now "
                                 f"says {_describe(wanted)}: press Reset to start that (Save first to keep this "
                                 "run), or set the form back to continue")
        s.start()
        return s.status_line()

    def control(action):
        @_errors()
        def fn(request: gr.Request):
            s = session(request)
            getattr(s, action)()
            return s.status_line()
        fn.__name__ = action
        return fn

    @_errors()
    def step(request: gr.Request, kind, *form):
        s = session(request)
        if s.run is None and s.config is None:
            s.configure(form_config(*form))
        s.step(kind)
        return s.status_line()

    @_errors()
    def set_speed(speed, request: gr.Request):
        s = session(request)
        s.set_speed(speed)
        return s.status_line()

    @_errors()
    def apply(request: gr.Request, batch, *hp):
        s = session(request)
        if s.run is None:
            raise L.LabError("no run yet: the form's values are used when you press Train")
        names = L.variant_defaults(s.run.config.variant)
        s.update_hyperparameters(batch_size=batch, **{n: v for n, v in zip(HP, hp) if n in names})
        return s.status_line()

    @_errors()
    def save(name, request: gr.Request):
        s = session(request)
        name = L._slug(name or "")
        if not name or name == "run":
            raise L.LabError("type a name for the saved run")
        s.save(lab.checkpoints / name)
        return s.status_line()

    def poll(last, request: gr.Request):
        s = session(request)
        if s.version == last:
            return (gr.skip(),) * 7
        snap = s.snapshot()
        h, rev = snap["history"], f"r{snap['run_id']}"
        hist = snap["hist"] or {}
        samples = [list(x) for x in snap["samples"]] or [["", ""]]
        return (snap["version"], snap["status"], plots.loss_figure(h, "loss" + rev),
                plots.grad_norm_figure(h, "grad" + rev), plots.metrics_figure(h, "metrics" + rev),
                plots.mode_histogram(hist.get("counts"), hist.get("weights"), hist.get("invalid", 0),
                                     hist.get("step"), "modes" + rev),
                samples)

    def pick_variant(variant, preset):
        info = L.variant_info(variant, preset or "paper")
        d = info["defaults"]
        hp = [gr.update(value=d[n], visible=True) if n in d else gr.update(visible=False) for n in HP]
        g, c = info["generator"], info["critic"]
        return [variant_blurb(info["summary"], info["paper"]), info["batch_size"], gr.update(value=g["kind"]), L.net_size("generator", g),
                gr.update(value=c["kind"] if c else None, visible=c is not None),
                gr.update(value=L.net_size("critic", c) if c else None, visible=c is not None), *hp]

    def page_load(request: gr.Request):
        from textgan.device import describe_device, resolve_device

        import torch

        devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        return (gr.update(choices=devices), f"device: **{describe_device(resolve_device('auto'))}** (auto)",
                gr.update(choices=[THIS] + L.list_checkpoints(lab.checkpoints)))

    def unload(request: gr.Request):
        lab.close(request.session_hash)
        sw = sweeps.pop(request.session_hash, None)
        if sw is not None:
            sw.stop()

    # ---- Compare tab callbacks ----------------------------------------------------------------------------

    def runs_for(selection, request):
        if not selection:
            raise L.LabError("pick at least one run to compare")
        runs = {}
        for item in selection:
            if item == THIS:
                s = session(request)
                if s.run is None:
                    raise L.LabError("this session has no run yet: train one first (or pick saved runs)")
                runs[f"{THIS} ({s.run.config.variant})"] = s.run
            else:
                key = f"{item}@{Path(item, 'config.json').stat().st_mtime if Path(item, 'config.json').exists() else 0}"
                if key not in loaded:
                    if len(loaded) > 8:
                        loaded.pop(next(iter(loaded)))
                    loaded[key] = L.load_run(item)
                runs[Path(item).name] = loaded[key]
        return runs

    def with_session_lock(request, fn):
        s = session(request)
        if s.run is None:
            return fn()
        return s.with_run(lambda _: fn())

    def compare(selection, n, seed, temperature, column, request: gr.Request):
        try:
            runs = runs_for(selection, request)
            n, seed = L._as_int(n, "samples"), L._as_int(seed, "seed")

            def work():
                table = L.metrics_table(runs, n=256, seed=seed, temperature=float(temperature))
                return L.side_by_side(runs, n=n, seed=seed, temperature=float(temperature)), table

            side, table = with_session_lock(request, work)
            histories = {name: _history(run) for name, run in runs.items()}
            msg = f"compared {len(runs)} run(s) at seed {seed}, temperature {temperature} (★ = best per column)"
            return (side, L.mark_best(table), plots.compare_figure(histories, column), msg)
        except Exception as e:
            if not isinstance(e, ValueError):
                traceback.print_exc()
            return gr.skip(), gr.skip(), gr.skip(), f"⚠️ {e}"

    def quality_diversity(selection, request: gr.Request):
        from textgan.metrics import sweep

        try:
            runs = runs_for(selection, request)
            temps = (0.5, 0.7, 1.0, 1.3, 2.0)
            dfs = with_session_lock(request, lambda: {name: sweep(run, temperatures=temps, n_samples=200)
                                                      for name, run in runs.items()})
            return plots.quality_diversity_figure(dfs), f"temperature sweep {temps} on {len(runs)} run(s)"
        except Exception as e:
            if not isinstance(e, ValueError):
                traceback.print_exc()
            return gr.skip(), f"⚠️ {e}"

    def refresh_runs(selection):
        choices = [THIS] + L.list_checkpoints(lab.checkpoints)
        return gr.update(choices=choices, value=[x for x in (selection or []) if x in choices])

    @_errors(status_only=False)
    def train_variants(request: gr.Request, variants, steps, *form):
        old = sweeps.get(request.session_hash)
        if old is not None and not old.done:
            raise L.LabError("a comparison is already training: wait for it or refresh the page")
        base = form_config(*form)
        tag = f"cmp-{request.session_hash[:6]}"
        sw = L.Sweep(base, list(variants or []), steps, lab.checkpoints, lab, tag, preset=form[4] or "paper")
        sweeps[request.session_hash] = sw.start()
        return f"training {', '.join(variants)} for {steps} steps each ({form[4]} settings)"

    def poll_sweep(selection, n, seed, temperature, column, request: gr.Request):
        sw = sweeps.get(request.session_hash)
        if sw is None:
            return (gr.skip(),) * 6
        if not sw.done:
            return (sw.status,) + (gr.skip(),) * 5
        sweeps.pop(request.session_hash)
        paths = [p for p in sw.results.values() if p]
        runs = gr.update(choices=[THIS] + L.list_checkpoints(lab.checkpoints), value=paths)
        if not paths:
            return sw.status, runs, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        side, table, fig, msg = compare(paths, n, seed, temperature, column, request)
        return sw.status, runs, side, table, fig, msg

    @_errors(status_only=False)
    def continue_training(selection, request: gr.Request):
        saved = [x for x in selection or [] if x != THIS]
        if len(saved) != 1:
            raise L.LabError("select exactly one saved run to continue training it")
        s = session(request)
        s.load(saved[0])
        return f"opened {Path(saved[0]).name} in the Train tab at step {s.step_count}: press Train to continue"

    # ---- Hub tab callbacks --------------------------------------------------------------------------------

    def push(source, repo_id, token, private, request: gr.Request):
        from textgan import hub

        try:
            if not source:
                raise L.LabError("choose what to push: this session's run or a saved one")
            if source == THIS:
                s = session(request)
                path = s.save(lab.checkpoints / f"session-{request.session_hash[:8]}", overwrite=True)
            else:
                path = Path(source)
            url = hub.push(path, (repo_id or "").strip(), token=(token or "").strip() or None, private=bool(private))
            return f"pushed {path.name} to {url}", ""  # the token field is cleared, never kept
        except (hub.HubError, ValueError) as e:
            return f"⚠️ {e}", ""

    def pull(repo_id, revision, token, request: gr.Request):
        from textgan import hub

        try:
            repo_id = (repo_id or "").strip()
            out = lab.checkpoints / repo_id.replace("/", "--")
            path = hub.pull(repo_id, revision=(revision or "").strip() or None, token=(token or "").strip() or None,
                            out=out, overwrite=True)
            choices = [THIS] + L.list_checkpoints(lab.checkpoints)
            return (f"pulled {repo_id} into {path}: it is selected in Compare; use Continue training there to train it",
                    "", gr.update(choices=choices, value=[str(path)]), gr.update(choices=choices))
        except (hub.HubError, ValueError) as e:
            return f"⚠️ {e}", "", gr.skip(), gr.skip()

    # ---- layout ---------------------------------------------------------------------------------------------

    with gr.Blocks(title="TextGAN Lab") as demo:
        gr.Markdown("# TextGAN Lab\nTrain a text GAN live and watch it learn — or collapse onto a few modes. "
                    "The default `modes` corpus has K known modes, so collapse is measured exactly.")
        version = gr.State(-1)
        with gr.Tab("Train"):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    kind = gr.Radio(["modes", "oracle", "upload", "path"], value="modes", label="corpus")
                    k = gr.Slider(2, 64, value=default.corpus.get("k", 8), step=1, label="K (modes)")
                    upload = gr.File(label="upload a .txt corpus (one sentence per line)", type="filepath",
                                     file_types=[".txt"])
                    path = gr.Textbox(label="or a local path on the server", placeholder="data/coco_train.txt")
                    with gr.Row():
                        preset = gr.Radio(list(L.presets()), value=PRESET, label="preset",
                                          info="demo: tuned to learn in a minute on a CPU; paper: published defaults")
                        variant = gr.Dropdown(list(VARIANTS), value=default.variant, label="variant")
                    paper = gr.Markdown(variant_blurb(VARIANTS[default.variant].summary,
                                                      VARIANTS[default.variant].paper))
                    with gr.Row():
                        seed = gr.Number(default.seed, label="seed", precision=0, minimum=0)
                        device = gr.Dropdown(["auto", "cpu"], value=default.device, label="device")
                    device_md = gr.Markdown("device: …")
                    gdef, cdef = DEFAULT["generator"], DEFAULT["critic"]
                    with gr.Accordion("hyperparameters (the preset's values; Apply changes them while paused)", open=False):
                        batch = gr.Number(DEFAULT["batch_size"], label="batch size", precision=0, minimum=1)
                        hp_inputs = [hp_input(n, v) for n, v in HP.items()]
                        with gr.Row():
                            gkind = gr.Dropdown(L.net_kinds("generator"), value=gdef["kind"], label="generator")
                            gsize = gr.Number(L.net_size("generator", gdef), label="generator size", precision=0)
                        with gr.Row():
                            ckind = gr.Dropdown(L.net_kinds("critic"), value=cdef["kind"] if cdef else None, label="critic")
                            csize = gr.Number(L.net_size("critic", cdef) if cdef else None, label="critic size",
                                              precision=0)
                        apply_btn = gr.Button("Apply (while paused)")
                with gr.Column(scale=3):
                    status = gr.Markdown("idle · press **Train**", elem_id="status")
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary", elem_id="train")
                        pause_btn = gr.Button("Pause", elem_id="pause")
                        resume_btn = gr.Button("Resume", elem_id="resume")
                        stop_btn = gr.Button("Stop", elem_id="stop")
                        reset_btn = gr.Button("Reset", elem_id="reset")
                    with gr.Row():
                        step_kind = gr.Dropdown(STEP_KINDS, value="iteration", label="step", scale=1)
                        step_btn = gr.Button("Step", scale=1)
                        speed = gr.Slider(0, 50, value=0, step=1, label="speed (iterations/s, 0 = full)", scale=2)
                        save_name = gr.Textbox(label="save as checkpoints/…", value="my-run", scale=2)
                        save_btn = gr.Button("Save", scale=1)
                    with gr.Row():
                        loss_plot = gr.Plot(label="losses", elem_id="loss-plot")
                        grad_plot = gr.Plot(label="gradient norms")
                    with gr.Row():
                        metrics_plot = gr.Plot(label="metrics")
                        modes_plot = gr.Plot(label="modes")
                    samples = gr.Dataframe(headers=["sample", "mode"], label="latest samples", wrap=True,
                                           interactive=False)
        with gr.Tab("Compare"):
            with gr.Row():
                runs = gr.CheckboxGroup([THIS], label="runs (this session, saved in checkpoints/, pulled)", scale=3)
                refresh = gr.Button("↻ refresh list", scale=0)
            with gr.Row():
                n_cmp = gr.Number(8, label="samples per run", precision=0, minimum=1, maximum=100)
                seed_cmp = gr.Number(0, label="sampling seed", precision=0, minimum=0)
                temp_cmp = gr.Slider(0.0, 3.0, value=1.0, step=0.05, label="temperature (0 = greedy)")
                column = gr.Dropdown(["loss/gen", "loss/critic", "wasserstein", "grad_norm/gen", "eval/modes/coverage",
                                      "eval/modes/precision", "eval/modes/entropy", "eval/nll_gen"],
                                     value="eval/modes/coverage", label="curve")
            with gr.Row():
                compare_btn = gr.Button("Compare", variant="primary")
                qd_btn = gr.Button("Quality–diversity sweep")
                cont_btn = gr.Button("Continue training the selected saved run")
            cmp_msg = gr.Markdown()
            with gr.Row():
                to_train = gr.CheckboxGroup(list(VARIANTS), value=[v for v in ("gan", "wgan", "wgan-gp") if v in VARIANTS],
                                            label="train these variants on the Train tab's corpus and seed")
                cmp_steps = gr.Number(300, label="steps each", precision=0, minimum=1)
                train_cmp_btn = gr.Button("Train and compare")
            sweep_msg = gr.Markdown()
            side = gr.Dataframe(label="samples, same seed and temperature", wrap=True, interactive=False)
            table = gr.Dataframe(label="metrics (★ best per column)", interactive=False)
            with gr.Row():
                curves = gr.Plot(label="curves")
                qd_plot = gr.Plot(label="quality vs diversity")
        with gr.Tab("Hub"):
            gr.Markdown("Share runs on the Hugging Face Hub. The token is used for this request only: never stored "
                        "or logged, and the field is cleared afterwards.")
            with gr.Row():
                push_src = gr.Dropdown([THIS], value=THIS, label="run to push")
                repo = gr.Textbox(label="repo id", placeholder="your-name/wgan-gp-modes")
                private = gr.Checkbox(False, label="private")
            token = gr.Textbox(label="token (write access to push)", type="password")
            with gr.Row():
                push_btn = gr.Button("Push", variant="primary")
                revision = gr.Textbox(label="revision to pull (optional)")
                pull_btn = gr.Button("Pull into checkpoints/")
            hub_msg = gr.Markdown()

        form = [kind, k, upload, path, preset, variant, batch, seed, device, gkind, gsize, ckind, csize, *hp_inputs]
        timer = gr.Timer(1.0)
        poll_out = [version, status, loss_plot, grad_plot, metrics_plot, modes_plot, samples]
        timer.tick(poll, [version], poll_out, api_name="poll", show_progress="hidden", concurrency_limit=None)
        train_btn.click(train, form, status, api_name="train", concurrency_limit=None)
        for btn, action in ((pause_btn, "pause"), (resume_btn, "resume"), (stop_btn, "stop"), (reset_btn, "reset")):
            btn.click(control(action), None, status, api_name=action, concurrency_limit=None)
        step_btn.click(step, [step_kind, *form], status, api_name="step", concurrency_id="heavy")
        speed.change(set_speed, speed, status, api_name="speed", concurrency_limit=None)
        apply_btn.click(apply, [batch, *hp_inputs], status, api_name="apply", concurrency_limit=None)
        save_btn.click(save, save_name, status, api_name="save", concurrency_id="heavy")
        picked = [paper, batch, gkind, gsize, ckind, csize, *hp_inputs]
        variant.change(pick_variant, [variant, preset], picked, api_name="pick_variant")
        preset.change(pick_variant, [variant, preset], picked, api_name=False)
        demo.load(pick_variant, [variant, preset], picked, api_name=False)
        demo.load(page_load, None, [device, device_md, runs])
        demo.unload(unload)

        refresh.click(refresh_runs, runs, runs, api_name="refresh_runs").then(
            lambda: gr.update(choices=[THIS] + L.list_checkpoints(lab.checkpoints)), None, push_src)
        compare_btn.click(compare, [runs, n_cmp, seed_cmp, temp_cmp, column], [side, table, curves, cmp_msg],
                          api_name="compare", concurrency_id="heavy")
        qd_btn.click(quality_diversity, runs, [qd_plot, cmp_msg], api_name="quality_diversity", concurrency_id="heavy")
        cont_btn.click(continue_training, runs, cmp_msg, api_name="continue_training", concurrency_id="heavy")
        train_cmp_btn.click(train_variants, [to_train, cmp_steps, *form], sweep_msg, api_name="train_variants",
                            concurrency_limit=None)
        cmp_timer = gr.Timer(1.0)
        cmp_timer.tick(poll_sweep, [runs, n_cmp, seed_cmp, temp_cmp, column],
                       [sweep_msg, runs, side, table, curves, cmp_msg], api_name="poll_sweep",
                       show_progress="hidden", concurrency_limit=None)
        push_btn.click(push, [push_src, repo, token, private], [hub_msg, token], api_name="push", concurrency_id="heavy")
        pull_btn.click(pull, [repo, revision, token], [hub_msg, token, runs, push_src], api_name="pull",
                       concurrency_id="heavy")
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def _history(run):
    import pandas as pd

    return pd.DataFrame(run.history)


demo = build_demo(L.Lab(max_training=int(os.environ.get("TEXTGAN_MAX_TRAINING", "2")),
                        checkpoints=os.environ.get("TEXTGAN_CHECKPOINTS", "checkpoints"),
                        torch_threads=int(os.environ.get("TEXTGAN_TORCH_THREADS", "1")) or None))

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
