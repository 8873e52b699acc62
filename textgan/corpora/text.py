"""Text files, one sentence per line, at word, character or BPE level.

Lines longer than `max_len` tokens are truncated and counted; words beyond the vocabulary cap become UNK and are
counted too: nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..limits import LIMITS
from .base import SPECIALS, UNK, Corpus, CorpusError, pad_rows

LEVELS = ("word", "char", "bpe")
TOKENIZE = ("regex", "whitespace", "treebank")
"""Word splitting: `regex` separates every punctuation mark from words (raw text); `whitespace` keeps the file's own
tokens (pre-tokenised files such as EMNLP2017 News); `treebank` is nltk's Treebank word tokenizer, what Texygen's and
RelGAN's `nltk.word_tokenize` apply to COCO (hyphenated words stay whole, "dog's" -> "dog" "'s")."""
VOCAB_FROM = ("train", "train+test")
"""Which split the vocabulary comes from. `train` is Texygen's and RelGAN's convention (and held-out honest): unseen
test words become `<unk>`, reported as `eval/unk_share`; `train+test` leaves no test token `<unk>`."""
WORD_RE = re.compile(r"\w+|[^\w\s]")
_PLAIN = re.compile(r"([a-z0-9]+(?: +[a-z0-9]+)*) *(\.?) *")  # words, spaces, a final full stop: nltk agrees


def treebank_split(line: str) -> list[str]:
    """nltk's Treebank tokenization of one line. Most captions are plain words and a final full stop, which we split
    directly (10x faster, identical: tests/test_corpora.py checks COCO against nltk); the rest go to nltk."""
    m = _PLAIN.fullmatch(line)
    if m:
        return m[1].split() + ([m[2]] if m[2] else [])
    try:
        from nltk.tokenize import NLTKWordTokenizer
    except ImportError:
        raise CorpusError("tokenize='treebank' needs nltk: pip install nltk (requirements.txt has it)") from None
    return NLTKWordTokenizer().tokenize(line)


# A run's vocabulary (specials included) must stay within what a run directory may hold
# (textgan.limits.LIMITS), or a run could train and save but never load again.
MAX_VOCAB_CAP = int(LIMITS["vocab_size"].hi) - len(SPECIALS)
MAX_LEN_CAP = 512
MAX_CORPUS_BYTES = int(os.environ.get("TEXTGAN_MAX_CORPUS_BYTES", 512 * 1024**2))


def read_lines(path: str | Path, sha256: str | None = None) -> list[str]:
    """Non-blank lines of a UTF-8 file, with errors that name the file and the offending line."""
    return read_hashed(path, sha256)[0]


def read_hashed(path: str | Path, sha256: str | None = None) -> tuple[list[str], str]:
    """`read_lines` and the file's content hash. The size is checked before reading; with `sha256`, the content
    must have that hash (a run continued on its own data)."""
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"corpus file not found: {p}")
    if not p.is_file():
        raise CorpusError(f"corpus path is not a file: {p}")
    size = p.stat().st_size
    if size > MAX_CORPUS_BYTES:
        raise CorpusError(f"{p} is {size:,} bytes, over the {MAX_CORPUS_BYTES:,}-byte corpus limit "
                          "(set TEXTGAN_MAX_CORPUS_BYTES to raise it)")
    data = p.read_bytes()
    digest = file_hash(data)
    if sha256 is not None and digest != sha256:
        raise CorpusError(f"{p} is not the file this run was trained on (its content hash differs: "
                          f"expected sha256 {sha256[:12]}…)")
    lines = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(f"{p}: line {number} is not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                              "save the file as UTF-8") from None
        line = line.strip().lstrip("\ufeff")
        if line:
            lines.append(line)
    if not lines:
        raise CorpusError(f"{p} is empty: a corpus needs one sentence per line")
    return lines, digest


def file_hash(data: bytes) -> str:
    """The content hash a run records for its text files (SHA-256, hex)."""
    return hashlib.sha256(data).hexdigest()


class TextCorpus(Corpus):
    SIZE_LIMITS = {"vocab_cap": (1, MAX_VOCAB_CAP), "bpe_vocab": (1, MAX_VOCAB_CAP), "max_len": (2, MAX_LEN_CAP),
                   "seed": LIMITS["seed"]}

    def __init__(self, path: str, test_path: str | None = None, level: str = "word", lowercase: bool = True,
                 vocab_cap: int = 10_000, max_len: int | None = None, test_fraction: float = 0.1,
                 bpe_vocab: int = 2000, seed: int = 0, tokenize: str = "regex", vocab_from: str = "train",
                 sha256: str | None = None, test_sha256: str | None = None) -> None:
        if level not in LEVELS:
            raise CorpusError(f"text level {level!r} unknown; choose one of {LEVELS}")
        if tokenize not in TOKENIZE:
            raise CorpusError(f"tokenize={tokenize!r} unknown; choose one of {TOKENIZE}")
        if vocab_from not in VOCAB_FROM:
            raise CorpusError(f"vocab_from={vocab_from!r} unknown; choose one of {VOCAB_FROM}")
        if not 1 <= vocab_cap <= MAX_VOCAB_CAP:
            raise CorpusError(f"vocab_cap={vocab_cap} is out of range 1..{MAX_VOCAB_CAP}")
        if not 1 <= bpe_vocab <= MAX_VOCAB_CAP:
            raise CorpusError(f"bpe_vocab={bpe_vocab} is out of range 1..{MAX_VOCAB_CAP}")
        if max_len is not None and not 2 <= max_len <= MAX_LEN_CAP:
            raise CorpusError(f"max_len={max_len} is out of range: a sentence needs 2..{MAX_LEN_CAP} tokens")
        lines, sha256 = read_hashed(path, sha256)
        if test_path:
            test_lines, test_sha256 = read_hashed(test_path, test_sha256)
            train_lines = lines
        else:
            if len(lines) < 2:
                raise CorpusError(f"{path} has a single line: need at least 2 to split off a test set "
                                  "(or pass a separate test file)")
            if not 0 < test_fraction < 1:
                raise CorpusError(f"test_fraction={test_fraction} must be between 0 and 1")
            order = list(range(len(lines)))
            random.Random(seed).shuffle(order)
            n_test = min(len(lines) - 1, max(1, round(len(lines) * test_fraction)))
            test_lines = [lines[i] for i in order[:n_test]]
            train_lines = [lines[i] for i in order[n_test:]]
        if lowercase:
            train_lines = [s.lower() for s in train_lines]
            test_lines = [s.lower() for s in test_lines]

        vocab_lines = train_lines + test_lines if vocab_from == "train+test" else train_lines
        tokenizer = None
        if level == "bpe":
            tokenizer = _train_bpe(vocab_lines, min(bpe_vocab, vocab_cap))
            vocab = [tok for tok, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
            encode = lambda s: tokenizer.encode(s).ids  # noqa: E731
            info: dict[str, Any] = {}
        else:
            if level == "char":
                split = list
            else:
                split = {"whitespace": str.split, "treebank": treebank_split, "regex": WORD_RE.findall}[tokenize]
            counts = Counter(tok for s in vocab_lines for tok in split(s))
            kept = [tok for tok, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab_cap]]
            vocab = SPECIALS + kept
            index = {tok: i for i, tok in enumerate(vocab)}
            encode = lambda s: [index.get(tok, UNK) for tok in split(s)]  # noqa: E731
            info = {"oov_types": max(0, len(counts) - vocab_cap)}
        train_ids = [encode(s) for s in train_lines]
        test_ids = [encode(s) for s in test_lines]
        longest = max(len(r) for r in train_ids + test_ids)
        limit = max_len or min(longest, MAX_LEN_CAP)
        truncated = sum(len(r) > limit for r in train_ids + test_ids)
        unk = sum(t == UNK for r in train_ids + test_ids for t in r)
        spec = {"kind": "text", "path": str(path), "test_path": str(test_path) if test_path else None,
                "level": level, "lowercase": lowercase, "vocab_cap": vocab_cap, "max_len": limit,
                "test_fraction": test_fraction, "bpe_vocab": bpe_vocab, "seed": seed, "tokenize": tokenize,
                "vocab_from": vocab_from, "sha256": sha256, "test_sha256": test_sha256 if test_path else None}
        info.update({"level": level, "truncated_lines": truncated, "unk_tokens": unk, "max_len": limit,
                     "tokenize": tokenize if level == "word" else level, "vocab_from": vocab_from})
        super().__init__(name="text", vocab=vocab, train=pad_rows(train_ids, limit + 1),
                         test=pad_rows(test_ids, limit + 1), spec=spec, joiner=" " if level == "word" else "",
                         info=info, tokenizer=tokenizer)


def _train_bpe(lines: list[str], vocab_size: int):
    """A byte-level BPE (`tokenizers`) whose first ids are our specials, so PAD/BOS/EOS/UNK keep their ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=SPECIALS[UNK]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=max(vocab_size, len(SPECIALS) + 1), special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok
