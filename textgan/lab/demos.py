"""The small demo runs shipped in `checkpoints/` so the Compare tab has something to open on a fresh Space with no
training: a GAN caught collapsed, a healthy WGAN-GP and maximum likelihood, all on `modes` (K = 8) with the
lessons' small nets (well under 1 MB each). Each is one of the lessons of `scenarios.py` at seed 0, so anyone
can rebuild them bit for bit on a CPU:

    python -m textgan.lab.demos checkpoints
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ..card import build_card
from ..run import Run
from .scenarios import get_scenario

DEMOS = {
    "demo-gan-collapsed": ("collapse", "A standard GAN (Gumbel-softmax, 150 MLE warm-start steps) saved at the first "
                                       "evaluation where its valid samples come from at most 2 of the 8 modes."),
    "demo-wgan-gp-healthy": ("gp-fix", "WGAN-GP from the same warm start, nets and learning rates: it keeps most "
                                       "of the 8 modes."),
    "demo-mle": ("learn", "Maximum likelihood: every mode, the yardstick for the GANs."),
}


def make_demo(name: str, root: str | Path) -> Path:
    """Train one demo run at seed 0 on the CPU and save it (with its model card) under `root/name`."""
    key = DEMOS[name][0]
    s = get_scenario(key)
    with _threads(1):
        run = Run(s.config(device="cpu", sample_every=20, eval_every=20))
        for _ in run.steps(s.steps):
            if key == "collapse" and s.check({}, run.history):
                break  # caught collapsed: save it now, before the critic catches up
        path = run.save(Path(root) / name)
    write_card(path, name)
    return path


def write_card(path: Path, name: str) -> None:
    """The run's model card (card.build_card) with what the demo shows and how to rebuild it on top."""
    key, about = DEMOS[name]
    s = get_scenario(key)
    step = json.loads((Path(path) / "config.json").read_text())["step"]
    card = build_card(path)
    card.text = (f"# {name}\n\n{about}\n\nLesson `{key}` of `textgan.lab.scenarios` ({s.title}), seed 0, "
                 f"{step} steps on a CPU; rebuilt by `python -m textgan.lab.demos checkpoints`.\n\n" + card.text)
    card.save(str(Path(path) / "README.md"))


class _threads:
    """One torch thread while building (runs depend on the thread count through float reductions)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else "checkpoints")
    for name in DEMOS:
        print(make_demo(name, root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
