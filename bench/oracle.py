"""The oracle reproduction table: MLE, the RL family, RelGAN and WGAN-GP (LSTM + Gumbel) on SeqGAN's synthetic oracle,
NLL-oracle and NLL-gen next to the published NLL-oracle values.

    python bench/oracle.py --scale paper --device cuda     # the papers' setting (GPU; hours)
    python bench/oracle.py --scale cpu                     # a CPU-sized rehearsal: SAME code, much smaller budget

`paper`: vocab 5,000, length 20, 10,000 training rows, batch 64, MLE pre-training 150 epochs (~23,400 steps),
then 3,000 adversarial iterations for RelGAN (1 slot x 2 heads x 256, multirep critic, beta_max 100, exp) and
WGAN-GP, and SeqGAN's schedule from its own Config. `cpu`: vocab 1,000, 2,000 training rows, small nets, 150
pre-training steps and 40 adversarial iterations. CPU numbers are NOT comparable with the published ones: they
show the pipeline end to end and the direction of each method from the same MLE start, nothing more.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from textgan.corpora import build_corpus
from textgan.run import Run, RunConfig
from textgan.variants import VARIANTS

PUBLISHED = {"mle": 9.038, "seqgan": 8.736, "rankgan": 8.247, "leakgan": 7.038, "relgan": "6.680 ± 0.343",
             "real data": 5.750}

SCALES = {
    "paper": dict(corpus={"kind": "oracle", "vocab_size": 5000, "seq_len": 20, "n_train": 10_000},
                  pretrain=23_400, adv=3000, lstm={"kind": "lstm", "emb_dim": 32, "hidden": 32},
                  relational={"kind": "relational"}, multirep={"kind": "multirep"}, cnn={"kind": "cnn"}),
    "cpu": dict(corpus={"kind": "oracle", "vocab_size": 1000, "seq_len": 20, "n_train": 2000, "n_test": 1000},
                pretrain=150, adv=40, lstm={"kind": "lstm", "emb_dim": 32, "hidden": 32},
                relational={"kind": "relational", "head_size": 64},
                multirep={"kind": "multirep", "reps": 16, "filters": 32, "hidden": 32},
                cnn={"kind": "cnn", "emb_dim": 32, "filters": 32}),
}


def plan(scale: dict, name: str) -> tuple[dict, dict | None, dict, int]:
    """(generator, critic, variant config, total steps) for one table row."""
    p, a = scale["pretrain"], scale["adv"]
    if name == "mle":
        return scale["lstm"], None, {}, p + a
    if name == "relgan":
        return scale["relational"], scale["multirep"], {"pretrain_steps": p, "adv_iters": a, "pretrain_lr": 1e-2}, p + a
    if name == "leakgan":  # its own manager/worker generator; feature_dim follows the CNN critic
        return {"kind": "leakgan", "emb_dim": 32, "hidden": 32}, scale["cnn"], {"pretrain_steps": p}, p + a
    if name == "wgan-gp":
        return scale["lstm"], scale["cnn"], {"pretrain_steps": p, "relaxation": "gumbel", "pretrain_lr": 1e-2}, p + a
    return scale["lstm"], scale["cnn"], {"pretrain_steps": p}, p + a  # RL variants: their own Config otherwise


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default="mle,seqgan,rankgan,leakgan,maligan,dpgan,relgan,wgan-gp")
    ap.add_argument("--samples", type=int, default=2000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    scale = SCALES[a.scale]
    corpus = build_corpus(scale["corpus"])
    rows = [("real data (test split)", corpus.nll(corpus.test), float("nan"), PUBLISHED["real data"], 0.0)]
    for name in a.variants.split(","):
        if name not in VARIANTS:
            rows.append((f"{name} (not registered)", float("nan"), float("nan"), PUBLISHED.get(name), 0.0))
            continue
        gen, critic, vc, total = plan(scale, name)
        cfg = RunConfig(corpus=scale["corpus"], variant=name, generator=gen, critic=critic, variant_config=vc,
                        batch_size=64, seed=0, device=a.device, sample_every=0, eval_every=0, log_every=50)
        t = time.perf_counter()
        run = Run(cfg, corpus=corpus)
        for _ in run.steps(total):
            pass
        m = run.evaluate(a.samples, seed=0, record=False)
        rows.append((name, m["eval/nll_oracle"], m.get("eval/nll_gen", float("nan")), PUBLISHED.get(name),
                     time.perf_counter() - t))
        print(json.dumps({"variant": name, "steps": total, **m}), flush=True)
    print(f"\n| model ({a.scale} scale) | NLL-oracle | NLL-gen | published NLL-oracle | wall s |")
    print("|---|---|---|---|---|")
    for name, nll_o, nll_g, pub, wall in rows:
        print(f"| {name} | {nll_o:.3f} | {nll_g:.3f} | {pub if pub is not None else '—'} | {wall:.0f} |")


if __name__ == "__main__":
    main()
