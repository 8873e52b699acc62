"""The experiment report: one self-contained HTML file of Plotly figures, rebuilt from the experiment directory's
tables alone (`python -m textgan report EXP_DIR`), so it can be regenerated, mailed or opened offline.

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

from .results import RESULTS, SPEC, SUMMARY, TEMPERATURES

REPORT = "report.html"
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f"]

# Quality-diversity axes per corpus: (column, label, transform). Both axes read "up/right is better".
QD_AXES = {
    "text": (("self_bleu4", "diversity: 1 − Self-BLEU-4", lambda s: 1 - s), ("bleu4", "quality: BLEU-4", None)),
    "oracle": (("nll_gen", "coverage: −NLL-gen (test under the model)", lambda s: -s),
               ("nll_oracle", "quality: −NLL-oracle (samples under the oracle)", lambda s: -s)),
    # mode entropy rather than coverage on `modes`: coverage saturates at 1 as soon as every mode is hit once
    "modes": (("entropy", "diversity: mode entropy (normalised)", None),
              ("precision", "quality: precision (valid samples)", None)),
}
CURVE_METRICS = {
    "text": ("eval/bleu4", "eval/self_bleu4", "eval/nll_gen"),
    "oracle": ("eval/nll_oracle", "eval/nll_gen"),
    "modes": ("eval/modes/precision", "eval/modes/coverage", "eval/modes/entropy"),
}


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


def _colors(groups) -> dict[str, str]:
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(groups))}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def learning_curves_figure(summary, metric: str, budget_label: str = "step"):
    """Mean over seeds against budget, one line per group, the 95 % CI as a shaded band."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=metric.removeprefix("eval/"), x=0.02), template="plotly_white", height=320,
                      margin=dict(l=50, r=20, t=40, b=40), xaxis_title=budget_label)
    if summary.empty or "metric" not in summary:
        return fig
    d = summary[summary.metric == metric]
    colors = _colors(d.group.unique())
    for group, g in d.groupby("group"):
        g = g.sort_values("budget")
        c = colors[group]
        if g.ci95.notna().any():
            band = g.dropna(subset=["ci95"])
            fig.add_trace(go.Scatter(x=list(band.budget) + list(band.budget[::-1]),
                                     y=list(band.hi) + list(band.lo[::-1]), fill="toself", fillcolor=_rgba(c, 0.15),
                                     line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=group))
        fig.add_trace(go.Scatter(x=g.budget, y=g["mean"], mode="lines+markers", name=f"{group} (n={g.n.max()})",
                                 line=dict(color=c, dash="dash" if group.startswith("mle") else "solid"),
                                 legendgroup=group))
    return fig


def frontier_figure(temperature, kind: str):
    """Each group's temperature curve (mean over seeds), error bars = 95 % CI; MLE dashed and black."""
    import plotly.graph_objects as go

    from .results import t95

    (xcol, xlabel, xf), (ycol, ylabel, yf) = QD_AXES[kind]
    fig = go.Figure()
    fig.update_layout(title=dict(text="Quality–diversity across sampling temperatures (up and right is better)",
                                 x=0.02), template="plotly_white", height=460, margin=dict(l=60, r=20, t=40, b=50),
                      xaxis_title=xlabel, yaxis_title=ylabel)
    if temperature.empty or xcol not in temperature or ycol not in temperature:
        fig.add_annotation(text="no temperature sweep in this experiment", showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5)
        return fig
    t = temperature.copy()
    t["_x"] = xf(t[xcol]) if xf else t[xcol]
    t["_y"] = yf(t[ycol]) if yf else t[ycol]
    colors = _colors(t.group.unique())
    for group, g in t.groupby("group"):
        agg = g.groupby("temperature").agg(x=("_x", "mean"), y=("_y", "mean"), sx=("_x", "std"), sy=("_y", "std"),
                                           n=("_x", "size")).reset_index()
        half = agg.n.map(lambda n: t95(n) / math.sqrt(n) if n > 1 else math.nan)
        is_mle = group.split(" ")[0] == "mle"
        fig.add_trace(go.Scatter(
            x=agg.x, y=agg.y, mode="lines+markers", name=f"{group} (n={int(agg.n.max())})",
            text=[f"T={v:g}" for v in agg.temperature], hovertemplate="%{text}<br>x=%{x:.3f}<br>y=%{y:.3f}",
            error_x=dict(array=(agg.sx * half).fillna(0), visible=True, thickness=1),
            error_y=dict(array=(agg.sy * half).fillna(0), visible=True, thickness=1),
            line=dict(color="#000" if is_mle else colors[group], dash="dash" if is_mle else "solid",
                      width=3 if is_mle else 2)))
    return fig


def summary_table(summary, metrics: list[str]) -> str:
    """HTML table at each group's last budget: mean ± 95 % CI (n seeds)."""
    if summary.empty:
        return "<p>No evaluations yet.</p>"
    last = summary[summary.budget == summary.groupby("group").budget.transform("max")]
    groups = sorted(last.group.unique())
    cols = [m for m in metrics if m in set(last.metric)] + ["wall_time", "step"]
    head = "".join(f"<th>{html.escape(c.removeprefix('eval/'))}</th>" for c in cols)
    body = []
    for g in groups:
        d = last[last.group == g].set_index("metric")
        cells = []
        for c in cols:
            if c not in d.index:
                cells.append("<td></td>")
                continue
            r = d.loc[c]
            ci = "" if math.isnan(r.ci95) else f" ± {r.ci95:.3g}"
            cells.append(f"<td>{r['mean']:.4g}{ci}</td>")
        n = int(d.n.max())
        body.append(f"<tr><td>{html.escape(g)}</td><td>{d.budget.iloc[0]:g}</td><td>{n}</td>{''.join(cells)}</tr>")
    return (f"<table><thead><tr><th>variant / settings</th><th>budget</th><th>seeds</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def figures(exp_dir: str | Path) -> dict[str, Any]:
    """The report's figures and table from an experiment directory (the app's Compare tab shows these)."""
    t = read_tables(exp_dir)
    kind = corpus_kind(t["spec"])
    budget = t["spec"].get("budget") or {}
    label = "wall-clock seconds" if budget.get("seconds") is not None else "step"
    metrics = [m for m in CURVE_METRICS[kind] if not t["summary"].empty and m in set(t["summary"].metric)]
    return {"curves": {m: learning_curves_figure(t["summary"], m, label) for m in metrics},
            "frontier": frontier_figure(t["temperature"], kind), "table": summary_table(t["summary"], metrics),
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
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(str(spec.get('name', 'sweep')))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
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
