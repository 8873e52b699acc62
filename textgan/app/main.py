"""The whole app: the tabs composed around one Lab, and `serve`, which `app.py` (the Space's entry) and
`python -m textgan serve` both call. Nothing heavy happens at import: tests build their own demo on a free port."""

from __future__ import annotations

import os

import gradio as gr

from textgan import lab as L

from . import compare_tab, doors, hub_tab, train_tab
from .common import AppContext

INTRO = ("**TextGAN Lab** · train a text GAN live and watch it learn, or collapse onto a few modes: the default "
         "`modes` corpus has K known modes, so collapse is measured exactly.")
"""One line, so that the Train tab's controls and figures fit a 720-pixel-high screen."""


def build_demo(lab: L.Lab) -> gr.Blocks:
    """The whole app around one Lab (tests build their own with a temporary checkpoints directory)."""
    ctx = AppContext(lab)

    def close_session(request: gr.Request) -> None:  # the browser tab closed: stop and free its run
        lab.close(request.session_hash)

    with gr.Blocks(title="TextGAN Lab") as demo:
        gr.Markdown(INTRO)
        train = train_tab.build(ctx, demo)
        compare = compare_tab.build(ctx, demo, train)
        hub_tab.build(ctx, demo, compare)
        doors.on(demo.unload, "close_session", close_session)
    demo.queue(default_concurrency_limit=2, max_size=64)
    doors.check(demo)  # every event that runs Python is a door of the table, and the table has no stale door
    doors.guard_inputs(demo)
    return demo


def serve(demo: gr.Blocks | None = None, host: str | None = None, port: int | None = None) -> None:
    """Launch the app (the operator's environment: Lab.from_env and the README), blocking until it is stopped.
    Host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 0.0.0.0:7860."""
    from textgan import hub

    hub.serve_visitors()  # this process acts for visitors: the operator's Hub token is out of their reach
    demo = demo if demo is not None else build_demo(L.Lab.from_env())
    demo.launch(server_name=host or os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=port or int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
