"""Likelihood metrics for autoregressive generators (Yu et al. 2017, SeqGAN; Nie et al. 2019, RelGAN).

- NLL-oracle: mean per-token negative log-likelihood (nats) of *generated* samples under the oracle LSTM that
  defines the synthetic data: a quality measure (is what we generate probable under the true distribution?).
- NLL-gen (a.k.a. NLL-test): mean per-token NLL (nats) of the *test split* under the generator: a diversity /
  coverage measure (does the generator give mass to all real data?). Mode collapse shows up here, not above.

Both are thin: the models compute log-probabilities, these functions batch, average in float64 and never
track gradients. Tensors are moved to the model's device when it has parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported inside the functions: importing textgan.metrics stays cheap
    import torch


def _device_of(model: Any) -> "torch.device | None":
    params = getattr(model, "parameters", None)
    if callable(params):
        first = next(iter(params()), None)
        if first is not None:
            return first.device
    return None


def nll_oracle(oracle: Any, samples: "torch.Tensor", batch_size: int = 256) -> float:
    """NLL-oracle in nats per token: mean of `oracle.nll(batch)` over batches of generated `samples` (N, L).

    `oracle.nll(tokens (B, L))` returns the per-token mean NLL of the batch (a float, a 0-d tensor, or (B,)
    per-sample means, which are averaged). All samples have the oracle's fixed length, so weighting each batch
    by its number of rows gives the per-token mean over all samples.
    """
    if samples.ndim != 2 or len(samples) == 0:
        raise ValueError(f"samples must be a non-empty LongTensor (N, L); got shape {tuple(samples.shape)}")
    import torch

    device = _device_of(oracle)
    total = 0.0
    with torch.no_grad():
        for batch in samples.split(batch_size):
            batch = batch.to(device) if device is not None else batch
            value = torch.as_tensor(oracle.nll(batch), dtype=torch.float64)  # float, 0-d or (B,)
            total += float(value.mean()) * len(batch)
    return total / len(samples)


def nll_gen(generator: Any, test_tokens: "torch.Tensor", batch_size: int = 256, pad_id: int | None = None) -> float:
    """NLL-gen in nats per token: mean of -generator.log_prob(test) over positions of `test_tokens` (N, L).

    `generator.log_prob(tokens (B, L)) -> (B, L)` gives log p(token_t | tokens_<t). By default every position
    counts (the oracle benchmark has fixed-length sequences, and Texygen's NLL-test also scores padding);
    pass `pad_id` to leave padding positions out.
    """
    if test_tokens.ndim != 2 or len(test_tokens) == 0:
        raise ValueError(f"test_tokens must be a non-empty LongTensor (N, L); got shape {tuple(test_tokens.shape)}")
    import torch

    device = _device_of(generator)
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in test_tokens.split(batch_size):
            batch = batch.to(device) if device is not None else batch
            logp = generator.log_prob(batch)  # (B, L)
            if logp.shape != batch.shape:
                raise ValueError(f"log_prob must return (B, L) = {tuple(batch.shape)}; got {tuple(logp.shape)}")
            mask = batch != pad_id if pad_id is not None else torch.ones_like(batch, dtype=torch.bool)
            total -= float(logp.double()[mask].sum())
            count += int(mask.sum())
    if count == 0:
        raise ValueError("no non-padding positions in test_tokens; check pad_id")
    return total / count
