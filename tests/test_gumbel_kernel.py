"""The one-pass Gumbel kernel (`nets/gumbel.c`): its generator is Philox4x32-10 (known answers), its noise is
standard Gumbel, its tokens and relaxed vectors are the torch formulas applied to its noise, it gives the same
values on any number of threads, and `relax` / RelGAN's generator step use it with the torch path's gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from textgan.nets import gumbel
from textgan.nets.relax import relax

pytestmark = pytest.mark.skipif(gumbel._load() is None, reason="no C compiler: the kernel cannot be built")


def test_philox_matches_the_published_known_answers():
    """Random123's known-answer vectors for philox4x32_10: an independent check of the generator."""
    assert gumbel.philox((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert gumbel.philox((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
    assert gumbel.philox((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0)) == \
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)


@pytest.mark.parametrize("v", [512, 601, 5000])
@pytest.mark.parametrize("tau", [1.0, 0.3, 0.01])
def test_tokens_and_soft_are_the_torch_formulas_on_the_kernels_noise(v, tau):
    logits = torch.randn(37, v, generator=torch.Generator().manual_seed(v)) * 4
    tokens, soft, g = gumbel.sample(logits, tau, torch.Generator().manual_seed(1), soft=True, noise=True)
    perturbed = logits + g
    assert torch.equal(tokens, perturbed.argmax(-1))
    # (x - max) / tau and x / tau - max / tau round apart by ~|x| / tau ulps: the tolerance grows as 1 / tau
    torch.testing.assert_close(soft, F.softmax(perturbed / tau, -1), rtol=1e-5 / tau, atol=1e-6)
    assert torch.isfinite(g).all()


def test_the_noise_is_standard_gumbel():
    """Mean Euler's gamma, variance pi^2/6, and the CDF exp(-exp(-x)) within a Kolmogorov-Smirnov bound."""
    _, _, g = gumbel.sample(torch.zeros(200, 5000), 1.0, torch.Generator().manual_seed(3), soft=False, noise=True)
    g = g.double().flatten()
    assert abs(g.mean().item() - 0.5772156649) < 0.005
    assert abs(g.var().item() - math.pi ** 2 / 6) < 0.01
    x, _ = g[::10].sort()
    empirical = torch.arange(1, len(x) + 1, dtype=torch.float64) / len(x)
    assert (empirical - torch.exp(-torch.exp(-x))).abs().max().item() < 1.63 / math.sqrt(len(x)) * 1.5


def test_tokens_follow_the_softmax():
    """200,000 Gumbel-max draws from one row: every word's frequency within 5 standard errors of its probability."""
    logits = torch.linspace(-3, 3, 512)
    tokens, _, _ = gumbel.sample(logits.expand(200_000, -1), 1.0, torch.Generator().manual_seed(4), soft=False)
    freq = torch.bincount(tokens, minlength=512).double() / 200_000
    p = F.softmax(logits.double(), -1)
    se = (p * (1 - p) / 200_000).sqrt()
    assert ((freq - p).abs() <= 5 * se + 1e-6).all()


def test_same_seed_same_values_on_one_or_two_threads_and_any_split():
    logits = torch.randn(301, 700)
    old = torch.get_num_threads()
    try:
        out = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out.append(gumbel.sample(logits, 0.5, torch.Generator().manual_seed(9), noise=True))
        rows = gumbel.sample(logits[100:], 0.5, torch.Generator().manual_seed(9), noise=True)
    finally:
        torch.set_num_threads(old)
    for a, b in zip(out[0], out[1]):
        assert torch.equal(a, b)
    other = gumbel.sample(logits, 0.5, torch.Generator().manual_seed(10), noise=True)
    assert not torch.equal(other[2], out[0][2])
    assert rows[2].shape == (201, 700)  # a different batch is a different draw, but a well-formed one


@pytest.mark.parametrize("relaxation", ["gumbel", "st", "softmax"])
def test_relax_through_the_kernel_has_the_torch_paths_values_and_gradients(relaxation):
    """For the kernel's noise (same seed), relax's tokens, vectors and logit gradients equal the torch path's
    given that noise."""
    logits = (torch.randn(3, 5, 800) * 2).requires_grad_()
    tokens, soft = relax(logits, relaxation, 0.4, torch.Generator().manual_seed(2))
    _, _, g = gumbel.sample(logits, 0.4, torch.Generator().manual_seed(2), soft=False, noise=True)
    ref_tokens, ref_soft = relax(logits, relaxation, 0.4, None, noise=g)
    assert torch.equal(tokens, ref_tokens)
    torch.testing.assert_close(soft, ref_soft, rtol=1e-5, atol=1e-6)
    u = torch.randn(soft.shape)
    got, = torch.autograd.grad((soft * u).sum(), logits)
    want, = torch.autograd.grad((ref_soft * u).sum(), logits)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_relgans_generator_step_draws_the_step_paths_tokens_through_the_kernel():
    """At V >= MIN_VOCAB the batched generator step and the step path both draw from the kernel with the same
    seeds: the same tokens, and relaxed vectors equal up to float32 rounding."""
    from textgan.nets import build_generator
    from textgan.nets.autoregressive import AutoregressiveGenerator

    torch.manual_seed(5)
    gen = build_generator({"kind": "relational", "emb_dim": 8, "heads": 2, "head_size": 8}, 600, 5, 1)
    batched = gen.relaxed(6, "gumbel", 0.5, torch.Generator().manual_seed(7))
    steps = AutoregressiveGenerator.relaxed(gen, 6, "gumbel", 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(batched[0], steps[0])
    torch.testing.assert_close(batched[1], steps[1], rtol=1e-4, atol=1e-6)


def test_without_the_kernel_relax_runs_the_torch_path(monkeypatch):
    monkeypatch.setitem(gumbel._state, "lib", None)
    logits = torch.randn(4, 600)
    assert not gumbel.use_kernel(logits)
    tokens, soft = relax(logits, "gumbel", 1.0, torch.Generator().manual_seed(0))
    g = -torch.log(-torch.log(torch.rand(4, 600, generator=torch.Generator().manual_seed(0)) + 1e-10) + 1e-10)
    assert torch.equal(tokens, (logits + g).argmax(-1))


def test_small_vocabularies_and_other_dtypes_keep_the_torch_path():
    assert not gumbel.use_kernel(torch.zeros(2, gumbel.MIN_VOCAB - 1))
    assert not gumbel.use_kernel(torch.zeros(2, 600, dtype=torch.float64))
    assert gumbel.use_kernel(torch.zeros(2, 600))


def test_an_empty_batch_gives_empty_outputs():
    tokens, soft, g = gumbel.sample(torch.zeros(0, 600), 1.0, None, noise=True)
    assert tokens.shape == (0,) and soft.shape == (0, 600) and g.shape == (0, 600)


def test_loading_the_kernel_leaves_denormal_numbers_alone():
    """The kernel is compiled with -ffast-math; linked that way, GCC's startup code would switch on flush-to-zero
    for the whole process as the library loads, and every later float op in torch would change."""
    import threading

    assert gumbel._load() is not None
    assert (torch.tensor([1e-39]) * 0.5).item() != 0.0
    seen = []
    worker = threading.Thread(target=lambda: seen.append((torch.tensor([1e-39]) * 0.5).item()))
    worker.start()
    worker.join()
    assert seen[0] != 0.0
