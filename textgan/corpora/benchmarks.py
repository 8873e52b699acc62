"""Benchmark corpora that ship with textgan, under the conventions of the tables they are compared with.

`coco`: the MS-COCO image captions of the Texygen benchmark (10,000 train + 10,000 test lines; CC BY 4.0, see
data/coco/README.md). The lines are raw lower-case text ("...the front wheel."): Texygen and RelGAN tokenise them
with `nltk.word_tokenize` (Treebank rules) and build the vocabulary from the training file only (weilinie/RelGAN
`run.py:88`, `utils/utils.py:72-77`; Texygen `models/mle/Mle.py:121`; TextGAN-PyTorch `main.py:119`): 4.7k types,
the size the papers quote. Those are this corpus's defaults (`tokenize="treebank"`, `vocab_from="train"`), and the
run's config and model card name them. Under it 3.4 % of the test tokens are `<unk>`, so a held-out NLL-gen on the
test split is read with `eval/unk_share`; the published NLL-gen is on the training file (`eval/nll_gen_train`).
`vocab_from="train+test"` (6.6k types, no test `<unk>`) is kept as a named option (textgan's default before issue
25). Splitting on spaces instead would keep punctuation on words ("wheel."): 8.8k types and a longest line of 35
tokens instead of the literature's 37.

EMNLP2017 News is not shipped (news text; no licence to redistribute): pass its path as a text corpus, or a Hub id.
"""

from __future__ import annotations

from pathlib import Path

from .text import TextCorpus

DATA_DIR = Path(__file__).resolve().parent / "data"
BENCHMARKS = {"coco": ("coco/train.txt", "coco/test.txt")}


def benchmark_files(name: str) -> tuple[Path, Path]:
    """(train, test) paths of a shipped benchmark, inside the installed package."""
    train, test = BENCHMARKS[name]
    return DATA_DIR / train, DATA_DIR / test


class CocoCorpus(TextCorpus):
    """COCO captions from the package; the published conventions by default (see the module docstring)."""

    def __init__(self, level: str = "word", lowercase: bool = True, vocab_cap: int = 10_000,
                 max_len: int | None = None, bpe_vocab: int = 2000, seed: int = 0, tokenize: str = "treebank",
                 vocab_from: str = "train") -> None:
        train, test = benchmark_files("coco")
        super().__init__(str(train), str(test), level=level, lowercase=lowercase, vocab_cap=vocab_cap,
                         max_len=max_len, bpe_vocab=bpe_vocab, seed=seed, tokenize=tokenize, vocab_from=vocab_from)
        # The spec names the benchmark, not a path: a run rebuilds it from whichever install loads it.
        self.spec = {"kind": "coco", "level": level, "lowercase": lowercase, "vocab_cap": vocab_cap,
                     "max_len": self.info["max_len"], "bpe_vocab": bpe_vocab, "seed": seed, "tokenize": tokenize,
                     "vocab_from": vocab_from}
        self.info["benchmark"] = "coco"
