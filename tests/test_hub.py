"""textgan.hub and textgan.card against the local Hub server (tests/hub_server.py), with the real huggingface_hub
client pointed at it through HF_ENDPOINT (see conftest.py). These tests need no trained run: the repos are seeded
straight into the server or built by hand. The round trip with a real Run is in test_hub_roundtrip.py."""

import json
import pickle
import socket

import pytest
import torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from safetensors.torch import save_file

from hub_server import VALID_TOKENS
from textgan import hub
from textgan.card import PAPERS, build_card
from textgan.hub import HubError

ALICE, BOB = list(VALID_TOKENS)
BAD_TOKEN = "hf_this_token_is_not_valid_0123456789"


def make_run_dir(path, variant="wgan-gp", step=5):
    """A small hand-made run directory: enough for the card and for the checks made before downloading."""
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "format": 1, "textgan_version": "0.1.0", "step": step,
        "run": {"variant": variant, "corpus": {"kind": "modes", "k": 4}, "generator": {"kind": "lstm"},
                "critic": {"kind": "cnn"}, "batch_size": 16, "seed": 0},
        "corpus_info": {"name": "modes-k4", "vocab_size": 12, "seq_len": 8, "n_train": 100, "n_test": 10},
    }
    (path / "config.json").write_text(json.dumps(config))
    save_file({"embed.weight": torch.zeros(12, 4)}, str(path / "generator.safetensors"))
    (path / "vocab.json").write_text(json.dumps([f"t{i}" for i in range(12)]))
    (path / "history.csv").write_text("step,loss/critic,loss/gen\n" + "".join(f"{i},{1 / i:.3f},{i}\n" for i in range(1, 30)))
    (path / "samples.txt").write_text("t4 t5 t6\nt7 t8 ```\n")
    (path / "metrics.json").write_text(json.dumps({"eval/bleu4": 0.3125, "eval/modes_covered": 3}))
    return path


def files_of(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


def resolve_requests(server):
    return [p for m, p in server.state.requests if "/resolve/" in p]


# ------------------------------------------------------------------------------------------------ the server itself


def test_server_speaks_the_hub_protocol_to_the_real_client(local_hub, tmp_path):
    api = HfApi(token=ALICE)  # endpoint from HF_ENDPOINT, set in conftest before the import
    assert api.endpoint == local_hub.url
    assert api.whoami()["name"] == "alice"
    url = api.create_repo("alice/proto")
    assert url == f"{local_hub.url}/alice/proto"
    api.create_repo("alice/proto", exist_ok=True)  # 409 -> fine
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    commit = api.upload_folder(repo_id="alice/proto", folder_path=tmp_path, commit_message="up")
    assert sorted(api.list_repo_files("alice/proto")) == [".gitattributes", "a.txt", "sub/b.json"]
    assert api.model_info("alice/proto").sha == commit.oid
    local = hf_hub_download("alice/proto", "sub/b.json", token=ALICE)
    assert open(local).read() == "{}"
    assert not any(path.endswith("lfs") or "xet" in path for _, path in local_hub.state.requests)


def test_a_gpt2_export_is_pushed_and_loads_with_plain_transformers(local_hub, tmp_path):
    """`run_dir/hf/` goes up beside the run, so transformers alone can load the generator from the repo."""
    from transformers import AutoModelForCausalLM

    from textgan.run import Run, RunConfig

    run = Run(RunConfig(corpus={"kind": "modes", "k": 2}, variant="mle", batch_size=8, device="cpu",
                        generator={"kind": "gpt2", "emb_dim": 8, "layers": 1, "heads": 2}))
    list(run.steps(2))
    run_dir, gen = run.save(tmp_path / "run"), run.gen
    (run_dir / "hf" / "optimizer.pt").write_bytes(pickle.dumps({"not": "uploaded"}))
    hub.push(run_dir, "alice/gpt2run", token=ALICE)
    files = set(HfApi(token=ALICE).list_repo_files("alice/gpt2run"))
    assert {"hf/config.json", "hf/model.safetensors", "config.json"} <= files and "hf/optimizer.pt" not in files
    model = AutoModelForCausalLM.from_pretrained("alice/gpt2run", subfolder="hf", token=ALICE,
                                                 cache_dir=tmp_path / "cache")
    ids = torch.tensor([[1, 5, 7]])
    assert torch.equal(model(ids).logits, gen.model(ids).logits)


# ------------------------------------------------------------------------------------------------ errors


def test_push_without_a_token_says_how_to_get_one(local_hub, tmp_path):
    with pytest.raises(HubError, match=r"no Hugging Face token: pass --token, set HF_TOKEN or run `hf auth login`"):
        hub.push(make_run_dir(tmp_path / "run"), "alice/run")


def test_pull_with_a_bad_token_is_a_401_that_never_shows_the_token(local_hub, tmp_path):
    local_hub.seed("alice/public", {"config.json": b"{}"})
    with pytest.raises(HubError, match="token was rejected.*401") as err:
        hub.pull("alice/public", token=BAD_TOKEN, out=tmp_path / "out")
    assert BAD_TOKEN not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_pull_of_an_unknown_repo_names_it(local_hub, tmp_path):
    with pytest.raises(HubError, match="repository alice/nope not found at http://127.0.0.1"):
        hub.pull("alice/nope", token=ALICE, out=tmp_path / "out")


def test_pull_of_a_private_repo_without_a_token_says_to_give_one(local_hub, tmp_path, monkeypatch):
    local_hub.seed("alice/secret", {"config.json": b"{}"}, private=True)
    with pytest.raises(HubError, match="private and no token was given: pass --token, set HF_TOKEN"):
        hub.pull("alice/secret", out=tmp_path / "out")
    with pytest.raises(HubError, match="not found .* or your token cannot pull it"):
        hub.pull("alice/secret", token=BOB, out=tmp_path / "out")
    # HF_TOKEN is the fallback for a missing argument: now the listing succeeds (and the repo is refused as no run)
    monkeypatch.setenv("HF_TOKEN", ALICE)
    with pytest.raises(HubError, match="alice/secret is not a textgan run: no \\*.safetensors"):
        hub.pull("alice/secret", out=tmp_path / "out")


def test_server_down_names_the_endpoint(local_hub, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", dead)
    with pytest.raises(HubError, match=f"cannot reach the Hugging Face Hub at {dead}"):
        hub.pull("alice/anything", out=tmp_path / "out")


def test_a_repo_with_only_a_pickle_is_refused_before_any_download(local_hub, tmp_path):
    local_hub.seed("alice/pickled", {"pytorch_model.bin": pickle.dumps({"w": [1.0]}), "README.md": b"# hi"})
    with pytest.raises(HubError, match=r"only pickle files \(pytorch_model.bin\).*arbitrary code"):
        hub.pull("alice/pickled", out=tmp_path / "out")
    local_hub.seed("alice/pickled-pt", {"model.pt": b"\x80\x04K\x01.", "config.json": b"{}"})
    with pytest.raises(HubError, match=r"only pickle files \(model.pt\)"):
        hub.pull("alice/pickled-pt", out=tmp_path / "out")
    assert resolve_requests(local_hub) == []
    assert not (tmp_path / "out").exists()


def test_a_file_over_the_cap_is_refused_before_download(local_hub, tmp_path):
    run = make_run_dir(tmp_path / "run")
    save_file({"embed.weight": torch.zeros(12, 10_000)}, str(run / "generator.safetensors"))  # ~480 kB
    local_hub.seed("alice/big", files_of(run))
    with pytest.raises(HubError, match=r"generator.safetensors is 480,\d+ bytes, over the 100,000-byte cap"):
        hub.pull("alice/big", out=tmp_path / "out", max_file_bytes=100_000)
    assert resolve_requests(local_hub) == []
    assert not (tmp_path / "out").exists()


def test_offline_pull_of_an_uncached_repo_says_so_without_a_request(local_hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match=r"alice/never is not in the local Hugging Face cache .*HF_HUB_OFFLINE=1"):
        hub.pull("alice/never", out=tmp_path / "out")
    assert local_hub.state.requests == []


@pytest.mark.parametrize("repo_id", ["no-namespace", "a/b/c", "../etc", "alice/..", "alice/has space", ""])
def test_an_invalid_repo_id_is_refused_up_front(local_hub, tmp_path, repo_id):
    with pytest.raises(HubError, match="invalid repo id .*expected USER/NAME"):
        hub.pull(repo_id, out=tmp_path / "out")
    with pytest.raises(HubError, match="invalid repo id"):
        hub.push(tmp_path, repo_id, token=ALICE)
    assert local_hub.state.requests == []


def test_pull_refuses_to_overwrite_a_non_empty_directory(local_hub, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    with pytest.raises(HubError, match="already exists and is not empty"):
        hub.pull("alice/whatever", out=tmp_path / "out")
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep me"
    assert local_hub.state.requests == []


# ------------------------------------------------------------------------------------------------ model card


def test_model_card_parses_and_has_the_metadata_and_sections(tmp_path):
    run = make_run_dir(tmp_path / "run")
    build_card(run, repo_id="alice/wgan-modes").save(tmp_path / "README.md")
    card = ModelCard.load(tmp_path / "README.md")
    meta = card.data.to_dict()
    assert meta["library_name"] == "textgan"
    assert {"text-gan", "wgan-gp", "corpus-modes-k4", "generator-lstm"} <= set(meta["tags"])
    assert meta["textgan"]["corpus"] == {"kind": "modes", "k": 4}
    assert meta["textgan"]["variant"] == "wgan-gp" and meta["textgan"]["step"] == 5
    assert set(meta["metrics"]) == {"bleu4", "modes_covered"}
    text = card.text
    assert PAPERS["wgan-gp"] in text
    assert "| training steps | 5 " in text
    assert "| `eval/bleu4` | 0.3125 |" in text
    assert "t4 t5 t6" in text and "t7 t8 '''" in text  # samples, fenced code kept intact
    assert 'Run.load(pull("alice/wgan-modes"))' in text and "python -m textgan pull alice/wgan-modes" in text
    assert "`history.csv`" in text and "| 29 |" in text  # the curve table spans the run up to the last row


def test_model_card_of_an_unknown_variant_and_a_bare_run(tmp_path):
    run = make_run_dir(tmp_path / "run", variant="my-new-gan")
    for name in ("metrics.json", "samples.txt", "history.csv"):
        (run / name).unlink()
    card = build_card(run)
    assert "my-new-gan" in card.data.tags
    assert "see the textgan variant registry" in card.text
    assert "No evaluation was recorded" in card.text and "No samples" in card.text
