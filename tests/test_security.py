"""Hostile cases (issue 11): a run writes only inside its own directory, saves are atomic as a whole, sizes are
bounded before allocation, bad input is one line and exit 2, Hub edges, determinism. Each test failed on the code
before the fix."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download

from app_helpers import lab_config, wait_until
from hub_server import VALID_TOKENS
from textgan import checkpoint, hub
from textgan.checkpoint import CheckpointError
from textgan.rundir import validate_run_dir
from textgan.cli import main
from textgan.corpora import CorpusError, build_corpus, check_spec
from textgan.events import Failed, Saved
from textgan.hub import HubError
from textgan.run import Run, RunConfig

ALICE = list(VALID_TOKENS)[0]


def tiny(**kw) -> RunConfig:
    base = dict(corpus={"kind": "modes", "k": 4, "n_train": 200, "n_test": 50}, variant="mle",
                generator={"kind": "lstm", "emb_dim": 8, "hidden": 16}, batch_size=8, seed=1, device="cpu",
                sample_every=0, eval_every=0, show_samples=4)
    base.update(kw)
    return RunConfig(**base)


def tiny_gan(**kw) -> RunConfig:
    return tiny(variant="wgan-gp", critic={"kind": "cnn", "emb_dim": 8, "filters": 8}, **kw)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, one_thread):
    """A small saved GAN run (generator, critic, optimizer state): copy it before changing it."""
    path = tmp_path_factory.mktemp("saved") / "run"
    run = Run(tiny_gan())
    list(run.steps(2))
    run.save(path)
    return path


def copy_run(saved_run, tmp_path, name="run"):
    dst = tmp_path / name
    shutil.copytree(saved_run, dst)
    return dst


def weights_bytes(path):
    return (path / "generator.safetensors").read_bytes()


# ---- 1. a run writes only inside its own directory ----------------------------------------------------------------

def test_loaded_run_never_saves_to_a_path_read_from_config(saved_run, tmp_path):
    run_dir = copy_run(saved_run, tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("not a run")
    config = json.loads((run_dir / "config.json").read_text())
    config["run"].update(out=str(victim), save_every=1)  # what a hostile pulled repo would say
    (run_dir / "config.json").write_text(json.dumps(config))

    run = Run.load(run_dir, device="cpu")
    events = list(run.steps(2))
    assert [e.path for e in events if isinstance(e, Saved)] == [run_dir.absolute()] * 2
    assert (victim / "precious.txt").read_text() == "not a run" and sorted(os.listdir(victim)) == ["precious.txt"]
    assert json.loads((run_dir / "config.json").read_text())["step"] == 4


def test_resuming_a_copied_run_leaves_the_original_alone(saved_run, tmp_path):
    original = copy_run(saved_run, tmp_path, "original")
    run = Run.load(original, device="cpu")
    run.config.save_every = 1
    run.save()  # config.json of the original now names it as its own directory
    before = weights_bytes(original)
    copy = copy_run(original, tmp_path, "copy")
    resumed = Run.load(copy, device="cpu")
    resumed.config.save_every = 1
    list(resumed.steps(1))
    assert weights_bytes(original) == before
    assert json.loads((copy / "config.json").read_text())["step"] == 3


def test_save_replaces_only_a_directory_of_this_run(saved_run, tmp_path):
    run = Run.load(copy_run(saved_run, tmp_path), device="cpu")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="not a textgan run"):
        run.save(other)
    assert (other / "thesis.tex").read_text() == "years of work"

    someone_else = copy_run(saved_run, tmp_path, "someone-else")
    before = weights_bytes(someone_else)
    with pytest.raises(ValueError, match="another run"):
        run.save(someone_else)
    assert weights_bytes(someone_else) == before
    run.save(someone_else, overwrite=True)  # asked for explicitly
    run.save(tmp_path / "fresh")
    run.save(tmp_path / "fresh")  # now its own
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        run.save(tmp_path / "file")


def test_pushed_config_and_card_name_the_corpus_by_name_and_hash(local_hub, tmp_path, one_thread):
    corpus = tmp_path / "secret-project" / "lines.txt"
    corpus.parent.mkdir()
    corpus.write_text("".join(f"the cat number {i % 7} sat on mat {i % 5}\n" for i in range(60)))
    spec = {"kind": "text", "path": str(corpus)}
    run = Run(tiny(corpus=spec, batch_size=4))
    list(run.steps(1))
    run_dir = run.save(tmp_path / "run")
    hub.push(run_dir, "alice/text-run", token=ALICE)
    for name in ("config.json", "README.md"):
        text = open(hf_hub_download("alice/text-run", name, token=ALICE)).read()
        assert str(tmp_path) not in text and "secret-project" not in text, name
    saved = json.loads((run_dir / "config.json").read_text())
    assert "out" not in saved["run"]
    # A run saved by an older textgan recorded both: the pushed copy still carries neither.
    legacy = json.loads((run_dir / "config.json").read_text())
    legacy["run"].update(out=str(tmp_path / "secret-project" / "out"), corpus={**spec, "sha256": None})
    (run_dir / "config.json").write_text(json.dumps(legacy))
    hub.push(run_dir, "alice/legacy-run", token=ALICE)
    pushed = open(hf_hub_download("alice/legacy-run", "config.json", token=ALICE)).read()
    assert "secret-project" not in pushed and str(tmp_path) in (run_dir / "config.json").read_text()
    (run_dir / "config.json").write_text(json.dumps(saved))
    assert saved["run"]["corpus"]["path"] == "lines.txt" and len(saved["run"]["corpus"]["sha256"]) == 64

    # Loading never reads the recorded file; continuing takes the file again, and only the same content.
    loaded = Run.load(run_dir, device="cpu")
    assert loaded.corpus.train.shape[0] == 0
    resumed = Run.load(run_dir, device="cpu", text_file=corpus)
    assert resumed.corpus.train.shape[0] > 0
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text() + "one more line\n")
    with pytest.raises(CorpusError, match="not the file this run was trained on"):
        Run.load(run_dir, device="cpu", text_file=other)


# ---- 6. the NaN guard runs before every save ----------------------------------------------------------------------

def test_nan_weights_never_overwrite_the_last_good_checkpoint(tmp_path, one_thread):
    run = Run(tiny(out=str(tmp_path / "run"), save_every=1, log_every=4))
    list(run.steps(1))
    good = weights_bytes(tmp_path / "run")
    with torch.no_grad():
        run.gen.out.weight.fill_(float("nan"))
    events = list(run.steps(3))  # step 2 is not logged, but it would be saved
    assert isinstance(events[-1], Failed) and "not finite" in events[-1].message
    assert weights_bytes(tmp_path / "run") == good
    assert json.loads((tmp_path / "run" / "config.json").read_text())["step"] == 1


# ---- 7. a save is atomic as a whole ------------------------------------------------------------------------------

KILL_BETWEEN_RENAMES = textwrap.dedent("""
    import os, pathlib, sys
    from textgan.run import Run
    target = pathlib.Path(sys.argv[1]).absolute()
    run = Run.load(target, device="cpu")
    list(run.steps(1))
    rename = pathlib.Path.rename
    def dying_rename(self, dst):
        if pathlib.Path(dst) == target:  # the old run is already moved aside: kill -9 now
            os._exit(9)
        return rename(self, dst)
    pathlib.Path.rename = dying_rename
    run.save(target)
""")


def test_a_kill_between_the_renames_of_a_save_loses_nothing(saved_run, tmp_path):
    run_dir = copy_run(saved_run, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stray = tmp_path / f".run.tmp-{dead.pid}-deadbeef"  # a save killed while writing, long ago
    stray.mkdir()
    (stray / "generator.safetensors").write_bytes(b"half")
    r = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(run_dir)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 9, r.stderr
    assert not run_dir.exists()  # the kill really came between the renames

    run = Run.load(run_dir, device="cpu")  # --resume works: the complete new save is put in place
    assert run.step == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # stray temp folders are gone


# ---- 5. sizes are checked before allocation ----------------------------------------------------------------------

@pytest.mark.parametrize("spec", [{"kind": "modes", "n_train": 10**9}, {"kind": "modes", "n_test": 10**9},
                                  {"kind": "oracle", "n_train": 10**8}, {"kind": "oracle", "vocab_size": 10**6},
                                  {"kind": "oracle", "seq_len": 100_000}, {"kind": "text", "path": "x", "bpe_vocab": 10**8}])
def test_corpus_sizes_are_bounded_before_anything_is_built(spec):
    with pytest.raises(CorpusError, match="must be an integer in"):
        check_spec(spec)


def test_pulled_config_asking_for_huge_sizes_is_refused_unbuilt(saved_run, tmp_path):
    run_dir = copy_run(saved_run, tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    config["run"]["corpus"]["n_train"] = 10**9
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="n_train"):
        validate_run_dir(run_dir)

    config["run"]["corpus"]["n_train"] = 200
    config["run"]["generator"].update(emb_dim=20_000, hidden=20_000)  # 3.2e9 parameters
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="parameters"):
        validate_run_dir(run_dir)
    config["run"]["generator"].update(hidden=10**6)
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="hidden"):
        validate_run_dir(run_dir)


def test_json_files_are_size_checked_before_parsing(saved_run, tmp_path, monkeypatch):
    run_dir = copy_run(saved_run, tmp_path)
    monkeypatch.setattr(checkpoint, "MAX_JSON_BYTES", 4096)
    (run_dir / "vocab.json").write_text(json.dumps([f"w{i}" for i in range(2000)]))
    parsed, loads = [], json.loads
    monkeypatch.setattr(checkpoint.json, "loads", lambda text, **k: parsed.append(len(text)) or loads(text, **k))
    with pytest.raises(CheckpointError, match="vocab.json is .* over the 4,096-byte limit"):
        validate_run_dir(run_dir)
    assert parsed and max(parsed) < 4096  # config.json was parsed, vocab.json never


def test_vocab_cap_the_loader_would_refuse_is_refused_at_train_time(tmp_path):
    from textgan.corpora import SPECIALS
    from textgan.corpora.text import MAX_VOCAB_CAP
    from textgan.limits import LIMITS

    LIMITS = {"vocab_size": int(LIMITS["vocab_size"].hi)}
    assert MAX_VOCAB_CAP + len(SPECIALS) <= LIMITS["vocab_size"]
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b\nc d\n")
    with pytest.raises(CorpusError, match="vocab_cap"):
        build_corpus({"kind": "text", "path": str(corpus), "vocab_cap": LIMITS["vocab_size"]})
    assert main(["train", "--corpus", str(corpus), "--vocab-cap", str(LIMITS["vocab_size"]), "--steps", "1",
                 "--out", str(tmp_path / "r")]) == 2


# ---- 8. every bad input: one line, exit 2 -------------------------------------------------------------------------

@pytest.mark.parametrize("flags, field", [
    (["--set", "lr_gen=abc"], "lr_gen"), (["--set", "critic_steps=1.5"], "critic_steps"),
    (["--set", "critic_steps=true"], "critic_steps"), (["--generator", "lstm", "--gen-set", "hidden=abc"], "hidden"),
    (["--corpus-set", "n_train=abc"], "n_train"),
])
def test_wrong_typed_settings_are_one_line_and_exit_2(flags, field, tmp_path, capsys):
    code = main(["train", "--variant", "wgan-gp", "--steps", "1", "--out", str(tmp_path / "r"), "--device", "cpu",
                 *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and field in err, err
    assert not (tmp_path / "r").exists()


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    "truncated state": ("state.safetensors", _truncate),
    "state.json without state": ("state.json", lambda p: p.write_text('{"step": 2}')),
    "state.json as a list": ("state.json", lambda p: p.write_text("[1, 2]")),
    "metrics.json as a list": ("metrics.json", lambda p: p.write_text("[1, 2]")),
    "deeply nested metrics": ("metrics.json", lambda p: p.write_text("[" * 100_000 + "]" * 100_000)),
    "deeply nested config": ("config.json", lambda p: p.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_run_files_are_one_line_naming_the_file(case, saved_run, tmp_path, capsys):
    name, spoil = BAD_FILES[case]
    run_dir = copy_run(saved_run, tmp_path)
    spoil(run_dir / name)
    assert main(["sample", str(run_dir), "-n", "2", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err, err
    assert main(["train", "--resume", "--out", str(run_dir), "--steps", "1", "--quiet"]) == 2


def test_pull_refuses_a_malformed_state_with_the_same_message(local_hub, saved_run, tmp_path):
    run_dir = copy_run(saved_run, tmp_path)
    (run_dir / "state.json").write_text("[1, 2]")
    HfApi(token=ALICE).create_repo("alice/bad-state")
    HfApi(token=ALICE).upload_folder(repo_id="alice/bad-state", folder_path=str(run_dir))
    with pytest.raises(HubError, match="state.json must hold a JSON object"):
        hub.pull("alice/bad-state", out=tmp_path / "pulled")
    assert not (tmp_path / "pulled").exists()


# ---- 9. Hub edges ----------------------------------------------------------------------------------------------

def test_push_private_to_an_existing_public_repo_is_refused(local_hub, saved_run):
    HfApi(token=ALICE).create_repo("alice/open")
    with pytest.raises(HubError, match="public"):
        hub.push(saved_run, "alice/open", token=ALICE, private=True)
    assert not any(p.endswith("/upload/main") or "commit" in p for _, p in local_hub.state.requests), \
        "nothing was uploaded"


def test_push_of_a_run_with_symlinked_files_is_exit_2(local_hub, saved_run, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "linked"
    run_dir.mkdir()
    for p in saved_run.iterdir():
        (run_dir / p.name).symlink_to(p)
    monkeypatch.setenv("HF_TOKEN", ALICE)
    assert main(["push", str(run_dir), "alice/linked"]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and len(err.strip().splitlines()) == 1


def test_pull_installs_only_the_runs_own_files_within_a_total_cap(local_hub, saved_run, tmp_path):
    run_dir = copy_run(saved_run, tmp_path)
    (run_dir / "notes.txt").write_text("x" * 1000)
    (run_dir / "extra.json").write_text("{}")
    HfApi(token=ALICE).create_repo("alice/extras")
    HfApi(token=ALICE).upload_folder(repo_id="alice/extras", folder_path=str(run_dir))
    out = hub.pull("alice/extras", out=tmp_path / "pulled")
    assert not {"notes.txt", "extra.json"} & set(os.listdir(out))
    assert not [p for _, p in local_hub.state.requests if "notes.txt" in p or "extra.json" in p]
    total = sum(p.stat().st_size for p in saved_run.iterdir())
    with pytest.raises(HubError, match="total"):
        hub.pull("alice/extras", out=tmp_path / "capped", max_total_bytes=total // 2)


# ---- 11. determinism ----------------------------------------------------------------------------------------------

def dropout_config(**kw):
    return tiny(variant="seqgan", critic={"kind": "cnn", "emb_dim": 8, "filters": 8, "dropout": 0.5},
                variant_config={"pretrain_steps": 0, "rollouts": 2}, **kw)


def test_dropout_draws_from_the_runs_generator(tmp_path, one_thread):
    torch.manual_seed(123)
    a = Run(dropout_config())
    list(a.steps(2))
    torch.manual_seed(456)  # whatever else the process draws
    b = Run(dropout_config())
    list(b.steps(2))
    for p, q in zip(a.critic.parameters(), b.critic.parameters()):
        assert torch.equal(p, q)

    a.save(tmp_path / "a")
    list(a.steps(2))
    resumed = Run.load(tmp_path / "a", device="cpu")
    torch.manual_seed(789)
    list(resumed.steps(2))
    for p, q in zip(a.critic.parameters(), resumed.critic.parameters()):
        assert torch.equal(p, q)


def test_resume_refuses_another_variant_and_applies_settings(saved_run, tmp_path, capsys):
    run_dir = copy_run(saved_run, tmp_path)
    assert main(["train", "--resume", "--out", str(run_dir), "--variant", "seqgan", "--steps", "1"]) == 2
    assert "wgan-gp" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(run_dir), "--generator", "gru", "--steps", "1"]) == 2
    assert "--generator" in capsys.readouterr().err

    code = main(["train", "--resume", "--out", str(run_dir), "--set", "lr_gen=0.0005", "--batch-size", "4",
                 "--steps", "1", "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0 and "applied on resume: lr_gen=0.0005, batch_size=4" in err
    state = json.loads((run_dir / "state.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert state["variant_config"]["lr_gen"] == 0.0005 and config["run"]["batch_size"] == 4
    assert main(["train", "--resume", "--out", str(run_dir), "--set", "lr_gen=abc", "--steps", "1"]) == 2


def test_resume_without_state_files_says_it_is_inexact(saved_run, tmp_path, capsys):
    run_dir = copy_run(saved_run, tmp_path)
    (run_dir / "state.safetensors").unlink()
    run = Run.load(run_dir, device="cpu")
    assert any("not an exact resume" in n for n in run.notes)
    assert main(["train", "--resume", "--out", str(run_dir), "--steps", "1", "--quiet", "--device", "cpu"]) == 0
    assert "state.safetensors missing" in capsys.readouterr().err


# ---- 4. memory is bounded over a long session ---------------------------------------------------------------------

def test_history_is_full_on_disk_and_bounded_in_memory(tmp_path, one_thread):
    run = Run(tiny(eval_every=50, eval_samples=16))
    run.history.max_rows = 20
    list(run.steps(300))
    assert len(run.history) <= 20 and run.history[-1]["step"] == 300
    assert sum("eval/unique" in r for r in run.history) >= 3  # evaluations are kept on their own budget
    steps = [r["step"] for r in run.history if "eval/unique" not in r]
    assert steps[0] == 1 and max(b - a for a, b in zip(steps, steps[1:])) <= 64  # evenly spread
    run.save(tmp_path / "run")
    lines = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(lines) == 301 and lines[0].startswith("step,")
    loaded = Run.load(tmp_path / "run", device="cpu")
    assert loaded.history.total == 300 and len(loaded.history) <= 2000
    loaded.save(tmp_path / "run")
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 301


# ---- 2, 3, 10: what a public app server bounds (the lab, no browser needed) ----------------------------------------

def test_no_server_file_a_visitor_names_unless_under_an_operator_root(tmp_path, monkeypatch):
    from textgan import lab as L

    secret = tmp_path / "secrets.txt"
    secret.write_text("API_KEY=hunter2\nDB_PASSWORD=swordfish\n")
    monkeypatch.delenv("TEXTGAN_CORPUS_ROOTS", raising=False)
    with pytest.raises(L.LabError, match="upload your text file"):
        L.corpus_spec("path", path=str(secret))

    root = tmp_path / "corpora"
    root.mkdir()
    (root / "poems.txt").write_text("a line\nanother line\n")
    (root / "escape.txt").symlink_to(secret)
    monkeypatch.setenv("TEXTGAN_CORPUS_ROOTS", str(root))
    assert L.corpus_spec("path", path="poems.txt")["path"] == str((root / "poems.txt").resolve())
    assert L.corpus_spec("path", path=str(root / "poems.txt"))["path"] == str((root / "poems.txt").resolve())
    for hostile in ("escape.txt", str(secret), "../secrets.txt", str(root / ".." / "secrets.txt")):
        with pytest.raises(L.LabError, match="under the folders this server offers"):
            L.corpus_spec("path", path=hostile)


def test_sessions_nobody_polls_are_closed_and_free_their_slot(make_lab):
    import time

    lab = make_lab(max_training=1, idle_timeout_s=0.5)
    walked_away = lab.session("curl-1")
    walked_away.configure(lab_config())
    walked_away.start()
    wait_until(lambda: walked_away.state == "training" and walked_away.step_count > 0)
    assert not lab.has_free_slot()
    time.sleep(0.7)
    visitor = lab.session("browser")  # any request closes the idle sessions first
    assert lab.get("curl-1") is None
    wait_until(lambda: walked_away.state == "closed")
    wait_until(lab.has_free_slot)
    visitor.configure(lab_config())
    visitor.start()
    wait_until(lambda: visitor.state == "training" and visitor.step_count > 0)


def test_a_session_trains_within_its_budget(make_lab):
    from textgan import lab as L

    lab = make_lab(session_budget_s=0.3)
    s = lab.session("tab")
    s.configure(lab_config())
    s.start()
    wait_until(lambda: s.state == "stopped")
    assert "budget" in s.message and s.trained_s >= 0.3
    with pytest.raises(L.LabError, match="budget"):
        s.start()
    assert lab.has_free_slot()


def test_sessions_are_capped_per_client_and_per_server(make_lab):
    from textgan import lab as L

    lab = make_lab(sessions_per_client=2, max_sessions=3)
    lab.session("a", client="10.0.0.1")
    lab.session("b", client="10.0.0.1")
    lab.session("a", client="10.0.0.1")  # the same session again is fine
    with pytest.raises(L.LabError, match="open sessions"):
        lab.session("c", client="10.0.0.1")
    lab.session("d", client="10.0.0.2")
    with pytest.raises(L.LabError, match="full"):
        lab.session("e", client="10.0.0.3")
    lab.close("a")
    lab.session("c", client="10.0.0.1")


def test_saves_are_per_session_and_never_clobber(make_lab, saved_run):
    from textgan import lab as L

    lab = make_lab()
    example = lab.checkpoints / "shipped-demo"
    shutil.copytree(saved_run, example)
    a, b = lab.session("visitor-a"), lab.session("visitor-b")
    for s in (a, b):
        s.configure(lab_config())
        s.step()
    path_a, path_b = lab.save_dir("my-run", a), lab.save_dir("my-run", b)
    assert path_a != path_b and path_a.parent == lab.session_dir("visitor-a")
    a.save(path_a)
    b.save(path_b)
    assert Run.load(path_a, device="cpu").step == 1
    assert lab.runs_for("visitor-a") == [str(path_a), str(example)]  # own runs, then the examples
    assert str(path_b) not in lab.runs_for("visitor-a")
    a.reset()
    a.step()
    with pytest.raises(L.LabError, match="another run"):  # a new run never silently replaces a saved one
        a.save(path_a)
    for hostile in ("../visitor-b/my-run", "a/b", "/etc"):
        assert lab.save_dir(hostile, a).parent == lab.session_dir("visitor-a")


def test_a_run_trained_on_an_upload_continues_after_loading(make_lab, tmp_path, monkeypatch):
    from textgan import lab as L

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # the upload cache: uploads are read from there only
    lab = make_lab()
    upload = tmp_path / "mine.txt"
    upload.write_text("".join(f"the dog number {i % 9} runs\n" for i in range(40)))
    corpus = L.corpus_spec("upload", upload=str(upload), upload_dir=lab.checkpoints / "uploads")
    s = lab.session("tab")
    s.configure(L.make_config(corpus, "mle", generator=L.net_spec("generator", "lstm", 16), batch_size=4,
                              device="cpu", sample_every=0, eval_every=0))
    s.step()
    path = s.save(lab.save_dir("on-upload", s))
    other = lab.session("tab-2")
    other.load(path)
    assert other.run.corpus.train.shape[0] > 0
    other.step()
    assert other.step_count == 2
