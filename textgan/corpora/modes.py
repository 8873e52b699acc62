"""`modes`: a synthetic corpus with K known modes, the students' default.

Each mode is a small template grammar ("the ADJ SUBJ VERB the OBJ", ...) over English words. Every pattern
holds exactly one subject slot, subjects are owned by exactly one mode, and word classes never share a word, so
two sentences of different modes always differ at some position: any token sequence belongs to one mode or to
none. That makes mode collapse measurable exactly — the point of the corpus.
Modes share adjectives, verbs, objects and places, so their vocabularies overlap, and their patterns have
different lengths. `patterns="alike"` gives every mode the one pattern `ALIKE_PATTERN` instead, so modes differ only
in their words and weights: with 'varied' patterns a GAN loses the long-sentence modes first whatever their
weight, which hides the effect of rarity (the rare-modes lesson; bench/RESULTS.md).
"""

from __future__ import annotations

import random
from typing import Sequence

import torch
from torch import Tensor

from ..limits import LIMITS
from ..metrics.modes import mode_stats
from .base import SPECIALS, Corpus, CorpusError, pad_rows

SUBJECTS = (
    "fox cat dog owl bear wolf horse mouse rabbit tiger lion goat sheep duck goose crow eagle hawk frog toad "
    "snake lizard otter beaver badger deer moose camel llama zebra giraffe monkey panda koala whale shark seal "
    "crab squirrel hedgehog bat parrot swan heron pigeon robin sparrow falcon raven turtle dolphin penguin "
    "farmer sailor baker doctor painter pilot teacher singer dancer poet miner tailor hunter knight queen king "
    "child student nurse judge clerk driver chef monk wizard giant robot pirate"
).split()
ADJECTIVES = "red small old quiet happy brave lazy clever tiny green young proud gentle hungry sleepy wild".split()
VERBS_T = "chases finds carries watches paints follows drops lifts kicks cleans hides sells".split()
VERBS_I = "sleeps waits sings runs dances laughs rests smiles wanders swims".split()
OBJECTS = "ball box kite hat book lamp cup drum coin boat shoe key map rope bell".split()
PLACES = "garden forest river market kitchen village harbor meadow tower desert".split()
ADVERBS = "slowly quickly softly loudly often today again".split()

CLASSES = {"S": SUBJECTS, "A": ADJECTIVES, "T": VERBS_T, "I": VERBS_I, "O": OBJECTS, "P": PLACES, "D": ADVERBS}

# Upper-case letters are word classes, lower-case words are literal. Lengths 4..10.
PATTERNS = [
    "the A S T the O",
    "a S I D",
    "the S T a A O in the P",
    "every A S I near the P",
    "the S T the O D",
    "in the P the S I",
    "the A S T the A O near the P",
    "a S T the O",
]
ALIKE_PATTERN = "the A S T the O"
"""Every mode's one pattern under `patterns="alike"`."""
PATTERN_CHOICES = ("varied", "alike")
K_RANGE = (int(LIMITS["modes"].lo), int(LIMITS["modes"].hi))


class ModesCorpus(Corpus):
    """Corpus with `k` exactly-classifiable modes; see the module docstring."""

    SIZE_LIMITS = {"n_train": LIMITS["corpus_rows"], "n_test": LIMITS["corpus_rows"], "seed": LIMITS["seed"]}

    def __init__(self, k: int = 8, weights: str | Sequence[float] = "uniform", n_train: int = 5000,
                 n_test: int = 1000, seed: int = 0, patterns: str = "varied") -> None:
        if not K_RANGE[0] <= k <= K_RANGE[1]:
            raise CorpusError(f"modes: k={k} is out of range; choose {K_RANGE[0]}..{K_RANGE[1]} modes")
        if patterns not in PATTERN_CHOICES:
            raise CorpusError(f"modes: patterns={patterns!r}; use one of {PATTERN_CHOICES}")
        if n_train < 1 or n_test < 1:
            raise CorpusError(f"modes: n_train and n_test must be >= 1 (got {n_train}, {n_test})")
        self.k = k
        self.weights = _mode_weights(k, weights)
        rng = random.Random(seed)
        self.grammars = _make_grammars(k, rng, alike=patterns == "alike")
        words = sorted({w for g in self.grammars for slots in g for slot in slots for w in slot})
        vocab = SPECIALS + words
        index = {w: i for i, w in enumerate(vocab)}
        # Every valid sentence, as a tuple of ids, mapped to its mode: classification is one dict lookup.
        self._mode_of: dict[tuple[int, ...], int] = {}
        for mode, grammar in enumerate(self.grammars):
            for slots in grammar:
                for sent in _expand(slots):
                    self._mode_of[tuple(index[w] for w in sent)] = mode
        self._index = index
        seq_len = max(len(p.split()) for p in PATTERNS) + 1
        train = pad_rows(self._sample(n_train, rng), seq_len)
        test = pad_rows(self._sample(n_test, rng), seq_len)
        spec = {"kind": "modes", "k": k, "weights": weights if isinstance(weights, str) else list(weights),
                "n_train": n_train, "n_test": n_test, "seed": seed,
                **({"patterns": patterns} if patterns != "varied" else {})}  # older runs' specs stay valid
        super().__init__(name="modes", vocab=vocab, train=train, test=test, spec=spec,
                         info={"k": k, "mode_weights": self.weights,
                               "sentences_per_mode": self.sentences_per_mode()})

    def sentences_per_mode(self) -> list[int]:
        counts = [0] * self.k
        for mode in self._mode_of.values():
            counts[mode] += 1
        return counts

    def grammar_lines(self, mode: int, max_words: int = 3) -> list[str]:
        """The patterns of one mode as readable lines, each slot as its words ("the {red|old} {fox|owl} ...");
        a slot with more than `max_words` words shows the first ones and a count."""
        lines = []
        for slots in self.grammars[mode]:
            parts = []
            for slot in slots:
                if len(slot) == 1:
                    parts.append(slot[0])
                else:
                    shown = "|".join(slot[:max_words]) + (f"|…{len(slot) - max_words} more" if len(slot) > max_words else "")
                    parts.append("{" + shown + "}")
            lines.append(" ".join(parts))
        return lines

    def _sample(self, n: int, rng: random.Random) -> list[list[int]]:
        modes = rng.choices(range(self.k), weights=self.weights, k=n)
        rows = []
        for mode in modes:
            slots = rng.choice(self.grammars[mode])
            rows.append([self._index[rng.choice(slot)] for slot in slots])
        return rows

    def classify_ids(self, ids: Tensor) -> Tensor:
        """Mode id of each `[B, L]` row, or -1 when the sentence is valid in no mode."""
        return torch.tensor([self._mode_of.get(tuple(self.strip(row)), -1) for row in ids], dtype=torch.long)

    @property
    def n_labels(self) -> int:
        """The labels are the mode ids 0..k-1."""
        return self.k

    def label_ids(self, tokens: Tensor) -> Tensor:
        """Mode id of each `[B, L]` row (-1 = valid in no mode), on the rows' device."""
        return self.classify_ids(tokens.cpu()).to(tokens.device)

    def classify(self, sentences: Sequence[str | Sequence[str]]) -> list[int]:
        """Mode id of each sentence (a string or a list of words), or -1 when it is valid in no mode."""
        out = []
        for s in sentences:
            words = s.split() if isinstance(s, str) else list(s)
            key = tuple(self._index.get(w, -1) for w in words)
            out.append(self._mode_of.get(key, -1))
        return out

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        stats = mode_stats(self.classify_ids(samples).tolist(), self.k, self.weights)
        out = {f"modes/{key}": stats[key]
               for key in ("effective", "divergence", "precision", "coverage", "hit", "entropy")}
        n = max(1, samples.shape[0])
        out.update({f"modes/share/{i}": c / n for i, c in enumerate(stats["histogram"])})  # of all samples
        return out


def _mode_weights(k: int, weights: str | Sequence[float]) -> list[float]:
    if weights == "uniform":
        w = [1.0] * k
    elif weights == "skewed":  # Zipf-like: mode i has weight 1/(i+1), so the rare modes are easy to lose
        w = [1.0 / (i + 1) for i in range(k)]
    elif isinstance(weights, str):
        raise CorpusError(f"modes: weights={weights!r}; use 'uniform', 'skewed' or a list of {k} numbers")
    else:
        w = [float(x) for x in weights]
        if len(w) != k or any(x < 0 for x in w) or sum(w) <= 0:
            raise CorpusError(f"modes: weights must be {k} non-negative numbers with a positive sum, got {w}")
    total = sum(w)
    return [x / total for x in w]


def _make_grammars(k: int, rng: random.Random, alike: bool = False) -> list[list[list[list[str]]]]:
    """Per mode: 1-2 patterns (`alike`: `ALIKE_PATTERN` alone), each a list of slots (a slot = the words allowed at
    that position)."""
    per_mode = max(1, min(3, len(SUBJECTS) // k))
    subjects = SUBJECTS[:]
    rng.shuffle(subjects)
    grammars = []
    for mode in range(k):
        own = {"S": subjects[mode * per_mode:(mode + 1) * per_mode]}
        for cls, words in CLASSES.items():
            if cls != "S":
                own[cls] = rng.sample(words, 2)  # shared classes: each mode takes an overlapping subset
        patterns = [ALIKE_PATTERN] if alike else rng.sample(PATTERNS, rng.choice([1, 2]))
        grammars.append([[own[w] if w in own else [w] for w in p.split()] for p in patterns])
    return grammars


def _expand(slots: list[list[str]]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for slot in slots:
        out = [prefix + [w] for prefix in out for w in slot]
    return out
