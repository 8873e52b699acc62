"""Each trial's samples for the report: drawn with one seed and one temperature for every trial, so the groups of a
sweep can be read side by side, each sentence with its own score.

The score is the corpus's per-sentence metric: BLEU-4 against the whole test split on text (the sentence's share
of the corpus-level BLEU-4), the sentence's NLL under the oracle on `oracle`, the mode it falls in on `modes`
(-1: in none). The trial writes them to its run directory (`SAMPLES_FILE`); `results.samples_frame` gathers them
into the experiment's samples.csv, which the report reads.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from ..metrics import ReferenceIndex

SAMPLES_FILE = "report_samples.csv"
SAMPLES_TABLE = "samples.csv"
N_SAMPLES = 6
SAMPLE_SEED = 0
SAMPLE_TEMPERATURE = 1.0
METRIC = {"text": "bleu4", "oracle": "nll_oracle", "modes": "mode"}
"""Which per-sentence score each kind of corpus reports (column `metric` of the table)."""


def corpus_kind(name: str) -> str:
    return name if name in ("oracle", "modes") else "text"


def sample_table(run: Any, n: int = N_SAMPLES, temperature: float = SAMPLE_TEMPERATURE, seed: int = SAMPLE_SEED):
    """`n` samples of `run` (drawn with `seed` at `temperature`, the same for every trial) with their scores: a
    DataFrame with columns index, temperature, text, metric, value."""
    corpus = run.corpus
    kind = corpus_kind(corpus.name)
    ids = run.sample_tokens(n, seed=seed, temperature=temperature).cpu()  # (n, L)
    if kind == "text":
        refs = ReferenceIndex([corpus.strip(r) for r in corpus.test], max_n=4) if corpus.test.shape[0] else None
        values = refs.sentence_bleu([corpus.strip(r) for r in ids], 4).tolist() if refs else [float("nan")] * n
    elif kind == "oracle":
        with torch.no_grad():
            values = [corpus.nll(row[None].to(run.device)) for row in ids]
    else:
        values = [int(m) for m in corpus.classify_ids(ids).tolist()]
    return pd.DataFrame({"index": range(n), "temperature": temperature, "text": corpus.decode_batch(ids),
                         "metric": METRIC[kind], "value": values})
