"""The whole app: the tabs composed around one Lab, and `serve`, which `app.py` (the Space's entry) and
`python -m textgan serve` both call. Nothing heavy happens at import: tests build their own demo on a free port."""

from __future__ import annotations

import contextlib
import os

import anyio.to_thread
import gradio as gr
from starlette.middleware import Middleware

from textgan import hub
from textgan import lab as L
from textgan.lab import quota as Q

from . import compare_tab, doors, hub_tab, train_tab
from .common import VISITOR_STORAGE, AppContext
from .upload_budget import UploadBudget

INTRO = ("**TextGAN Lab** · train a text GAN live and watch it learn, or collapse onto a few modes: the default "
         "`modes` corpus has K known modes, so collapse is measured exactly.")
"""One line, so that the Train tab's controls and figures fit a 720-pixel-high screen."""
UPLOADS_KEPT_S = 3600
"""How long Gradio keeps a visitor's upload in its cache (checked as often): a stranger's uploads cannot pile up."""


def build_demo(lab: L.Lab) -> gr.Blocks:
    """The whole app around one Lab (tests build their own with a temporary checkpoints directory)."""
    ctx = AppContext(lab)

    def tab_closed(request: gr.Request) -> None:
        ctx.forget(request)  # its run stops when nobody polls it (autosaved), or a reload finds it running

    # Gradio keeps every upload until the server restarts: delete them after an hour (Train copies what it uses).
    with gr.Blocks(title="TextGAN Lab", delete_cache=(UPLOADS_KEPT_S, UPLOADS_KEPT_S)) as demo:
        gr.Markdown(INTRO)
        # The visitor key, kept in this browser: a reloaded or reopened tab acts for the same visitor.
        visitor_key = gr.BrowserState(None, storage_key=VISITOR_STORAGE, secret="textgan-visitor")
        doors.on(demo.load, "identify", ctx.identify, visitor_key, visitor_key)
        train = train_tab.build(ctx, demo)
        compare = compare_tab.build(ctx, demo, train)
        hub_tab.build(ctx, demo, compare)
        doors.on(demo.unload, "close_session", tab_closed)
    demo.queue(default_concurrency_limit=2, max_size=64)
    doors.check(demo)  # every event that runs Python is a door of the table, and the table has no stale door
    doors.guard_inputs(demo)
    return demo


def serve(demo: gr.Blocks | None = None, host: str | None = None, port: int | None = None) -> None:
    """Launch the app (the operator's environment: Lab.from_env and the README), blocking until it is stopped.
    Host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 0.0.0.0:7860."""
    hub.serve_visitors()  # this process acts for visitors: the operator's Hub token is out of their reach
    lab = L.Lab.from_env() if demo is None else None
    demo = demo if demo is not None else build_demo(lab)
    os.environ.setdefault("UV_THREADPOOL_SIZE", "1")  # the event loop's file/DNS helper threads (libuv's default: 4)
    demo.launch(server_name=host or os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=port or int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                **launch_options(lab.policy if lab is not None else Q.Policy.from_env()))


def launch_options(policy: Q.Policy) -> dict:
    """What `serve` asks of Gradio's web server beside its address: few threads, and Gradio's own upload route (no
    door of the table) bounded: no file over the corpus limit, and the bytes a network address may post per hour."""
    budget = Middleware(UploadBudget, per_address=policy.upload_per_hour, per_server=10 * policy.upload_per_hour)
    return {"max_threads": server_threads(), "max_file_size": L.MAX_UPLOAD_BYTES,
            "app_kwargs": {"lifespan": _bounded_threads, "middleware": [budget]}}


@contextlib.asynccontextmanager
async def _bounded_threads(app):
    """Gradio runs handlers under its own limiter (`max_threads`) but pre- and post-processing under anyio's
    default one (40 threads): bound that one too (half as many: they take microseconds to milliseconds), inside
    the server's event loop where it lives."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = max(2, server_threads() // 2)
    yield


def server_threads() -> int:
    """Threads the web server answers requests with (TEXTGAN_SERVER_THREADS, default 3; Gradio's own default is
    40): polls take milliseconds, training runs on the lab's own workers, and on a 2-vCPU Space every extra thread
    only adds memory and contention (bench/load.py --scenario hostile: at most 16 threads in all)."""
    raw = os.environ.get("TEXTGAN_SERVER_THREADS", "3")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"TEXTGAN_SERVER_THREADS={raw!r} is not a whole number") from None
    if not 2 <= n <= 256:
        raise ValueError(f"TEXTGAN_SERVER_THREADS={n} must be in 2..256")
    return n
