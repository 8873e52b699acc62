"""The public app's boundary for files, secrets and text (issue 21 items 3-5, issue 22's sign-in), tried as a stranger
would: raw gradio_client calls against the real app, the real huggingface_hub client against the local Hub server
(tests/hub_server.py). The operator's HF_TOKEN is set, as on a Space with a secret. Each test failed on the code
before the fix."""

import html
import json
import shutil
from pathlib import Path

import pytest
import torch
from gradio_client.exceptions import AppError
from safetensors.torch import load_file, save_file

from app_helpers import TINY, browser_on, form, serving
from hub_server import VALID_TOKENS
from textgan import hub
from textgan import lab as L
from textgan.lab import quota as Q
from textgan.hub import HubError

ALICE, BOB = list(VALID_TOKENS)  # the operator is alice; visitors are bob, or nobody
DEMO = Path(__file__).resolve().parent.parent / "checkpoints" / "demo-mle"
PATH_LABEL = "a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)"
UPLOAD_LABEL = "upload a .txt corpus (one sentence per line)"


@pytest.fixture(scope="module")
def served(tmp_path_factory, hub_server):
    """The app as an operator runs it on a Space: HF_TOKEN set (the operator's), a fresh checkpoints folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_TOKEN", ALICE)
        root = tmp_path_factory.mktemp("boundary")
        lab = L.Lab(checkpoints=root / "checkpoints", torch_threads=1)
        with serving(lab) as (_, client, url):
            yield lab, client, url


def train(client, **changes):
    return client.predict(*form(client, "/train", **{**TINY, **changes}), api_name="/train")


def raw_call(url: str, api_name: str, data: list) -> list:
    """POST a call as a stranger would (no gradio_client: it would upload a file dict's path itself), then read
    the result from the event stream."""
    import httpx

    with httpx.Client(timeout=60) as http:
        event = http.post(f"{url}gradio_api/call/{api_name}", json={"data": data}).json()["event_id"]
        body = http.get(f"{url}gradio_api/call/{api_name}/{event}").text
    lines = body.splitlines()
    if "event: complete" not in lines:  # refused by Gradio itself ("event: error")
        return None
    return json.loads(lines[lines.index("event: complete") + 1].removeprefix("data: "))


def text(markdown: str) -> str:
    """What a Markdown message reads as (its character references decoded)."""
    return html.unescape(markdown)


# ---- 3. the operator's secrets are out of reach --------------------------------------------------------------------

def test_an_empty_token_never_pushes_with_the_operators_token(served, hub_server):
    lab, c, _ = served
    c.predict(api_name="/reset")
    assert "training" in train(c)
    message, cleared = c.predict("this session", "alice/stolen", "", False, api_name="/push")
    assert "sign in with Hugging Face" in text(message) and cleared == ""
    assert "alice/stolen" not in hub_server.state.repos
    c.predict(api_name="/stop")


def test_a_signed_in_visitor_pushes_to_their_own_namespace(served, hub_server):
    """gradio_client's oauth_token is what a browser's sign-in gives the handler (a gr.OAuthToken)."""
    from gradio_client import Client

    lab, _, url = served
    bob = Client(url, verbose=False, oauth_token=BOB)
    assert "training" in train(bob)
    message, _ = bob.predict("this session", "lesson-run", "", False, api_name="/push")
    assert "pushed" in text(message), message
    assert "bob/lesson-run" in hub_server.state.repos and "alice/lesson-run" not in hub_server.state.repos
    message, _ = bob.predict("this session", "alice/lesson-run", "", False, api_name="/push")
    assert "403" in text(message) and "alice/lesson-run" not in hub_server.state.repos
    bob.predict(api_name="/stop")


def test_a_typed_token_still_pushes(served, hub_server):
    _, c, _ = served
    c.predict(api_name="/reset")
    assert "training" in train(c)
    message, cleared = c.predict("this session", "bob/typed", BOB, False, api_name="/push")
    assert "pushed" in text(message) and cleared == "" and BOB not in message
    assert "bob/typed" in hub_server.state.repos
    c.predict(api_name="/stop")


def test_a_hub_corpus_never_reads_the_operators_private_dataset(served, hub_server):
    lab, c, _ = served
    c.predict(api_name="/reset")
    secret = "".join(f"the operator's secret line {i}\n" for i in range(50)).encode()
    hub_server.seed("alice/private-lines", {"train.txt": secret}, private=True, repo_type="dataset")
    hub_server.seed("alice/public-lines", {"train.txt": secret.replace(b"secret", b"public")},
                    repo_type="dataset")
    status = text(train(c, corpus="hub", **{PATH_LABEL: "alice/private-lines"}))
    assert "private" in status and "sign in with Hugging Face" in status, status
    assert "training" not in status.split("·")[0]
    assert "training" in train(c, corpus="hub", **{PATH_LABEL: "alice/public-lines"})  # public ones still work
    c.predict(api_name="/reset")


def test_a_signed_in_visitor_reads_their_own_private_dataset_and_repo(served, hub_server):
    from gradio_client import Client

    lab, _, url = served
    lines = "".join(f"bob's own line number {i}\n" for i in range(50)).encode()
    hub_server.seed("bob/diary", {"train.txt": lines}, private=True, owner="bob", repo_type="dataset")
    anonymous = Client(url, verbose=False)
    assert "private" in text(train(anonymous, corpus="hub", **{PATH_LABEL: "bob/diary"}))
    bob = Client(url, verbose=False, oauth_token=BOB)
    assert "training" in train(bob, corpus="hub", **{PATH_LABEL: "bob/diary"})
    bob.predict(api_name="/stop")
    hub_server.seed("bob/private-run", {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()},
                    private=True, owner="bob")
    assert "⚠️" in anonymous.predict("bob/private-run", "", "", api_name="/pull")[0]
    assert "pulled" in text(bob.predict("bob/private-run", "", "", api_name="/pull")[0])


def test_the_stored_token_is_out_of_reach_inside_visitor_access(local_hub, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    assert hub.resolve_token(None) == ALICE  # the CLI's fallback
    with hub.visitor_access(None):
        assert hub.resolve_token(None) is None
        local_hub.seed("alice/secret", {"config.json": b"{}"}, private=True)
        with pytest.raises(HubError, match="private and no token was given: sign in with Hugging Face"):
            hub.pull("alice/secret", out=tmp_path / "out")
    with hub.visitor_access(BOB):
        assert hub.resolve_token(None) == BOB and hub.resolve_token(False) is None


def test_off_a_space_no_stranger_signs_in_as_the_operator(served):
    """Off a Space, Gradio's stand-in for "Sign in with Hugging Face" signs anyone who opens /login/huggingface in
    as the account of the server's HF_TOKEN: the operator's user name and full name went into the stranger's
    session cookie, and the button then read "Logout (alice)". The app offers it only when the operator asks
    (TEXTGAN_LOCAL_SIGNIN=1, for a developer's own machine)."""
    import base64

    import httpx

    _, _, url = served
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as http:
        page = http.get("login/huggingface").text
        cookie = http.cookies.get("session") or ""
    seen = page + base64.b64decode(cookie.split(".")[0] + "==").decode("utf-8", "replace") if cookie else page
    assert "alice" not in seen.lower()


def test_gradios_local_stand_in_sign_in_says_to_paste_a_token(local_hub, tmp_path):
    """Outside a Space, Gradio mocks the sign-in with a token the Hub refuses: the message says what to do."""
    local_hub.seed("alice/public", {"config.json": b"{}"})
    with hub.visitor_access(hub.MOCK_OAUTH_TOKEN):
        with pytest.raises(HubError, match="local stand-in for Hugging Face sign-in .* paste your token"):
            hub.pull("alice/public", out=tmp_path / "out")


def test_serving_the_app_turns_the_stored_token_off_for_the_process(monkeypatch):
    """`python app.py` and `python -m textgan serve` (serve) act for visitors only, in every thread."""
    import threading

    from textgan import hub_access
    from textgan.app import main as app_main

    monkeypatch.setattr(hub_access, "_serving_visitors", False)  # restored after the test
    monkeypatch.setenv("HF_TOKEN", ALICE)
    launched = []
    demo = type("Demo", (), {"launch": staticmethod(lambda **kw: launched.append(kw))})()
    monkeypatch.setattr(app_main, "build_demo", lambda lab: demo)
    app_main.serve()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(hub.resolve_token(None)))
    worker.start()
    worker.join()
    assert seen == [None] and hub.resolve_token(None) is None and launched


# ---- 4. files ------------------------------------------------------------------------------------------------------

def test_gradios_upload_cache_is_bounded_in_size_and_cleaned(monkeypatch, tmp_path):
    """Gradio's /gradio_api/upload takes any file of any size from anyone (its default max_file_size is none), and
    keeps it until the server restarts: a stranger could fill the server's disk without calling a door. The app's
    entry bounds an upload to the corpus limit and has Gradio delete uploads after an hour."""
    from textgan import hub_access
    from textgan.app import main as app_main
    from textgan.app.main import build_demo

    monkeypatch.setattr(hub_access, "_serving_visitors", False)  # serve() sets it for the process: restored after
    launched = []
    monkeypatch.setattr(app_main.gr.Blocks, "launch", lambda self, **kw: launched.append(kw))
    demo = build_demo(L.Lab(checkpoints=tmp_path / "checkpoints", torch_threads=1))
    app_main.serve(demo)
    assert launched and launched[0]["max_file_size"] == L.MAX_UPLOAD_BYTES
    frequency, age = demo.delete_cache
    assert frequency <= 3600 and age <= 3600


def test_gradios_upload_route_is_charged_to_the_callers_address_per_hour(monkeypatch, tmp_path):
    """Gradio's upload route is no door of the table: anyone could post a 20 MB file after another, and Gradio keeps
    each for an hour. The app, launched as `serve` launches it, charges an upload's bytes to the caller's network
    address and to the server, per hour, before Gradio reads the body; a body of unstated size is refused."""
    import httpx

    from textgan.app import main as app_main
    from textgan.lab.quota import Policy

    monkeypatch.setenv("TEXTGAN_UPLOAD_MB_PER_HOUR", "1")
    options = app_main.launch_options(Policy.from_env())
    options.pop("max_threads")
    demo = app_main.build_demo(L.Lab(checkpoints=tmp_path / "checkpoints", torch_threads=1))
    port = __import__("app_helpers").free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **options)
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/upload"
        with httpx.Client(timeout=30) as http:
            first = http.post(url, files=[("files", ("a.txt", b"a b c\n" * 100_000))])  # 600 kB
            assert first.status_code == 200, first.text
            second = http.post(url, files=[("files", ("b.txt", b"a b c\n" * 100_000))])
            assert second.status_code == 429 and "1.0 MB of uploads an hour" in second.text, second.text
            unsized = http.post(url, content=iter([b"--x\r\n"]), headers={"content-type": "multipart/form-data; "
                                                                                          "boundary=x"})
            assert unsized.status_code == 411, unsized.text
    finally:
        demo.close()


def test_an_upload_is_read_only_from_gradios_upload_cache(tmp_path):
    """The lab took any path as the upload: `{"path": "/any/where.txt"}` trained on a server file and copied it into
    checkpoints/uploads/. Only a file inside Gradio's upload folder is accepted, symbolic links resolved."""
    from textgan.lab.uploads import upload_cache

    secret = tmp_path / "server-secret.txt"
    secret.write_text("".join(f"root password line {i}\n" for i in range(50)))
    store = tmp_path / "store"
    cache = upload_cache()
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / f"textgan-test-link-{tmp_path.name}.txt"
    link.symlink_to(secret)
    try:
        for path in (secret, cache / ".." / secret.relative_to("/"), link):
            with pytest.raises(L.LabError, match="was not received"):
                L.corpus_spec("upload", upload=str(path), upload_dir=store)
    finally:
        link.unlink()
    assert not store.exists()  # nothing copied
    inside = cache / f"textgan-test-{tmp_path.name}" / "mine.txt"
    inside.parent.mkdir()
    inside.write_text("".join(f"my own line {i}\n" for i in range(20)))
    try:
        assert Path(L.corpus_spec("upload", upload=str(inside), upload_dir=store)["path"]).parent == store
    finally:
        shutil.rmtree(inside.parent)


def test_a_raw_call_naming_a_server_file_as_the_upload_trains_nothing(served, tmp_path):
    lab, c, url = served
    c.predict(api_name="/reset")
    secret = tmp_path / "server-secret.txt"
    secret.write_text("".join(f"root password line {i}\n" for i in range(50)))
    values = form(c, "/train", **{**TINY, "corpus": "upload",
                                  UPLOAD_LABEL: {"path": str(secret), "meta": {"_type": "gradio.FileData"}}})
    result = raw_call(url, "train", values)  # Gradio refuses it too (not uploaded by a user): no result then
    assert result is None or "was not received" in text(result[0])
    assert not list((lab.checkpoints / "uploads").glob("*server-secret*"))
    assert lab.get(c.session_hash) is None or lab.get(c.session_hash).run is None


def test_uploads_are_stored_in_the_visitors_folder_and_charged_to_its_disk_quota(served, tmp_path):
    """Issue 21 item 2: the disk quota covers uploads. Each new upload was copied to the shared checkpoints/uploads/,
    which no quota counted: a stranger could store 20 MB per distinct file, without end. Now the copy goes to the
    visitor's own folder, charged like a save before it is written, and a copy over the quota is refused."""
    import dataclasses

    from gradio_client import Client, handle_file

    lab, _, url = served
    c = Client(url, verbose=False)  # a new visitor: an empty folder
    before = lab.policy
    lab.policy = dataclasses.replace(before, disk_per_visitor=Q.MB)
    try:
        statuses = []
        for i in range(3):  # 400 kB each: two fit in 1 MB, the third does not
            up = tmp_path / f"corpus-{i}.txt"
            up.write_text("".join(f"the dog number {k % 9} runs home {i}\n" for k in range(14_000)))
            c.predict(api_name="/reset")
            statuses.append(text(train(c, corpus="upload", **{UPLOAD_LABEL: handle_file(str(up))})))
            c.predict(api_name="/stop")
        mine = lab.session_dir(Q.visitor_id(None, c.session_hash))
        assert all("training" in s for s in statuses[:2]), statuses
        assert "not enough space" in statuses[2], statuses
        assert len(list((mine / "uploads").glob("corpus-*.txt"))) == 2
        assert not list((lab.checkpoints / "uploads").glob("corpus-*"))  # nothing outside the visitor's folder
    finally:
        lab.policy = before
        c.predict(api_name="/reset")


@pytest.mark.parametrize("revision", ["../../../../../tmp/x", "a..b", "refs/heads/.hidden", "x.lock", "a b",
                                      "a~1", "a:b", "@", "a//b", "/main", "main/", "\x00"])
def test_a_revision_follows_gits_ref_rules(local_hub, tmp_path, revision):
    with pytest.raises(HubError, match="invalid revision"):
        hub.pull("alice/anything", revision=revision, out=tmp_path / "out")
    assert local_hub.state.requests == []
    for ok in ("main", "v1.0", "refs/pr/1", "feature/x-y", "0" * 40):
        assert hub.check_revision(ok) == ok


def test_a_hub_corpus_revision_follows_gits_ref_rules_too(local_hub):
    from textgan.corpora import CorpusError, build_corpus

    with pytest.raises(CorpusError, match="invalid revision"):
        build_corpus({"kind": "hub", "repo": "alice/lines", "revision": "../../../../tmp/x"})
    assert local_hub.state.requests == []


def test_the_apps_pull_refuses_a_traversing_revision(served, hub_server, tmp_path):
    _, c, _ = served
    message = text(c.predict("alice/anything", "../../../../../../tmp/textgan-escaped", "", api_name="/pull")[0])
    assert "invalid revision" in message
    assert not Path("/tmp/textgan-escaped").exists()


def _run_repo() -> dict[str, bytes]:
    """The files of a shipped run, as a repo holds them."""
    return {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()}


def test_a_pulled_samples_file_is_capped_by_the_runs_sample_count(local_hub, tmp_path):
    files = _run_repo()
    files["samples.txt"] = b"x" * 2_000_000  # the 300 MB, smaller: 16 samples of at most 11 tokens
    local_hub.seed("mallory/bulky", files)
    with pytest.raises(HubError, match=r"samples.txt is 2,000,000 bytes, over the [\d,]+ bytes its run's config"):
        hub.pull("mallory/bulky", out=tmp_path / "out", use_cache=False)
    assert not (tmp_path / "out").exists()
    assert not [p for _, p in local_hub.state.requests if p.endswith("/samples.txt")]  # refused before download
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging folder left behind


def test_a_pulled_state_holds_only_the_tensors_it_declares(local_hub, tmp_path):
    files = _run_repo()
    state = load_file(str(DEMO / "state.safetensors"))
    junk = tmp_path / "junk.safetensors"
    save_file({**state, "junk": torch.zeros(2_000_000)}, str(junk))  # 8 MB nobody refers to
    local_hub.seed("mallory/junk", {**files, "state.safetensors": junk.read_bytes()})
    with pytest.raises(HubError, match="tensors state.json does not declare: \\['junk'\\]"):
        hub.pull("mallory/junk", out=tmp_path / "out", use_cache=False)
    meta = json.loads(files["state.json"])  # declared, but larger than any parameter of the nets
    meta["state"] = {"$d": [["junk", {"$t": "junk"}], *meta["state"]["$d"]]}
    local_hub.seed("mallory/declared", {**files, "state.safetensors": junk.read_bytes(),
                                         "state.json": json.dumps(meta).encode()})
    with pytest.raises(HubError, match="'junk' has 2,000,000 elements, more than any parameter"):
        hub.pull("mallory/declared", out=tmp_path / "out", use_cache=False)
    assert not (tmp_path / "out").exists()


def test_a_pull_is_stored_once_and_listed_for_its_puller_only(served, hub_server):
    lab, c, _ = served
    files = {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()}
    hub_server.seed("alice/shared-run", files)
    cache = Path(__import__("huggingface_hub").constants.HF_HUB_CACHE)
    before = set(cache.glob("models--alice--shared-run/blobs/*")) if cache.exists() else set()
    message, _, runs, _ = c.predict("alice/shared-run", "", "", api_name="/pull")
    assert "pulled alice/shared-run into sessions/" in text(message), message
    assert not any(Path(v).is_absolute() for v in runs["value"]), runs  # selected by its listed name
    assert set(runs["value"]) <= {choice[-1] for choice in runs["choices"]}, runs
    assert str(lab.checkpoints) not in text(message) and "/tmp" not in text(message)
    after = set(cache.glob("models--alice--shared-run/blobs/*")) if cache.exists() else set()
    assert after == before  # not in the Hugging Face cache as well
    pulled = [r for r in lab.runs_for(Q.visitor_id(None, c.session_hash)) if r.endswith("alice--shared-run")]
    assert pulled and Path(pulled[0]).is_relative_to(lab.checkpoints / "sessions")
    assert not [r for r in lab.runs_for("someone-else") if r.endswith("alice--shared-run")]


# ---- 5. text a visitor supplies is shown as text -------------------------------------------------------------------

def test_shown_text_never_becomes_a_link_an_image_or_a_tag():
    hostile = "[verify your token](https://evil.example/x) ![x](https://evil.example/i.png) <img src=x> `c` www.e.co"
    out = L.shown(hostile)
    assert html.unescape(out) == hostile  # reads as typed
    for live in ("[", "](", "<img", "https://", "www.", "`"):
        assert live not in out


def test_a_share_link_s_ignored_values_are_shown_as_text():
    """`?critic_steps=[verify your token](https://evil.example/x)` rendered a live link on the app's origin: the
    notices name the values as typed, and the app escapes them (ctx.shown) before the status line shows them."""
    values, notices = L.forms.form_from_query({"critic_steps": "[verify](https://evil.example/x)",
                                               "seed": "<img src=x>"})
    line = L.shown("the link's settings were restored except: " + "; ".join(notices))
    assert "](" not in line and "<img" not in line
    assert "[verify](https://evil.example/x)" in html.unescape(line) and "<img src=x>" in html.unescape(line)


def test_app_messages_quote_hostile_names_as_text(served):
    lab, c, _ = served
    message = c.predict("[x](https://evil.example/x)", "", "", api_name="/pull")[0]
    assert "invalid repo id" in text(message)
    assert "](" not in message and "https://" not in message


def test_save_and_error_messages_show_paths_relative_to_the_checkpoints_folder(served, tmp_path):
    lab, c, _ = served
    c.predict(api_name="/reset")
    assert "training" in train(c)
    status = text(c.predict("my-run", api_name="/save"))
    assert "saved step" in status and "to sessions/" in status, status
    assert str(lab.checkpoints.absolute()) not in status and str(lab.checkpoints.resolve()) not in status
    c.predict(api_name="/stop")
    # A refusal whose text names a folder of the server (the visitor's uploads folder is no run: a Save over it is
    # refused, naming it): shown relative to the checkpoints folder, end to end.
    from gradio_client import handle_file

    corpus = tmp_path / "lines.txt"
    corpus.write_text("".join(f"the cat number {i % 7} sat\n" for i in range(200)))
    c.predict(api_name="/reset")
    assert "training" in train(c, corpus="upload", **{UPLOAD_LABEL: handle_file(str(corpus))})
    c.predict("uploads", api_name="/save")  # "already exists: press Save again"
    status = text(c.predict("uploads", api_name="/save"))
    assert "not saved: sessions/" in status and "/uploads holds files" in status, status
    assert str(lab.checkpoints.absolute()) not in status and str(lab.checkpoints.resolve()) not in status
    c.predict(api_name="/reset")
    missing = lab.checkpoints.absolute() / "sessions" / "gone"
    assert L.without_server_paths(f"cannot open {missing}: run directory not found: {missing}",
                                  lab.checkpoints) == "cannot open sessions/gone: run directory not found: sessions/gone"



def test_run_pickers_name_runs_without_the_servers_folder(served):
    """The Compare and push pickers' choices (labels and values, which a stranger reads from the API) name a run
    relative to the checkpoints folder; the listed value opens the run, and a server path is refused."""
    lab, c, _ = served
    c.predict(api_name="/reset")
    assert "training" in train(c)
    assert "saved step" in text(c.predict("picker-run", api_name="/save"))
    c.predict(api_name="/stop")
    server_folder = (str(lab.checkpoints.absolute()), str(lab.checkpoints.resolve()))
    runs = c.predict([], api_name="/refresh_runs")  # the push picker is filled by the same list
    shown = json.dumps(runs["choices"])
    assert not any(folder in shown for folder in server_folder), shown
    values = [choice[-1] for choice in runs["choices"]]
    mine = [v for v in values if v.endswith("/picker-run")]
    assert mine and not Path(mine[0]).is_absolute(), values
    assert c.predict(mine, 2, 0, 1.0, "loss/gen", api_name="/compare")[3].startswith("compared 1")
    absolute = str(lab.checkpoints.absolute() / mine[0])
    with pytest.raises(AppError, match="refused .runs"):  # Gradio's own check: not in the list of choices
        c.predict([absolute], 2, 0, 1.0, "loss/gen", api_name="/compare")

@pytest.mark.parametrize("variant", sorted(__import__("textgan.variants", fromlist=["VARIANTS"]).VARIANTS))
def test_every_variants_own_saved_run_is_within_the_caps_its_config_sets(variant, tmp_path, one_thread):
    """The caps refuse bulk, never a real run: every variant's saved run (optimizer state, rollout nets, RNG)."""
    from textgan import hub_limits
    from textgan.run import Run, RunConfig

    run = Run(RunConfig(corpus={"kind": "modes", "k": 4, "n_train": 200, "n_test": 50}, variant=variant,
                        batch_size=8, seed=0, device="cpu", sample_every=1, eval_every=0, show_samples=4))
    list(run.steps(2))
    path = run.save(tmp_path / "run")
    hub_limits.check_sizes({p.name: p.stat().st_size for p in path.iterdir() if p.is_file()}, hub_limits.file_caps(path))
    hub_limits.check_state(path)


def test_the_sign_in_button_shows_where_gradio_can_serve_it(monkeypatch):
    """On a Space with OAuth on (hf_oauth: true sets OAUTH_CLIENT_ID), or locally with the machine's login, and only
    with Gradio's OAuth extra installed: Gradio refuses to start a LoginButton without it."""
    import importlib.util

    from textgan.app.hub_tab import signin_available

    real = importlib.util.find_spec
    installed = {"itsdangerous", "authlib"}
    extra = {"itsdangerous", "authlib"}  # Gradio's OAuth extra: present only as `installed` says
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if name in installed else None) if name in extra
                        else real(name, *a))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN_PATH", "/nonexistent/token")
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("TEXTGAN_LOCAL_SIGNIN", "1")
    assert not signin_available()  # locally without a login Gradio's mock cannot start
    monkeypatch.setenv("HF_TOKEN", ALICE)
    assert signin_available()
    monkeypatch.delenv("TEXTGAN_LOCAL_SIGNIN")
    assert not signin_available()  # Gradio's stand-in shows the operator's account: only when the operator asks
    monkeypatch.setenv("SPACE_ID", "someone/textgan")
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    assert not signin_available()  # a Space without hf_oauth
    monkeypatch.setenv("OAUTH_CLIENT_ID", "id")
    assert signin_available()
    installed.discard("authlib")
    assert not signin_available()


def test_a_hostile_share_link_renders_no_link_and_no_image(tmp_path):
    """In a real browser: `?critic_steps=[verify your token](https://evil.example/x)` rendered a live link on the
    app's own origin, and `<img src=...>` an image. Now the status line shows the characters typed."""
    from urllib.parse import quote

    lab = L.Lab(checkpoints=tmp_path / "checkpoints", torch_threads=1)
    link = "[verify your token](https://evil.example/x)"
    query = f"?variant=wgan-gp&critic_steps={quote(link)}&bogus={quote('<img src=https://evil.example/i.png>')}"
    with browser_on(lab) as (browser, _, url):
        page = browser.new_page()
        page.goto(url + query)
        page.wait_for_selector("#train", timeout=60_000)
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('critic_steps')",
                               timeout=60_000)
        assert page.locator("#status a").count() == 0 and page.locator("#status img").count() == 0
        assert link in page.inner_text("#status")
