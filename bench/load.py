"""Load on a real app server: N raw API clients that press Train and never poll (what two `curl` calls did to the
public demo), plus one browser-like client that presses Train and polls every second. Loopback only, bounded.

Measures what a visitor feels and what the server holds: how long the browser-like client waits for a training
slot, the latency of its polls, and the server's thread count and RSS over time. With `--browsers 2 --raw 0
--duration 1800` it is the 30-minute two-session soak (RSS must stay flat).

    python bench/load.py --raw 20 --duration 90                 # hostile clients + one visitor
    python bench/load.py --raw 0 --browsers 2 --duration 1800   # soak

The server is `app.py` in a subprocess on 127.0.0.1 with its own empty checkpoints folder; the raw clients use
Gradio's plain REST API (`/gradio_api/call/train`, no open connection afterwards, as `curl`) and all come from one
forwarded address (TEXTGAN_TRUSTED_PROXY=1, X-Forwarded-For), the visitors from others, as behind
the Space's proxy. Results print as JSON (and `--out FILE`).
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else: this script loads a server it starts itself
TINY = {"corpus": "modes", "K (modes)": 4, "variant": "gan", "batch size": 16, "seed": 0, "device": "cpu",
        "generator": "lstm", "generator size": 16, "critic": "cnn", "critic size": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_stats(pid: int) -> dict[str, float]:
    """Threads and RSS (MiB) of a process, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            out["threads"] = int(line.split()[1])
        elif line.startswith("VmRSS:"):
            out["rss_mib"] = int(line.split()[1]) / 1024
    return out


def train_args(client) -> list:
    """The /train endpoint's positional arguments: its defaults with the tiny settings above."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/train"]["parameters"]
    return [TINY.get(p["label"], p.get("parameter_default")) for p in params]


def raw_call(url: str, api: str, data: list, forwarded_for: str, timeout: float = 120) -> str:
    """One call through Gradio's plain REST API, as `curl` makes it: POST the inputs, read the result stream once,
    and keep no connection open afterwards (so the server never hears that this "tab" went away)."""
    import urllib.request

    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded_for}
    try:
        req = urllib.request.Request(f"{url}gradio_api/call/{api}", data=json.dumps({"data": data}).encode(),
                                     headers=headers, method="POST")
        event = json.loads(urllib.request.urlopen(req, timeout=timeout).read())["event_id"]
        stream = urllib.request.urlopen(urllib.request.Request(f"{url}gradio_api/call/{api}/{event}",
                                                               headers=headers), timeout=timeout)
        text = stream.read().decode(errors="replace")
    except Exception as e:  # a refusal or a timeout: recorded, the load goes on
        return f"{type(e).__name__}: {str(e)[:80]}"
    for line in text.splitlines():
        if line.startswith("data:"):
            try:
                value = json.loads(line[5:])
            except json.JSONDecodeError:
                continue
            if isinstance(value, list) and value:
                return str(value[0])[:120]
    return text[-120:]


def start_server(env_extra: dict[str, str]) -> tuple[subprocess.Popen, str, tempfile.TemporaryDirectory]:
    port = free_port()
    tmp = tempfile.TemporaryDirectory(prefix="textgan-load-")
    env = {**os.environ, "GRADIO_SERVER_NAME": HOST, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "TEXTGAN_CHECKPOINTS": str(Path(tmp.name) / "checkpoints"), "TEXTGAN_TRUSTED_PROXY": "1",
           "PYTHONPATH": str(ROOT), **env_extra}
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp.name, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}/"
    import urllib.request

    end = time.time() + 180
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, tmp
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the app exited before serving")
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start within 180 s")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw", type=int, default=20, help="raw API clients that train and never poll (0-50)")
    p.add_argument("--browsers", type=int, default=1, help="browser-like clients that train and poll (1-4)")
    p.add_argument("--duration", type=float, default=90, help="seconds of load after the clients start (<= 3600)")
    p.add_argument("--idle-timeout", type=float, default=20, help="the server's TEXTGAN_IDLE_TIMEOUT_S")
    p.add_argument("--budget", type=float, default=0, help="the server's TEXTGAN_SESSION_BUDGET_S (0 = none)")
    p.add_argument("--sample-every", type=float, default=5, help="seconds between thread/RSS samples")
    p.add_argument("--out", help="also write the results as JSON here")
    args = p.parse_args(argv)
    if not (0 <= args.raw <= 50 and 1 <= args.browsers <= 4 and 0 < args.duration <= 3600):
        raise SystemExit("bounded on purpose: --raw 0..50, --browsers 1..4, --duration up to 3600 s")
    from gradio_client import Client

    server, url, tmp = start_server({"TEXTGAN_IDLE_TIMEOUT_S": str(args.idle_timeout),
                                     "TEXTGAN_SESSION_BUDGET_S": str(args.budget)})
    samples: list[dict] = []
    stop = threading.Event()

    def sampler():
        t0 = time.time()
        while not stop.is_set():
            samples.append({"t": round(time.time() - t0, 1), **proc_stats(server.pid)})
            stop.wait(args.sample_every)

    try:
        time.sleep(2)
        baseline = proc_stats(server.pid)
        threading.Thread(target=sampler, daemon=True).start()
        probe = Client(url, verbose=False)  # reads the endpoint's parameters; never calls a training endpoint
        args_train = train_args(probe)
        raw_results = [raw_call(url, "train", args_train, "198.51.100.7") for _ in range(args.raw)]
        refused = sum("open sessions" in r or "full" in r for r in raw_results)
        outcomes = dict(Counter(r.split(" · ")[0].split(":")[0][:40] for r in raw_results))

        visitors = []

        def visitor(n: int):
            c = Client(url, verbose=False, headers={"X-Forwarded-For": f"203.0.113.{10 + n}"})
            t0 = time.time()
            status = str(c.predict(*train_args(c), api_name="/train"))
            waited, latencies, steps = None, [], 0
            while time.time() - t0 < args.duration:
                t = time.time()
                out = c.predict(api_name="/poll")  # the client keeps the session's version state itself
                latencies.append(time.time() - t)
                status = next((x for x in out if isinstance(x, str) and " · step " in x), status)
                if waited is None and status.startswith("training") and " step 0 " not in status:
                    waited = time.time() - t0
                if "step " in status:
                    try:
                        steps = int(status.split("step ")[1].split()[0])
                    except ValueError:
                        pass
                time.sleep(1.0)
            visitors.append({"slot_wait_s": None if waited is None else round(waited, 2),
                             "poll_latency_ms": {"median": round(1000 * statistics.median(latencies), 1),
                                                 "p95": round(1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))], 1),
                                                 "max": round(1000 * max(latencies), 1)},
                             "polls": len(latencies), "steps": steps, "last_status": status[:120]})

        threads = [threading.Thread(target=visitor, args=(n,)) for n in range(args.browsers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        tmp.cleanup()
    rss = [s["rss_mib"] for s in samples if "rss_mib" in s]
    third = max(1, len(rss) // 3)
    result = {
        "raw_clients": args.raw, "raw_refused": refused, "raw_outcomes": outcomes, "browsers": args.browsers, "duration_s": args.duration,
        "idle_timeout_s": args.idle_timeout, "budget_s": args.budget,
        "visitors": visitors, "baseline": baseline,
        "threads_max": max(s.get("threads", 0) for s in samples) if samples else None,
        "rss_mib": {"first_third_mean": round(statistics.mean(rss[:third]), 1),
                    "last_third_mean": round(statistics.mean(rss[-third:]), 1), "max": round(max(rss), 1)} if rss else None,
        "samples": samples,
        "uptime": os.getloadavg(),
    }
    text = json.dumps(result, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    if args.out:
        Path(args.out).write_text(text)
    return result


if __name__ == "__main__":
    main()
