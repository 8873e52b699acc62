"""The Train tab's form: its layout (algorithm, corpus, hyperparameters and nets, the share link) and its own events
(a variant's or preset's values, the corpus inputs shown, a shared link restored or made).

Each form input is kept by its `FormValues` field name (`corpus`, `k`, `generator_size`...), each hyperparameter by
its own name; the page sends them in `FormValues`' order and `TrainTab.read` turns them into one value.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from textgan import lab as L
from textgan.lab import forms as F
from textgan.lab import help as H

from . import doors

CORPORA = ["modes", "oracle", "coco", "hub", "upload", "path"]
VARIANT_OUTPUTS = ("paper", "batch", "generator", "generator_size", "critic", "critic_size")
"""What choosing a variant or preset sets (then every hyperparameter)."""
LINK_OUTPUTS = ("stop_after", "corpus", "k", "weights", "preset", "variant", "seed")
"""What a shared link sets before the variant's outputs (and after them, the status line)."""
LINK_JS = ("(q) => { if (typeof q !== 'string' || !q.startsWith('?')) return q;"
           " const url = location.origin + location.pathname + q;"
           " if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {}); return url; }")
"""Turns the server's query string into this page's full link and copies it (where the browser allows)."""
MAX_STOP_AFTER = 1_000_000
"""The largest "stop after" a form or a link may ask for (the session's training budget ends a run sooner)."""


def stop_after_steps(value: Any) -> int | None:
    """The "stop after" field as a step count (None = until stopped); refused with its name when out of range."""
    steps = L.as_int(value if value not in (None, "") else 0, "stop after (steps)")
    if not 0 <= steps <= MAX_STOP_AFTER:
        raise L.LabError(f"stop after (steps)={steps} must be in 0..{MAX_STOP_AFTER} (0 = until stopped)")
    return steps or None


def steps_from_query(raw: str | None) -> tuple[int, list[str]]:
    """A link's `steps` (a lesson's step count) for the "stop after" field, or 0 with a notice when it is bad."""
    if raw is None:
        return 0, []
    try:
        return stop_after_steps(str(raw)[:16]) or 0, []
    except L.LabError as e:
        return 0, [f"ignored steps: {e}"]


def hp_input(name: str, value: Any, visible: bool):
    """The form control of one hyperparameter, by its type."""
    choices, info = F.choices_for(name), H.hp_help(name) or None
    if choices is not None:
        return gr.Dropdown(choices, value=value, label=name, visible=visible, elem_id=f"hp-{name}", info=info)
    if isinstance(value, bool):
        return gr.Checkbox(value=value, label=name, visible=visible, elem_id=f"hp-{name}", info=info)
    if isinstance(value, (int, float)):
        return gr.Number(value, label=name, precision=0 if isinstance(value, int) else None, visible=visible,
                         elem_id=f"hp-{name}", info=info)
    return gr.Textbox(str(value), label=name, visible=visible, elem_id=f"hp-{name}", info=info)


# ---- layout ------------------------------------------------------------------------------------------------------

def build_algorithm(p: dict[str, Any], variant: str, preset: str) -> None:
    """The variant picker, the preset and the line that says what the variant does."""
    with gr.Row():
        p["variant"] = gr.Dropdown(F.variant_names(), value=variant, label="variant", elem_id="variant",
                                   min_width=120, info=H.CONTROLS["variant"])
        p["preset"] = gr.Radio(list(F.presets()), value=preset, label="preset", elem_id="preset", min_width=120,
                               info=H.CONTROLS["preset"])
    p["paper"] = gr.Markdown(F.variant_blurb(variant, preset), elem_id="variant-blurb")


def build_corpus(p: dict[str, Any], default) -> None:
    """The corpus choice and its inputs (K and weights, the upload, the path), the seed and the device."""
    p["corpus"] = gr.Radio(CORPORA, value="modes", label="corpus", elem_id="corpus", info=H.CONTROLS["corpus"])
    p["k"] = gr.Slider(2, 64, value=default.corpus.get("k", 8), step=1, label="K (modes)", elem_id="k",
                       info=H.CONTROLS["k"])
    p["weights"] = gr.Radio(F.MODE_WEIGHT_LABELS, value="uniform", label="mode weights", elem_id="weights",
                            info=H.CONTROLS["weights"])
    p["upload"] = gr.File(label="upload a .txt corpus (one sentence per line)", type="filepath",
                          file_types=[".txt"], visible=False, elem_id="upload")  # its label says what
    p["path"] = gr.Textbox(label="a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)",
                           placeholder="OWNER/NAME:train.txt", visible=False, elem_id="path", info=H.CONTROLS["path"])
    with gr.Row():
        # No minimum here: Gradio would refuse a bad value before the lab could name the field, and refuse every
        # later click while it stays in the form.
        p["seed"] = gr.Number(default.seed, label="seed", precision=0, elem_id="seed", min_width=80,
                              info=H.CONTROLS["seed"])
        p["device"] = gr.Dropdown(["auto", "cpu"], value=default.device, label="device", min_width=80,
                                  info=H.CONTROLS["device"])
    p["device_md"] = gr.Markdown("device: …")


def build_hyperparameters(p: dict[str, Any], info: dict[str, Any], hp: dict[str, Any]) -> dict[str, Any]:
    """The accordion of the preset's values: batch size, every variant's hyperparameters (the chosen one's shown),
    the nets, Apply and "stop after". Returns the hyperparameter inputs by name."""
    gdef, cdef = info["generator"], info["critic"]
    with gr.Accordion("hyperparameters (the preset's values; Apply changes them while paused)", open=False,
                      elem_id="hyperparameters"):
        p["batch"] = gr.Number(info["batch_size"], label="batch size", precision=0, elem_id="batch",
                               info=H.CONTROLS["batch"])
        hp_inputs = {n: hp_input(n, v, n in info["defaults"]) for n, v in hp.items()}
        with gr.Row():
            p["generator"] = gr.Dropdown(L.net_kinds("generator"), value=gdef["kind"], label="generator",
                                         info=H.CONTROLS["generator"])
            p["generator_size"] = gr.Number(L.net_size("generator", gdef), label="generator size", precision=0,
                                            info=H.CONTROLS["generator size"])
        with gr.Row():
            p["critic"] = gr.Dropdown(L.net_kinds("critic"), value=cdef["kind"] if cdef else None, label="critic",
                                      info=H.CONTROLS["critic"])
            p["critic_size"] = gr.Number(L.net_size("critic", cdef) if cdef else None, label="critic size",
                                         precision=0, info=H.CONTROLS["critic size"])
        p["apply_btn"] = gr.Button("Apply (while paused)")
        p["stop_after"] = gr.Number(0, label="stop after (steps; 0 = until stopped)", precision=0,
                                    elem_id="stop-after", info=H.STOP_AFTER)
    return hp_inputs


def build_link(p: dict[str, Any]) -> None:
    """The share-link button and the link it makes."""
    with gr.Row():
        p["link_btn"] = gr.Button("copy link to these settings", size="sm", elem_id="copy-link")
    p["link"] = gr.Textbox(label="link to these settings", visible=False, elem_id="share-link", buttons=["copy"],
                           interactive=False)


# ---- what the form's own events set ------------------------------------------------------------------------------

def variant_updates(variant: str, preset: str | None, hp_names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form under a variant and preset: updates of VARIANT_OUTPUTS by name, and of every hyperparameter input
    by name (the variant's shown with the preset's values, the others hidden)."""
    info = L.variant_info(variant, preset or "paper")
    d, g, cr = info["defaults"], info["generator"], info["critic"]
    fixed = {"paper": F.variant_blurb(variant, preset or "paper"), "batch": info["batch_size"],
             "generator": gr.update(value=g["kind"]), "generator_size": L.net_size("generator", g),
             "critic": gr.update(value=cr["kind"] if cr else None, visible=cr is not None),
             "critic_size": gr.update(value=L.net_size("critic", cr) if cr else None, visible=cr is not None)}
    hp = {n: gr.update(value=d[n], visible=True) if n in d else gr.update(visible=False) for n in hp_names}
    return fixed, hp


def link_updates(values: dict[str, Any], hp_names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form a link's checked values (`forms.form_from_query`) describe, as `variant_updates` gives it."""
    default, preset0 = F.default_config(), F.presets()[0]
    variant, preset = values.get("variant", default.variant), values.get("preset", preset0)
    fixed, hp = variant_updates(variant, preset, hp_names)
    info = L.variant_info(variant, preset)
    if "batch" in values:
        fixed["batch"] = values["batch"]
    for role in ("generator", "critic"):
        base = info[role]
        if base is not None:
            spec = L.form_net(role, values.get(role, base["kind"]), values.get(f"{role}_size"), base)
            fixed[role] = gr.update(value=spec["kind"], visible=True)
            fixed[f"{role}_size"] = gr.update(value=L.net_size(role, spec), visible=True)
    for name, value in values.get("hparams", {}).items():
        hp[name] = gr.update(value=value, visible=True)
    fixed.update(corpus=values.get("corpus", "modes"), k=values.get("k", default.corpus.get("k", 8)),
                 weights=values.get("weights", "uniform"), preset=preset, variant=variant,
                 seed=values.get("seed", default.seed))
    return fixed, hp


def wire_form(ctx, demo: gr.Blocks, tab) -> None:
    """The form's own events: a variant's or preset's values, the corpus inputs, a link restored, a link made."""
    c, hp_names = tab.parts, tab.hp_names
    picked = [*(c[n] for n in VARIANT_OUTPUTS), *tab.hp_inputs.values()]

    def pick_variant(variant, preset):
        fixed, hp = variant_updates(variant, preset, hp_names)
        return [*(fixed[n] for n in VARIANT_OUTPUTS), *(hp[n] for n in hp_names)]

    def show_corpus_inputs(kind):
        """Only the chosen corpus's inputs: K on modes, the file box on upload, the path box on path and hub."""
        return (gr.update(visible=kind == "modes"), gr.update(visible=kind == "upload"),
                gr.update(visible=kind in ("path", "hub")), gr.update(visible=kind == "modes"),
                gr.update(visible=kind == "modes"))

    def restore(request: gr.Request):
        """The form a shared link describes (its query parameters); what cannot be restored is named on the
        status line and ignored."""
        params = dict(request.query_params)
        steps, notices = steps_from_query(params.pop("steps", None))
        values, more = F.form_from_query(params)
        fixed, hp = link_updates(values, hp_names)
        fixed["stop_after"] = steps
        notices += more
        notice = ctx.shown("the link's settings were restored except: " + "; ".join(notices)) if notices else gr.skip()
        return [*(fixed[n] for n in (*LINK_OUTPUTS, *VARIANT_OUTPUTS)), *(hp[n] for n in hp_names), notice]

    def page_load():
        return gr.update(choices=F.device_choices()), F.device_note()

    @ctx.errors(status_only=False)
    def make_link(*values):
        *form, stop = values
        query, notices = F.share_query(tab.read(form))
        steps = stop_after_steps(stop)
        query += f"&steps={steps}" if steps else ""  # a lesson's step count travels with its settings
        return gr.update(value=query, visible=True, info="; ".join(notices) or None)

    # .input, not .change: a shared link sets the variant and then its own hyperparameters, which a change event
    # would overwrite with the preset's.
    doors.on(c["variant"].input, "pick_variant", pick_variant, [c["variant"], c["preset"]], picked)
    doors.on(c["preset"].input, "preset_defaults", pick_variant, [c["variant"], c["preset"]], picked)
    doors.on(c["corpus"].change, "corpus_inputs", show_corpus_inputs, c["corpus"],
             [c["k"], c["upload"], c["path"], tab.plots["modes"], c["weights"]])
    doors.on(demo.load, "restore_link", restore, None, [*(c[n] for n in LINK_OUTPUTS), *picked, c["status"]])
    doors.on(demo.load, "device_choices", page_load, None, [c["device"], c["device_md"]])
    doors.on(c["link_btn"].click, "share_link", make_link, [*tab.form, c["stop_after"]], c["link"]).then(
        None, c["link"], c["link"], js=LINK_JS)
