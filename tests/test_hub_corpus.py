"""`hub:OWNER/NAME[:FILE]` corpora: the real huggingface_hub client against the local Hub server (dataset repos),
cached, offline-capable, size-capped, with one-line errors for bad ids and missing files."""

import pytest

from textgan.corpora import CorpusError, build_corpus
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
