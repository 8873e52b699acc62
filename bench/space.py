"""The app as a free CPU Space runs it: install size, cold start, memory at idle and after a lesson.

Uses a virtual environment made from requirements.txt alone (CI's `.venv-space`; `--build` makes one with pip) and
starts `python app.py` from it with the Space's variables, as the Space does. Measures
  - the venv's size on disk (what `du -sm` reports, bytecode included),
  - cold start in a fresh process: import of the app package, `build_demo`, and from `python app.py` to the first
    page served (GET / answers 200),
  - the server's resident memory (VmRSS) at idle after the first page, and after the first lesson ran to its end,
    driven through the lesson's public endpoint like a browser (gradio_client, from this venv).

    python bench/space.py [--venv .venv-space] [--build] [--lesson learn]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from metrics import cpu_model  # noqa: E402  (bench/metrics.py: the CPU model RESULTS.md records)

IMPORT_JS = """import json, time
t0 = time.perf_counter()
import textgan.app.main as m
from textgan import lab as L
t1 = time.perf_counter()
m.build_demo(L.Lab.from_env())
print(json.dumps({"import_s": t1 - t0, "build_demo_s": time.perf_counter() - t1}))"""


def du_mib(path: Path) -> int:
    """Disk usage as `du -sm` reports it (MiB, bytecode and directories included)."""
    return int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def build(venv: Path) -> float:
    """A fresh venv from requirements.txt alone; returns the seconds pip took."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    t0 = time.perf_counter()
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True,
                   env={**os.environ, "PIP_RETRIES": "0"})  # .ci/run: this machine cannot reach PyTorch's index
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def space_env(port: int, checkpoints: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "SPACE_ID": "bench/textgan-lab", "SPACE_HOST": "bench-textgan-lab.hf.space",
            "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "TEXTGAN_CHECKPOINTS": checkpoints}


def first_page(url: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no page within {timeout} s")


def run_lesson(url: str, key: str) -> tuple[float, str]:
    """Click the lesson's button through its endpoint and poll until it stops (a lesson ends at its moment or its
    last step: "lesson shown, stopped at step N" / "lesson done at step N"); returns the seconds taken and the
    status line's end, so that a run stopped for another reason is seen in the results."""
    from gradio_client import Client

    from app_helpers import Poller

    client = Client(url, verbose=False)
    t0 = time.perf_counter()
    client.predict("cpu", api_name=f"/scenario_{key.replace('-', '_')}")
    snap = Poller(client).wait(lambda s: str(s.get("status", "")).startswith("stopped"), timeout=900, every=1.0)
    return time.perf_counter() - t0, str(snap["status"]).split(" · ")[-1][:100]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=ROOT / ".venv-space")
    ap.add_argument("--build", action="store_true", help="make the venv from requirements.txt first (replaces it)")
    ap.add_argument("--lesson", default="learn")
    args = ap.parse_args()

    result: dict = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    if args.build:
        subprocess.run(["rm", "-rf", str(args.venv)], check=True)
        result["pip_install_s"] = build(args.venv)
    python = str(args.venv / "bin/python")
    result["venv_mib"] = du_mib(args.venv)
    result["torch"] = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                     text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-space-") as ckpt:
        port = free_port()
        env = space_env(port, ckpt)
        out = subprocess.run([python, "-c", IMPORT_JS], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        proc = subprocess.Popen([python, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            result["cold_start_to_first_page_s"] = first_page(url, proc)
            time.sleep(5)
            result["rss_idle_mib"] = rss_mib(proc.pid)
            result[f"lesson_{args.lesson}_s"], result["lesson_status"] = run_lesson(url, args.lesson)
            result["rss_after_lesson_mib"] = rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result["load_after"] = os.getloadavg()[0]
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}, indent=1))


if __name__ == "__main__":
    main()
