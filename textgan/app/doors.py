"""The app's doors: every event a stranger can call, in one table, and the only way to register one.

Every Gradio event that runs Python is reachable over HTTP: a public one by its `api_name`
(`/gradio_api/call/NAME`, `gradio_client`), and a private one too: by its index (`/gradio_api/queue/join` with
`fn_index`, which is how the page itself calls it) and by its name at `/gradio_api/call/NAME`. So the table lists
both kinds; `public` only decides whether the API page and `gradio_client` show it. `on` registers an event under
a name from the table (an unknown name is refused when the app is built) and wraps its function so that nothing a
caller sends ends in a traceback; `check` then compares the built app with the table both ways; `guard_inputs`
turns what Gradio itself refuses before a handler runs (a value outside a dropdown's choices, a wrong type, missing
inputs, a string over MAX_TEXT) into one quiet line.

Costs: `none` (pure, or reads a few small files), `poll` (reads the caller's state, ~1/s per open tab), `compute`
(trains or samples: charged to the caller's session), `disk` (writes run directories), `hub` (talks to the Hub).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Literal

import gradio as gr

log = logging.getLogger(__name__)

Cost = Literal["none", "poll", "compute", "disk", "hub"]
MAX_TEXT = 4096
"""Longest string any door accepts in one input (paths, names, repo ids, tokens, numbers typed as text)."""
MAX_ITEMS = 256
"""Most items of a list any door accepts in one input (a list of runs or variants)."""

CALLER = "the caller's session"
NOBODY = "nobody (a pure function of its inputs)"
SERVER = "the server (lists what every visitor may see)"


class DoorError(RuntimeError):
    """The app registers an event that the table does not list, or the table lists one the app lacks."""


@dataclass(frozen=True)
class Door:
    """One endpoint: what it may read and write, what it costs, for whom it acts."""

    name: str
    reads: str
    writes: str
    cost: Cost
    acts_for: str = CALLER
    public: bool = True
    """Shown on the API page and to gradio_client; a private door is still callable by its index."""


_FORM = "the Train form"
_SESSION_DIR = "the caller's folder, checkpoints/sessions/SESSION/"
_UPLOADS = "checkpoints/sessions/SESSION/uploads/ (charged to the caller's disk quota)"
DOORS: dict[str, Door] = {d.name: d for d in [
    # ---- the Train tab ------------------------------------------------------------------------------------------
    Door("poll", "the caller's run: status, history, samples", "nothing", "poll"),
    Door("train", f"{_FORM}; an upload from Gradio's upload cache; a Hub dataset",
         f"the caller's run; the upload's copy in {_UPLOADS}", "compute"),
    Door("pause", "the caller's run", "the caller's run state", "none"),
    Door("resume", "the caller's run", "the caller's run state", "compute"),
    Door("stop", "the caller's run", "the caller's run state", "none"),
    Door("reset", "the caller's run", f"an autosave in {_SESSION_DIR}", "disk"),
    Door("step", f"{_FORM}; the caller's run", f"the caller's run; the upload's copy in {_UPLOADS}", "compute"),
    Door("speed", "a number", "the caller's run speed", "none"),
    Door("apply", "the hyperparameter fields", "the caller's run settings", "none"),
    Door("save", "a name (one path component)", f"a run directory in {_SESSION_DIR}", "disk"),
    Door("pick_variant", "a variant and preset", "nothing", "none", NOBODY),
    Door("share_link", _FORM, "nothing", "none", NOBODY),
    Door("redraw", "nothing", "nothing", "none", NOBODY, public=False),
    Door("preset_defaults", "a variant and preset", "nothing", "none", NOBODY, public=False),
    Door("corpus_inputs", "a corpus choice", "nothing", "none", NOBODY, public=False),
    Door("restore_link", "the page's query string", "a notice on the caller's status line", "none", public=False),
    Door("device_choices", "the server's devices", "nothing", "none", NOBODY, public=False),
    # ---- lessons (Train tab) ------------------------------------------------------------------------------------
    *[Door(f"scenario_{k}", "a device choice", "the caller's run (reset, then the lesson's settings)", "compute")
      for k in ("learn", "collapse", "critic_wins", "gp_fix", "rare_modes")],
    Door("poll_lesson", "the caller's run: history, critic scores", "nothing", "poll"),
    # ---- the Compare tab ----------------------------------------------------------------------------------------
    Door("open_experiment", "an experiment directory under experiments/ (by listed name)", "nothing", "none", SERVER),
    Door("experiment_curve", "an experiment directory under experiments/ (by listed name)", "nothing", "none", SERVER,
         public=False),
    Door("list_experiments", "the names under experiments/", "nothing", "none", SERVER),
    Door("list_experiments_on_load", "the names under experiments/", "nothing", "none", SERVER, public=False),
    Door("refresh_runs", "the caller's saved runs and the examples (names only)", "nothing", "none"),
    Door("list_runs_on_load", "the caller's saved runs and the examples (names only)", "nothing", "none",
         public=False),
    Door("compare", "the caller's run, saved runs and the examples", "nothing", "compute"),
    Door("quality_diversity", "the caller's run, saved runs and the examples", "nothing", "compute"),
    Door("continue_training", "one of the caller's saved runs or an example", "the caller's run", "compute"),
    Door("train_variants", f"{_FORM}; variants; steps", f"run directories and the upload's copy in {_SESSION_DIR}",
         "compute"),
    Door("poll_sweep", "the caller's comparison in training", "nothing", "poll"),
    # ---- the Hub tab --------------------------------------------------------------------------------------------
    Door("push", "the caller's run or saved run; the caller's token",
         "checkpoints/sessions/SESSION/pushed-run; a Hub repo", "hub"),
    Door("pull", "a Hub repo (the caller's token)", "a run directory under checkpoints/", "hub"),
    Door("list_push_sources", "the caller's saved runs and the examples (names only)", "nothing", "none",
         public=False),
    # ---- the page -----------------------------------------------------------------------------------------------
    Door("close_session", "nothing", "forgets which visitor the tab was (its run stops when nobody polls it)", "none",
         public=False),
    Door("identify", "the visitor key kept in the browser (BrowserState)", "a new key when it has none; remembers "
         "which visitor the tab is (bounded)", "none", public=False),
]}


GRADIO_DOORS: dict[str, Door] = {d.name: d for d in [
    Door("_check_login_status", "the visitor's sign-in cookie (Gradio's LoginButton)", "nothing", "none",
         "the caller (Gradio's own OAuth session)"),
]}
"""Events Gradio registers itself, present only where the Hub tab shows "Sign in with Hugging Face"
(`hub_tab.signin_available`); their visibility is Gradio's. Listed so that no event runs Python unlisted."""


def on(event: Callable, name: str, fn: Callable, inputs: Any = None, outputs: Any = None, *,
       status: Any = None, **kwargs) -> Any:
    """Register `fn` on `event` (e.g. `button.click`) as the door `name`: refused at build time when the table does
    not list it; its function never raises to Gradio (a refusal, a ValueError, reads as a message on `status`
    when given, an unexpected error is logged once and shown short) so the page keeps every other output as it was."""
    door = DOORS.get(name)
    if door is None:
        raise DoorError(f"no door named {name!r} in textgan/app/doors.py: add it to DOORS with what it reads, "
                        "writes and costs")
    guarded = _guard(fn, name, outputs, status)
    if getattr(event, "__name__", "") == "unload":  # Blocks.unload takes only a function, named by its __name__
        guarded.__name__ = name
        return event(guarded)
    return event(guarded, inputs, outputs, api_name=name,
                 api_visibility="public" if door.public else "private", **kwargs)


def _as_list(outputs: Any) -> list:
    if outputs is None:
        return []
    return list(outputs) if isinstance(outputs, (list, tuple, set)) else [outputs]


def _guard(fn: Callable, name: str, outputs: Any, status: Any) -> Callable:
    """`fn`, answering a refusal or an error with a message on `status` and no change anywhere else."""
    outs = _as_list(outputs)

    def answer(message: str):
        if status is not None:
            return {status: message}
        if len(outs) == 1:
            return gr.skip()
        return tuple(gr.skip() for _ in outs) if outs else None

    @wraps(fn)
    def guarded(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:  # LabError and the engine's refusals: the message is for the visitor
            return answer(f"⚠️ {one_line(str(e))}")
        except Exception as e:
            log.exception("door %s failed", name)
            return answer(f"⚠️ {name} failed ({type(e).__name__}); the server keeps running")
    return guarded


def one_line(text: str, limit: int = 300) -> str:
    """`text` as one line of at most `limit` characters (a message must not echo 100 kB back)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def check(demo: gr.Blocks) -> None:
    """Every event of the built app that runs Python is a door of the table, and every door of the table is wired
    (with the table's visibility). Called by `build_demo`: a stray or stale door stops the app from starting."""
    wired: dict[str, Any] = {}
    for fn in demo.fns.values():
        if fn.fn is None:  # a browser-side (js) event: nothing runs on the server
            continue
        if fn.api_name in GRADIO_DOORS:
            continue
        if fn.api_name not in DOORS:
            raise DoorError(f"event {fn.api_name!r} ({getattr(fn.fn, '__name__', '?')}) is not in the table of doors: "
                            "register it with doors.on(...) under a name listed in DOORS")
        if fn.api_name in wired:
            raise DoorError(f"door {fn.api_name!r} is wired twice")
        wired[fn.api_name] = fn
    missing = sorted(set(DOORS) - set(wired))
    if missing:
        raise DoorError(f"the table lists doors the app does not wire: {missing}")
    for name, fn in wired.items():
        want = "public" if DOORS[name].public else "private"
        if fn.api_visibility != want:
            raise DoorError(f"door {name!r} is {fn.api_visibility}, the table says {want}")


def _field(block_fn, inputs: list, error: Exception) -> str:
    """The label of the input Gradio refused (by the index it reports, else the first value it could not take)."""
    blocks = list(block_fn.inputs)
    m = re.search(r"at index (\d+)", str(error))
    if m and int(m.group(1)) < len(blocks):
        return getattr(blocks[int(m.group(1))], "label", None) or "an input"
    if "validation error" in str(error):  # a payload that is not its component's data model (a file, a frame)
        for block, value in zip(blocks, inputs):
            if getattr(block, "data_model", None) is not None and value is not None:
                return getattr(block, "label", None) or "an input"
    for block, value in zip(blocks, inputs):
        choices = getattr(block, "choices", None)
        if choices and not getattr(block, "allow_custom_value", False):
            allowed = {c[1] if isinstance(c, (tuple, list)) else c for c in choices}
            values = value if isinstance(value, list) else [value]
            try:
                if any(v not in allowed for v in values):
                    return getattr(block, "label", None) or "an input"
            except TypeError:  # unhashable
                return getattr(block, "label", None) or "an input"
    return "an input"


def _too_long(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_TEXT
    if isinstance(value, (list, tuple)):
        return len(value) > MAX_ITEMS or any(_too_long(v) for v in value)
    if isinstance(value, dict):
        return len(value) > 32 or any(_too_long(v) for v in value.values())
    return False


def guard_inputs(demo: gr.Blocks) -> None:
    """What Gradio refuses before a door's function runs (a value outside the choices, a wrong type, a file
    payload that is not one, too few inputs) becomes one quiet line naming the field: no traceback in the server's
    log, nothing echoed at length. Only a raw API caller sees it: the page never sends such values."""
    original = demo.preprocess_data

    @wraps(original)
    async def preprocess_data(block_fn, inputs, state, explicit_call=False):
        long = next((getattr(b, "label", None) or "an input" for b, v in zip(block_fn.inputs, inputs)
                     if _too_long(v)), None)
        if long is not None:
            raise gr.Error(f"⚠️ /{block_fn.api_name} refused {long!r}: longer than {MAX_TEXT} characters (or "
                           f"{MAX_ITEMS} items)", print_exception=False)
        try:
            return await original(block_fn, inputs, state, explicit_call)
        except Exception as e:
            if len(inputs) < len(block_fn.inputs):
                msg = f"{len(inputs)} values sent, {len(block_fn.inputs)} expected"
            else:
                msg = f"{_field(block_fn, inputs, e)!r}: {one_line(str(e).strip(chr(34) + chr(39)), 160)}"
            raise gr.Error(f"⚠️ /{block_fn.api_name} refused {msg}", print_exception=False) from None

    demo.preprocess_data = preprocess_data


def markdown_table() -> str:
    """The table of doors as Markdown, for the README (a test checks that they agree)."""
    rows = ["| door | API | reads | writes | cost | acts for |", "|---|---|---|---|---|---|"]
    for d in DOORS.values():
        rows.append(f"| `{d.name}` | {'public' if d.public else 'private (by index)'} | {d.reads} | {d.writes} | "
                    f"{d.cost} | {d.acts_for} |")
    for d in GRADIO_DOORS.values():
        rows.append(f"| `{d.name}` | Gradio's own, with sign-in only | {d.reads} | {d.writes} | {d.cost} | "
                    f"{d.acts_for} |")
    return "\n".join(rows)
