"""Temperature sweeps on small fake runs (the engine's Run is duck-typed, so these do not depend on it)."""

import math
import types

import pytest
import torch

from textgan.experiments import temperature
from textgan.experiments.temperature import temperature_sweep as sweep

V, L = 6, 5


class UnigramGen(torch.nn.Module):
    """Every position i.i.d. from softmax(logits / T); forward returns logits (B, L, V) like textgan nets."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float), requires_grad=False)

    def forward(self, tokens):
        return self.logits.expand(*tokens.shape, -1)  # (B, L, V)

    def log_prob(self, tokens):
        return torch.log_softmax(self.logits, -1)[tokens]  # (B, L)

    def sample(self, n, temperature=1.0, rng=None):
        if temperature == 0:
            return self.logits.argmax().repeat(n, L)
        probs = torch.softmax(self.logits / temperature, -1)
        return torch.multinomial(probs, n * L, replacement=True, generator=rng).view(n, L)


class TextCorpus:
    name, has_specials = "text", True

    def __init__(self, test):
        self.test = test

    def tokens(self, ids):
        return [f"w{t}" for t in ids.tolist() if t != 0]  # 0 = PAD


class OracleCorpus:
    name, has_specials = "oracle", False

    def __init__(self, true_logits, test):
        self.logp, self.test = torch.log_softmax(torch.tensor(true_logits), -1), test

    def tokens(self, ids):
        return ids.tolist()

    def nll(self, tokens):
        return float(-self.logp[tokens].mean())


class ModesCorpus:
    """Mode m is the sentence whose first token is m + 1 (m < k); a first token 0 is invalid."""

    name, has_specials, k = "modes", True, 4

    def __init__(self, test):
        self.test = test

    def tokens(self, ids):
        return ids.tolist()

    def classify_ids(self, ids):
        first = ids[:, 0]
        return torch.where((first >= 1) & (first <= self.k), first - 1, torch.full_like(first, -1))


LOGITS = [0.5, 2.0, 1.0, 0.0, -0.5, 1.5]


def run_of(corpus, logits=LOGITS):
    return types.SimpleNamespace(corpus=corpus, gen=UnigramGen(logits), device="cpu")


def test_text_sweep_bleu_vs_self_bleu():
    g = torch.Generator().manual_seed(1)
    test = torch.multinomial(torch.softmax(torch.tensor(LOGITS), -1), 300 * L, True, generator=g).view(300, L)
    df = sweep(run_of(TextCorpus(test)), temperatures=[0, 0.5, 1.0, 3.0], n_samples=200)
    assert list(df.temperature) == [0, 0.5, 1.0, 3.0]
    for col in ["bleu2", "bleu5", "self_bleu2", "self_bleu5", "distinct2", "unique_ratio", "avg_length", "nll_gen"]:
        assert col in df.columns
    assert df.attrs["quality"] == "bleu4" and df.attrs["diversity"] == "self_bleu4"
    greedy = df.iloc[0]
    assert greedy.self_bleu4 == pytest.approx(1.0) and greedy.unique_ratio == pytest.approx(1 / 200)
    assert math.isnan(greedy.nll_gen)  # not computed for greedy decoding
    sb = df.self_bleu4.tolist()
    assert sb[0] > sb[1] > sb[2] > sb[3]  # hotter -> more diverse
    assert df.distinct2.is_monotonic_increasing
    assert df.nll_gen.iloc[2] < df.nll_gen.iloc[1] and df.nll_gen.iloc[2] < df.nll_gen.iloc[3]


def test_oracle_sweep_nll_oracle_vs_nll_gen_exact():
    g = torch.Generator().manual_seed(2)
    test = torch.multinomial(torch.softmax(torch.tensor(LOGITS), -1), 100 * L, True, generator=g).view(100, L)
    corpus = OracleCorpus(LOGITS, test)
    df = sweep(run_of(corpus), temperatures=[0.5, 1.0, 2.0], n_samples=300, batch_size=64)
    assert df.attrs["quality"] == "nll_oracle" and df.attrs["diversity"] == "nll_gen"
    assert df.nll_oracle.is_monotonic_increasing  # colder samples are more probable under the oracle
    # NLL-gen of the tempered model on the test split, by hand
    for t, got in zip(df.temperature, df.nll_gen):
        logp = torch.log_softmax(torch.tensor(LOGITS) / t, -1)
        assert got == pytest.approx(float(-logp[test].double().mean()), rel=1e-6)
    assert df.nll_gen.iloc[1] < df.nll_gen.iloc[0] and df.nll_gen.iloc[1] < df.nll_gen.iloc[2]
    capped = sweep(run_of(corpus), temperatures=[2.0], n_samples=10, max_test=7)  # NLL-gen on the first 7 rows
    logp = torch.log_softmax(torch.tensor(LOGITS) / 2.0, -1)
    assert capped.nll_gen.iloc[0] == pytest.approx(float(-logp[test[:7]].double().mean()), rel=1e-6)


def test_modes_sweep_precision_vs_coverage():
    logits = [1.0, 3.0, 0.0, 0.0, 0.0, 0.0]  # token 1 (mode 0) dominates; token 0 and 5 are invalid first tokens
    corpus = ModesCorpus(torch.ones(10, L, dtype=torch.long))
    df = sweep(run_of(corpus, logits), temperatures=[0, 0.3, 5.0], n_samples=400)
    assert df.attrs["quality"] == "precision" and df.attrs["diversity"] == "coverage"
    assert df.coverage.iloc[0] == pytest.approx(1 / 4) and df.precision.iloc[0] == pytest.approx(1.0)
    assert df.entropy.iloc[0] == 0.0
    assert df.coverage.iloc[2] == pytest.approx(1.0) and df.precision.iloc[2] < 0.9


def test_sweep_is_reproducible_and_restores_train_mode():
    run = run_of(OracleCorpus(LOGITS, torch.zeros(4, L, dtype=torch.long)))
    run.gen.train()
    a = sweep(run, temperatures=[1.0], n_samples=50, seed=3)
    b = sweep(run, temperatures=[1.0], n_samples=50, seed=3)
    assert a.equals(b) and run.gen.training


def test_sweep_accepts_a_run_directory(monkeypatch, tmp_path):
    loaded = []

    class Run:
        @staticmethod
        def load(path):
            loaded.append(path)
            return run_of(OracleCorpus(LOGITS, torch.zeros(4, L, dtype=torch.long)))

    monkeypatch.setattr(temperature, "Run", Run)  # the engine's Run.load, as the sweep calls it on a path
    df = sweep(tmp_path, temperatures=[1.0], n_samples=10)
    assert loaded == [tmp_path] and len(df) == 1


def test_sweep_on_a_real_engine_run(tmp_path):
    """Integration with textgan.run (skipped until the engine is importable)."""
    run_mod = pytest.importorskip("textgan.run", reason="engine (textgan.run) not available")
    from textgan.metrics import nll_gen
    from textgan.experiments.temperature import _Tempered

    corpus = {"kind": "oracle", "vocab_size": 50, "seq_len": 8, "n_train": 64, "n_test": 32}
    run = run_mod.Run(run_mod.RunConfig(corpus=corpus, variant="mle", device="cpu"))
    test = run.corpus.test
    # the logits fallback used for tempered NLL-gen agrees with the generator's own log_prob at T -> 1
    torch.testing.assert_close(_Tempered(run.gen, 1.0 + 1e-7).log_prob(test), run.gen.log_prob(test), atol=1e-5,
                               rtol=0)
    df = sweep(run, temperatures=[0.5, 1.0], n_samples=40)
    assert df.nll_gen.iloc[1] == pytest.approx(nll_gen(run.gen, test), rel=1e-6)
    assert df.attrs["quality"] == "nll_oracle" and (df.nll_oracle > 0).all()
    list(run.steps(1))  # a run with one logged step (an empty history.csv does not load yet)
    df = sweep(run, temperatures=[0.5, 1.0], n_samples=40)
    path = run.save(tmp_path / "run")
    again = sweep(path, temperatures=[0.5, 1.0], n_samples=40)
    assert again.nll_gen.tolist() == pytest.approx(df.nll_gen.tolist(), rel=1e-6)
