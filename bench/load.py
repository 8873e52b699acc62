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

Two more scenarios (issue 21, issue 22 item 5), each against its own fresh server with the default quotas:

    python bench/load.py --scenario hostile   # 64 hostile polls, 10 /train_variants, 2 unpolled /train at once,
                                              # then a browser-like visitor: seconds until it trains, threads, RSS,
                                              # disk growth against the quotas
    python bench/load.py --scenario class     # 30 browser-like visitors behind one address click a lesson at once:
                                              # median and slowest seconds from click to first curve, queue places
"""

from __future__ import annotations

import argparse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
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


def endpoint_args(client, api: str, **by_label) -> list:
    """An endpoint's positional arguments: its defaults, the tiny settings, and `by_label`."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api]["parameters"]
    values = {**TINY, **by_label}
    return [values.get(p["label"], p.get("parameter_default")) for p in params]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) if path.is_dir() else 0


class Sampler:
    """Threads and RSS of the server every `every` seconds, on its own thread."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every, self.samples = pid, every, []
        self._stop = threading.Event()
        self._t0 = time.time()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append({"t": round(time.time() - self._t0, 1), **proc_stats(self.pid)})
            except OSError:
                return
            self._stop.wait(self.every)

    def stop(self) -> dict:
        self._stop.set()
        names = Counter()
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                names[(task / "comm").read_text().strip()] += 1
            except OSError:
                continue
        return {"threads_now": dict(names),
                "threads_max": max((s.get("threads", 0) for s in self.samples), default=None),
                "rss_mib_max": round(max((s.get("rss_mib", 0) for s in self.samples), default=0), 1)}


def browser_visitor(url: str, address: str, click: str = "/train", timeout: float = 600,
                    watch_until_done: bool = False) -> dict:
    """A browser-like visitor: one click, then a poll every second (as the page's timer does). Returns the seconds
    from the click to its first training step and to its first curve point, and the queue places it was told."""
    from gradio_client import Client

    c = Client(url, verbose=False, headers={"X-Forwarded-For": address}, httpx_kwargs={"timeout": 120})
    t0 = time.time()
    args = endpoint_args(c, click) if click == "/train" else ["cpu"]
    first = str(c.predict(*args, api_name=click))
    training_s = curve_s = None
    places, status, round_trips = [], first, []
    while time.time() - t0 < timeout:
        sent = time.time()
        out = c.predict("auto", api_name="/poll")  # the client keeps the version state, as the page does
        round_trips.append(time.time() - sent)  # the server sees this visitor again only when its poll is answered
        status = out[0] if isinstance(out[0], str) else status
        if "place " in status:
            places.append(int(status.split("place ")[1].split()[0]))
        if training_s is None and status.startswith("training") and " step 0 " not in status:
            training_s = time.time() - t0
        if curve_s is None and n_points(out[1]) > 0:
            curve_s = time.time() - t0
        if curve_s is not None and (not watch_until_done or status.startswith(("stopped", "failed", "idle"))):
            break
        time.sleep(1.0)
    return {"click": first[:100], "training_s": None if training_s is None else round(training_s, 1),
            "first_curve_s": None if curve_s is None else round(curve_s, 1),
            "first_place": places[0] if places else None, "last_status": status[:140],
            "poll_s": {"median": round(statistics.median(round_trips), 2) if round_trips else None,
                       "max": round(max(round_trips), 2) if round_trips else None}}


def n_points(plot) -> int:
    if isinstance(plot, dict) and "value" in plot and "visible" in plot:
        plot = plot["value"]
    if not plot:
        return 0
    fig = plot.get("plot") if isinstance(plot, dict) else plot
    fig = json.loads(fig) if isinstance(fig, str) else fig
    data = (fig or {}).get("data") or []
    return len(data[0].get("x") or []) if data else 0


def hostile(args) -> dict:
    """64 hostile polls, 10 /train_variants and 2 unpolled /train at once, then a browser-like visitor."""
    from gradio_client import Client

    server, url, tmp = start_server({})
    checkpoints = Path(tmp.name) / "checkpoints"
    try:
        time.sleep(2)
        baseline = proc_stats(server.pid)
        sampler = Sampler(server.pid)
        probe = Client(url, verbose=False)
        calls = [("poll", endpoint_args(probe, "/poll"), f"198.51.100.{i % 16}") for i in range(64)]
        calls += [("train_variants", endpoint_args(probe, "/train_variants", **{
            "train these variants on the Train tab's corpus and seed": ["gan", "wgan", "mle", "seqgan"],
            "steps each": 100_000}), "198.51.100.99") for _ in range(10)]
        calls += [("train", endpoint_args(probe, "/train"), "198.51.100.98") for _ in range(2)]
        t0 = time.time()
        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(lambda c: (c[0], raw_call(url, *c)), calls))
        hostile_s = time.time() - t0
        visitor = browser_visitor(url, "203.0.113.10", timeout=120)
        time.sleep(args.settle)  # the unpolled jobs stop; what they kept is on disk
        stats = sampler.stop()
    finally:
        stop_server(server)
    disk = folder_bytes(checkpoints)
    tmp.cleanup()
    outcomes = Counter(f"{api}: {text.split(' · ')[0].split(':')[0][:60]}" for api, text in answers)
    return {"scenario": "hostile", "hostile_calls_s": round(hostile_s, 1), "hostile_outcomes": dict(outcomes),
            "visitor": visitor, "baseline": baseline, **stats, "disk_growth_mib": round(disk / 2**20, 2),
            "disk_bound_mib": "200 per visitor (TEXTGAN_DISK_PER_VISITOR_MB), 4096 in all", "load": os.getloadavg()}


def classroom(args) -> dict:
    """`--visitors` browser-like visitors behind one address click the same lesson at once."""
    server, url, tmp = start_server({})
    try:
        time.sleep(2)
        sampler = Sampler(server.pid)
        with ThreadPoolExecutor(args.visitors) as pool:
            results = list(pool.map(lambda n: browser_visitor(url, "198.51.100.7", click=f"/scenario_{args.lesson}",
                                                              timeout=args.duration, watch_until_done=True),
                                    range(args.visitors)))
        stats = sampler.stop()
    finally:
        stop_server(server)
        tmp.cleanup()
    curves = sorted(r["first_curve_s"] for r in results if r["first_curve_s"] is not None)
    medians = [r["poll_s"]["median"] for r in results if r["poll_s"]["median"] is not None]
    slowest = [r["poll_s"]["max"] for r in results if r["poll_s"]["max"] is not None]
    return {"scenario": "class", "visitors": args.visitors, "lesson": args.lesson,
            "first_curve_s": {"median": statistics.median(curves) if curves else None,
                              "slowest": curves[-1] if curves else None, "n": len(curves)},
            "told_a_place": sum(r["first_place"] is not None for r in results),
            "poll_round_trip_s": {"median of medians": statistics.median(medians) if medians else None,
                                  "slowest": max(slowest) if slowest else None},
            "stopped_unwatched": sum("nobody watched" in r["last_status"] for r in results),
            "refused": [r["click"] for r in results if "⚠️" in r["click"]], **stats,
            "last_statuses": Counter(r["last_status"].split(" · ")[0] for r in results), "load": os.getloadavg(),
            "results": results}


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()


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
    p.add_argument("--scenario", choices=["raw", "hostile", "class"], default="raw",
                   help="raw: the clients above; hostile / class: see the module's docstring")
    p.add_argument("--visitors", type=int, default=30, help="class: browser-like visitors (1-40)")
    p.add_argument("--lesson", default="learn", help="class: the lesson they click (learn, collapse, ...)")
    p.add_argument("--settle", type=float, default=40, help="hostile: seconds the unpolled jobs get to stop")
    args = p.parse_args(argv)
    if args.scenario != "raw":
        if not (1 <= args.visitors <= 40 and 0 <= args.settle <= 600):
            raise SystemExit("bounded on purpose: --visitors 1..40, --settle up to 600 s")
        result = hostile(args) if args.scenario == "hostile" else classroom(args)
        print(json.dumps({k: v for k, v in result.items() if k != "results"}, indent=1, default=str))
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1, default=str))
        return result
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
