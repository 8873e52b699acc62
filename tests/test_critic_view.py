"""What the critic thinks, checked against a critic whose answer is known by hand: a linear score
S(x) = sum_t W[t, x_t], for which gradient x input centred per position is exactly W[t, w] - mean_v W[t, v]."""

import pytest
import torch

from textgan import plots
from textgan.lab import critic as C
from textgan.run import Run, RunConfig

pytestmark = pytest.mark.usefixtures("one_thread")


class LinearCritic(torch.nn.Module):
    def __init__(self, length, vocab):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(length, vocab, generator=torch.Generator().manual_seed(0)))

    def forward(self, x):  # (B, L, V) -> (B,)
        return (x * self.w).sum((1, 2))


@pytest.fixture(scope="module")
def run():
    r = Run(RunConfig(corpus={"kind": "modes", "k": 4, "n_train": 200, "n_test": 50}, variant="gan",
                      generator={"kind": "lstm", "emb_dim": 8, "hidden": 16},
                      critic={"kind": "cnn", "emb_dim": 8, "filters": 4}, batch_size=16, device="cpu"))
    r.critic = LinearCritic(r.corpus.seq_len, r.corpus.vocab_size)
    return r


def test_scores_are_the_critics_output(run):
    ids = run.corpus.test[:5]
    w = run.critic.w.detach()
    expect = [float(sum(w[t, int(i)] for t, i in enumerate(row))) for row in ids]
    assert C.critic_scores(run, ids) == pytest.approx(expect, rel=1e-5)
    assert C.critic_scores(run, ids[:0]) == []


def test_word_attribution_matches_the_hand_computed_value(run):
    ids = run.corpus.test[:3]
    w = run.critic.w.detach()
    got = C.token_attribution(run, ids)
    for row, words in zip(ids, got):
        tokens = run.corpus.tokens(row)
        assert [word for word, _ in words] == tokens  # the sentence proper, no EOS/PAD
        for t, (_, a) in enumerate(words):
            assert a == pytest.approx(float(w[t, int(row[t])] - w[t].mean()), abs=1e-5)


def test_histogram_data_and_figure(run):
    h = C.score_histogram(run, n=40, seed=1)
    assert len(h["real"]) == 40 and len(h["fake"]) == 40 and h["step"] == run.step
    assert C.score_histogram(run, n=40, seed=1)["fake"] == h["fake"]  # the sampling seed decides
    fig = plots.score_histogram(h)
    assert [t.name for t in fig.data] == ["real", "generated"] and len(fig.data[0].x) == 40
    assert len(plots.score_histogram(None).data) == 0


def test_a_run_without_critic_says_so():
    r = Run(RunConfig(corpus={"kind": "modes", "k": 4, "n_train": 100, "n_test": 20}, variant="mle",
                      generator={"kind": "lstm", "emb_dim": 8, "hidden": 16}, batch_size=16, device="cpu"))
    with pytest.raises(C.NoCritic, match="without a critic"):
        C.critic_scores(r, r.corpus.test[:2])
    rows = C.scored_samples(r, n=2)
    assert len(rows["real"]) == 2 and rows["real"][0]["score"] is None and rows["real"][0]["mode"] >= 0
