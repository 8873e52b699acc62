"""Does SeqGAN's adversarial phase lower NLL-oracle below its own MLE pre-training value? (issue: the RL family)

The oracle benchmark of Yu et al. 2017 (vocab 5,000, length 20, 10,000 oracle samples, LSTM generator 32/32, batch
64, 16 rollouts, delayed rollout net 0.8), with the schedule scaled to a CPU: `--pretrain` MLE steps instead of
80 epochs, `--warmup` discriminator-only iterations instead of 50 x 3 epochs, `--adv` adversarial iterations
instead of 200 epochs. The run is the same one as

    python -m textgan train --corpus oracle --variant seqgan --preset paper --set pretrain_steps=P \\
        --set critic_warmup=W --set lr_critic=1e-3 --critic cnn --critic-set filters=64 --steps P+W+A

(same RunConfig, same seed); this script only evaluates at its own cadence: NLL-oracle of `--samples` fresh samples
(the oracle's own log-likelihood: lower = more oracle-like) and NLL-gen (the generator on the oracle's test
samples: lower = better coverage), every `--eval-pretrain` MLE steps and every `--eval-adv` adversarial iterations.
Evaluation draws from its own seeded generator, so it does not change the training trajectory.

    OMP_NUM_THREADS=1 python bench/seqgan_oracle.py [--pretrain 6000] [--warmup 100] [--adv 40] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from textgan.presets import preset_config
from textgan.run import Run

PAPER = {"MLE": 9.038, "SeqGAN": 8.736}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pretrain", type=int, default=6000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--adv", type=int, default=40)
    ap.add_argument("--lr-critic", type=float, default=1e-3)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--eval-pretrain", type=int, default=500)
    ap.add_argument("--eval-adv", type=int, default=5)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the curve here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    base = preset_config("paper", "seqgan")
    cfg = base.__class__(**{**base.to_dict(), "corpus": {"kind": "oracle"}, "device": a.device,
                            "variant_config": {**base.variant_config, "pretrain_steps": a.pretrain,
                                               "critic_warmup": a.warmup, "lr_critic": a.lr_critic},
                            "critic": {"kind": "cnn", "filters": a.filters}, "batch_size": 64, "seed": 0,
                            "sample_every": 0, "eval_every": 0, "log_every": 1})
    t0 = time.perf_counter()
    run = Run(cfg)
    curve: list[dict] = []

    def evaluate(phase: str) -> None:
        m = run.evaluate(a.samples, seed=0, record=False)
        last = run.history[-1] if run.history else {}
        row = {"step": run.step, "phase": phase, "nll_oracle": m["eval/nll_oracle"], "nll_gen": m["eval/nll_gen"],
               "p_real": last.get("critic/p_real"), "p_fake": last.get("critic/p_fake"),
               "reward": last.get("reward/mean"), "wall_s": round(time.perf_counter() - t0, 1)}
        curve.append(row)
        print(json.dumps(row), flush=True)

    def train(n: int) -> None:
        for e in run.steps(n):
            if type(e).__name__ == "Failed":
                raise SystemExit(f"failed: {e.message}")

    evaluate("start")
    while run.step < a.pretrain:
        train(min(a.eval_pretrain, a.pretrain - run.step))
        evaluate("mle")
    mle_value = curve[-1]["nll_oracle"]
    train(a.warmup)
    evaluate("discriminator warm-up")
    for _ in range(0, a.adv, a.eval_adv):
        train(a.eval_adv)
        evaluate("adversarial")
    best = min(r["nll_oracle"] for r in curve if r["phase"] == "adversarial")
    print(f"\nNLL-oracle at the end of MLE pre-training: {mle_value:.3f}; after {a.adv} adversarial iterations: "
          f"{curve[-1]['nll_oracle']:.3f} (best {best:.3f}); paper: MLE {PAPER['MLE']}, SeqGAN {PAPER['SeqGAN']}")
    print("\n| step | phase | NLL-oracle | NLL-gen | D p(real) | D p(fake) | wall s |\n|---|---|---|---|---|---|---|")
    for r in curve:
        pr = "—" if r["p_real"] is None else f"{r['p_real']:.2f}"
        pf = "—" if r["p_fake"] is None else f"{r['p_fake']:.2f}"
        print(f"| {r['step']} | {r['phase']} | {r['nll_oracle']:.3f} | {r['nll_gen']:.3f} | {pr} | {pf} | "
              f"{r['wall_s']:.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(curve, f, indent=1)


if __name__ == "__main__":
    main()
