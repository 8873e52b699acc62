"""A GPT-2 generator built with `transformers` from a config (never downloaded), usable by every variant.

Teacher forcing is one causal pass; sampling and relaxation step token by token with the KV cache (a
`transformers` `DynamicCache`), so a length-L sample costs L single-token passes instead of L growing ones.
The word embeddings and the output head are untied: a textgan generator.safetensors cannot hold shared tensors.

`export_files()` lets `Run.save` write the same weights as a plain Hugging Face model into `run_dir/hf/`
(config.json + model.safetensors), loadable with `transformers.AutoModelForCausalLM.from_pretrained(run_dir /
"hf")` without textgan. Dropout is 0 by default so CPU runs resume bit-exactly.
Dimension letters: B batch, L length, V vocabulary.
"""

from __future__ import annotations

import inspect

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .autoregressive import AutoregressiveGenerator


@dataclass
class TransformerGeneratorConfig:
    kind: str = "gpt2"
    emb_dim: int = 64
    """Model width (GPT-2's n_embd)."""
    layers: int = 2
    """Transformer blocks (n_layer)."""
    heads: int = 2
    """Attention heads (n_head); must divide emb_dim."""
    dropout: float = 0.0
    """Residual, embedding and attention dropout (off by default: exact resume)."""


class TransformerGenerator(AutoregressiveGenerator):
    def __init__(self, cfg: TransformerGeneratorConfig, vocab_size: int, seq_len: int, start_id: int) -> None:
        super().__init__()
        try:  # heavy import, only when this net is built; the Space's lean install leaves transformers out
            from transformers import GPT2Config, GPT2LMHeadModel
        except ImportError as e:
            raise ValueError('the gpt2 generator needs the transformers package, which this install lacks: '
                             'pip install "textgan[transformers]", or choose another generator') from e

        if cfg.emb_dim % cfg.heads:
            raise ValueError(f"gpt2 generator: heads={cfg.heads} must divide emb_dim={cfg.emb_dim}")
        self.cfg, self.vocab_size, self.seq_len, self.start_id = cfg, vocab_size, seq_len, start_id
        hf = GPT2Config(vocab_size=vocab_size, n_positions=seq_len, n_embd=cfg.emb_dim, n_layer=cfg.layers,
                        n_head=cfg.heads, resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout,
                        attn_pdrop=cfg.dropout, tie_word_embeddings=False, bos_token_id=start_id,
                        eos_token_id=start_id, pad_token_id=0)
        self.model = GPT2LMHeadModel(hf)
        # transformers renamed `past_key_values` to `cache` (argument and output; the old name warns and goes away
        # in 5.40): use the name this version has, so 4.46 and 5.x both run without the deprecation.
        names = inspect.signature(GPT2LMHeadModel.forward).parameters
        self._cache_arg = "cache" if "cache" in names else "past_key_values"



    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits `(B, L, V)` in one causal pass."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], 1)  # (B, L)
        return self.model(input_ids=inputs, use_cache=False).logits  # (B, L, V)

    def step(self, token: Tensor, state) -> tuple[Tensor, object]:
        """`token (B,)` -> logits `(B, V)` and the grown KV cache (positions follow the cache length). The given
        state is not modified (transformers grows a cache in place), so rollouts can keep every prefix's state."""
        if state is not None:  # a fresh cache over the same tensors: the caller's state stays as it was
            state = self._cache([(layer.keys, layer.values) for layer in state.layers])
        out = self.model(input_ids=token.unsqueeze(1), use_cache=True, **{self._cache_arg: state})
        return out.logits[:, -1], getattr(out, self._cache_arg)


    # KV caches hold keys and values `(B, heads, t, d)` per layer: rows on dim 0.
    @staticmethod
    def _cache(kv: list[tuple[Tensor, Tensor]]):
        from transformers import DynamicCache

        return DynamicCache(ddp_cache_data=kv)

    def cat_states(self, a, b):
        if a is None:
            return b
        return self._cache([(torch.cat([la.keys, lb.keys]), torch.cat([la.values, lb.values]))
                            for la, lb in zip(a.layers, b.layers)])

    def repeat_state(self, s, r: int):
        return self._cache([(layer.keys.repeat(r, 1, 1, 1), layer.values.repeat(r, 1, 1, 1)) for layer in s.layers])

    def export_files(self) -> dict[str, Callable[[Path], None]]:
        """Run-directory entries: `hf/` holds the weights as a plain `transformers` model."""
        return {"hf": lambda p: self.model.save_pretrained(str(p))}
