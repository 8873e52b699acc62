"""Sweep benchmarks (bench/RESULTS.md, "Sweeps"):

    python bench/sweep.py overhead [--trials 8] [--steps 60]   # Ray Tune vs the in-process backend, same trials
    python bench/sweep.py two-nodes                           # a 2-node Ray cluster on loopback runs one sweep

`overhead` times the same tiny trials (MLE on `modes`) one after another in this process, then through a fresh
local Ray (2 CPUs, one trial per CPU): Ray's fixed start-up cost (ray.init), its per-trial cost (a worker process
that imports torch and textgan) and the speed-up from running two trials at once.

`two-nodes` starts a head node and a second node on 127.0.0.1 (`ray start --head --block` and
`ray start --address ... --block`, each with its own temp dir, 1 CPU each), runs a 4-trial sweep with
`--address`, and prints which node ran each trial. The two `ray start` processes it launched are stopped by their
process id (never `ray stop`, which would end every Ray on the machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_ip() -> str:
    """The address Ray binds a node to on this machine (it prefers a routable one to 127.0.0.1)."""
    from ray._private.services import get_node_ip_address

    return get_node_ip_address()


def two_nodes(args) -> None:
    import pandas as pd

    ray_bin = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    # Ray's defaults: token authentication, on for `ray start --head` once a token exists (made here if none);
    # the second node is given RAY_AUTH_MODE=token, the driver joins through textgan's `join` (token when present).
    subprocess.run([str(Path(sys.executable).with_name("ray")), "get-auth-token", "--generate"], check=True,
                   capture_output=True)
    os.environ.pop("RAY_AUTH_MODE", None)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    address = f"{_node_ip()}:{port}"
    temp = [Path(tempfile.mkdtemp(prefix=f"rn{i}-", dir="/tmp")) for i in (0, 1)]  # short: socket path limit
    common = ["--num-cpus=1", "--include-dashboard=false", "--block"]
    procs = []
    try:
        procs.append(subprocess.Popen([ray_bin, "start", "--head", f"--port={port}", f"--temp-dir={temp[0]}",
                                       *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(args.wait)
        worker_common = [c for c in common if c != "--include-dashboard=false"]
        procs.append(subprocess.Popen([ray_bin, "start", f"--address={address}", f"--temp-dir={temp[1]}",
                                       *worker_common], env={**os.environ, "RAY_AUTH_MODE": "token"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(args.wait)
        import ray

        from textgan.experiments.ray_tune import join

        join(ray, address)
        nodes = [n for n in ray.nodes() if n["Alive"]]
        print(f"cluster at {address}: {len(nodes)} nodes, {ray.cluster_resources().get('CPU', 0):g} CPUs")
        exp = Path(tempfile.mkdtemp(prefix="textgan-two-nodes-"))
        from textgan.experiments import SweepSpec
        from textgan.experiments.ray_tune import run_on_ray

        t0 = time.perf_counter()
        run_on_ray(SweepSpec.from_dict(tiny_spec(4, args.steps)), exp, address=address)
        wall = time.perf_counter() - t0
        results = pd.read_csv(exp / "results.csv")
        per_node = results.drop_duplicates("trial").groupby("node").trial.apply(list)
        print(f"4 trials in {wall:.1f} s; trials per node:")
        for node, trials in per_node.items():
            print(f"  node {node}: {', '.join(trials)}")
        ray.shutdown()
        shutil.rmtree(exp, ignore_errors=True)
        if len(per_node) < 2:
            raise SystemExit("only one node ran trials")
    finally:
        for p in reversed(procs):  # `ray start --block` stops its node's processes when it is terminated
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        for t in temp:
            shutil.rmtree(t, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--trials", type=int, default=8)
    o.add_argument("--steps", type=int, default=60)
    o.set_defaults(func=overhead)
    t = sub.add_parser("two-nodes")
    t.add_argument("--steps", type=int, default=60)
    t.add_argument("--wait", type=float, default=15, help="seconds to let each node start (loaded machines: more)")
    t.set_defaults(func=two_nodes)
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    args.func(args)


if __name__ == "__main__":
    main()
