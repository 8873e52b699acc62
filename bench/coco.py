"""The COCO MLE row under the published conventions, next to Texygen's table (Zhu et al. 2018).

Conventions (the `coco` corpus defaults, see README "Benchmark corpora"): Treebank tokenisation (nltk's, as
Texygen's `nltk.word_tokenize`), vocabulary from the training file (the published convention; the RESULTS.md
row was measured under the earlier train + test default: `--corpus-set vocab_from=train+test`), BLEU-n =
the mean over generated sentences of nltk's `sentence_bleu` (uniform weights, smoothing method1) against the whole
10,000-caption test split. Train the run first (Texygen's MLE: LSTM 32/32, Adam 0.01, clip 5, batch 64), e.g.

    OMP_NUM_THREADS=1 python -m textgan train --corpus coco --variant mle --preset paper --steps 12560 \\
        --eval-every 1570 --save-every 1570 --out checkpoints/coco-mle        # 80 epochs, Texygen's budget

then score each saved step (a run directory, or several):

    OMP_NUM_THREADS=1 python bench/coco.py checkpoints/coco-mle [--samples 2000] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics

from textgan.metrics import ReferenceIndex
from textgan.run import Run

TEXYGEN_MLE = {2: 0.731, 3: 0.497, 4: 0.305, 5: 0.189}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dirs", nargs="+")
    ap.add_argument("--samples", type=int, default=2000, help="generated sentences per seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="sampling seeds")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    print("| run | step | epochs | BLEU-2 | BLEU-3 | BLEU-4 | BLEU-5 | NLL-gen | `<unk>` share |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("| Texygen MLE (published) | | 80 | " + " | ".join(f"{v:.3f}" for v in TEXYGEN_MLE.values()) + " | | |")
    index = None
    for path in args.run_dirs:
        run = Run.load(path, device=args.device)
        if index is None:
            index = ReferenceIndex([run.corpus.strip(r) for r in run.corpus.test], max_n=5)
            real = index.bleu([run.corpus.strip(r) for r in run.corpus.train[:args.samples]], (2, 3, 4, 5))
            print(f"| training captions (real data, first {args.samples}) | | | "
                  + " | ".join(f"{real[n]:.3f}" for n in (2, 3, 4, 5)) + " | | |")
        per_seed = []
        for seed in args.seeds:
            seqs = [run.corpus.strip(r) for r in run.sample_tokens(args.samples, seed=seed).cpu()]
            per_seed.append(index.bleu(seqs, (2, 3, 4, 5)))
        m = run.evaluate(n=2, seed=0, record=False)  # NLL-gen and its <unk> share (the samples are not used)
        epochs = run.step * run.config.batch_size / run.corpus.train.shape[0]
        cells = []
        for n in (2, 3, 4, 5):
            vals = [s[n] for s in per_seed]
            spread = f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else ""
            cells.append(f"{statistics.mean(vals):.3f}{spread}")
        print(f"| {path} | {run.step} | {epochs:.1f} | " + " | ".join(cells)
              + f" | {m['eval/nll_gen']:.3f} | {m['eval/unk_share']:.3f} |")


if __name__ == "__main__":
    main()
