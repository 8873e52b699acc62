"""A throwaway Ray cluster of several nodes on this one machine, joined the way the README tells for real machines:
`ray start --head` as it is (Ray's token authentication on, since a token exists), each further node with
RAY_AUTH_MODE=token and the head's token, and a driver (`python -m textgan sweep --address`) with nothing but the
token. The cluster test (tests/test_experiments_ray_cluster.py) and `bench/sweep.py two-nodes` both start it here.

Its Ray processes run with HOME in a temporary folder, so the token (~/.ray/auth_token) is the cluster's own and the
user's is never read or written; every process it started is stopped by its id when the block ends (never
`ray stop`, which ends every Ray on the machine)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .ray_tune import require_ray

READY_CODE = ("import ray, sys, time; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False)\n"
              "end = time.monotonic() + float(sys.argv[3])\n"
              "while sum(x['Alive'] for x in ray.nodes()) < int(sys.argv[2]) and time.monotonic() < end:\n"
              "    time.sleep(0.5)\n"
              "print(sum(x['Alive'] for x in ray.nodes()))")
"""A driver that waits until N nodes are alive: one Python start for the whole wait, not one per try."""


@dataclass
class LocalCluster:
    """A running local cluster: where it listens and the environment a driver joins it with."""

    address: str
    """host:port of the head's GCS (`--address` of `ray start` and of `python -m textgan sweep`)."""
    env: dict[str, str]
    """The environment of a driver on "another machine": the cluster's HOME (its token) and RAY_AUTH_MODE=token."""
    nodes: list[subprocess.Popen] = field(default_factory=list)
    """The `ray start --block` processes, head first (terminating one stops its node's processes)."""

    def wait_for_nodes(self, n: int, timeout: float = 120) -> None:
        """Until `n` nodes are alive."""
        r = subprocess.run([sys.executable, "-c", READY_CODE, self.address, str(n), str(timeout)], env=self.env,
                           capture_output=True, text=True, timeout=timeout + 120)
        if r.returncode != 0 or r.stdout.strip().splitlines()[-1:] != [str(n)]:
            raise RuntimeError(f"the cluster at {self.address} did not reach {n} alive nodes in {timeout:g} s: "
                               f"{r.stdout[-200:]} {r.stderr[-800:]}")


def node_ip() -> str:
    """The address Ray binds a node to here (it prefers a routable one to 127.0.0.1); no Ray is started."""
    from ray._private.services import get_node_ip_address

    return get_node_ip_address()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(address: str, timeout: float) -> None:
    """Until the head's GCS accepts connections (a socket, not a Python that imports Ray for each try)."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Ray head at {address} never listened ({timeout:g} s)")


def stop(procs: list[subprocess.Popen]) -> None:
    """Stop `ray start --block` processes by their ids, newest first, killing any that ignores SIGTERM for 60 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1, timeout: float = 120,
                  pythonpath: str | None = None) -> Iterator[LocalCluster]:
    """`nodes` Ray nodes on this machine (`cpus_per_node` CPUs each, one torch thread per process), alive when the
    block starts and stopped when it ends. `pythonpath` is given to every Ray process (the checkout a test runs)."""
    require_ray()
    if nodes < 1:
        raise ValueError(f"nodes={nodes}: a cluster needs at least its head node")
    home = Path(tempfile.mkdtemp(prefix="rh-", dir="/tmp"))  # short paths: Ray's socket names have a length limit
    temps = [Path(tempfile.mkdtemp(prefix=f"rn{i}-", dir="/tmp")) for i in range(nodes)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    base.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", OMP_NUM_THREADS="1")
    if pythonpath:
        base["PYTHONPATH"] = pythonpath
    ray_bin = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    cluster = LocalCluster(f"{node_ip()}:{port}", {**base, "RAY_AUTH_MODE": "token"})
    try:
        subprocess.run([ray_bin, "get-auth-token", "--generate"], env=base, check=True, capture_output=True)
        common = [f"--num-cpus={cpus_per_node}", "--block"]
        # the head exactly as `ray start --head` (no RAY_AUTH_MODE): token authentication is on since a token exists
        cluster.nodes.append(subprocess.Popen(
            [ray_bin, "start", "--head", f"--port={port}", f"--temp-dir={temps[0]}", "--include-dashboard=false",
             *common], env=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(cluster.address, timeout)
        for temp in temps[1:]:  # the other "machines": the head's token (the same HOME) and RAY_AUTH_MODE=token
            start_node(cluster, temp, cpus_per_node)
        cluster.wait_for_nodes(nodes, timeout)
        yield cluster
    finally:
        stop(cluster.nodes)
        for d in (home, *temps):
            shutil.rmtree(d, ignore_errors=True)


def start_node(cluster: LocalCluster, temp_dir: Path, cpus: int = 1) -> subprocess.Popen:
    """One more node joining `cluster` (kept in `cluster.nodes`, so it is stopped with the cluster)."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    node = subprocess.Popen([ray_bin, "start", f"--address={cluster.address}", f"--temp-dir={temp_dir}",
                             f"--num-cpus={cpus}", "--block"], env=cluster.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cluster.nodes.append(node)
    return node
