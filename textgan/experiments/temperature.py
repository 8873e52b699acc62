"""Quality-diversity sweeps over softmax temperature (Caccia et al. 2020, "Language GANs Falling Short").

A single (quality, diversity) point says little: lowering the sampling temperature of any autoregressive model
trades diversity for quality, and MLE with a tuned temperature beats most text GANs on both at once. So a model
is judged by its whole curve across temperatures, and a GAN must lie above MLE's curve.

Per corpus, the pair plotted is:
- text corpora: BLEU-n against the test split (quality) vs Self-BLEU-n among samples (lower = more diverse);
- `oracle`: NLL-oracle of samples (quality, lower is better) vs NLL-gen of the test split (coverage, lower is
  better) under the tempered generator;
- `modes`: precision (valid samples) vs coverage (modes hit).
Every row also carries distinct-n, unique-sentence ratio and average length.

The run is duck-typed (see `temperature_sweep`): a path is loaded with the engine, anything with `.corpus`, `.gen`
and `.device` is swept as it is. It lives with the experiments, not in `textgan.metrics`, because it drives a
model: metrics stay pure functions of token sequences and never import the engine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from ..metrics.bleu import ReferenceIndex
from ..metrics.modes import mode_stats
from ..metrics.ngram import avg_length, distinct_n, unique_ratio
from ..metrics.nll import nll_gen, nll_oracle
from ..metrics.self_bleu import self_bleu
from ..run import Run

DEFAULT_TEMPERATURES = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)

# Which columns are the (quality, diversity) pair per corpus, and whether larger is better for each.
AXES = {
    "text": (("bleu4", True), ("self_bleu4", False)),
    "oracle": (("nll_oracle", False), ("nll_gen", False)),
    "modes": (("precision", True), ("coverage", True)),
}


class _Tempered:
    """A generator whose `log_prob` is that of its softmax at `temperature` (for NLL-gen of the tempered model).

    Uses `gen.log_prob(tokens, temperature=t)` when the generator accepts it, else the logits `gen(tokens)`
    (B, L, V), which autoregressive nets in `textgan.nets` return.
    """

    def __init__(self, gen: Any, temperature: float):
        self.gen, self.t = gen, temperature

    def parameters(self):
        params = getattr(self.gen, "parameters", None)
        return params() if callable(params) else iter(())

    def log_prob(self, tokens):
        if self.t == 1.0:
            return self.gen.log_prob(tokens)
        if self.t <= 0:
            raise ValueError("NLL-gen is infinite for greedy decoding (temperature 0); use temperatures > 0")
        try:
            return self.gen.log_prob(tokens, temperature=self.t)
        except TypeError:
            logits = self.gen(tokens)  # (B, L, V)
            logp = torch.log_softmax(logits / self.t, -1)
            return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, L)


def _load(run_or_checkpoint: Any) -> Any:
    if isinstance(run_or_checkpoint, (str, os.PathLike)):
        return Run.load(run_or_checkpoint)
    return run_or_checkpoint


def _sample(gen: Any, n: int, temperature: float, seed: int, device: Any, batch_size: int):
    rng = torch.Generator(device=str(device) if device is not None else "cpu")
    rng.manual_seed(seed)  # same seed at every temperature: common random numbers, smoother curves
    chunks, left = [], n
    while left > 0:
        b = min(batch_size, left)
        chunks.append(gen.sample(b, temperature=temperature, rng=rng).cpu())
        left -= b
    return torch.cat(chunks)  # (n, L)


def temperature_sweep(
    run_or_checkpoint: Any,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    n_samples: int = 1000,
    seed: int = 0,
    orders: Sequence[int] = (2, 3, 4, 5),
    batch_size: int = 256,
    max_test: int | None = None,
):
    """Quality and diversity of a run's generator at each softmax temperature, one DataFrame row per temperature.

    `run_or_checkpoint`: a run directory (loaded with `textgan.run.Run.load`) or a run-like object with
    `.corpus` (`.name`, `.test` (N, L), `.tokens(ids) -> list[str]`; `modes`: `.classify_ids`, `.k`; `oracle`:
    `.nll(tokens)`), `.gen` (`.sample(n, temperature=, rng=) -> (n, L)`, optionally `.log_prob`) and `.device`.
    Columns: temperature, n_samples, distinct1..4, unique_ratio, avg_length, nll_gen (autoregressive generators
    with `log_prob`, temperature > 0; padding excluded on corpora with specials), and per corpus
    bleu{n}/self_bleu{n}, nll_oracle, or precision/coverage/entropy.
    `df.attrs["quality"]` / `["diversity"]` name the pair to plot, with `"higher_is_better"` for each.
    `max_test` caps the test rows NLL-gen is computed on (as `Run.evaluate` does with 1000), BLEU keeps all.
    """
    run = _load(run_or_checkpoint)
    corpus, gen, device = run.corpus, run.gen, getattr(run, "device", None)
    kind = corpus.name if corpus.name in ("oracle", "modes") else "text"
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (Self-BLEU compares samples with each other); got {n_samples}")
    pad_id = 0 if getattr(corpus, "has_specials", False) else None  # PAD = 0 in textgan corpora
    test = corpus.test
    refs = ReferenceIndex([corpus.tokens(row) for row in test], max_n=max(orders)) if kind == "text" else None

    # NLL-gen only for autoregressive generators (textgan nets say so with `.autoregressive`)
    scores_likelihood = hasattr(gen, "log_prob") and getattr(gen, "autoregressive", True)
    was_training = getattr(gen, "training", None)
    if was_training:
        gen.eval()
    rows = []
    try:
        for t in temperatures:
            samples = _sample(gen, n_samples, float(t), seed, device, batch_size)  # (n, L)
            toks = [corpus.tokens(row) for row in samples]
            row: dict[str, Any] = {"temperature": float(t), "n_samples": n_samples}
            row.update({f"distinct{n}": distinct_n(toks, n) for n in (1, 2, 3, 4)})
            row["unique_ratio"], row["avg_length"] = unique_ratio(toks), avg_length(toks)
            if scores_likelihood and t > 0:
                scored = test[:max_test] if max_test else test
                row["nll_gen"] = nll_gen(_Tempered(gen, float(t)), scored.to(device) if device else scored,
                                         batch_size, pad_id=pad_id)
            if kind == "text":
                row.update({f"bleu{n}": v for n, v in refs.bleu(toks, orders).items()})
                row.update({f"self_bleu{n}": v for n, v in self_bleu(toks, orders).items()})
            elif kind == "oracle":
                row["nll_oracle"] = nll_oracle(corpus, samples.to(device) if device else samples, batch_size)
            else:
                stats = mode_stats(corpus.classify_ids(samples).tolist(), corpus.k)
                row.update({key: stats[key] for key in ("precision", "coverage", "entropy")})
            rows.append(row)
    finally:
        if was_training:
            gen.train()
    df = pd.DataFrame(rows)
    (q, q_up), (d, d_up) = AXES[kind]
    if kind == "text" and 4 not in orders:
        q, d = f"bleu{max(orders)}", f"self_bleu{max(orders)}"
    df.attrs.update(corpus=kind, quality=q, diversity=d, higher_is_better={q: q_up, d: d_up})
    return df
