"""How reliably, and how fast, each one-click scenario shows its outcome: every scenario as the app and the CLI
run it (to its step count, or to its moment where the lesson stops there) over several seeds, one torch thread
(the app's default), on the CPU. Prints one markdown row per scenario for bench/RESULTS.md (shown = the lesson's own
check on 1000 fresh samples at the end, which for collapse includes ending collapsed: >= 50 % valid, <= 2.5
effective modes), plus the machine's CPU and load.

    python bench/scenarios.py [--seeds 0 1 2 3 4] [--seed-range 0 20] [--only collapse gp-fix] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics import cpu_model  # noqa: E402  (bench/metrics.py: the CPU model RESULTS.md records)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--seed-range", type=int, nargs=2, default=None, metavar=("FIRST", "END"),
                   help="seeds FIRST..END-1 (instead of --seeds)")
    p.add_argument("--only", nargs="+", default=None, help="scenario keys (default: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    import torch

    from textgan.lab.scenarios import SCENARIOS, run_scenario

    torch.set_num_threads(args.threads)
    keys = args.only or list(SCENARIOS)
    seeds = list(range(*args.seed_range)) if args.seed_range else args.seeds
    print(f"{cpu_model()}, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{args.device}, seeds {seeds[0]}-{seeds[-1]}")
    print("| scenario | variant | steps (max) | seconds (mean) | shown | ended at step (median) | per seed |")
    print("|---|---|---|---|---|---|---|")
    for key in keys:
        s = SCENARIOS[key]
        shown, secs, notes = 0, [], []
        ends = []
        for seed in seeds:
            t0 = time.perf_counter()
            run, outcome = run_scenario(key, seed=seed, device=args.device, sample_every=0, eval_every=20)
            secs.append(time.perf_counter() - t0)
            shown += outcome.ok
            ends.append(run.step)
            m = outcome.metrics
            notes.append(f"s{seed}: {'✓' if outcome.ok else '✗'} @{run.step} {m['modes/effective']:.1f} eff, "
                         f"{m['modes/precision']:.0%} valid")
            print(f"  {key} seed {seed}: {secs[-1]:.1f} s {outcome.summary}\n    {outcome.story()}", file=sys.stderr,
                  flush=True)
        print(f"| {key} | {s.variant} | {s.steps} | {sum(secs) / len(secs):.1f} | {shown}/{len(seeds)} | "
              f"{sorted(ends)[len(ends) // 2]} | " + "; ".join(notes) + " |", flush=True)


if __name__ == "__main__":
    main()
