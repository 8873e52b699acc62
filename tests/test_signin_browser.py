"""Issue 22's sign-in, in a real browser: the Hub tab shows "Sign in with Hugging Face"; a visitor who signs in and
pushes this session's run gets the repo in their own namespace on the local Hub server (tests/hub_server.py), pushed
with their own token, never the operator's HF_TOKEN.

Locally Gradio mocks the sign-in (gradio/oauth.py `_add_mocked_oauth_routes`): clicking the button goes through
/login/huggingface and /login/callback, which put `_get_mocked_oauth_info()` into the session cookie, and handlers
then receive its `access_token` as `gr.OAuthToken` and its `userinfo` as `gr.OAuthProfile`. Gradio builds that info
from the machine's login (HF_TOKEN, whoami) with a fixed fake token the Hub does not know, so the operator (alice,
HF_TOKEN) and the visitor would be one person. Here the mocked info is Gradio's own, with the visitor changed to
carol, a user the local Hub server knows: the push must land in carol's namespace for the test to pass."""

import pytest

import hub_server as hub_module
from app_helpers import browser_on, open_page
from textgan import lab as L

OPERATOR_TOKEN = "hf_textgan_alice_token"
VISITOR, VISITOR_TOKEN = "carol", "hf_textgan_carol_token"
POINTS_JS = """() => {
  const g = document.querySelector('#loss-plot .js-plotly-plot');
  return g && g.data && g.data.length ? g.data[0].x.length : 0;
}"""


@pytest.fixture
def signed_in_app(tmp_path, hub_server, monkeypatch):
    """The app as an operator runs it locally with a Hugging Face login (HF_TOKEN: alice), Gradio's sign-in mocked
    with carol as the visitor."""
    import gradio.oauth

    hub_server.reset()
    monkeypatch.setitem(hub_module.VALID_TOKENS, VISITOR_TOKEN, VISITOR)
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)  # with TEXTGAN_LOCAL_SIGNIN, hub_tab.signin_available() off a Space
    monkeypatch.setenv("TEXTGAN_LOCAL_SIGNIN", "1")  # the developer's opt-in to Gradio's stand-in sign-in
    monkeypatch.delenv("SPACE_ID", raising=False)
    gradios_mock = gradio.oauth._get_mocked_oauth_info

    def visitor_signs_in() -> dict:
        info = gradios_mock()  # Gradio's own mocked info (whoami of HF_TOKEN on the local Hub), visitor swapped
        assert info["userinfo"]["preferred_username"] == "alice"
        info["access_token"] = VISITOR_TOKEN
        info["userinfo"] = {**info["userinfo"], "name": "Carol", "preferred_username": VISITOR,
                            "profile": f"https://huggingface.co/{VISITOR}"}
        return info

    monkeypatch.setattr(gradio.oauth, "_get_mocked_oauth_info", visitor_signs_in)
    lab = L.Lab(max_training=2, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    with browser_on(lab) as app:
        yield app


@pytest.mark.filterwarnings("ignore:Gradio does not support OAuth features outside:UserWarning")
def test_a_signed_in_visitor_pushes_from_the_browser_to_their_own_namespace(signed_in_app, hub_server):
    page = open_page(signed_in_app)
    page.get_by_role("tab", name="Hub").click()
    signin = page.get_by_role("button", name="Sign in with Hugging Face")
    signin.wait_for(timeout=20_000)
    signin.click()  # the mocked OAuth round trip: /login/huggingface -> /login/callback -> back to the page
    page.wait_for_selector("#train", timeout=60_000)
    page.get_by_role("tab", name="Hub").click()
    page.get_by_role("button", name=f"Logout ({VISITOR})").wait_for(timeout=30_000)

    page.get_by_role("tab", name="Train").click()
    page.click("#train")  # a run to push: this session's
    page.wait_for_function(f"({POINTS_JS})() > 0", timeout=60_000)
    page.click("#pause")
    page.wait_for_function("() => document.querySelector('#status').innerText.startsWith('paused')", timeout=30_000)
    page.get_by_role("tab", name="Hub").click()

    page.get_by_label("repo id").fill("signed-in-run")  # a name alone: the visitor's own namespace
    page.get_by_role("button", name="Push", exact=True).click()
    page.wait_for_function("() => /pushed|⚠️/.test(document.body.innerText)", timeout=60_000)
    assert "pushed" in page.inner_text("body"), page.inner_text("body")[-2000:]

    repos = hub_server.state.repos
    assert f"{VISITOR}/signed-in-run" in repos and "alice/signed-in-run" not in repos, sorted(repos)
    repo = repos[f"{VISITOR}/signed-in-run"]
    assert repo.owner == VISITOR
    _, files = repo.resolve("main")
    assert any(name.endswith(".json") for name in files) and any(name.endswith(".safetensors") for name in files), \
        sorted(files)
