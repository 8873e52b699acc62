"""Push a real trained run to the local Hub server, pull it back, and check that it is the same model: same samples
for the same seed, and training that resumes exactly. Then feed `pull` hostile variants of that run."""

import json
import logging

import pytest
import torch
from huggingface_hub import HfApi, ModelCard
from safetensors.torch import load_file, save_file

pytest.importorskip("textgan.checkpoint")
run_module = pytest.importorskip("textgan.run")

from hub_server import VALID_TOKENS  # noqa: E402
from textgan import hub  # noqa: E402
from textgan.hub import HubError  # noqa: E402

Run, RunConfig = run_module.Run, run_module.RunConfig
ALICE = next(iter(VALID_TOKENS))
STEPS, MORE = 5, 3


def new_run():
    return Run(RunConfig(corpus={"kind": "modes", "k": 4}, variant="wgan-gp", batch_size=16, seed=0, device="cpu"))


def scalars(run, n):
    """The logged scalar values of the next `n` steps."""
    return [(ev.step, dict(ev.values)) for ev in run.steps(n) if type(ev).__name__ == "Scalars"]


def same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = new_run()
    for _ in run.steps(STEPS):
        pass
    path = tmp_path_factory.mktemp("runs") / "trained"
    run.save(path)
    return path


def files_of(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


def leftovers(parent):
    return [p.name for p in parent.iterdir() if ".pull-" in p.name or ".old-" in p.name]


# ------------------------------------------------------------------------------------------------ round trip


def test_push_pull_round_trip_samples_and_resumes_exactly(local_hub, trained, tmp_path):
    url = hub.push(trained, "alice/wgan-modes", token=ALICE)
    assert url == f"{local_hub.url}/alice/wgan-modes"
    pulled = hub.pull("alice/wgan-modes", out=tmp_path / "pulled")
    assert pulled == tmp_path / "pulled"
    local, remote = files_of(trained), files_of(pulled)
    assert {k: v for k, v in remote.items() if k != "README.md"} == {k: v for k, v in local.items() if k != "README.md"}
    assert leftovers(tmp_path) == []

    a, b = Run.load(trained, device="cpu"), Run.load(pulled, device="cpu")
    assert a.step == b.step == STEPS
    assert same_params(a.gen, b.gen)
    texts = a.sample_texts(8, seed=123, temperature=1.0)
    assert len(texts) == 8 and texts == b.sample_texts(8, seed=123, temperature=1.0)

    # Training continues exactly as the local copy does, and as a run that was never interrupted.
    logged = scalars(b, MORE)
    assert len(logged) == MORE and logged[0][0] == STEPS + 1
    assert scalars(a, MORE) == logged
    assert same_params(a.gen, b.gen)
    straight = new_run()
    for _ in straight.steps(STEPS + MORE):
        pass
    assert same_params(straight.gen, b.gen)


def test_pushed_repo_has_the_run_and_a_card_and_never_the_token(local_hub, trained, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)  # the token from the environment this time
    before = files_of(trained)
    caplog.set_level(logging.DEBUG)
    hub.push(trained, "alice/carded", commit_message="first upload")
    hub.pull("alice/carded", out=tmp_path / "pulled")
    assert caplog.records and ALICE not in caplog.text  # huggingface_hub's and ours, at DEBUG level
    assert files_of(trained) == before  # the card is written into a staging copy, not the run dir
    repo_files = set(HfApi(token=ALICE).list_repo_files("alice/carded"))
    assert {"config.json", "generator.safetensors", "README.md", "history.csv"} <= repo_files
    for path, data in local_hub.state.repos["alice/carded"].commits[-1][1].items():
        assert ALICE.encode() not in data, path
    card = ModelCard.load("alice/carded")  # fetched from the server by the real client
    meta = card.data.to_dict()
    assert meta["library_name"] == "textgan"
    assert {"text-gan", "wgan-gp"} <= set(meta["tags"])
    assert meta["textgan"]["corpus"]["kind"] == "modes" and meta["textgan"]["step"] == STEPS
    assert "Gulrajani" in card.text and 'Run.load(pull("alice/carded"))' in card.text


def test_private_push_then_pull_needs_the_token(local_hub, trained, tmp_path):
    hub.push(trained, "alice/private-run", token=ALICE, private=True)
    assert local_hub.state.repos["alice/private-run"].private
    with pytest.raises(HubError, match="private and no token was given"):
        hub.pull("alice/private-run", out=tmp_path / "anon")
    assert Run.load(hub.pull("alice/private-run", token=ALICE, out=tmp_path / "ok"), device="cpu").step == STEPS


def test_push_with_a_bad_token_is_a_401_without_the_token(local_hub, trained):
    bad = "hf_not_a_real_token_abcdef123456"
    with pytest.raises(HubError, match="token was rejected.*401") as err:
        hub.push(trained, "alice/nope", token=bad)
    assert bad not in str(err.value)
    assert "alice/nope" not in local_hub.state.repos


def test_push_with_the_server_down_names_the_endpoint(local_hub, trained, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", dead)
    with pytest.raises(HubError, match=f"cannot reach the Hugging Face Hub at {dead}"):
        hub.push(trained, "alice/down", token=ALICE)


def test_offline_pull_comes_from_the_cache(local_hub, trained, tmp_path, monkeypatch):
    hub.push(trained, "alice/cached", token=ALICE)
    online = hub.pull("alice/cached", out=tmp_path / "online")
    local_hub.state.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = hub.pull("alice/cached", out=tmp_path / "offline")
    assert files_of(offline) == files_of(online)
    assert local_hub.state.requests == []
    with pytest.raises(HubError, match="offline mode is on"):
        hub.push(trained, "alice/cached", token=ALICE)


def test_pull_overwrite_replaces_a_directory_atomically(local_hub, trained, tmp_path):
    hub.push(trained, "alice/again", token=ALICE)
    out = hub.pull("alice/again", out=tmp_path / "out")
    (out / "notes.txt").write_text("old")
    hub.pull("alice/again", out=out, overwrite=True)
    assert not (out / "notes.txt").exists() and (out / "config.json").exists()
    assert leftovers(tmp_path) == []


def test_pickles_beside_a_valid_run_are_never_downloaded(local_hub, trained, tmp_path):
    local_hub.seed("alice/mixed", {**files_of(trained), "pytorch_model.bin": b"\x80\x04K\x01.", "nested/x.json": b"{}"})
    out = hub.pull("alice/mixed", out=tmp_path / "out")
    assert "pytorch_model.bin" not in files_of(out)
    assert not any("pytorch_model.bin" in p or "nested" in p for _, p in local_hub.state.requests)


# ------------------------------------------------------------------------------------------------ hostile repos


def hostile(trained, **changes):
    files = files_of(trained)
    files.pop("README.md", None)
    files.update(changes)
    return files


def edit_config(trained, fn):
    config = json.loads((trained / "config.json").read_text())
    fn(config)
    return json.dumps(config).encode()


def reshaped_generator(trained):
    tensors = load_file(str(trained / "generator.safetensors"))
    name = next(k for k, v in tensors.items() if v.dim() == 2)
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])
    path = trained.parent / "bad-generator.safetensors"
    save_file(tensors, str(path))
    return path.read_bytes()


CASES = {
    "unknown-variant": lambda t: {"config.json": edit_config(t, lambda c: c["run"].update(variant="no-such-gan"))},
    "unknown-net": lambda t: {"config.json": edit_config(t, lambda c: c["run"]["generator"].update(kind="no-such-net"))},
    "future-format": lambda t: {"config.json": edit_config(t, lambda c: c.update(format=999))},
    "not-json": lambda t: {"config.json": b"{not json"},
    "shape-mismatch": lambda t: {"generator.safetensors": reshaped_generator(t)},
    "vocab-mismatch": lambda t: {"vocab.json": json.dumps(["tok"] * 3).encode()},
    "not-safetensors": lambda t: {"generator.safetensors": b"\x80\x04K\x01." * 10},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_repo_gives_one_clear_error_and_writes_nothing(local_hub, trained, tmp_path, case):
    if case == "vocab-mismatch" and not (trained / "vocab.json").exists():
        pytest.skip("this corpus stores no vocab.json")
    local_hub.seed(f"mallory/{case}", hostile(trained, **CASES[case](trained)))
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(HubError, match=f"mallory/{case}@[0-9a-f]{{10}} is not a valid textgan run: ") as err:
        hub.pull(f"mallory/{case}", out=checkpoints / "run")
    named = {"unknown-variant": "no-such-gan", "unknown-net": "no-such-net", "shape-mismatch": "generator"}
    assert named.get(case, "") in str(err.value)  # the error names the bad value
    assert not (checkpoints / "run").exists()
    assert leftovers(checkpoints) == []
