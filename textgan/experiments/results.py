"""The experiment directory's tables, from what the trials reported (whichever backend ran them):

- results.csv: one row per trial × evaluation (variant, seed, swept settings, step, budget, wall time, metrics);
- summary.csv: per variant and settings, mean and 95 % CI over seeds of every metric at each budget;
- temperature.csv: every trial's end-of-trial temperature sweep.

Seeds are the unit of replication (Semeniuta et al. 2018: best-of-n runs mislead), so the summary never keeps a
best seed, only the mean and Student-t interval over all of them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..stats import t95
from .samples import SAMPLES_FILE, SAMPLES_TABLE
from .trial import TEMPERATURE_FILE, TrialOutcome

RESULTS, SUMMARY, TEMPERATURES, SPEC = "results.csv", "summary.csv", "temperature.csv", "spec.json"
TRIALS_DIR = "trials"
ID_COLUMNS = ("trial", "variant", "group", "seed", "status", "message", "restarts", "nodes", "node", "attempt",
              "step", "budget", "wall_time")
"""Per trial: status, message, restarts (from its checkpoint) and every node that ran it; per row (evaluation):
the node that ran it and the attempt (1 = the first run) that reported it."""

def results_frame(outcomes: Iterable[TrialOutcome]):
    """results.csv as a DataFrame: the evaluations each trial reported, the last report of a step winning (a trial
    restarted from its checkpoint reports the steps after it again), each row with the node and attempt that
    reported it, each trial with its restarts and all its nodes."""
    rows = []
    for o in outcomes:
        by_step: dict[int, dict[str, Any]] = {}
        for r in o.rows:
            metrics = {k: v for k, v in r.items() if k.startswith("eval/")}
            if not metrics and by_step:
                continue  # a failed trial's last word carries no evaluation
            by_step[int(r["step"])] = {"step": int(r["step"]), "budget": r.get("budget", r["step"]),
                                       "wall_time": r.get("wall_time"), "node": r.get("node") or o.node.split(";")[-1],
                                       "attempt": int(r.get("attempt", o.restarts + 1)), **metrics}
        if not by_step:
            by_step[0] = {"step": 0, "budget": 0, "wall_time": 0.0, "node": "", "attempt": o.restarts + 1}
        t = o.trial
        for step in sorted(by_step):
            rows.append({"trial": t.name, "variant": t.variant, "group": t.group, "seed": t.seed,
                         "status": o.status, "message": o.message, "restarts": o.restarts, "nodes": o.node,
                         **{k: _cell(v) for k, v in t.settings.items()}, **by_step[step]})
    df = pd.DataFrame(rows)
    settings = [c for c in df.columns if c not in ID_COLUMNS and not c.startswith("eval/")]
    ordered = [c for c in ID_COLUMNS[:4] if c in df] + settings + [c for c in ID_COLUMNS[4:] if c in df]
    return df[ordered + sorted(c for c in df.columns if c.startswith("eval/"))]


def summary_frame(results):
    """summary.csv: long format, one row per (group, budget, metric): n seeds, mean, ci95 half-width, lo, hi."""
    metrics = [c for c in results.columns if c.startswith("eval/")] + ["wall_time", "step"]
    keys = ["variant", "group", *[c for c in results.columns
                                  if c not in ID_COLUMNS and not c.startswith("eval/")], "budget"]
    out = []
    for values, g in results.groupby(keys, sort=True, dropna=False):
        for m in metrics:
            x = pd.to_numeric(g[m], errors="coerce").dropna()
            if x.empty:
                continue
            n, mean = len(x), float(x.mean())
            half = t95(n) * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
            out.append({**dict(zip(keys, values)), "metric": m, "n": n, "mean": mean, "ci95": half,
                        "lo": mean - half, "hi": mean + half})
    return pd.DataFrame(out)


def temperature_frame(outcomes: Iterable[TrialOutcome]):
    """Every trial's temperature sweep, tagged with its trial, variant, group and seed (empty when none ran)."""
    frames = []
    for o in outcomes:
        p = o.run_dir / TEMPERATURE_FILE if o.run_dir is not None else None
        if p is not None and p.is_file():
            df = pd.read_csv(p)
            df.insert(0, "trial", o.trial.name)
            df.insert(1, "variant", o.trial.variant)
            df.insert(2, "group", o.trial.group)
            df.insert(3, "seed", o.trial.seed)
            frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def samples_frame(outcomes: Iterable[TrialOutcome]):
    """Every finished trial's report samples (`samples.py`), tagged like `temperature_frame`."""
    frames = []
    for o in outcomes:
        p = o.run_dir / SAMPLES_FILE if o.run_dir is not None else None
        if p is not None and p.is_file():
            df = pd.read_csv(p, keep_default_na=False, na_values=[""])
            for i, (col, value) in enumerate((("trial", o.trial.name), ("variant", o.trial.variant),
                                              ("group", o.trial.group), ("seed", o.trial.seed))):
                df.insert(i, col, value)
            frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fresh(path: Path) -> Path:
    """`path` with whatever was there removed, so that writing it makes a new file in the experiment directory and
    never writes through a link planted there to somewhere outside it."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    return path


def write_tables(exp_dir: str | Path, outcomes: list[TrialOutcome]) -> dict[str, Path]:
    """results.csv, summary.csv, temperature.csv and samples.csv into the experiment directory; returns their
    paths."""
    exp = Path(exp_dir)
    results = results_frame(outcomes)
    paths = {"results": exp / RESULTS, "summary": exp / SUMMARY, "temperature": exp / TEMPERATURES,
             "samples": exp / SAMPLES_TABLE}
    for path in paths.values():
        fresh(path)
    results.to_csv(paths["results"], index=False)
    summary_frame(results).to_csv(paths["summary"], index=False)
    temperature_frame(outcomes).to_csv(paths["temperature"], index=False)
    samples_frame(outcomes).to_csv(paths["samples"], index=False)
    return paths


def write_spec(exp_dir: str | Path, spec: dict[str, Any]) -> Path:
    p = Path(exp_dir) / SPEC
    p.parent.mkdir(parents=True, exist_ok=True)
    fresh(p).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return p


def _cell(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, (dict, list)) else v
