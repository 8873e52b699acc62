"""The experiment report: one self-contained HTML file of Plotly figures (drawn by `textgan.plots`), rebuilt from
the experiment directory's tables alone (`python -m textgan report EXP_DIR`), so it can be regenerated, mailed or
opened offline.

- learning curves: each variant/settings group's mean over seeds at each budget, with its 95 % CI as a band;
- the quality–diversity frontier: each group's temperature sweep (mean over seeds), MLE's curve dashed as the
  baseline GANs must beat (Caccia et al. 2020);
- the summary table at the last budget (mean ± CI, n seeds).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from ..metrics.catalog import CORPUS_METRICS
from .results import RESULTS, SPEC, SUMMARY, TEMPERATURES

REPORT = "report.html"

# Quality-diversity axes per corpus: (column, label, transform). Both axes read "up/right is better".
QD_AXES = {
    "text": (("self_bleu4", "diversity: 1 − Self-BLEU-4", lambda s: 1 - s), ("bleu4", "quality: BLEU-4", None)),
    "oracle": (("nll_gen", "coverage: −NLL-gen (test under the model)", lambda s: -s),
               ("nll_oracle", "quality: −NLL-oracle (samples under the oracle)", lambda s: -s)),
    # mode entropy rather than coverage on `modes`: coverage saturates at 1 as soon as every mode is hit once
    "modes": (("entropy", "diversity: mode entropy (normalised)", None),
              ("precision", "quality: precision (valid samples)", None)),
}
CURVE_METRICS = CORPUS_METRICS
"""Each corpus family's headline metrics (textgan.metrics.catalog), drawn over time."""


def corpus_kind(spec: dict[str, Any]) -> str:
    kind = (spec.get("corpus") or {}).get("kind", "text")
    return kind if kind in ("oracle", "modes") else "text"


def read_tables(exp_dir: str | Path) -> dict[str, Any]:
    """spec, results, summary and temperature tables of an experiment directory (empty frames where missing)."""
    import pandas as pd

    exp = Path(exp_dir)
    if not (exp / RESULTS).is_file():
        raise FileNotFoundError(f"{exp} is not an experiment directory: {RESULTS} is missing "
                                "(run `python -m textgan sweep` first)")

    def read(name: str):
        p = exp / name
        try:
            return pd.read_csv(p) if p.is_file() and p.stat().st_size else pd.DataFrame()
        except pd.errors.EmptyDataError:
            return pd.DataFrame()

    spec = json.loads((exp / SPEC).read_text(encoding="utf-8")) if (exp / SPEC).is_file() else {}
    return {"spec": spec, "results": read(RESULTS), "summary": read(SUMMARY), "temperature": read(TEMPERATURES)}


def summary_rows(summary, metrics: list[str]):
    """The summary at each group's last budget as a display table: one row per group, "mean ± CI" per metric."""
    import pandas as pd

    if summary.empty:
        return pd.DataFrame()
    last = summary[summary.budget == summary.groupby("group").budget.transform("max")]
    cols = [m for m in metrics if m in set(last.metric)] + ["wall_time", "step"]
    rows = []
    for g in sorted(last.group.unique()):
        d = last[last.group == g].set_index("metric")
        row = {"variant / settings": g, "budget": f"{d.budget.iloc[0]:g}", "seeds": int(d.n.max())}
        for c in cols:
            if c in d.index:
                r = d.loc[c]
                row[c.removeprefix("eval/")] = f"{r['mean']:.4g}" + ("" if math.isnan(r.ci95) else f" ± {r.ci95:.2g}")
        rows.append(row)
    return pd.DataFrame(rows)


def summary_table(summary, metrics: list[str]) -> str:
    """`summary_rows` as an HTML table (values escaped)."""
    rows = summary_rows(summary, metrics)
    return "<p>No evaluations yet.</p>" if rows.empty else rows.to_html(index=False, escape=True, na_rep="")


def figures(exp_dir: str | Path) -> dict[str, Any]:
    """The report's figures and table from an experiment directory (the app's Compare tab shows these)."""
    t = read_tables(exp_dir)
    kind = corpus_kind(t["spec"])
    budget = t["spec"].get("budget") or {}
    label = "wall-clock seconds" if budget.get("seconds") is not None else "step"
    metrics = [m for m in CURVE_METRICS[kind] if not t["summary"].empty and m in set(t["summary"].metric)]
    from .. import plots

    return {"curves": {m: plots.seed_band_figure(t["summary"], m, label) for m in metrics},
            "frontier": plots.frontier_figure(t["temperature"], QD_AXES[kind]),
            "table": summary_table(t["summary"], metrics),
            "rows": summary_rows(t["summary"], metrics),
            "results": t["results"], "summary": t["summary"], "spec": t["spec"], "kind": kind}


def write_report(exp_dir: str | Path) -> Path:
    """report.html in the experiment directory, with plotly.js embedded once (works offline)."""
    exp = Path(exp_dir)
    f = figures(exp)
    spec, results = f["spec"], f["results"]
    parts = []
    first = True
    for fig in [f["frontier"], *f["curves"].values()]:
        parts.append(fig.to_html(full_html=False, include_plotlyjs=bool(first), config={"displaylogo": False}))
        first = False
    failed = results[results.status == "failed"].drop_duplicates("trial") if "status" in results else results[:0]
    failures = "".join(f"<li>{html.escape(str(r.trial))}: {html.escape(str(r.message))}</li>"
                       for r in failed.itertuples())
    n_trials = results.trial.nunique() if "trial" in results else 0
    title = html.escape(str(spec.get("name", "sweep")))
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:8px}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}</style>
</head><body><h1>Experiment {html.escape(str(spec.get('name', '')))}</h1>
<p>{n_trials} trials on corpus <code>{html.escape(json.dumps(spec.get('corpus')))}</code>, budget
<code>{html.escape(json.dumps(spec.get('budget')))}</code>. Means over seeds with 95 % Student-t intervals; no best-seed
picking.</p>
<h2>Quality–diversity frontier</h2>{parts[0]}
<h2>Summary at the final budget</h2>{f['table']}
{'<h2>Failed trials</h2><ul>' + failures + '</ul>' if failures else ''}
<h2>Learning curves</h2><div class="grid">{''.join(parts[1:])}</div>
<h2>Spec</h2><pre>{html.escape(json.dumps(spec, indent=2))}</pre></body></html>"""
    path = exp / REPORT
    tmp = exp / f".{REPORT}.tmp"
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
