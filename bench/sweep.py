"""Sweep benchmarks (bench/RESULTS.md, "Sweeps"):

    python bench/sweep.py overhead [--trials 8] [--steps 60]   # Ray Tune vs the in-process backend, same trials
    python bench/sweep.py two-nodes                           # a 2-node Ray cluster on loopback runs one sweep

`overhead` times the same tiny trials (MLE on `modes`) one after another in this process, then through a fresh
local Ray (2 CPUs, one trial per CPU): Ray's fixed start-up cost (ray.init), its per-trial cost (a worker process
that imports torch and textgan) and the speed-up from running two trials at once.

`two-nodes` starts a head node and a second node on this machine (`textgan.experiments.local_cluster`, the same
cluster the cluster test starts: `ray start --head --block` and `ray start --address ... --block`, each with its own
temp dir, 1 CPU each, token authentication on), runs a 4-trial sweep with `python -m textgan sweep --address`, and
prints which node ran each trial. The `ray start` processes it launched are stopped by their process id (never
`ray stop`, which would end every Ray on the machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tiny_spec(trials: int, steps: int) -> dict:
    return {"name": "bench", "corpus": {"kind": "modes", "k": 4}, "variants": {"mle": {"generator.hidden": 16}},
            "seeds": trials, "budget": {"steps": steps},
            "run": {"batch_size": 16, "eval_every": steps // 2, "eval_samples": 50, "sample_every": 0},
            "temperatures": [1.0], "temperature_samples": 50}


def overhead(args) -> None:
    import torch

    from textgan.experiments import SweepSpec, run_in_process

    torch.set_num_threads(1)
    spec = SweepSpec.from_dict(tiny_spec(args.trials, args.steps))
    work = Path(tempfile.mkdtemp(prefix="textgan-bench-sweep-"))
    try:
        t0 = time.perf_counter()
        run_in_process(spec, work / "local")
        local = time.perf_counter() - t0

        import ray

        from textgan.experiments.ray_tune import run_on_ray

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        outcomes = run_on_ray(spec, work / "ray", quiet=True)
        on_ray = time.perf_counter() - t1
        ray.shutdown()
        assert all(o.status == "done" for o in outcomes), [o.message for o in outcomes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.trials} trials x {args.steps} steps (MLE, modes k=4, LSTM 16)")
    print(f"in process, one after another : {local:7.1f} s  ({local / args.trials:.2f} s/trial)")
    print(f"Ray start-up (ray.init)       : {startup:7.1f} s")
    print(f"Ray Tune, 2 CPUs              : {on_ray:7.1f} s  ({on_ray / args.trials:.2f} s/trial)")
    print(f"speed-up without / with start-up: {local / on_ray:.2f}x / {local / (on_ray + startup):.2f}x")


def two_nodes(args) -> None:
    """A 4-trial sweep on a local 2-node cluster (textgan.experiments.local_cluster, the cluster test's too), its
    driver started as the README tells a second machine: `python -m textgan sweep --address` with the token."""
    import pandas as pd

    from textgan.experiments.local_cluster import local_cluster

    exp = Path(tempfile.mkdtemp(prefix="textgan-two-nodes-")) / "exp"
    try:
        with local_cluster(nodes=2, cpus_per_node=1, timeout=args.wait, pythonpath=str(ROOT)) as cluster:
            print(f"cluster at {cluster.address}: 2 nodes, 1 CPU each", flush=True)
            driver_env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "textgan", "sweep", "--address", cluster.address, "--variants",
                            "mle", "--seeds", "4", "--steps", str(args.steps), "--set", f"eval_every={args.steps // 2}",
                            "--set", "eval_samples=50", "--set", "batch_size=16", "--set", "sample_every=0",
                            "--set", "generator.hidden=16", "--corpus", "modes", "--temperatures", "",
                            "--no-images", "--out", str(exp)], env=driver_env, check=True, cwd=exp.parent)
            wall = time.perf_counter() - t0
        results = pd.read_csv(exp / "results.csv")
        per_node = results.drop_duplicates("trial").groupby("node").trial.apply(list)
        print(f"4 trials in {wall:.1f} s (the driver's Python start included); trials per node:")
        for node, trials in per_node.items():
            print(f"  node {node}: {', '.join(trials)}")
        if len(per_node) < 2:
            raise SystemExit("only one node ran trials")
    finally:
        shutil.rmtree(exp.parent, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--trials", type=int, default=8)
    o.add_argument("--steps", type=int, default=60)
    o.set_defaults(func=overhead)
    t = sub.add_parser("two-nodes")
    t.add_argument("--steps", type=int, default=60)
    t.add_argument("--wait", type=float, default=120, help="seconds the nodes may take to start (loaded machines: more)")
    t.set_defaults(func=two_nodes)
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    args.func(args)


if __name__ == "__main__":
    main()
