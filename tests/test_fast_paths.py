"""The fast paths of issue 16 against their slow references: same values and gradients (float64 where the
reference is exact), same samples under the same noise."""

import pytest
import torch
import torch.nn.functional as F

from textgan.nets.fused_ce import linear_cross_entropy
from textgan.nets.relational import RelationalGenerator, RelationalGeneratorConfig
from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.variants.base import mle_loss

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("ignore", [False, True])
def test_fused_linear_cross_entropy_equals_log_softmax_path(bias, ignore):
    torch.manual_seed(0)
    n, hidden, vocab = 300, 7, 50
    h = torch.randn(n, hidden, dtype=torch.float64, requires_grad=True)
    w = torch.randn(vocab, hidden, dtype=torch.float64, requires_grad=True)
    b = torch.randn(vocab, dtype=torch.float64, requires_grad=True) if bias else None
    y = torch.randint(0, vocab, (n,))
    kw = {}
    if ignore:
        y[::3] = 0
        kw = {"ignore_index": 0}
    params = [h, w] + ([b] if bias else [])
    ref = F.cross_entropy(F.linear(h, w, b), y, **kw)
    ref_grads = torch.autograd.grad(ref * 1.7, params)
    out = linear_cross_entropy(h, w, b, y, chunk=64, min_vocab=0, **kw)  # 5 chunks of 64 rows, the last short
    grads = torch.autograd.grad(out * 1.7, params)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: RNNGenerator(RNNGeneratorConfig(emb_dim=8, hidden=12), 600, 9, start_id=1),
    lambda: RelationalGenerator(RelationalGeneratorConfig(emb_dim=8, head_size=8), 600, 9, start_id=1),
], ids=["lstm", "relational"])
@pytest.mark.parametrize("pad_id", [None, 0])
def test_mle_loss_fused_equals_plain_cross_entropy(make, pad_id):
    """mle_loss (fused head + CE: V=600 is above FUSE_MIN_VOCAB) against F.cross_entropy over the generator's own
    logits: every parameter's gradient, float64."""
    torch.manual_seed(1)
    gen = make().double()
    real = torch.randint(0, 600, (6, 9))
    real[:, 6:] = 0  # padding
    loss = mle_loss(gen, real, pad_id)
    assert "LinearCrossEntropy" in type(loss.grad_fn).__name__  # the fused op ran
    grads = torch.autograd.grad(loss, list(gen.parameters()))
    ref = F.cross_entropy(gen(real).flatten(0, 1), real.flatten(), ignore_index=-100 if pad_id is None else pad_id)
    ref_grads = torch.autograd.grad(ref, list(gen.parameters()))
    torch.testing.assert_close(loss, ref, rtol=1e-12, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("vocab", [5000, 130, 64, 7])
def test_two_level_icdf_picks_the_same_tokens_as_the_full_cdf(vocab):
    """'icdf2' (block sums, then one block) and 'icdf' (the full cumulative sum) turn the same uniform into the
    same token: the two-level search is the same inverse CDF, so exact in distribution. Vocabularies that are and
    are not a multiple of the block (64), and smaller than one block."""
    from textgan.variants.rollout import draw

    torch.manual_seed(2)
    logits = torch.randn(2000, vocab, dtype=torch.float64) * 3
    full = draw(logits.clone(), torch.Generator().manual_seed(5), "icdf")
    two = draw(logits.clone(), torch.Generator().manual_seed(5), "icdf2")
    assert torch.equal(full, two)
    assert 0 <= int(two.min()) and int(two.max()) < vocab


def test_two_level_icdf_follows_the_softmax():
    """Frequencies of 200k draws from one peaked row match its softmax (a token past the first block included)."""
    from textgan.variants.rollout import draw

    logits = torch.full((1, 150), -4.0)
    logits[0, [3, 70, 149]] = torch.tensor([1.0, 2.0, 0.5])
    tokens = draw(logits.expand(200_000, -1).contiguous(), torch.Generator().manual_seed(0), "icdf2")
    freq = torch.bincount(tokens, minlength=150).double() / tokens.numel()
    assert (freq - torch.softmax(logits[0].double(), -1)).abs().max() < 4e-3


def test_bf16_rollout_scores_stay_close_to_fp32():
    """SeqGAN's score_precision='bf16' changes only the discriminator's arithmetic: the same rollouts (same
    random stream) get rewards within 5e-3 of the fp32 ones; training of the discriminator stays fp32."""
    from types import SimpleNamespace

    from textgan.nets.critics import CNNCritic, CNNCriticConfig
    from textgan.variants.seqgan import SeqGAN, SeqGANConfig

    torch.manual_seed(0)
    vocab, length = 300, 12
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=16, hidden=16), vocab, length, start_id=1)
    critic = CNNCritic(CNNCriticConfig(emb_dim=32, widths=[2, 3, 5], filters=48), vocab, length)
    corpus = SimpleNamespace(vocab_size=vocab)
    tokens = gen.sample(16)
    rewards = {}
    for precision in ("fp32", "bf16"):
        v = SeqGAN(gen, critic, corpus, SeqGANConfig(rollouts=4, score_precision=precision), torch.device("cpu"),
                   rng=torch.Generator().manual_seed(3))
        rewards[precision] = v.rewards(tokens)
    diff = (rewards["bf16"] - rewards["fp32"]).abs().max()
    assert 0 < diff < 5e-3
    with pytest.raises(ValueError, match="score_precision"):
        SeqGAN(gen, critic, corpus, SeqGANConfig(score_precision="fp8"), torch.device("cpu"))


class _StepOnly(torch.nn.Module):
    """The same generator seen through `step` only (no `step_hidden`): the rollout's plain path."""

    def __init__(self, gen):
        super().__init__()
        self.gen, self.start_id = gen, gen.start_id

    def step(self, token, state):
        return self.gen.step(token, state)

    def cat_states(self, a, b):
        return self.gen.cat_states(a, b)

    def repeat_state(self, s, r):
        return self.gen.repeat_state(s, r)


@pytest.mark.parametrize("temperature,draw_rows", [(1.0, 256), (0.7, 256), (1.0, 7)])
def test_rollouts_through_the_buffered_head_are_the_plain_rollouts(temperature, draw_rows, monkeypatch):
    """The rollout's fast path (generator's `step_hidden` + the linear head written into a reused buffer, bias as
    a column of ones, temperature folded into the weights, probabilities in place, `draw_rows` rows at a time)
    draws exactly the tokens of the plain `step` path from the same random stream (float64, so no rounding tie
    decides a token)."""
    from textgan.variants import rollout
    from textgan.variants.rollout import _HeadIntoBuffer, rollout_sequences

    monkeypatch.setattr(rollout, "DRAW_ROWS", draw_rows)  # 7: the 5 × 4 rows of a block span several chunks

    torch.manual_seed(0)
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=8, hidden=8), 600, 9, start_id=1).double()
    assert _HeadIntoBuffer.of(gen, temperature) is not None  # V=600: the fast path runs
    tokens = gen.sample(5)
    fast = rollout_sequences(gen, tokens, 4, torch.Generator().manual_seed(1), temperature=temperature)
    plain = rollout_sequences(_StepOnly(gen), tokens, 4, torch.Generator().manual_seed(1), temperature=temperature)
    assert torch.equal(fast, plain)


@pytest.mark.parametrize("by_product", [False, True])
def test_cnn_rollout_logits_share_prefix_windows_exactly(by_product):
    """The CNN critic's logits for all rollouts, with the real prefixes' windows pooled once, equal the critic on
    every rollout row (float64; widths 1, 2, 4 and the full length; by Conv1d and by one matrix product of the
    windows, bf16's way), and SeqGAN's rewards through them equal the
    rewards of the row-by-row scorer from the same random stream."""
    from types import SimpleNamespace

    from textgan.nets.critics import CNNCritic, CNNCriticConfig
    from textgan.variants.rollout import cnn_rollout_logits, critic_logits, rollout_rewards, rollout_sequences
    from textgan.variants.seqgan import SeqGAN, SeqGANConfig

    torch.manual_seed(0)
    vocab, length, batch, rollouts = 50, 9, 4, 3
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=8, hidden=8), vocab, length, start_id=1).double()
    critic = CNNCritic(CNNCriticConfig(emb_dim=6, widths=[1, 2, 4, 9], filters=5), vocab, length).double()
    tokens = gen.sample(batch)
    seqs = rollout_sequences(gen, tokens, rollouts, torch.Generator().manual_seed(0))
    with torch.no_grad():
        shared = cnn_rollout_logits(critic, seqs, tokens, by_product=by_product)
        rows = critic_logits(critic, seqs.reshape(-1, length), vocab).view(length - 1, rollouts, batch)
    torch.testing.assert_close(shared, rows, rtol=1e-12, atol=1e-12)

    v = SeqGAN(gen, critic, SimpleNamespace(vocab_size=vocab), SeqGANConfig(rollouts=rollouts), torch.device("cpu"),
               rng=torch.Generator().manual_seed(4))
    got = v.rewards(tokens)
    ref = rollout_rewards(v.rollout_net, tokens, rollouts, v.score, torch.Generator().manual_seed(4))
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_rankgan_keeps_its_own_score():
    """RankGAN (a SeqGAN subclass with its own `score`) never takes the CNN critic's fast rollout scoring."""
    from types import SimpleNamespace

    from textgan.nets.critics import CNNCritic, CNNCriticConfig
    from textgan.variants.rankgan import RankGAN

    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=8, hidden=8), 50, 9, start_id=1)
    critic = CNNCritic(CNNCriticConfig(emb_dim=6, widths=[2, 3], filters=5), 50, 9)
    v = RankGAN(gen, critic, SimpleNamespace(vocab_size=50), RankGAN.Config(), torch.device("cpu"))
    assert not v._scores_by_critic()
