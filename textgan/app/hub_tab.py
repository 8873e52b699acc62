"""The Hub tab: push this session's run (saved first) or a saved one to the Hugging Face Hub, and pull a run into the
visitor's own folder, where the Compare tab selects it.

A visitor acts on the Hub as themselves, never as the server: with the token they type, or by signing in with
Hugging Face (`gr.LoginButton`; the handlers receive `gr.OAuthToken` / `gr.OAuthProfile`). A token is used for one
request and the field is cleared afterwards; it is never stored or logged. Without either, pushes are refused and
pulls are anonymous (public repos only)."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from huggingface_hub import get_token

from textgan import lab as L

from . import doors
from .common import THIS, AppContext
from .compare_tab import CompareTab

logger = logging.getLogger(__name__)


@dataclass
class HubTab:
    push_source: Any
    message: Any


def signin_available() -> bool:
    """Whether a "Sign in with Hugging Face" button can work here: on a Space with OAuth on (`hf_oauth: true` sets
    OAUTH_CLIENT_ID), or off a Space when the operator asks for it (TEXTGAN_LOCAL_SIGNIN=1) and the machine has a
    Hugging Face login: there Gradio mocks the sign-in by signing every visitor in as that login's account (its user
    name and full name, though with a token the Hub refuses), which is for a developer's own machine, never a public
    server. Either way with Gradio's OAuth extra installed (`gradio[oauth]`)."""
    on_space = bool(os.environ.get("SPACE_ID"))
    # importlib.util.find_spec is read when called: a test hides Gradio's OAuth extra by replacing it
    missing = [m for m in ("itsdangerous", "authlib")[:2 if on_space else 1] if importlib.util.find_spec(m) is None]
    if missing:  # Gradio would refuse to start with a LoginButton
        logger.warning("no 'Sign in with Hugging Face' button: %s missing (pip install \"gradio[oauth]\")",
                       ", ".join(missing))
        return False
    if on_space:
        return bool(os.environ.get("OAUTH_CLIENT_ID"))
    return os.environ.get("TEXTGAN_LOCAL_SIGNIN", "").strip() == "1" and get_token() is not None


def build(ctx: AppContext, demo: gr.Blocks, compare: CompareTab) -> HubTab:
    """Lay out the Hub tab inside the current Blocks and wire its events."""
    with gr.Tab("Hub"):
        signin = signin_available()
        gr.Markdown("Share runs on the Hugging Face Hub as yourself: "
                    + ("sign in with Hugging Face, or paste a token. " if signin else "paste a token. ")
                    + "A token is used for this request only: never stored or logged, and the field is cleared "
                      "afterwards. Without one, pulls read public repos only.")
        if signin:
            gr.LoginButton()
        with gr.Row():
            push_src = gr.Dropdown([THIS], value=THIS, label="run to push", info="This session's run or a saved one.")
            repo = gr.Textbox(label="repo id", placeholder="your-name/wgan-gp-modes",
                              info="owner/name on the Hub; a name alone goes to your own account.")
            private = gr.Checkbox(False, label="private", info="Only you (and your organisation) can see it.")
        token = gr.Textbox(label="token (write access to push)", type="password",
                           info="Your own Hugging Face token" + (", if you did not sign in" if signin else "")
                                + ". Used for this request only, never stored.")
        with gr.Row():
            push_btn = gr.Button("Push", variant="primary")
            revision = gr.Textbox(label="revision to pull (optional)", info="A branch, tag or commit; empty = latest.")
            pull_btn = gr.Button("Pull into your runs")
        hub_msg = gr.Markdown()
    _wire(ctx, compare, push_src, repo, private, token, revision, push_btn, pull_btn, hub_msg)
    return HubTab(push_source=push_src, message=hub_msg)


def _wire(ctx: AppContext, compare: CompareTab, push_src, repo, private, token, revision, push_btn, pull_btn,
          hub_msg) -> None:
    def push(source, repo_id, typed, private, request: gr.Request, oauth: gr.OAuthToken | None,
             profile: gr.OAuthProfile | None):
        try:
            if not source:
                raise L.LabError("choose what to push: this session's run or a saved one")
            visitor = L.visitor_token(typed, oauth.token if oauth else None)
            L.sharing.check_can_push(visitor)  # before saving anything
            ctx.lab.allow(ctx.visitor(request), "push")  # the hourly limits
            if source == THIS:
                s = ctx.session(request)
                path = s.save(ctx.lab.share_dir(s), overwrite=True)  # this session's own folder
            else:
                path = Path(ctx.saved_run(request, source))
            url = L.push_run(path, repo_id, token=visitor, private=private,
                             username=profile.username if profile and not (typed or "").strip() else None)
            return f"pushed {L.shown(path.name)} to {L.shown(url)}", ""  # the token field is cleared, never kept
        except ValueError as e:
            return f"⚠️ {ctx.shown(e)}", ""

    def pull(repo_id, revision, typed, request: gr.Request, oauth: gr.OAuthToken | None):
        try:
            repo_id = (repo_id or "").strip()
            who = ctx.visitor(request)
            ctx.lab.allow(who, "pull")  # the hourly limits
            ctx.lab.charge_disk(who, 0)  # refused when the visitor's folder is already full
            folder = ctx.lab.session_dir(who)  # the visitor's own: listed for them only
            path = L.pull_run(repo_id, folder, revision=revision,
                              token=L.visitor_token(typed, oauth.token if oauth else None))
            try:
                ctx.lab.charge_disk(who, 0)  # the pull itself (bounded by its config) must fit the quota too
            except ValueError:
                shutil.rmtree(path, ignore_errors=True)
                raise
            choices = ctx.checkpoint_choices(request)
            return (f"pulled {L.shown(repo_id)} into {L.shown(L.shown_path(path, ctx.lab.checkpoints))}: it is "
                    "selected in Compare; use Continue training there to train it",
                    "", gr.update(choices=choices, value=[L.shown_path(path, ctx.lab.checkpoints)]),
                    gr.update(choices=choices))
        except ValueError as e:
            return f"⚠️ {ctx.shown(e)}", "", gr.skip(), gr.skip()

    def list_runs(request: gr.Request):
        return gr.update(choices=ctx.checkpoint_choices(request))

    doors.on(compare.refresh.click, "list_push_sources", list_runs, None, push_src)
    doors.on(push_btn.click, "push", push, [push_src, repo, token, private], [hub_msg, token], status=hub_msg,
             concurrency_id="heavy")
    doors.on(pull_btn.click, "pull", pull, [repo, revision, token], [hub_msg, token, compare.runs, push_src],
             status=hub_msg, concurrency_id="heavy")
