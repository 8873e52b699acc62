"""The default demo, timed as a student sees it: launch the real app, click Train on the default settings, poll.

Measures (1) seconds from the Train click until a poll returns a loss figure with points (the browser's 1 s timer
adds up to 1 s more), and (2) mode coverage over the first `--seconds` of training (the `modes` corpus default).

    python bench/app.py [--seconds 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TEXTGAN_TORCH_THREADS", "1")))
    args = ap.parse_args()

    import torch

    from app_helpers import Poller, form, launch, n_points
    from textgan import lab as L
    from textgan.run import RunConfig

    lab = L.Lab(max_training=1, checkpoints=tempfile.mkdtemp(prefix="bench-app-"), torch_threads=args.threads)
    demo, client, _ = launch(lab)
    try:
        default = RunConfig()
        # Exactly what the form sends on page load: the default variant's paper values.
        t0 = time.perf_counter()
        status = client.predict(*form(client, "/train", preset=L.presets()[0], variant=default.variant),
                                api_name="/train")
        click_s = time.perf_counter() - t0
        poll = Poller(client)
        poll.wait(lambda s: n_points(s.get("loss")) > 0, timeout=120, every=0.05)
        first_curve = time.perf_counter() - t0
        session = next(iter(lab._sessions.values()))
        timeline = []  # (seconds since the click, step, latest coverage, latest precision), every 5 s
        while time.perf_counter() - t0 < args.seconds:
            time.sleep(5.0 - (time.perf_counter() - t0) % 5.0)
            h = session.snapshot()["history"]
            if "eval/modes/coverage" in h:
                e = h.dropna(subset=["eval/modes/coverage"]).iloc[-1]
                timeline.append((round(time.perf_counter() - t0), session.step_count,
                                 round(float(e["eval/modes/coverage"]), 3), round(float(e["eval/modes/precision"]), 3)))
        steps = session.step_count
        elapsed = time.perf_counter() - t0
        client.predict(api_name="/stop")
        result = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
                       f"{args.threads}, load avg {os.getloadavg()[0]:.1f}",
            "preset": L.presets()[0], "variant": default.variant, "run_config": {
                k: v for k, v in session.run.config.to_dict().items() if k in ("variant_config", "generator", "critic")}, "corpus": default.corpus, "batch_size": session.run.config.batch_size,
            "train_click_s": round(click_s, 2), "first_curve_s": round(first_curve, 2),
            "first_scalars_s": round(session.first_scalars_s or float("nan"), 2),
            "steps": steps, "seconds": round(elapsed, 1), "steps_per_s": round(steps / elapsed, 2),
            "timeline_s_step_coverage_precision": timeline,
            "status": status, "torch": torch.__version__,
        }
        print(json.dumps(result))
    finally:
        lab.close_all()
        demo.close()


if __name__ == "__main__":
    main()
