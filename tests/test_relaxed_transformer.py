"""GPT-2 generator: KV-cache stepping equals the full causal pass, every generator-taking variant trains it, its
run directory loads as a plain `transformers` model with the same logits, and it resumes exactly."""

import pytest
import torch
import torch.nn.functional as F

from textgan.events import Failed
from textgan.nets import build_generator
from textgan.nets.relax import sample_logits
from textgan.run import Run, RunConfig

from test_variants import assert_same_weights

V, L = 11, 6
TINY = {"kind": "gpt2", "emb_dim": 16, "layers": 2, "heads": 2}
CNN = {"kind": "cnn", "emb_dim": 8, "filters": 8}


def config(variant, **kw):
    base = dict(corpus={"kind": "modes", "k": 4}, variant=variant, generator=TINY, critic=CNN, batch_size=8,
                seed=4, device="cpu", sample_every=0, eval_every=0)
    base.update(kw)
    return RunConfig(**base)


def test_kv_cache_sampling_equals_recomputing_the_prefix():
    torch.manual_seed(0)
    g = build_generator(TINY, V, L, start_id=1)
    tokens = g.sample(4, rng=torch.Generator().manual_seed(3))  # (B, L), KV cache
    # slow reference: the whole prefix through the model at each step, same Gumbel noise
    rng = torch.Generator().manual_seed(3)
    seq = torch.full((4, 1), 1)
    with torch.no_grad():
        for _ in range(L):
            logits = g.model(input_ids=seq, use_cache=False).logits[:, -1]
            seq = torch.cat([seq, sample_logits(logits, 1.0, "gumbel", rng).unsqueeze(1)], 1)
    assert torch.equal(tokens, seq[:, 1:])
    # teacher forcing = stepping
    logits = g(tokens)
    tok, state, steps = torch.full((4,), 1), None, []
    for t in range(L):
        lt, state = g.step(tok, state)
        steps.append(lt)
        tok = tokens[:, t]
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5)
    toks, soft = g.relaxed(3, "st", 0.5, torch.Generator().manual_seed(0))
    assert soft.shape == (3, L, V) and torch.equal(soft, F.one_hot(toks, V).float()) and soft.requires_grad


@pytest.mark.parametrize("variant, vc", [("mle", {}), ("gan", {"relaxation": "st"}),
                                         ("wgan-gp", {"critic_steps": 2}),
                                         ("relgan", {"critic_steps": 1, "adv_iters": 3})])
def test_variants_train_the_transformer(variant, vc):
    run = Run(config(variant, variant_config=vc))
    before = [p.detach().clone() for p in run.gen.parameters()]
    events = list(run.steps(3))
    assert not [e for e in events if isinstance(e, Failed)]
    assert any(not torch.equal(a, b) for a, b in zip(before, run.gen.parameters()))


def test_run_dir_loads_with_transformers_and_resumes(tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = config("gan", variant_config={"relaxation": "gumbel"})
    straight = Run(cfg)
    list(straight.steps(4))
    first = Run(cfg)
    list(first.steps(2))
    path = first.save(tmp_path / "run")
    hf = AutoModelForCausalLM.from_pretrained(path / "hf")
    tokens = first.sample_tokens(5, seed=1)
    inputs = torch.cat([torch.full((5, 1), first.corpus.start_id), tokens[:, :-1]], 1)
    with torch.no_grad():
        assert torch.allclose(hf(input_ids=inputs).logits, first.gen(tokens), atol=1e-6)
    resumed = Run.load(path, device="cpu")
    list(resumed.steps(2))
    assert_same_weights(straight, resumed, ("gen",))
