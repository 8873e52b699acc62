"""A real 2-node Ray cluster on this machine, started with Ray's defaults (token authentication on, as Ray turns it
on when a token exists), joined the way the README tells: `ray start --head` as it is, the second node with
RAY_AUTH_MODE=token and the head's token, and `python -m textgan sweep --address` with nothing but the token.
The sweep's trials run on both nodes, and results.csv names the node of every row.

Each Ray process runs with HOME in a temporary folder, so the cluster's token (~/.ray/auth_token) is this test's
own; the processes it starts are stopped by their ids (never `ray stop`, which ends every Ray on the machine)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_ip() -> str:
    """The address Ray binds a node to here (it prefers a routable one to 127.0.0.1); no Ray is started."""
    from ray._private.services import get_node_ip_address

    return get_node_ip_address()


def _wait_for_port(address: str, deadline: float) -> None:
    """Until the head's GCS accepts connections (a socket, not a Python that imports Ray for each try)."""
    host, port = address.rsplit(":", 1)
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the head at {address} never listened")


def _wait_for_nodes(address: str, n: int, env, timeout: float) -> None:
    """Until `n` nodes are alive, watched from one driver (one Python start, not one per try)."""
    code = ("import ray, sys, time; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False)\n"
            "end = time.monotonic() + float(sys.argv[3])\n"
            "while sum(x['Alive'] for x in ray.nodes()) < int(sys.argv[2]) and time.monotonic() < end:\n"
            "    time.sleep(0.5)\n"
            "print(sum(x['Alive'] for x in ray.nodes()))")
    r = subprocess.run([sys.executable, "-c", code, address, str(n), str(timeout)], env=env, capture_output=True,
                       text=True, timeout=timeout + 120)
    if r.returncode != 0 or r.stdout.strip().splitlines()[-1:] != [str(n)]:
        raise AssertionError(f"the cluster at {address} did not reach {n} nodes: {r.stdout[-200:]} {r.stderr[-800:]}")


def test_two_node_cluster_with_ray_s_default_token_authentication(tmp_path):
    home = Path(tempfile.mkdtemp(prefix="rh-", dir="/tmp"))  # short paths: Ray's socket names have a limit
    temps = [Path(tempfile.mkdtemp(prefix=f"rn{i}-", dir="/tmp")) for i in (0, 1)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    ray_bin = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_bin, "get-auth-token", "--generate"], env=env, check=True, capture_output=True)
    assert (home / ".ray" / "auth_token").is_file()
    port = _free_port()
    address = f"{_node_ip()}:{port}"
    common = ["--num-cpus=1", "--block"]
    procs = []
    try:
        # the head exactly as `ray start --head` (no RAY_AUTH_MODE): token authentication is on
        procs.append(subprocess.Popen([ray_bin, "start", "--head", f"--port={port}", f"--temp-dir={temps[0]}",
                                       "--include-dashboard=false", *common], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_port(address, time.monotonic() + 120)
        # the second machine: the head's token (here the same HOME) and RAY_AUTH_MODE=token, as the README says
        procs.append(subprocess.Popen([ray_bin, "start", f"--address={address}", f"--temp-dir={temps[1]}", *common],
                                      env={**env, "RAY_AUTH_MODE": "token"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_nodes(address, 2, {**env, "RAY_AUTH_MODE": "token"}, 120)

        exp = tmp_path / "exp"
        r = subprocess.run([sys.executable, "-m", "textgan", "sweep", "--address", address, "--variants", "mle",
                            "--seeds", "4", "--steps", "4", "--set", "eval_every=2", "--set", "eval_samples=16",
                            "--set", "batch_size=8", "--set", "sample_every=0", "--set", "generator.hidden=8",
                            "--temperatures", "", "--no-images", "--out", str(exp)],
                           env=env, capture_output=True, text=True, timeout=420, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        results = pd.read_csv(exp / "results.csv")
        assert set(results.status) == {"done"} and results.trial.nunique() == 4
        assert results.node.notna().all() and results.nodes.notna().all()
        assert results.drop_duplicates("trial").node.nunique() == 2, results[["trial", "node"]]  # both nodes ran
    finally:
        for p in reversed(procs):  # `ray start --block` stops its node's processes when it is terminated
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in (home, *temps):
            shutil.rmtree(d, ignore_errors=True)
