"""Iterations per second of the app's default scenario (preset `demo`, variant `wgan-gp`, corpus `modes` K=8,
batch 64: what a student gets on pressing Train), with the engine as it is and with the CNN critic's pre-issue-16
order (relu before the max over time) patched back in, interleaved in one process.

Issue 16's other fast paths (fused output layer + cross-entropy, two-level sampler, buffered rollout head, bf16
scoring) start at a 512-word vocabulary or with SeqGAN, so this scenario (68 words) does not take them.

    python bench/scenario.py [--threads 1] [--steps 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from textgan.nets.critics import CNNCritic
from textgan.presets import preset_config
from textgan.run import Run


def features_before(self, x):
    """CNNCritic.features before issue 16: relu over every window, then the max."""
    e = self.embed(x).transpose(1, 2)
    h = torch.cat([F.relu(conv(e)).amax(-1) for conv in self.convs], 1)
    t, g = self.highway(h).chunk(2, -1)
    gate = torch.sigmoid(g)
    return gate * F.relu(t) + (1 - gate) * h


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1, help="the app's default is 1")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    now = CNNCritic.features
    runs = {name: Run(preset_config("demo", "wgan-gp", corpus={"kind": "modes", "k": 8}, seed=0, device="cpu"))
            for name in ("before", "now")}
    rates = {name: [] for name in runs}
    for name, run in runs.items():
        run.train_step()  # warm-up
    for _ in range(a.repeats):
        for name, run in runs.items():
            CNNCritic.features = features_before if name == "before" else now
            t, c = time.perf_counter(), time.process_time()
            for _ in range(a.steps):
                run.train_step()
            rates[name].append((a.steps / (time.perf_counter() - t), a.steps / (time.process_time() - c)))
    CNNCritic.features = now
    print(f"demo / wgan-gp / modes K=8, threads={a.threads}, {a.steps} steps x {a.repeats}, interleaved")
    for name, r in rates.items():
        print(f"{name:6s}: best {max(x for x, _ in r):.1f} it/s wall, {max(y for _, y in r):.1f} it/s per CPU second")


if __name__ == "__main__":
    main()
