"""RankGAN: rank scores against a slow per-candidate, per-reference loop; the ranker learns; rewards align."""

import math

import pytest
import torch

from textgan.run import Run
from textgan.variants.rankgan import rank_scores

from test_variants import small_config

pytestmark = pytest.mark.usefixtures("one_thread")


def cos(a, b):
    return float(a @ b) / (float(a.norm()) * float(b.norm()))


def test_rank_scores_equal_slow_reference():
    torch.manual_seed(0)
    cand, refs, comp = torch.randn(3, 5), torch.randn(4, 5), torch.randn(2, 5)
    gamma = 2.5
    got = rank_scores(cand, refs, comp, gamma)
    for i in range(3):
        total = 0.0
        for u in refs:
            num = math.exp(gamma * cos(cand[i], u))
            den = num + sum(math.exp(gamma * cos(c, u)) for c in comp)
            total += num / den
        assert got[i].item() == pytest.approx(total / 4, rel=1e-5)


def test_a_candidate_identical_to_the_references_ranks_first():
    refs = torch.tensor([[1.0, 0.0, 0.0]])
    comp = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    s = rank_scores(torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), refs, comp, 3.0)
    assert s[0] > s[1]
    assert s[0].item() == pytest.approx(math.exp(3) / (math.exp(3) + 2))


def test_ranker_learns_to_rank_real_above_fake():
    run = Run(small_config("rankgan", variant_config={"critic_warmup": 40, "lr_critic": 1e-3}))
    list(run.steps(40))
    h = run.history
    gap = [e["critic/rank_real"] - e["critic/rank_fake"] for e in h]
    assert sum(gap[-5:]) / 5 > sum(gap[:5]) / 5 + 0.05
