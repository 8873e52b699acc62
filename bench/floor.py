"""The arithmetic floor of issue 16's targets on this machine: what the unavoidable matrix products and
exponentials cost at the rates this CPU actually reaches, with everything else free.

Each product is timed at its real shape, fp32 and bf16, on `--threads` torch threads (best of `--repeats`), next
to one large square product (the machine's practical peak). A target below its floor cannot be met here by any
implementation of the same arithmetic.

- MLE epoch (oracle: V 5,000, 156 batches of 1,280 positions, hidden 32): per batch the logits, the gradient of
  the states and the gradient of the weight (inner or outer dimension 33 with the bias column) and one exp per
  logit. Target 0.66 s.
- RelGAN iteration (1 G + 5 D): the critic's shared highway (8,192 rows x 1,200 -> 1,200; forward + both
  gradients in each critic step; forward on real and fake + the input gradient on fake in the generator step) and
  the generator's 5,000-word head (the 320-row draw, the 64-row generator step with its backward). Target 2.1 s.

    python bench/floor.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch


def best_seconds(fn, repeats: int) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return min(runs)


def product_seconds(m: int, k: int, n: int, dtype: torch.dtype, repeats: int, transpose_a: bool = False) -> float:
    """Best time of one (m, k) @ (k, n) into a reused output; `transpose_a`: A is a transposed view."""
    a = torch.randn(k, m).to(dtype).t() if transpose_a else torch.randn(m, k).to(dtype)
    b = torch.randn(k, n).to(dtype)
    out = torch.empty(m, n, dtype=dtype)
    return best_seconds(lambda: torch.mm(a, b, out=out), repeats)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = a.repeats
    print(f"threads={a.threads} torch {torch.__version__}")
    peak = {}
    for dtype in (torch.float32, torch.bfloat16):
        s = product_seconds(2048, 2048, 2048, dtype, r)
        peak[dtype] = 2 * 2048 ** 3 / s
        print(f"peak {str(dtype)[6:]:8s}: 2048^3 product {peak[dtype] / 1e9:6.0f} GFLOP/s")

    # MLE epoch: 5 chunks of 256 rows per batch, 156 batches
    batches, chunks = 156, 5
    print("\nMLE epoch (target 0.66 s)")
    floor = {}
    for dtype in (torch.float32, torch.bfloat16):
        logits = product_seconds(256, 33, 5000, dtype, r)
        grad_h = product_seconds(256, 5000, 33, dtype, r)
        grad_w = product_seconds(5000, 256, 33, dtype, r, transpose_a=True)
        per_epoch = (logits + grad_h + grad_w) * chunks * batches
        flops = 3 * 2 * 1280 * 33 * 5000 * batches
        floor[dtype] = per_epoch
        print(f"  {str(dtype)[6:]:8s} three products: {per_epoch:5.2f} s an epoch ({flops / per_epoch / 1e9:.0f} GFLOP/s; "
              f"logits {logits * 1e3:.2f} ms, grad_h {grad_h * 1e3:.2f} ms, grad_w {grad_w * 1e3:.2f} ms per chunk)")
    x = torch.randn(256, 5000)
    exp = best_seconds(lambda: x.exp_().neg_(), r) * chunks * batches  # neg_ keeps the values bounded
    neg = best_seconds(lambda: x.neg_(), r) * chunks * batches
    exp -= neg
    print(f"  exp of 10^9 logits: {exp:.2f} s an epoch")
    for dtype, products in floor.items():
        at_peak = 3 * 2 * 1280 * 33 * 5000 * batches / peak[dtype]
        print(f"  floor {str(dtype)[6:]:8s} products + exp: {products + exp:.2f} s (products at the 2048^3 rate: "
              f"{at_peak + exp:.2f} s)")

    print("\nRelGAN iteration (target 2.1 s)")
    hw = {}
    for dtype in (torch.float32, torch.bfloat16):
        fwd = product_seconds(8192, 1200, 1200, dtype, r)
        grad_w = product_seconds(1200, 8192, 1200, dtype, r, transpose_a=True)
        # 5 critic steps: forward, input gradient, weight gradient; generator step: forward on 8,192 rows and the
        # input gradient on the 4,096 fake rows (half a product)
        hw[dtype] = 5 * (2 * fwd + grad_w) + 1.5 * fwd
        print(f"  highway {str(dtype)[6:]:8s}: {hw[dtype]:5.2f} s an iteration (one (8192 x 1200) @ (1200 x 1200): "
              f"{fwd * 1e3:.0f} ms, {2 * 8192 * 1200 * 1200 / fwd / 1e9:.0f} GFLOP/s)")
    head = {}
    for dtype in (torch.float32, torch.bfloat16):
        draw = product_seconds(320, 512, 5000, dtype, r) * 20
        gen = product_seconds(64, 512, 5000, dtype, r) * 20 + \
            product_seconds(1280, 5000, 512, dtype, r) + product_seconds(5000, 1280, 512, dtype, r, transpose_a=True)
        head[dtype] = draw + gen
        print(f"  generator head {str(dtype)[6:]:8s}: {head[dtype]:5.2f} s an iteration")
    f32, b16 = torch.float32, torch.bfloat16
    print(f"  floor, all fp32:                         {hw[f32] + head[f32]:.2f} s")
    print(f"  floor, bf16 critic (critic_bf16):        {hw[b16] + head[f32]:.2f} s")
    print(f"  floor, bf16 critic and bf16 head:        {hw[b16] + head[b16]:.2f} s")
    print("  (the memory core, the window search, the Gumbel noise and the optimizers come on top)")


if __name__ == "__main__":
    main()
