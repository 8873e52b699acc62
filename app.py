"""TextGAN Lab: train a text GAN live, watch it learn or collapse, compare variants, share runs on the Hub.

`python app.py` serves on 0.0.0.0:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override; the README lists every
variable the app reads). This file only composes the tabs: each lives in `ui/` (`train_tab`, `compare_tab`,
`hub_tab`), training lives in `textgan.lab` (one Session per browser tab, on a worker thread), figures in
`textgan.plots`. Nothing heavy happens at import: tests import this module and launch `demo` on a free port.
"""

from __future__ import annotations

import os

import gradio as gr

from textgan import lab as L
from ui import compare_tab, hub_tab, train_tab
from ui.common import AppContext

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
        demo.unload(close_session)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


demo = build_demo(L.Lab.from_env())  # every variable it reads: Lab.from_env and the README

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
