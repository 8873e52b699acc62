"""The experiment report: one self-contained HTML file of Plotly figures (drawn by `textgan.plots`), rebuilt from
the experiment directory's tables alone (`python -m textgan report EXP_DIR`), so it can be regenerated, mailed or
opened offline.

- learning curves: each variant/settings group's mean over seeds at each budget, with its 95 % CI as a band;
- the quality–diversity frontier: each group's temperature sweep (mean over seeds), each point labelled with its
  temperature, MLE's curves dashed as the baseline GANs must beat (Caccia et al. 2020);
- the summary table at the last budget (mean ± CI, n seeds);
- each group's samples side by side: the same sampling seed and temperature for every group, each sentence with
  its score (samples.csv).
Next to it (`export.py`): summary.md and summary.tex, and every figure under figures/ (SVG and PNG).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .. import plots
from ..metrics.catalog import CORPUS_METRICS
from .export import figure_name, write_figures, write_summary_tables
from .results import RESULTS, SPEC, SUMMARY, TEMPERATURES, fresh
from .samples import SAMPLES_TABLE

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
    samples = pd.read_csv(exp / SAMPLES_TABLE, keep_default_na=False) if (exp / SAMPLES_TABLE).is_file() and \
        (exp / SAMPLES_TABLE).stat().st_size > 1 else pd.DataFrame()
    return {"spec": spec, "results": read(RESULTS), "summary": read(SUMMARY), "temperature": read(TEMPERATURES),
            "samples": samples}


def summary_rows(summary, metrics: list[str]):
    """The summary at each group's last budget as a display table: one row per group, "mean ± CI" per metric."""
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


def samples_html(samples) -> str:
    """Each group's samples side by side (one column per group, the group's first seed), each sentence with its
    score; every text escaped."""
    if samples.empty or "group" not in samples:
        return "<p>No samples (no trial finished).</p>"
    first = samples[samples.seed == samples.groupby("group").seed.transform("min")]
    groups = sorted(first.group.unique())
    by_group = {g: first[first.group == g].sort_values("index") for g in groups}
    n = max(len(d) for d in by_group.values())
    temps = sorted({float(t) for t in first.temperature})
    head = "".join(f"<th>{html.escape(str(g))}<br><small>seed {int(by_group[g].seed.iloc[0])}</small></th>"
                   for g in groups)
    rows = []
    for i in range(n):
        cells = []
        for g in groups:
            d = by_group[g]
            if i >= len(d):
                cells.append("<td></td>")
                continue
            r = d.iloc[i]
            value = pd_number(r["value"])
            score = "" if value is None else (f"{r['metric']}={value:.3g}" if r["metric"] != "mode" else
                                               ("invalid" if value < 0 else f"mode {int(value)}"))
            cells.append(f"<td class=sample>{html.escape(str(r['text']))}<br><small>{html.escape(score)}</small></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = (f"<p>Sampling seed 0 at temperature {', '.join(f'{t:g}' for t in temps)} for every group (the run of "
            "its first seed), so the columns differ only by the model. Score per sentence: BLEU-4 against the whole "
            "test split on text, NLL under the oracle on <code>oracle</code>, the mode on <code>modes</code>.</p>")
    return note + f"<div class=wide><table><tr>{head}</tr>{''.join(rows)}</table></div>"


def pd_number(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


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
    return {"curves": {m: plots.seed_band_figure(t["summary"], m, label) for m in metrics},
            "frontier": plots.frontier_figure(t["temperature"], QD_AXES[kind]),
            "table": summary_table(t["summary"], metrics),
            "rows": summary_rows(t["summary"], metrics),
            "samples": samples_html(t["samples"]),
            "results": t["results"], "summary": t["summary"], "spec": t["spec"], "kind": kind}


def write_report(exp_dir: str | Path, images: bool = False) -> Path:
    """report.html in the experiment directory, with plotly.js embedded once (works offline), and beside it
    summary.md, summary.tex and figures/ (`export.py`; `images=False` writes the figures as JSON only)."""
    exp = Path(exp_dir)
    f = figures(exp)
    statics = {"frontier": f["frontier"], **{f"curve_{figure_name(m.removeprefix('eval/'))}": fig
                                             for m, fig in f["curves"].items()}}
    exported = write_figures(exp, statics, images)
    write_summary_tables(exp, f["rows"], "Mean ± 95 % Student-t CI over seeds at the final budget.")
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
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:8px}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}
.wide{{overflow-x:auto}}td.sample{{text-align:left;vertical-align:top;min-width:14em}}</style>
</head><body><h1>Experiment {html.escape(str(spec.get('name', '')))}</h1>
<p>{n_trials} trials on corpus <code>{html.escape(json.dumps(spec.get('corpus')))}</code>, budget
<code>{html.escape(json.dumps(spec.get('budget')))}</code>. Means over seeds with 95 % Student-t intervals; no best-seed
picking.</p>
<h2>Quality–diversity frontier</h2>{parts[0]}
<h2>Summary at the final budget</h2>{f['table']}
<p>Also as <a href="summary.md">summary.md</a> and <a href="summary.tex">summary.tex</a>; {html.escape(exported)}.</p>
{'<h2>Failed trials</h2><ul>' + failures + '</ul>' if failures else ''}
<h2>Samples, side by side</h2>{f['samples']}
<h2>Learning curves</h2><div class="grid">{''.join(parts[1:])}</div>
<h2>Spec</h2><pre>{html.escape(json.dumps(spec, indent=2))}</pre></body></html>"""
    path = exp / REPORT
    tmp = fresh(exp / f".{REPORT}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
