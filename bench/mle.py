"""One MLE epoch on the oracle configuration: the fused, chunked output layer + cross-entropy against the plain
`F.cross_entropy(gen(tokens))` loop, timed in the same process, interleaved.

Oracle configuration (Yu et al. 2017): vocabulary 5,000, length 20, 10,000 training rows = 156 batches of 64,
LSTM generator emb/hidden 32, Adam 1e-2, gradient clipping 5 (what the `mle` variant and every pre-training do).
The token rows are uniform random ids: the cost does not depend on them.

    python bench/mle.py [--device cpu|cuda] [--threads 2] [--repeats 3] [--chunk 256]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from textgan.nets.rnn import RNNGenerator, RNNGeneratorConfig
from textgan.variants.base import grad_norm, mle_loss

V, L, B, N = 5000, 20, 64, 10_000


def plain_loss(gen, real):
    return F.cross_entropy(gen(real).flatten(0, 1), real.flatten())


def epoch(gen, opt, data, loss_fn):
    for real in data:
        loss = loss_fn(gen, real)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm(gen.parameters())
        torch.nn.utils.clip_grad_norm_(list(gen.parameters()), 5.0)
        opt.step()
    return loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batches", type=int, default=N // B, help="time this many batches, scaled to a full epoch")
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's table for one fused epoch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    gen = RNNGenerator(RNNGeneratorConfig(emb_dim=32, hidden=a.hidden), V, L, start_id=0).to(dev)
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    data = torch.randint(1, V, (a.batches * B, L), device=dev).split(B)
    scale = (N // B) / a.batches

    cpu_runs = {"plain": [], "fused": []}

    def timed(fn, name):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t, c = time.perf_counter(), time.process_time()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        cpu_runs[name].append(time.process_time() - c)
        return time.perf_counter() - t

    runs = {"plain": [], "fused": []}
    fns = {"plain": lambda: epoch(gen, opt, data, plain_loss), "fused": lambda: epoch(gen, opt, data, mle_loss)}
    for f in fns.values():
        epoch(gen, opt, data[:5], mle_loss)  # warm-up
    for _ in range(a.repeats):
        for name, f in fns.items():
            runs[name].append(timed(f, name))
    if a.profile:
        from torch.profiler import profile
        with profile() as p:
            fns["fused"]()
        print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    runs = {k: [x * scale for x in v] for k, v in runs.items()}
    med = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
    print(f"device={dev} threads={a.threads} V={V} L={L} B={B} batches timed={len(data)}, scaled to an epoch of "
          f"{N // B}; hidden={a.hidden}")
    cpu = {k: sorted(x * scale for x in v)[len(v) // 2] for k, v in cpu_runs.items()}
    for k, v in med.items():
        print(f"{k:6s} epoch: median {v:.3f} s wall, {cpu[k]:.3f} s CPU of this process  "
              f"(all wall: {', '.join(f'{x:.3f}' for x in runs[k])})")
    print(f"ratio plain/fused: {med['plain'] / med['fused']:.2f}x wall, {cpu['plain'] / cpu['fused']:.2f}x CPU")


if __name__ == "__main__":
    main()
