"""The Hub tab: push this session's run (saved first) or a saved one to the Hugging Face Hub, and pull a run into
the server's checkpoints, where the Compare tab selects it. The token is used for one request and the field is
cleared afterwards; it is never stored or logged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from textgan import lab as L

from . import doors
from .common import THIS, AppContext
from .compare_tab import CompareTab


@dataclass
class HubTab:
    push_source: Any
    message: Any


def build(ctx: AppContext, demo: gr.Blocks, compare: CompareTab) -> HubTab:
    """Lay out the Hub tab inside the current Blocks and wire its events."""
    with gr.Tab("Hub"):
        gr.Markdown("Share runs on the Hugging Face Hub. The token is used for this request only: never stored "
                    "or logged, and the field is cleared afterwards.")
        with gr.Row():
            push_src = gr.Dropdown([THIS], value=THIS, label="run to push", info="This session's run or a saved one.")
            repo = gr.Textbox(label="repo id", placeholder="your-name/wgan-gp-modes",
                              info="owner/name on the Hub.")
            private = gr.Checkbox(False, label="private", info="Only you (and your organisation) can see it.")
        token = gr.Textbox(label="token (write access to push)", type="password",
                           info="Used for this request only, never stored.")
        with gr.Row():
            push_btn = gr.Button("Push", variant="primary")
            revision = gr.Textbox(label="revision to pull (optional)", info="A branch, tag or commit; empty = latest.")
            pull_btn = gr.Button("Pull into checkpoints/")
        hub_msg = gr.Markdown()

    def push(source, repo_id, token, private, request: gr.Request):
        try:
            if not source:
                raise L.LabError("choose what to push: this session's run or a saved one")
            if source == THIS:
                s = ctx.session(request)
                path = s.save(ctx.lab.share_dir(s), overwrite=True)  # this session's own folder
            else:
                path = Path(ctx.saved_run(request, source))
            url = L.push_run(path, repo_id, token=token, private=private)
            return f"pushed {path.name} to {url}", ""  # the token field is cleared, never kept
        except ValueError as e:
            return f"⚠️ {e}", ""

    def pull(repo_id, revision, token, request: gr.Request):
        try:
            repo_id = (repo_id or "").strip()
            path = L.pull_run(repo_id, ctx.lab.checkpoints, revision=revision, token=token)
            choices = ctx.checkpoint_choices(request)
            return (f"pulled {repo_id} into {path}: it is selected in Compare; use Continue training there to train it",
                    "", gr.update(choices=choices, value=[str(path)]), gr.update(choices=choices))
        except ValueError as e:
            return f"⚠️ {e}", "", gr.skip(), gr.skip()

    def list_runs(request: gr.Request):
        return gr.update(choices=ctx.checkpoint_choices(request))

    doors.on(compare.refresh.click, "list_push_sources", list_runs, None, push_src)
    doors.on(push_btn.click, "push", push, [push_src, repo, token, private], [hub_msg, token], status=hub_msg,
             concurrency_id="heavy")
    doors.on(pull_btn.click, "pull", pull, [repo, revision, token], [hub_msg, token, compare.runs, push_src],
             status=hub_msg, concurrency_id="heavy")
    return HubTab(push_source=push_src, message=hub_msg)
