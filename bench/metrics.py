"""Speed of the metrics suite against nltk (and fast-bleu when installed), measured in the same process.

    python bench/metrics.py [--data ../shared/data/coco] [--nltk-self 50] [--nltk-bleu 10]

Generated sentences are stood in for by the first 1,000 COCO training captions; references are the 10,000 COCO
test captions (lower-cased, whitespace-tokenized). nltk is timed on a subset and extrapolated linearly (each
sentence is an independent `sentence_bleu` call, so the cost is linear in the hypotheses); the table says so.
Ours is the best of 3 runs. The scores are also checked to be identical on the nltk subset.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from textgan.metrics import ReferenceIndex, js_n, self_bleu, self_bleu_scores

ORDERS = (2, 3, 4, 5)


def best_of(fn, repeats: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data, help="folder with COCO train.txt and test.txt")
    ap.add_argument("--n", type=int, default=1000, help="generated sentences")
    ap.add_argument("--nltk-self", type=int, default=50, help="sentences nltk's Self-BLEU loop is timed on")
    ap.add_argument("--nltk-bleu", type=int, default=10, help="hypotheses nltk's BLEU is timed on")
    args = ap.parse_args()
    for name in ("train.txt", "test.txt"):
        if not (args.data / name).exists():
            raise SystemExit(f"{args.data / name} not found: pass --data pointing at the COCO benchmark folder")
    read = lambda name: [s.lower().split() for s in (args.data / name).read_text().splitlines()]  # noqa: E731
    refs, gen = read("test.txt"), read("train.txt")[: args.n]

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smooth = SmoothingFunction().method1
    rows = []

    # Self-BLEU-4 over n generated sentences, leave-one-out
    t_ours, ours = best_of(lambda: self_bleu_scores(gen, 4))
    k = args.nltk_self
    t = time.perf_counter()
    ref_scores = [sentence_bleu(gen[:i] + gen[i + 1 :], gen[i], (0.25,) * 4, smooth) for i in range(k)]
    t_nltk = (time.perf_counter() - t) * len(gen) / k
    diff = float(np.max(np.abs(np.asarray(ref_scores) - ours[:k])))
    rows.append((f"Self-BLEU-4, {len(gen)} sentences", t_ours, t_nltk, f"nltk on {k}, x{len(gen) / k:.0f}", diff))
    try:
        from fast_bleu import SelfBLEU

        t_fast, fast = best_of(lambda: SelfBLEU(gen, {"4": (0.25,) * 4}).get_score()["4"], repeats=1)
        fast_diff = float(np.max(np.abs(np.asarray(fast) - ours)))
        rows.append((f"  fast-bleu SelfBLEU, leave-one-out (max diff vs ours, all: {fast_diff:.0e})", t_fast,
                     None, "", None))
    except ImportError:
        pass

    # BLEU-2..5: n hypotheses against all test references
    t_build, index = best_of(lambda: ReferenceIndex(refs, max_n=5))
    t_score, _ = best_of(lambda: index.bleu(gen, ORDERS))
    per = np.stack([index.sentence_bleu(gen[: args.nltk_bleu], n) for n in ORDERS], 1)
    k = args.nltk_bleu
    t = time.perf_counter()
    weights = [(1.0 / n,) * n for n in ORDERS]  # one call scores all four orders
    nltk_rows = [sentence_bleu(refs, h, weights, smooth) for h in gen[:k]]
    t_nltk = (time.perf_counter() - t) * len(gen) / k
    diff = float(np.max(np.abs(np.asarray(nltk_rows, dtype=float) - per)))
    label = f"BLEU-2..5, {len(gen)} hyps vs {len(refs)} refs"
    rows.append((label + " (index + score)", t_build + t_score, t_nltk, f"nltk on {k}, x{len(gen) / k:.0f}", diff))
    rows.append(("  reference index build (once per run)", t_build, None, "", None))
    rows.append(("  scoring with a built index", t_score, None, "", None))

    # JS-1..4 and Self-BLEU-2..5 at once, for context
    t_js, js = best_of(lambda: js_n(gen, refs))
    rows.append((f"JS-1..4, {len(gen)} vs {len(refs)} sentences", t_js, None, "", None))
    t_sb, _ = best_of(lambda: self_bleu(gen, ORDERS))
    rows.append((f"Self-BLEU-2..5, {len(gen)} sentences", t_sb, None, "", None))

    print(f"machine: {os.cpu_count()} CPU cores, {cpu_model()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print("| metric | ours (s) | nltk (s) | speed-up | nltk timing | max abs diff vs nltk |")
    print("|---|---|---|---|---|---|")
    for name, ours_s, nltk_s, how, d in rows:
        ratio = f"{nltk_s / ours_s:,.0f}x" if nltk_s else ""
        nl = f"{nltk_s:.1f}" if nltk_s else ""
        dd = f"{d:.1e}" if d is not None else ""
        print(f"| {name} | {ours_s:.4f} | {nl} | {ratio} | {how} | {dd} |")
    print(f"(JS values: {', '.join(f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}' for k, v in js.items())})")


if __name__ == "__main__":
    main()
