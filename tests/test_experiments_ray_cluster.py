"""A real 2-node Ray cluster on this machine, started with Ray's defaults (token authentication on, as Ray turns it
on when a token exists), joined the way the README tells: `ray start --head` as it is, the second node with
RAY_AUTH_MODE=token and the head's token, and `python -m textgan sweep --address` with nothing but the token.
The sweep's trials run on both nodes, and results.csv names the node of every row.

The cluster is `textgan.experiments.local_cluster` (also what `bench/sweep.py two-nodes` starts): its Ray processes
run with HOME in a temporary folder, so the cluster's token is this test's own, and they are stopped by their ids
(never `ray stop`, which ends every Ray on the machine)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[1]


def test_two_node_cluster_with_ray_s_default_token_authentication(tmp_path):
    from textgan.experiments.local_cluster import local_cluster

    with local_cluster(nodes=2, cpus_per_node=1, pythonpath=str(ROOT)) as cluster:
        home = Path(cluster.env["HOME"])
        assert (home / ".ray" / "auth_token").is_file()  # the head started with a token: authentication is on
        driver_env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}  # the token, nothing else
        exp = tmp_path / "exp"
        r = subprocess.run([sys.executable, "-m", "textgan", "sweep", "--address", cluster.address, "--variants",
                            "mle", "--seeds", "4", "--steps", "4", "--set", "eval_every=2", "--set",
                            "eval_samples=16", "--set", "batch_size=8", "--set", "sample_every=0", "--set",
                            "generator.hidden=8", "--temperatures", "", "--no-images", "--out", str(exp)],
                           env=driver_env, capture_output=True, text=True, timeout=420, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        results = pd.read_csv(exp / "results.csv")
        assert set(results.status) == {"done"} and results.trial.nunique() == 4
        assert results.node.notna().all() and results.nodes.notna().all()
        assert results.drop_duplicates("trial").node.nunique() == 2, results[["trial", "node"]]  # both nodes ran
        # authentication is really on: a driver without the token (a HOME with none) is refused, in one line
        stranger = tmp_path / "stranger"
        stranger.mkdir()
        r = subprocess.run([sys.executable, "-m", "textgan", "sweep", "--address", cluster.address, "--steps", "2",
                            "--temperatures", "", "--no-images", "--out", str(tmp_path / "refused")],
                           env={**driver_env, "HOME": str(stranger)}, capture_output=True, text=True, timeout=300,
                           cwd=tmp_path)
        lines = r.stderr.strip().splitlines()  # "1 trials on the Ray cluster at ...", then the error: not Ray's
        assert r.returncode == 2 and lines[-1].startswith("error: cannot join the Ray cluster"), r.stderr[-2000:]
        assert "~/.ray/auth_token" in lines[-1]
        assert len(lines) == 2, r.stderr[-2000:]  # (its client's log of every failed try was ~20 more lines)
    assert all(p.poll() is not None for p in cluster.nodes)  # every node it started is stopped
    assert not home.exists()  # and its token is gone with it
