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

from .trial import TEMPERATURE_FILE, TrialOutcome

RESULTS, SUMMARY, TEMPERATURES, SPEC = "results.csv", "summary.csv", "temperature.csv", "spec.json"
TRIALS_DIR = "trials"
ID_COLUMNS = ("trial", "variant", "group", "seed", "status", "message", "node", "step", "budget", "wall_time")

# Two-sided 95 % Student-t quantiles by degrees of freedom (1..30); above 30 the normal's 1.96 is close enough.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(n: int) -> float:
    """The 97.5 % quantile of Student's t with n - 1 degrees of freedom (NaN for a single seed)."""
    if n < 2:
        return math.nan
    return _T95[n - 2] if n - 1 <= len(_T95) else 1.96


def results_frame(outcomes: Iterable[TrialOutcome]):
    """results.csv as a DataFrame: the evaluations each trial reported, the last report of a step winning (a trial
    restarted from its checkpoint reports the steps after it again)."""
    import pandas as pd

    rows = []
    for o in outcomes:
        by_step: dict[int, dict[str, Any]] = {}
        for r in o.rows:
            metrics = {k: v for k, v in r.items() if k.startswith("eval/")}
            if not metrics and by_step:
                continue  # a failed trial's last word carries no evaluation
            by_step[int(r["step"])] = {"step": int(r["step"]), "budget": r.get("budget", r["step"]),
                                       "wall_time": r.get("wall_time"), **metrics}
        if not by_step:
            by_step[0] = {"step": 0, "budget": 0, "wall_time": 0.0}
        t = o.trial
        for step in sorted(by_step):
            rows.append({"trial": t.name, "variant": t.variant, "group": t.group, "seed": t.seed,
                         "status": o.status, "message": o.message, "node": o.node,
                         **{k: _cell(v) for k, v in t.settings.items()}, **by_step[step]})
    df = pd.DataFrame(rows)
    settings = [c for c in df.columns if c not in ID_COLUMNS and not c.startswith("eval/")]
    ordered = [c for c in ID_COLUMNS[:4] if c in df] + settings + [c for c in ID_COLUMNS[4:] if c in df]
    return df[ordered + sorted(c for c in df.columns if c.startswith("eval/"))]


def summary_frame(results):
    """summary.csv: long format, one row per (group, budget, metric): n seeds, mean, ci95 half-width, lo, hi."""
    import pandas as pd

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
    import pandas as pd

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


def write_tables(exp_dir: str | Path, outcomes: list[TrialOutcome]) -> dict[str, Path]:
    """results.csv, summary.csv and temperature.csv into the experiment directory; returns their paths."""
    exp = Path(exp_dir)
    results = results_frame(outcomes)
    paths = {"results": exp / RESULTS, "summary": exp / SUMMARY, "temperature": exp / TEMPERATURES}
    results.to_csv(paths["results"], index=False)
    summary_frame(results).to_csv(paths["summary"], index=False)
    temperature_frame(outcomes).to_csv(paths["temperature"], index=False)
    return paths


def write_spec(exp_dir: str | Path, spec: dict[str, Any]) -> Path:
    p = Path(exp_dir) / SPEC
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return p


def _cell(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, (dict, list)) else v
