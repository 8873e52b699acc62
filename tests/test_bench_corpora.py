"""Benchmark corpora and their conventions: COCO ships inside the package, its vocabulary and tokenisation follow the
published tables (and say so), `<unk>` is reported beside NLL-gen, and a one-sample evaluation works."""

import hashlib
import json
from pathlib import Path

import pytest
import torch

import textgan
from textgan.corpora import PAD, UNK, CorpusError, build_corpus
from textgan.corpora.benchmarks import benchmark_files
from textgan.corpora.text import TextCorpus, treebank_split
from textgan.run import Run, RunConfig

COCO_SHA256 = {"train.txt": "2c0fd1f0f43aac6a9dc3926a535516ccf395de535e15ac1fd17cd569420736f5",
               "test.txt": "72e25c9fb4d2cd43182ac602c92f6ffc377762147f9709572943b0b09174bcae"}


def test_coco_ships_inside_the_package_with_its_attribution():
    package = Path(textgan.__file__).resolve().parent
    for path in benchmark_files("coco"):
        assert package in path.parents, path  # no path outside the installed package
        assert hashlib.sha256(path.read_bytes()).hexdigest() == COCO_SHA256[path.name]
    notice = (benchmark_files("coco")[0].parent / "README.md").read_text()
    assert "CC BY 4.0" in notice and "COCO Consortium" in notice
    readme = (package.parent / "README.md").read_text()
    assert "CC BY 4.0" in readme and "--corpus coco" in readme


def test_coco_defaults_are_the_published_conventions_and_are_named():
    c = build_corpus({"kind": "coco"})
    assert (c.train.shape[0], c.test.shape[0]) == (10_000, 10_000)
    assert c.seq_len == 38  # the literature's longest caption, 37 tokens, + EOS
    assert c.spec["kind"] == "coco" and "path" not in c.spec  # a run rebuilds it from any install
    info = c.describe()
    # the published vocabulary is the training file's (RelGAN run.py:88, utils/utils.py:72-77; Texygen
    # models/mle/Mle.py:121; TextGAN-PyTorch main.py:119): the ~4.7k words the papers quote
    assert info["vocab_from"] == "train" and info["tokenize"] == "treebank"
    assert 4_600 < c.vocab_size < 4_700
    rows = c.test
    share = float((rows[rows != PAD] == UNK).float().mean())
    assert 0.02 < share < 0.05  # ~3.4 % of scored test tokens are unseen in train
    assert int((c.train == UNK).sum()) == 0
    both = build_corpus({"kind": "coco", "vocab_from": "train+test"})  # kept as a named option
    assert int((both.test == UNK).sum()) == 0 and both.vocab_size == 6_587
    assert both.describe()["vocab_from"] == "train+test"


def test_treebank_split_equals_nltk_on_coco_and_edge_lines():
    nltk_tok = pytest.importorskip("nltk.tokenize").NLTKWordTokenizer()
    train, test = benchmark_files("coco")
    lines = [s.strip().lower() for s in train.read_text().splitlines()[::5] + test.read_text().splitlines()[::5]]
    lines += ["a dog's toy.", "an old-fashioned u.s. plane. ", "don't stop", "two men at an airport tarmac. .",
              "a cat , a dog", "the woods.."]
    assert [treebank_split(s) for s in lines] == [nltk_tok.tokenize(s) for s in lines]


@pytest.mark.parametrize("tokenize, expected", [("whitespace", ["a", "dog's", "ball."]),
                                                ("regex", ["a", "dog", "'", "s", "ball", "."]),
                                                ("treebank", ["a", "dog", "'s", "ball", "."])])
def test_tokenisation_is_a_named_setting(tmp_path, tokenize, expected):
    (tmp_path / "t.txt").write_text("a dog's ball.\n")
    c = TextCorpus(str(tmp_path / "t.txt"), str(tmp_path / "t.txt"), tokenize=tokenize)
    assert c.tokens(c.train[0]) == expected and c.spec["tokenize"] == tokenize
    with pytest.raises(CorpusError, match="tokenize='spaces' unknown"):
        TextCorpus(str(tmp_path / "t.txt"), tokenize="spaces")


def _tiny_text(tmp_path, vocab_from):
    (tmp_path / "train.txt").write_text("the cat sat\nthe dog sat\n" * 20)
    (tmp_path / "test.txt").write_text("the cow sat\nthe cat ran far\n")
    return {"kind": "text", "path": str(tmp_path / "train.txt"), "test_path": str(tmp_path / "test.txt"),
            "vocab_from": vocab_from}


def test_unk_share_is_reported_next_to_nll_gen(tmp_path):
    run = Run(RunConfig(corpus=_tiny_text(tmp_path, "train"), variant="mle", batch_size=8, eval_samples=8))
    values = run.evaluate()
    # test tokens: the cow sat EOS / the cat ran far EOS -> cow, ran, far are <unk>: 3 of 9 scored tokens
    assert "eval/nll_gen" in values and values["eval/unk_share"] == pytest.approx(3 / 9)
    run = Run(RunConfig(corpus=_tiny_text(tmp_path, "train+test"), variant="mle", batch_size=8, eval_samples=8))
    assert run.evaluate()["eval/unk_share"] == 0.0
    assert run.corpus.describe()["vocab_from"] == "train+test"


def test_both_nll_gen_conventions_are_reported_by_name(tmp_path):
    """Published: NLL-gen on the training file (RelGAN real_train.py:106-109,330; TextGAN-PyTorch
    instructor.py:216) as eval/nll_gen_train; held-out: on the test split, with its <unk> share."""
    from textgan.metrics import nll_gen

    run = Run(RunConfig(corpus=_tiny_text(tmp_path, "train"), variant="mle", batch_size=8, eval_samples=8))
    list(run.steps(3))
    values = run.evaluate()
    with torch.no_grad():
        for split, key in ((run.corpus.train, "eval/nll_gen_train"), (run.corpus.test, "eval/nll_gen")):
            logp = run.gen.log_prob(split)  # (N, L): an independent mean over the non-PAD tokens
            assert values[key] == pytest.approx(-logp[split != PAD].mean().item(), rel=1e-5)
    assert values["eval/nll_gen_train"] != values["eval/nll_gen"] and values["eval/unk_share"] > 0
    assert nll_gen(run.gen, run.corpus.train[:1000], pad_id=PAD) == pytest.approx(values["eval/nll_gen_train"])


def test_one_eval_sample_on_a_text_corpus_evaluates(tmp_path):
    run = Run(RunConfig(corpus=_tiny_text(tmp_path, "train"), variant="mle", batch_size=8, eval_samples=1))
    values = run.evaluate()  # Self-BLEU needs two sentences; it used to raise here
    assert "eval/bleu2" in values and "eval/nll_gen" in values and "eval/self_bleu4" not in values


def test_mle_loss_gen_leaves_padding_out(tmp_path):
    """loss/gen of MLE is the training NLL-gen: PAD targets are not counted (they used to be)."""
    run = Run(RunConfig(corpus=_tiny_text(tmp_path, "train"), variant="mle", batch_size=8))
    real = run.corpus.train[:8]
    assert (real == PAD).any()
    with torch.no_grad():
        logp = run.gen.log_prob(real)  # (B, L)
        expected = -logp[real != PAD].mean()
    loss = run.variant.step(real)["loss/gen"]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_cli_trains_mle_on_coco_from_any_directory(tmp_path, monkeypatch):
    from textgan.card import build_card
    from textgan.cli import main

    monkeypatch.chdir(tmp_path)  # nothing outside the installed package is needed
    assert main(["train", "--corpus", "coco", "--variant", "mle", "--steps", "2", "--batch-size", "8", "--eval-every",
                 "0", "--out", "coco-mle", "--device", "cpu", "--quiet"]) == 0
    config = json.loads((tmp_path / "coco-mle" / "config.json").read_text())
    assert config["run"]["corpus"]["kind"] == "coco" and config["corpus_info"]["vocab_from"] == "train"
    card = str(build_card(tmp_path / "coco-mle"))
    assert "train only" in card and "treebank" in card


def test_compare_table_uses_one_named_reference_set(tmp_path):
    """Every BLEU in the compare table is on the same samples against the same references (the whole test split),
    and the table names them; the table once mixed BLEU-4 on 300 samples vs 2,000 references with full-set
    BLEU-2/3."""
    from textgan.lab.compare import metrics_table

    words = "a b c d e f g h".split()
    lines = [" ".join(words[(i + j * 3) % 8] for j in range(2 + i % 4)) + f" w{i % 50}" for i in range(2500)]
    (tmp_path / "train.txt").write_text("\n".join(lines[:400]) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(lines) + "\n")
    spec = {"kind": "text", "path": str(tmp_path / "train.txt"), "test_path": str(tmp_path / "test.txt")}
    run = Run(RunConfig(corpus=spec, variant="mle", batch_size=8, seed=1))
    table = metrics_table({"a": run}, n=400, seed=3)
    expected = run.evaluate(n=400, seed=3, record=False)
    for order in (2, 3, 4):
        assert table.loc["a", f"bleu{order}"] == pytest.approx(round(expected[f"eval/bleu{order}"], 4))
    assert table.loc["a", "BLEU references"] == "text test split (2,500 sentences)"
    assert table.loc["a", "unk_share"] == pytest.approx(round(expected["eval/unk_share"], 4))
