"""Comparing runs (the Compare tab's engine): quick metrics at a fixed seed and temperature, a metrics table with
the best run per column, samples side by side, per-mode counts, the temperature sweep behind the
quality-diversity plot, and the saved runs a server offers (`list_checkpoints`, `load_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..checkpoint import CheckpointError
from ..experiments import temperature_sweep as run_temperature_sweep
from ..metrics.catalog import column_names
from ..run import Run

from .errors import LabError
from .session_view import mode_label
from .sharing import as_visitor


def quick_metrics(run, n: int = 500, seed: int = 0, temperature: float = 1.0) -> dict[str, float]:
    """The run's quick evaluation at a fixed seed and temperature, leaving the run's history untouched: exactly
    `Run.evaluate`, so every BLEU in a table is against the same references (the whole test split, named by
    `reference_set`) and on the same samples; NLL-gen comes with its `<unk>` share."""
    return run.evaluate(n=n, seed=seed, temperature=temperature, record=False)


def reference_set(run) -> str:
    """What a run's BLEU is measured against, for the table: '' when the corpus has no BLEU."""
    if run.corpus.name != "text" or not run.corpus.test.shape[0]:
        return ""
    name = run.corpus.spec.get("kind", "text")
    return f"{name} test split ({run.corpus.test.shape[0]:,} sentences)"


LOWER_IS_BETTER = ("nll", "self_bleu", "invalid", "js", "divergence")
HIGHER_IS_BETTER = ("coverage", "precision", "entropy", "effective", "bleu")
"""Metrics with a direction (matched as substrings, lower first: "self_bleu" before "bleu"). The others
(distinct-n, unique ratio, length) have none: word salad maximises them, so no ★ is given for them."""
PRECISION_FLOOR = 0.05
"""On `modes`, a run whose samples are almost all invalid (precision below this) wins no ★: its diversity is noise."""


def direction(column: str) -> bool | None:
    """True when higher is better, False when lower is, None when the metric has no direction."""
    if any(s in column for s in LOWER_IS_BETTER):
        return False
    if any(s in column for s in HIGHER_IS_BETTER):
        return True
    return None


def metrics_table(runs: dict[str, Any], n: int = 500, seed: int = 0, temperature: float = 1.0):
    """One row per run (index: its name): step, variant and its quick metrics; `df.attrs["best"]` maps each
    metric column with a direction to the name of the best run, among the runs that write valid samples."""
    rows = {}
    for name, run in runs.items():
        m = quick_metrics(run, n, seed, temperature)
        rows[name] = {"variant": run.config.variant, "step": run.step,
                      **{k.removeprefix("eval/"): round(v, 4) for k, v in m.items() if "/share/" not in k}}
        if reference_set(run):
            rows[name]["BLEU references"] = reference_set(run)
    df = pd.DataFrame.from_dict(rows, orient="index")
    best = {}
    eligible = df
    if "modes/precision" in df:
        eligible = df[df["modes/precision"].fillna(0) >= PRECISION_FLOOR]
    for col in (df.columns if len(df) > 1 else ()):  # a best of one means nothing
        up = direction(col)
        if (col in ("variant", "step") or up is None or not pd.api.types.is_numeric_dtype(df[col])
                or col not in eligible or eligible[col].isna().all()):
            continue
        best[col] = eligible[col].idxmax() if up else eligible[col].idxmin()
    df.attrs["best"] = best
    return df


def mark_best(df):
    """The metrics table for display: the best value of each column gets a ★."""
    out = df.astype(object).copy()
    for col, name in df.attrs.get("best", {}).items():
        out.loc[name, col] = f"★ {df.loc[name, col]}"
    out.insert(0, "run", out.index)
    return out.reset_index(drop=True)


def side_by_side(runs: dict[str, Any], n: int = 8, seed: int = 0, temperature: float = 1.0):
    """Samples of every run drawn with the same seed and temperature, one column per run; on `modes` each
    sentence carries its mode ("[mode 3]" or "[invalid]")."""
    cols = {}
    for name, run in runs.items():
        ids = run.sample_tokens(n, seed=seed, temperature=temperature)
        texts = run.corpus.decode_batch(ids)
        if hasattr(run.corpus, "classify_ids"):
            texts = [f"{t}  [{mode_label(m)}]" for t, m in zip(texts, run.corpus.classify_ids(ids).tolist())]
        cols[name] = texts
    return pd.DataFrame(cols)


def mode_counts(run, n: int = 500, seed: int = 0, temperature: float = 1.0) -> dict[str, Any]:
    """Per-mode counts of `n` fresh samples of a `modes` run, for `plots.mode_histogram(**mode_counts(run))`."""
    corpus = run.corpus
    if not hasattr(corpus, "classify_ids"):
        raise LabError(f"the {corpus.name!r} corpus has no modes to count")
    modes = corpus.classify_ids(run.sample_tokens(n, seed=seed, temperature=temperature)).tolist()
    counts = [0] * corpus.k
    for m in modes:
        if m >= 0:
            counts[m] += 1
    return {"counts": counts, "weights": list(corpus.weights), "invalid": sum(m < 0 for m in modes), "step": run.step}


def list_checkpoints(root: str | Path = "checkpoints") -> list[str]:
    """Run directories under `root` (those holding a config.json and generator weights), newest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    dirs = [p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")
            and (p / "config.json").is_file() and (p / "generator.safetensors").is_file()]
    return [str(p) for p in sorted(dirs, key=lambda p: p.stat().st_mtime, reverse=True)]


def load_run(path: str | Path, device: str = "auto"):
    """Run.load with a LabError carrying the checkpoint's message. A run's `hub:` corpus is read for the visitor
    (anonymously unless a handler set their token), never with the server's token."""
    try:
        with as_visitor():
            return Run.load(path, device=device)
    except (CheckpointError, ValueError, OSError) as e:
        raise LabError(f"cannot open {path}: {e}") from None



QD_TEMPERATURES = (0.5, 0.7, 1.0, 1.3, 2.0)
"""The temperatures of the Compare tab's quality-diversity sweep."""


def temperature_sweep(runs: dict[str, Any], temperatures=QD_TEMPERATURES, n: int = 200) -> dict[str, Any]:
    """Quality and diversity of each run at each temperature ({name: DataFrame}), for
    `plots.quality_diversity_figure`."""
    return {name: run_temperature_sweep(run, temperatures=temperatures, n_samples=n) for name, run in runs.items()}


def history_frame(run):
    """A run's logged history as a DataFrame (one row per logged step), for `plots.compare_figure`."""
    return pd.DataFrame(run.history)


PLAIN = {**column_names(), "BLEU references": "BLEU against"}
"""Plain words for the metrics table's columns, from the metrics catalog (the raw key stays on hover: `raw_keys`),
plus the one column that is not a metric: which references BLEU was computed against."""


def plain_table(shown):
    """The displayed metrics table (`mark_best`'s) with plain column names; unknown keys keep their own name."""
    return shown.rename(columns={k: v for k, v in PLAIN.items() if k in shown.columns})


def raw_keys(columns) -> dict[str, str]:
    """Plain column name -> the raw metric key, for the hover text of the displayed table."""
    inverse = {v: k for k, v in PLAIN.items()}
    return {c: inverse[c] for c in columns if c in inverse}
