"""`oracle`: the synthetic benchmark of SeqGAN (Yu et al. 2017).

A randomly initialised LSTM (every parameter drawn from N(0, 1), fixed seed) plays the real data distribution.
Generated text is scored by the oracle's own negative log-likelihood (NLL-oracle), which no text corpus can give.
SeqGAN's oracle: vocabulary 5000, embedding 32, hidden 32, length 20, 10,000 training sequences; we also sample
a 5,000-sequence test split for NLL-gen. Token 0 is the start token, as in SeqGAN; there is no padding or EOS.
The samples are cached on disk (`cached_samples`), so only the first build on a machine pays for drawing them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..limits import LIMITS
from ..nets.rnn import RNNGenerator, RNNGeneratorConfig
from .base import Corpus, CorpusError


def cache_dir() -> Path | None:
    """Where generated corpora are kept between processes: `$TEXTGAN_CACHE` (`off` disables), else
    `~/.cache/textgan`."""
    env = os.environ.get("TEXTGAN_CACHE")
    if env is not None and env.strip().lower() in ("", "0", "off", "none"):
        return None
    return Path(env).expanduser() if env else Path.home() / ".cache" / "textgan"


def cached_samples(spec: dict, draw: Callable[[], Tensor]) -> Tensor:
    """The oracle's samples for `spec`: read from the cache, or drawn (10-25 s on 2 cores at SeqGAN's size) and
    written there atomically. The key includes the torch version, whose sampling kernels define the draw; a file
    that does not read back as the expected tensor is drawn again and replaced."""
    root = cache_dir()
    key = json.dumps({**spec, "torch": torch.__version__, "format": 1}, sort_keys=True)
    path = None if root is None else root / f"oracle-{hashlib.sha256(key.encode()).hexdigest()[:20]}.safetensors"
    n, length = spec["n_train"] + spec["n_test"], spec["seq_len"]
    if path is not None and path.is_file():
        try:
            data = load_file(str(path))["samples"]
            if data.shape == (n, length) and data.dtype == torch.long:
                return data
        except Exception:  # a truncated or foreign file: draw again
            pass
    data = draw()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            save_file({"samples": data.contiguous()}, str(tmp), metadata={"key": key})
            os.replace(tmp, path)
        except OSError:  # a read-only home: the cache is an optimisation, never a requirement
            pass
    return data


class OracleCorpus(Corpus):
    # SeqGAN's oracle is 5000 x 20 with 32 units; these bounds leave room for larger studies while keeping a
    # pulled config from asking for gigabytes before anything checks it.
    SIZE_LIMITS = {"vocab_size": (2, 50_000), "seq_len": (2, 512), "emb_dim": (1, 1024), "hidden": (1, 1024),
                   "n_train": LIMITS["corpus_rows"], "n_test": LIMITS["corpus_rows"], "seed": LIMITS["seed"]}
    MAX_TOKENS = 50_000_000
    """Largest (n_train + n_test) x seq_len the oracle draws."""

    def __init__(self, vocab_size: int = 5000, seq_len: int = 20, emb_dim: int = 32, hidden: int = 32,
                 n_train: int = 10_000, n_test: int = 5_000, seed: int = 0) -> None:
        if vocab_size < 2 or seq_len < 2 or emb_dim < 1 or hidden < 1:
            raise CorpusError(f"oracle: need vocab_size>=2, seq_len>=2, emb_dim>=1, hidden>=1 "
                              f"(got {vocab_size}, {seq_len}, {emb_dim}, {hidden})")
        if n_train < 1 or n_test < 1:
            raise CorpusError(f"oracle: n_train and n_test must be >= 1 (got {n_train}, {n_test})")
        if (n_train + n_test) * seq_len > self.MAX_TOKENS:
            raise CorpusError(f"oracle: (n_train + n_test) x seq_len = {(n_train + n_test) * seq_len:,} tokens, over "
                              f"the {self.MAX_TOKENS:,}-token limit")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.oracle = RNNGenerator(RNNGeneratorConfig("lstm", emb_dim, hidden), vocab_size, seq_len, start_id=0)
            for p in self.oracle.parameters():
                torch.nn.init.normal_(p, 0.0, 1.0)
        self.oracle.requires_grad_(False).eval()
        spec = {"kind": "oracle", "vocab_size": vocab_size, "seq_len": seq_len, "emb_dim": emb_dim,
                "hidden": hidden, "n_train": n_train, "n_test": n_test, "seed": seed}

        def draw() -> Tensor:
            rng = torch.Generator().manual_seed(seed)
            # Gumbel-max draws exactly the oracle's categorical distribution, 3x faster than `multinomial` on a
            # CPU at V=5000; batched to bound memory at large vocabularies.
            return torch.cat([self.oracle.sample(min(2500, n_train + n_test - i), rng=rng)
                              for i in range(0, n_train + n_test, 2500)])

        data = cached_samples(spec, draw)
        super().__init__(name="oracle", vocab=[str(i) for i in range(vocab_size)], train=data[:n_train],
                         test=data[n_train:], spec=spec, has_specials=False, start_id=0)

    @torch.no_grad()
    def nll(self, tokens: Tensor, batch_size: int = 1000) -> float:
        """NLL-oracle: mean per-token negative log-likelihood (nats) of `tokens (N, L)` under the oracle."""
        device = tokens.device
        if next(self.oracle.parameters()).device != device:
            self.oracle.to(device)
        total = 0.0
        for chunk in tokens.split(batch_size):
            logits = self.oracle(chunk)  # (B, L, V)
            total += F.cross_entropy(logits.flatten(0, 1), chunk.flatten(), reduction="sum").item()
        return total / tokens.numel()

    def evaluate(self, samples: Tensor) -> dict[str, float]:
        return {"nll_oracle": self.nll(samples)}
