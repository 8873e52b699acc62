"""Steps per second of every registered variant at its default sizes, on the CPU (and on CUDA when present).
Pre-training, discriminator warm-up and WGAN's critic bursts are skipped: a row times the variant's own steady
adversarial iteration.

Each row also gives the ratio to MLE measured in the same run, so numbers from different machines compare.
Usage: python bench/engine.py [--steps 30] [--corpus modes|oracle] [--preset paper|demo]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import torch

from textgan.presets import preset_config
from textgan.run import Run
from textgan.variants import VARIANTS


def steps_per_second(run: Run, steps: int, device: torch.device) -> float:
    run.train_step()  # warm-up (allocations, cuDNN autotuning)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        run.train_step()
    sync()
    return steps / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--corpus", default="modes", choices=["modes", "oracle"])
    p.add_argument("--preset", default="paper", choices=["paper", "demo"])
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = {"kind": "modes", "k": 8} if args.corpus == "modes" else {"kind": "oracle"}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads ({cpu}); corpus {args.corpus}, "
          f"preset {args.preset}, batch 64, {args.steps} timed steps")
    print("| device | variant | generator | critic | steps/s | x MLE |")
    print("|---|---|---|---|---|---|")
    for dev in devices:
        rates = {}
        cases = [(name, {}) for name in VARIANTS]
        # The Gulrajani et al. nets: conv residual generator (plain softmax) and conv residual critic.
        cases.append(("wgan-gp", {"generator": {"kind": "conv"}, "critic": {"kind": "conv"},
                                  "variant_config": {"relaxation": "softmax"}}))
        for name, nets in cases:
            run = Run(preset_config(args.preset, name, corpus=corpus, device=dev, seed=0, **nets))
            # Time the algorithm's own iteration, not its MLE pre-training or discriminator warm-up.
            fields = {f.name for f in dataclasses.fields(run.variant.cfg)}
            run.variant.update(**{f: 0 for f in ("pretrain_steps", "critic_warmup", "critic_burst") if f in fields})
            rate = steps_per_second(run, args.steps, run.device)
            rates.setdefault(name, rate)
            critic = run.critic.cfg.kind if run.critic is not None else "-"
            print(f"| {dev} | {name} | {run.gen.cfg.kind} | {critic} | {rate:.1f} | {rate / rates['mle']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
