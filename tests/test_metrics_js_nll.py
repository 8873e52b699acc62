"""JS-n against hand-computed values and a naive implementation; NLL-oracle / NLL-gen on fake models."""

import math
import random
from collections import Counter

import pytest
import torch

from textgan.metrics import js_divergence, js_n, nll_gen, nll_oracle


def naive_js_bits(gen, ref, n):
    def dist(seqs):
        c = Counter(tuple(s[i : i + n]) for s in seqs for i in range(len(s) - n + 1))
        total = sum(c.values())
        return {g: v / total for g, v in c.items()}

    p, q = dist(gen), dist(ref)
    m = {g: (p.get(g, 0) + q.get(g, 0)) / 2 for g in set(p) | set(q)}
    kl = lambda a: sum(v * math.log2(v / m[g]) for g, v in a.items())  # noqa: E731
    return (kl(p) + kl(q)) / 2


def test_js_hand_computed():
    assert js_divergence([["a", "b"]], [["a", "c"]], 1) == pytest.approx(0.5)
    assert js_divergence([["a", "b"]], [["b", "a"]], 1) == pytest.approx(0.0)
    assert js_divergence([["a", "b"]], [["c", "d"]], 1) == pytest.approx(1.0)
    # P = (3/4, 1/4), Q = (1/4, 3/4): JS = H(M) - (H(P) + H(Q)) / 2 = 1 - H2(1/4) bits
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert js_divergence([["a", "a", "a", "b"]], [["b", "b"], ["a", "b"]], 1) == pytest.approx(1 - h)
    # bigrams never cross sentences: {ab, cd} vs {ab, bc, cd}: M = (5/12, 1/6, 5/12)
    p, q, m = [0.5, 0, 0.5], [1 / 3] * 3, [5 / 12, 1 / 6, 5 / 12]
    expected = sum(
        0.5 * (a * math.log2(a / c) if a else 0) + 0.5 * b * math.log2(b / c) for a, b, c in zip(p, q, m)
    )
    assert js_divergence([["a", "b"], ["c", "d"]], [["a", "b", "c", "d"]], 2) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_js_matches_naive(seed):
    rng = random.Random(seed)
    corpus = lambda k, v: [[rng.choice(v) for _ in range(rng.randint(0, 9))] for _ in range(k)]  # noqa: E731
    gen, ref = corpus(50, "abcd"), corpus(70, "abcde")
    res = js_n(gen, ref)
    for n in (1, 2, 3, 4):
        assert res[f"js{n}"] == pytest.approx(naive_js_bits(gen, ref, n), abs=1e-12)
    assert res["n_generated"] == 50 and res["n_reference"] == 70


def test_js_shrinks_with_samples_from_same_distribution():
    rng = random.Random(0)
    draw = lambda k: [[rng.choice("abcdefgh") for _ in range(6)] for _ in range(k)]  # noqa: E731
    small, large = js_divergence(draw(20), draw(20), 2), js_divergence(draw(2000), draw(2000), 2)
    assert large < small and large < 0.01


def test_js_undefined_without_ngrams():
    assert math.isnan(js_divergence([["a"]], [["a", "b"]], 2))


class FakeOracle:
    """nll(tokens) = mean token value per sample, so the expected result is the mean of all tokens."""

    def nll(self, tokens):
        return tokens.float().mean(1)  # (B,)


class UnigramGenerator(torch.nn.Module):
    """log p(token) from a fixed categorical, ignoring the prefix."""

    def __init__(self, probs):
        super().__init__()
        self.logp = torch.nn.Parameter(torch.tensor(probs).log(), requires_grad=False)

    def log_prob(self, tokens):
        return self.logp[tokens]  # (B, L)


def test_nll_oracle_weights_uneven_batches():
    samples = torch.arange(21 * 4).reshape(21, 4)
    assert nll_oracle(FakeOracle(), samples, batch_size=8) == pytest.approx(samples.double().mean().item())
    with pytest.raises(ValueError, match="non-empty"):
        nll_oracle(FakeOracle(), torch.zeros(0, 4, dtype=torch.long))


def test_nll_gen_mean_over_positions_and_pad():
    probs = [0.1, 0.2, 0.3, 0.4]
    gen = UnigramGenerator(probs)
    test = torch.tensor([[1, 2, 3, 0], [3, 3, 0, 0], [2, 1, 1, 1]])
    all_pos = -sum(math.log(probs[t]) for t in test.flatten().tolist()) / test.numel()
    assert nll_gen(gen, test, batch_size=2) == pytest.approx(all_pos)
    kept = [t for t in test.flatten().tolist() if t != 0]
    assert nll_gen(gen, test, batch_size=2, pad_id=0) == pytest.approx(-sum(math.log(probs[t]) for t in kept) / len(kept))
    uniform = UnigramGenerator([0.25] * 4)
    assert nll_gen(uniform, test) == pytest.approx(math.log(4))
