"""Corpora: the modes grammar classifies exactly, text files fail with clear errors, the oracle is a real LSTM."""

import math
from collections import Counter

import pytest
import torch

from textgan.corpora import BOS, EOS, PAD, UNK, CorpusError, build_corpus
from textgan.corpora.modes import CLASSES, ModesCorpus
from textgan.corpora.oracle import OracleCorpus
from textgan.corpora.text import TextCorpus


def test_word_classes_never_share_a_word():
    seen = Counter(w for words in CLASSES.values() for w in set(words))
    assert [w for w, n in seen.items() if n > 1] == []
    literals = {"the", "a", "every", "in", "near"}
    assert not literals & set(seen)


@pytest.mark.parametrize("k", [2, 8, 64])
def test_every_training_sentence_has_one_known_mode(k):
    c = ModesCorpus(k=k, n_train=2000, n_test=10)
    modes = c.classify_ids(c.train)
    assert (modes >= 0).all()
    assert set(modes.tolist()) <= set(range(k))
    # classify on strings agrees with classify on ids
    texts = c.decode_batch(c.train[:200])
    assert c.classify(texts) == modes[:200].tolist()


def test_modes_are_disjoint_languages():
    c = ModesCorpus(k=16)
    owner = {}
    for mode, grammar in enumerate(c.grammars):
        from textgan.corpora.modes import _expand
        for slots in grammar:
            for sent in _expand(slots):
                assert owner.setdefault(tuple(sent), mode) == mode


def test_invalid_sentences_are_minus_one():
    c = ModesCorpus(k=8)
    s = c.decode(c.train[0]).split()
    assert c.classify([" ".join(s[::-1]), " ".join(s + s), "", "the the the"]) == [-1, -1, -1, -1]
    swapped = s.copy()
    swapped[-1] = "zebra-unknown"
    assert c.classify([" ".join(swapped)]) == [-1]


def test_modes_alike_patterns_differ_only_in_words():
    """patterns='alike': every mode has the one pattern `ALIKE_PATTERN` (its own subjects, its own words), every
    sentence still classifies to exactly its mode, and the setting is in the spec (and absent by default, so
    older runs' specs stay as they were)."""
    from textgan.corpora.modes import ALIKE_PATTERN

    c = ModesCorpus(k=8, weights="skewed", patterns="alike", n_train=400)
    assert all(len(g) == 1 and len(g[0]) == len(ALIKE_PATTERN.split()) for g in c.grammars)
    assert (c.classify_ids(c.train) >= 0).all()
    subjects = [set(g[0][ALIKE_PATTERN.split().index("S")]) for g in c.grammars]
    assert all(a.isdisjoint(b) for i, a in enumerate(subjects) for b in subjects[i + 1:])
    assert c.spec["patterns"] == "alike" and "patterns" not in ModesCorpus(k=4, n_train=10).spec
    assert build_corpus(c.spec).vocab == c.vocab
    with pytest.raises(CorpusError, match="patterns"):
        ModesCorpus(k=4, patterns="same")


def test_modes_deterministic_and_seeded():
    a, b, c = ModesCorpus(k=8, seed=1), ModesCorpus(k=8, seed=1), ModesCorpus(k=8, seed=2)
    assert torch.equal(a.train, b.train) and a.vocab == b.vocab
    assert not torch.equal(a.train, c.train)


def test_skewed_weights_follow_zipf():
    c = ModesCorpus(k=4, weights="skewed", n_train=20000, n_test=10)
    counts = torch.bincount(c.classify_ids(c.train), minlength=4).double()
    expected = torch.tensor([1, 1 / 2, 1 / 3, 1 / 4], dtype=torch.double)
    expected = expected / expected.sum() * 20000
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 16.3  # 3 degrees of freedom, p = 0.001


def test_rows_end_with_eos_then_pad():
    c = ModesCorpus(k=4)
    row = c.train[0].tolist()
    n = len(c.strip(row))
    assert row[n] == EOS and all(t == PAD for t in row[n + 1:])
    assert BOS not in row


@pytest.mark.parametrize("k", [1, 65])
def test_modes_k_out_of_range(k):
    with pytest.raises(CorpusError, match="out of range"):
        ModesCorpus(k=k)


def test_unknown_corpus_kind_and_setting():
    with pytest.raises(CorpusError, match="unknown corpus kind"):
        build_corpus({"kind": "imdb"})
    with pytest.raises(CorpusError, match="no setting"):
        build_corpus({"kind": "modes", "modes": 3})


# ---- text files ---------------------------------------------------------------------------------------------

def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_text_errors(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        TextCorpus(str(tmp_path / "nope.txt"))
    with pytest.raises(CorpusError, match="empty"):
        TextCorpus(write(tmp_path, "empty.txt", b"\n  \n"))
    with pytest.raises(CorpusError, match="line 3 is not valid UTF-8"):
        TextCorpus(write(tmp_path, "latin.txt", b"ok line\nanother\ncaf\xe9 au lait\n"))
    with pytest.raises(CorpusError, match="single line"):
        TextCorpus(write(tmp_path, "one.txt", b"just one sentence\n"))
    good = write(tmp_path, "good.txt", b"a b c\nd e f\n")
    with pytest.raises(CorpusError, match="max_len"):
        TextCorpus(good, max_len=1)
    with pytest.raises(CorpusError, match="vocab_cap"):
        TextCorpus(good, vocab_cap=0)
    with pytest.raises(CorpusError, match="level"):
        TextCorpus(good, level="sentencepiece")


def test_text_word_level_cap_truncation_and_split(tmp_path):
    lines = [f"The cat sat on mat number {i} ." for i in range(50)] + ["a very long line " * 10]
    path = write(tmp_path, "t.txt", "\n".join(lines).encode())
    c = TextCorpus(path, vocab_cap=10, max_len=8, test_fraction=0.2)
    assert c.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert c.vocab_size == 14
    assert c.info["truncated_lines"] == 1
    assert c.info["unk_tokens"] > 0 and c.info["oov_types"] > 0
    assert c.train.shape[0] + c.test.shape[0] == 51 and c.test.shape[0] == 10
    assert c.seq_len == 9
    # lower-cased, punctuation split off, unknown words map to UNK
    decoded = [c.decode(r) for r in c.train]
    assert all(s == s.lower() for s in decoded)
    assert any(s.startswith("the cat sat on mat number") for s in decoded)
    assert UNK in c.train


def test_text_separate_test_file_and_char_level(tmp_path):
    train = write(tmp_path, "train.txt", "hello world\nbye world\n".encode())
    test = write(tmp_path, "test.txt", "héllo\n".encode())
    c = TextCorpus(train, test_path=test, level="char")
    assert c.train.shape[0] == 2 and c.test.shape[0] == 1
    assert c.decode(c.train[0]) in ("hello world", "bye world")
    assert c.decode(c.test[0]) == "h<unk>llo"  # é is not in the training characters


def test_bpe_round_trip(tmp_path):
    lines = [f"the quick brown fox jumps over the lazy dog {i}" for i in range(200)]
    c = TextCorpus(write(tmp_path, "b.txt", "\n".join(lines).encode()), level="bpe", bpe_vocab=300)
    assert c.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    for row in c.train[:20]:
        assert c.decode(row) in lines


# ---- oracle --------------------------------------------------------------------------------------------------

def test_oracle_small():
    c = OracleCorpus(vocab_size=50, seq_len=8, n_train=2000, n_test=500, seed=3)
    assert c.train.shape == (2000, 8) and c.test.shape == (500, 8)
    assert not c.has_specials and c.start_id == 0
    same = OracleCorpus(vocab_size=50, seq_len=8, n_train=2000, n_test=500, seed=3)
    assert torch.equal(c.train, same.train)
    # The oracle's own samples are far more likely under it than uniform noise.
    assert c.nll(c.test) < 0.8 * math.log(50)
    noise = torch.randint(0, 50, (500, 8), generator=torch.Generator().manual_seed(0))
    assert c.nll(noise) > c.nll(c.test) + 1.0
    # nll is the mean per-token cross-entropy, computed independently here
    logp = torch.log_softmax(c.oracle(c.test[:7]), -1).gather(-1, c.test[:7, :, None]).squeeze(-1)
    assert c.nll(c.test[:7]) == pytest.approx(float(-logp.mean()), rel=1e-5)


def test_oracle_samples_are_cached_on_disk_and_redrawn_when_the_file_is_bad(tmp_path, monkeypatch):
    spec = dict(vocab_size=30, seq_len=6, n_train=300, n_test=100, seed=4)
    monkeypatch.setenv("TEXTGAN_CACHE", "off")
    fresh = OracleCorpus(**spec)
    monkeypatch.setenv("TEXTGAN_CACHE", str(tmp_path))
    first = OracleCorpus(**spec)  # draws and writes the file
    files = list(tmp_path.glob("oracle-*.safetensors"))
    assert len(files) == 1 and torch.equal(first.train, fresh.train) and torch.equal(first.test, fresh.test)
    draws = []
    from textgan.corpora import oracle as oracle_module

    real_cached = oracle_module.cached_samples

    def counting(spec_, draw):
        return real_cached(spec_, lambda: draws.append(1) or draw())

    monkeypatch.setattr(oracle_module, "cached_samples", counting)
    again = OracleCorpus(**spec)
    assert draws == [] and torch.equal(again.train, fresh.train)  # read back, not drawn
    files[0].write_bytes(b"not a safetensors file")
    healed = OracleCorpus(**spec)
    assert draws == [1] and torch.equal(healed.train, fresh.train)  # a bad file is drawn again and replaced
    assert OracleCorpus(**spec) and draws == [1]
