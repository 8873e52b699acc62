"""How reliably, and how fast, each one-click scenario shows its outcome: every scenario at its own step count over
several seeds, one torch thread (the app's default), on the CPU. Prints one markdown row per scenario for
bench/RESULTS.md, plus the machine's load.

    python bench/scenarios.py [--seeds 0 1 2 3 4] [--only collapse gp-fix] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--only", nargs="+", default=None, help="scenario keys (default: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    import torch

    from textgan.lab.scenarios import SCENARIOS, run_scenario

    torch.set_num_threads(args.threads)
    keys = args.only or list(SCENARIOS)
    print(f"load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, {args.threads} thread(s), {args.device}")
    print("| scenario | variant | steps | seconds (mean) | shown | per seed |")
    print("|---|---|---|---|---|---|")
    for key in keys:
        s = SCENARIOS[key]
        shown, secs, notes = 0, [], []
        for seed in args.seeds:
            t0 = time.perf_counter()
            _, outcome = run_scenario(key, seed=seed, device=args.device, sample_every=0, eval_every=20)
            secs.append(time.perf_counter() - t0)
            shown += outcome.ok
            notes.append(f"s{seed}: {'✓' if outcome.ok else '✗'} {outcome.summary.split(': ', 1)[1]}")
            print(f"  {key} seed {seed}: {secs[-1]:.1f} s {outcome.summary}", file=sys.stderr, flush=True)
        print(f"| {key} | {s.variant} | {s.steps} | {sum(secs) / len(secs):.1f} | {shown}/{len(args.seeds)} | "
              + "<br>".join(notes) + " |", flush=True)


if __name__ == "__main__":
    main()
