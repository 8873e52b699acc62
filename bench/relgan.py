"""RelGAN speed on the oracle configuration: vocab 5,000, length 20, batch 64, relational memory 1 slot x 2 heads x
256, the paper's multi-representation critic (64 reps, 4 widths x 300 filters). Times one 64 x 20 Gumbel sample,
one generator step, one critic step and one adversarial iteration (1 generator + 5 critic steps).

    python bench/relgan.py [--device cpu|cuda] [--threads 2] [--iters 3] [--bf16] [--critic-bf16] [--compile]

--bf16 wraps the steps in torch.autocast(bfloat16); --critic-bf16 runs only the critic under it (RelGAN's
`critic_bf16` setting); --compile applies torch.compile to the critic's `scores` (the generator's loop is Python).
Reference (TextGAN-PyTorch, measured for the issue): 0.54 s / iteration on an H100,
~36 s on 2 CPU cores, 28 ms per Gumbel sample on the H100.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from types import SimpleNamespace

import torch

from textgan.nets import build_critic, build_generator
from textgan.variants.relgan import RelGAN, RelGANConfig


def timed(fn, iters: int, device: torch.device) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / iters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--critic-bf16", action="store_true")
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    V, L, B = 5000, 20, 64
    torch.manual_seed(0)
    gen = build_generator({"kind": "relational"}, V, L, 1).to(dev)
    critic = build_critic({"kind": "multirep"}, V, L).to(dev)
    if a.compile:  # RelGAN calls critic.scores (per-representation logits), so that is what gets compiled
        critic.scores = torch.compile(critic.scores)
    corpus = SimpleNamespace(vocab_size=V)
    rng = torch.Generator(dev).manual_seed(0)
    v = RelGAN(gen, critic, corpus, RelGANConfig(critic_bf16=a.critic_bf16), dev, rng=rng)
    real = torch.randint(4, V, (5 * B, L), device=dev)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext()

    def sample():
        with torch.no_grad(), amp:
            gen.relaxed(B, "gumbel", 1.0, rng)

    def g_step():
        with amp:
            v.gen_step(B, real[:B])

    def d_step():
        with amp:
            v.critic_step(real[:B])

    def iteration():
        with amp:
            v.step(real)

    res = {"sample_ms": 1e3 * timed(sample, a.iters, dev), "gen_step_s": timed(g_step, a.iters, dev),
           "critic_step_s": timed(d_step, a.iters, dev), "iteration_s": timed(iteration, a.iters, dev)}
    chosen = (("bf16", a.bf16), ("critic-bf16", a.critic_bf16), ("compile", a.compile))
    flags = "+".join(f for f, on in chosen if on) or "fp32 eager"
    print(f"device={a.device} threads={a.threads} {flags}: " + ", ".join(f"{k}={x:.3g}" for k, x in res.items()))


if __name__ == "__main__":
    main()
