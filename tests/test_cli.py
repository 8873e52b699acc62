"""The CLI as a user runs it: a real subprocess, its output, its exit codes and its files."""

import json
import os
import subprocess
import sys

import pytest


def cli(*args, cwd=None):
    # One torch thread: the nets here are tiny, and it keeps the CLI fast when the cores are shared.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "textgan", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env=env)


def test_train_sample_eval_resume(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "--corpus", "modes", "--k", "4", "--variant", "wgan-gp", "--steps", "6", "--batch-size", "16",
            "--eval-every", "3", "--out", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out.resolve())
    assert "wgan-gp on modes" in r.stderr and "step 3:" in r.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["step"] == 6 and config["run"]["corpus"]["k"] == 4
    assert config["run"]["variant_config"]["lr_gen"] == 2e-3  # `auto` preset: demo settings on modes

    r = cli("sample", str(out), "-n", "4", "--seed", "1")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4
    assert cli("sample", str(out), "-n", "4", "--seed", "1").stdout == r.stdout

    r = cli("eval", str(out), "-n", "50")
    assert r.returncode == 0 and "modes/coverage" in r.stdout

    r = cli("train", "--out", str(out), "--resume", "--steps", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["step"] == 8


def test_resume_names_the_run_s_own_corpus(tmp_path):
    """`--corpus coco --resume` continues a coco run (the flag's help: "with --resume, the corpus the run was
    trained on"); another named corpus is refused in one line, naming both."""
    out = tmp_path / "coco"
    r = cli("train", "--corpus", "coco", "--variant", "mle", "--steps", "1", "--generator", "lstm", "--gen-set", "hidden=8",
            "--eval-every", "0", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    r = cli("train", "--corpus", "coco", "--resume", "--steps", "1", "--eval-every", "0", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["step"] == 2
    for other in ("oracle", "hub:someone/else"):
        r = cli("train", "--corpus", other, "--resume", "--steps", "1", "--out", str(out), "--quiet")
        assert r.returncode == 2 and "trained on the 'coco' corpus" in r.stderr, (other, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def test_train_text_file_with_settings(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"the cat number {i} sat on the mat" for i in range(40)), encoding="utf-8")
    r = cli("train", "--corpus", str(corpus), "--variant", "mle", "--steps", "3", "--set", "lr_gen=0.01",
            "--generator", "gru", "--gen-set", "hidden=16", "--batch-size", "8", "--out", str(tmp_path / "t"), "--quiet")
    assert r.returncode == 0, r.stderr
    config = json.loads((tmp_path / "t" / "config.json").read_text())
    assert config["run"]["generator"]["kind"] == "gru" and config["run"]["generator"]["hidden"] == 16
    assert config["run"]["variant_config"] == {"lr_gen": 0.01}  # `auto` preset: paper defaults off `modes`


@pytest.mark.parametrize("args, message", [
    (["train", "--corpus", "/no/such/file.txt", "--steps", "1"], "corpus file not found"),
    (["train", "--variant", "diffusion", "--steps", "1"], "unknown variant"),
    (["train", "--set", "lr_gen=-3", "--steps", "1"], "learning rate"),
    (["train", "--k", "100", "--steps", "1"], "out of range"),
    (["train", "--batch-size", "0", "--steps", "1"], "batch_size"),
    (["sample", "/no/such/run"], "run directory not found"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    r = cli(*args, "--out", str(tmp_path / "x")) if args[0] == "train" else cli(*args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_refuses_to_overwrite_a_saved_run(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "--variant", "mle", "--steps", "2", "--out", str(out), "--quiet").returncode == 0
    before = (out / "generator.safetensors").read_bytes()
    r = cli("train", "--variant", "mle", "--steps", "2", "--out", str(out), "--quiet")
    assert r.returncode == 2 and "--resume" in r.stderr
    assert (out / "generator.safetensors").read_bytes() == before


def test_batch_larger_than_the_corpus_is_refused(tmp_path):
    corpus = tmp_path / "small.txt"
    corpus.write_text("\n".join(f"line {i}" for i in range(10)), encoding="utf-8")
    r = cli("train", "--corpus", str(corpus), "--steps", "1", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "larger than the 9 training sentences" in r.stderr


def test_non_utf8_corpus_names_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nalso fine\n\xff\xfe broken\n")
    r = cli("train", "--corpus", str(bad), "--steps", "1", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "line 3" in r.stderr


def test_list_variants():
    r = cli("list-variants")
    assert r.returncode == 0
    from textgan.variants import VARIANTS

    for name, cls in VARIANTS.items():  # every variant, with its one-line explanation
        assert f"\n{name:<10} {cls.summary}\n" in "\n" + r.stdout


def test_train_help_names_every_net_kind():
    from textgan.nets import CRITICS, GENERATORS

    r = cli("train", "--help")
    text = " ".join(r.stdout.split())
    assert all(kind in text for kind in [*GENERATORS, *CRITICS])
