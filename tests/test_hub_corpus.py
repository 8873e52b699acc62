"""`hub:OWNER/NAME[:FILE]` corpora: the real huggingface_hub client against the local Hub server (dataset repos),
cached on the command line, offline-capable, size-capped, with one-line errors for bad ids and missing files; for an app
visitor, downloaded into a temporary folder and nothing left on the server's disk."""

import pytest

from textgan.corpora import CorpusError, build_corpus
from textgan.corpora.hub import TEMP_PREFIX
from textgan.run import Run, RunConfig

TRAIN = "".join(f"the {a} {b} sat on the mat\n" for a in ("red", "big", "old") for b in ("cat", "dog")) * 3
TEST = "the red cat sat on the mat\nthe old dog sat\n"


@pytest.fixture
def captions(local_hub):
    local_hub.seed("alice/captions", {"train.txt": TRAIN.encode(), "splits/test.txt": TEST.encode()},
                   repo_type="dataset")
    return local_hub


def test_hub_corpus_downloads_caches_and_reads_offline(captions, monkeypatch):
    spec = {"kind": "hub", "repo": "alice/captions", "test_file": "splits/test.txt"}
    c = build_corpus(spec)
    assert (c.train.shape[0], c.test.shape[0]) == (18, 2)
    assert c.decode(c.test[0]) == "the red cat sat on the mat"
    assert c.spec["repo"] == "alice/captions" and "path" not in c.spec  # no cache path in the run's config
    asked = [p for _, p in captions.state.requests]
    assert any(p.startswith("/datasets/alice/captions/resolve/") for p in asked)

    captions.state.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = build_corpus(spec)  # from the cache, no request
    assert again.vocab == c.vocab and captions.state.requests == []

    run = Run(RunConfig(corpus=spec, variant="mle", batch_size=4, eval_samples=4))
    assert "eval/bleu2" in run.evaluate()


@pytest.mark.parametrize("spec, message", [
    ({"repo": "alice/captions", "file": "missing.txt"}, "has no file 'missing.txt'"),
    ({"repo": "alice/nothing"}, "not found"),
    ({"repo": "not a repo"}, "invalid repo id"),
    ({"repo": "alice/captions", "file": "../etc/passwd"}, "invalid file name"),
])
def test_bad_hub_corpus_is_one_line(captions, spec, message):
    with pytest.raises(CorpusError, match=message) as e:
        build_corpus({"kind": "hub", **spec})
    assert "\n" not in str(e.value)


def test_hub_corpus_size_cap_is_checked_before_download(captions, monkeypatch):
    monkeypatch.setenv("TEXTGAN_MAX_CORPUS_BYTES", "100")
    with pytest.raises(CorpusError, match="over the 100-byte cap"):
        build_corpus({"kind": "hub", "repo": "alice/captions"})
    assert not any(m == "GET" and "/resolve/" in p for m, p in captions.state.requests)


def test_cli_trains_on_a_hub_corpus_and_errors_in_one_line(captions, tmp_path, monkeypatch, capsys):
    from textgan.cli import main

    monkeypatch.chdir(tmp_path)
    common = ["--variant", "mle", "--steps", "2", "--batch-size", "4", "--eval-every", "0", "--device", "cpu", "--quiet"]
    assert main(["train", "--corpus", "hub:alice/captions:train.txt", "--test-file", "splits/test.txt",
                 "--out", "r", *common]) == 0
    capsys.readouterr()
    assert main(["train", "--corpus", "hub:alice/captions:nope.txt", "--out", "bad", *common]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "has no file 'nope.txt'" in err


def test_app_form_offers_coco_and_hub_corpora(captions):
    from textgan import lab as L

    assert L.corpus_spec("coco") == {"kind": "coco"}
    spec = L.corpus_spec("hub", path=" hub:alice/captions:train.txt ")
    assert (spec["kind"], spec["repo"], spec["file"]) == ("hub", "alice/captions", "train.txt")
    assert build_corpus(spec).train.shape[0] == 16  # no test file named: 10 % of the 18 lines are split off
    with pytest.raises(L.LabError, match="OWNER/NAME"):
        L.corpus_spec("hub", path=" ")


# ---- an app visitor's corpus leaves nothing on the server's disk (issue 21's check) ---------------------------------
# The Hugging Face cache counts in no disk quota and is never pruned: a visitor's download must not stay in it (each
# test names its own repo, so no other test's cached copy can make it pass or fail).


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The system's temporary folder, for this test only: a visitor's download must be gone from it afterwards."""
    import tempfile

    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def cached(name: str) -> list:
    """Files and folders under HF_HOME (the Hugging Face cache lives there) whose path names dataset `name`."""
    import os
    from pathlib import Path

    return [p for p in Path(os.environ["HF_HOME"]).rglob("*") if name in str(p)]


def left_in(temp_root, name: str) -> list:
    """What a download of dataset `name` left in the temporary folder: its folder, or any file naming the dataset
    (Gradio keeps its own uploads folder there)."""
    return [p for p in temp_root.rglob("*") if p.name.startswith(TEMP_PREFIX) or name in str(p)]


def test_a_visitors_hub_corpus_leaves_nothing_on_disk_the_clis_is_cached(local_hub, temp_root):
    from textgan import hub

    local_hub.seed("alice/visitor-lines", {"train.txt": TRAIN.encode(), "splits/test.txt": TEST.encode()},
                   repo_type="dataset")
    spec = {"kind": "hub", "repo": "alice/visitor-lines", "test_file": "splits/test.txt"}
    with hub.visitor_access(None):
        c = build_corpus(spec)
    assert (c.train.shape[0], c.test.shape[0]) == (18, 2)  # read whole, with its test file
    assert c.decode(c.test[0]) == "the red cat sat on the mat"
    assert sum(p.startswith("/datasets/alice/visitor-lines/resolve/") for _, p in local_hub.state.requests) >= 2
    assert cached("visitor-lines") == left_in(temp_root, "visitor-lines") == []

    cli = build_corpus(spec)  # the command line keeps the cache: a second run, or offline, needs no network
    assert cli.vocab == c.vocab
    assert any(p.is_file() and p.name == "test.txt" for p in cached("datasets--alice--visitor-lines"))


def test_a_visitors_hub_corpus_that_fails_after_download_leaves_nothing_either(local_hub, temp_root):
    from textgan import hub

    local_hub.seed("alice/visitor-bad", {"train.txt": b"fine line\n\xff\xfe broken\n"}, repo_type="dataset")
    with hub.visitor_access(None), pytest.raises(CorpusError) as e:
        build_corpus({"kind": "hub", "repo": "alice/visitor-bad"})
    assert str(e.value).startswith("alice/visitor-bad:train.txt: line 2 is not valid UTF-8")  # no server path
    assert cached("visitor-bad") == left_in(temp_root, "visitor-bad") == []


def test_a_saved_run_on_a_hub_corpus_reopens_for_a_visitor_downloaded_again(local_hub, temp_root, tmp_path):
    """Compare and Continue training open a saved run: its hub: corpus is downloaded again, all of it (the test
    split too), and again nothing stays on disk."""
    from textgan import hub
    from textgan import lab as L

    local_hub.seed("alice/visitor-run", {"train.txt": TRAIN.encode()}, repo_type="dataset")
    with hub.visitor_access(None):
        run = Run(RunConfig(corpus={"kind": "hub", "repo": "alice/visitor-run"}, variant="mle", batch_size=4,
                            eval_samples=4))
        run.save(tmp_path / "run")
    local_hub.state.requests.clear()
    again = L.load_run(tmp_path / "run", device="cpu")  # the lab acts for a visitor here
    assert any("/resolve/" in p for _, p in local_hub.state.requests)
    assert (again.corpus.train.shape[0], again.corpus.test.shape[0]) == (16, 2)  # rows, not vocab.json alone
    assert again.corpus.test.equal(run.corpus.test) and "eval/bleu2" in again.evaluate()
    assert cached("visitor-run") == left_in(temp_root, "visitor-run") == []


def test_a_visitor_never_reads_the_servers_cache_offline(local_hub, monkeypatch):
    """Offline, a visitor's corpus would come from the server's cache, which may hold what the operator's token
    could see: the server says it is offline instead."""
    from textgan import hub

    local_hub.seed("alice/visitor-offline", {"train.txt": TRAIN.encode()}, repo_type="dataset")
    build_corpus({"kind": "hub", "repo": "alice/visitor-offline"})  # the operator's CLI cached it
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert build_corpus({"kind": "hub", "repo": "alice/visitor-offline"}).train.shape[0] == 16  # the CLI, offline
    with hub.visitor_access(None), pytest.raises(CorpusError, match="this server is offline"):
        build_corpus({"kind": "hub", "repo": "alice/visitor-offline"})


def test_training_on_a_hub_corpus_in_the_served_app_leaves_the_cache_empty(local_hub, temp_root, tmp_path):
    from app_helpers import TINY, Poller, form, serving
    from textgan import lab as L

    local_hub.seed("alice/visitor-app", {"train.txt": TRAIN.encode()}, repo_type="dataset")
    lab = L.Lab(max_training=1, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    with serving(lab) as (_, client, _):
        settings = {**TINY, "variant": "mle", "corpus": "hub", "batch size": 4,
                    "stop after (steps; 0 = until stopped)": 3,
                    "a local path on the server, or a Hub dataset OWNER/NAME[:FILE] (hub)": "hub:alice/visitor-app"}
        status = client.predict(*form(client, "/train", **settings), api_name="/train")
        assert "training" in status or "queued" in status, status
        Poller(client).wait(lambda s: "stopped" in str(s.get("status")) or "finished" in str(s.get("status")))
    assert any(p.startswith("/datasets/alice/visitor-app/resolve/") for _, p in local_hub.state.requests)
    assert cached("visitor-app") == left_in(temp_root, "visitor-app") == []


def test_a_server_for_visitors_turns_xets_chunk_cache_off_unless_the_operator_set_it():
    """Real Hub datasets are stored with Xet, whose client may keep downloaded chunks under HF_HOME/xet (not served by
    the local Hub, so only the setting is checked, in a fresh process)."""
    import os
    import subprocess
    import sys

    code = ("import os; from textgan import hub_access as h; h.serve_visitors(); "
            "print(os.environ['HF_XET_CHUNK_CACHE_SIZE_BYTES'])")
    env = {k: v for k, v in os.environ.items() if k != "HF_XET_CHUNK_CACHE_SIZE_BYTES"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    env["HF_XET_CHUNK_CACHE_SIZE_BYTES"] = "1000000"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1000000"
