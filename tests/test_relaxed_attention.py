"""Self-attention generator (seed 004): stepping equals teacher forcing, attention reaches back, variants train it."""

import pytest
import torch

from textgan.events import Failed
from textgan.nets import build_generator
from textgan.run import Run, RunConfig

V, L = 11, 6
TINY = {"kind": "attention", "emb_dim": 8, "hidden": 16, "heads": 2}


def test_stepping_equals_teacher_forcing():
    torch.manual_seed(0)
    g = build_generator(TINY, V, L, start_id=1)
    tokens = torch.randint(0, V, (3, L))
    logits = g(tokens)
    tok, state, steps = torch.full((3,), 1), None, []
    for t in range(L):
        lt, state = g.step(tok, state)
        steps.append(lt)
        tok = tokens[:, t]
    assert logits.shape == (3, L, V)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5)
    # causal: changing the last token changes no logits (they predict it, they do not read it)
    t2 = tokens.clone()
    t2[:, -1] = (t2[:, -1] + 1) % V
    assert torch.equal(g(t2), logits)
    toks, soft = g.relaxed(4, "gumbel", 0.5, torch.Generator().manual_seed(0))
    assert toks.shape == (4, L) and soft.shape == (4, L, V) and soft.requires_grad


@pytest.mark.parametrize("variant", ["mle", "gan", "relgan"])
def test_variants_train_it(variant):
    cfg = RunConfig(corpus={"kind": "modes", "k": 4}, variant=variant, generator=TINY,
                    critic={"kind": "cnn", "emb_dim": 8, "filters": 8}, batch_size=8, seed=0, device="cpu",
                    sample_every=0, eval_every=0, variant_config={"critic_steps": 1} if variant != "mle" else {})
    run = Run(cfg)
    events = list(run.steps(3))
    assert not [e for e in events if isinstance(e, Failed)]
