"""Plotly figures from a run's history: the only module that imports plotly (inside each function).

Every figure takes plain data (a history DataFrame with a `step` column and namespaced metric columns, as
`Session.snapshot()["history"]`, `pd.DataFrame(run.history)` or a run directory's history.csv give it) and sets
`uirevision`, so a figure redrawn every second by the app keeps the user's zoom and hidden traces.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from .metrics.catalog import GROUPS as METRIC_GROUPS, UNIT_METRICS
from .stats import t95

LOSSES = (("loss/critic", "critic loss"), ("loss/gen", "generator loss"), ("wasserstein", "Wasserstein estimate"),
          ("loss/mle", "MLE loss (pre-training, padding counted)"))
GRAD_NORMS = (("grad_norm/gen", "generator"), ("grad_norm/critic", "critic"),
              ("grad_norm/critic_input", "critic input at interpolates"))
# METRIC_GROUPS (textgan.metrics.catalog): what the metrics figure shows, one group at a time (one axis, at most four
# traces): the mode metrics on `modes`, the n-gram metrics on text, the likelihoods (nats) on the oracle.
HEIGHT = 236
"""Figure height in pixels: two rows of the app's live figures fit a 720-pixel-high screen with the controls."""


def _figure(title: str, uirevision: str, ytitle: str = "", log_y: bool = False):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=title, x=0.02, font=dict(size=14)), uirevision=uirevision,
                      template="plotly_white", height=HEIGHT, margin=dict(l=50, r=20, t=40, b=40),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
                      xaxis_title="step", yaxis_title=ytitle)
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _series(history, column: str):
    """(steps, values) of one column, rows where it is missing dropped; None when absent."""
    if history is None or len(history) == 0 or column not in history or "step" not in history:
        return None
    d = history[["step", column]].dropna()
    if d.empty:
        return None
    return d["step"].tolist(), d[column].tolist()


def _empty_note(fig, text: str):
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(color="#888"))
    return fig


def loss_figure(history, uirevision: str = "losses", name: str = ""):
    """Critic loss, generator loss and the Wasserstein estimate over steps."""
    import plotly.graph_objects as go

    fig = _figure("Losses" + (f" — {name}" if name else ""), uirevision, "loss")
    for col, label in LOSSES:
        s = _series(history, col)
        if s is not None:
            fig.add_trace(go.Scatter(x=s[0], y=s[1], mode="lines", name=label))
    return fig if fig.data else _empty_note(fig, "press Train: the losses appear here")


def grad_norm_figure(history, uirevision: str = "grad_norms"):
    """Gradient norms of the generator and the critic, and the critic's input-gradient norm at interpolates
    (what WGAN-GP pushes towards 1), on a log scale."""
    import plotly.graph_objects as go

    fig = _figure("Gradient norms", uirevision, "L2 norm (log scale)", log_y=True)
    for col, label in GRAD_NORMS:
        s = _series(history, col)
        if s is not None:
            # A log axis cannot show zeros (e.g. a critic whose weights are clipped to a constant).
            ys = [y if y > 0 else None for y in s[1]]
            fig.add_trace(go.Scatter(x=s[0], y=ys, mode="lines", name=label))
    return fig if fig.data else _empty_note(fig, "gradient norms appear here")


def metric_group(history) -> str:
    """The metrics group that fits a history: mode metrics when it has them, else the n-gram metrics on text,
    else the likelihoods."""
    for group in ("modes", "n-grams", "likelihood"):
        if any(_series(history, col) is not None for col, _ in METRIC_GROUPS[group][:2]):
            return group
    return "modes"


def metrics_figure(history, uirevision: str = "metrics", group: str = "auto"):
    """One group of evaluation metrics over steps (`METRIC_GROUPS`; "auto" picks by `metric_group`): scores in
    [0, 1] on a fixed axis, likelihoods in nats."""
    import plotly.graph_objects as go

    if group == "auto":
        group = metric_group(history)
    if group not in METRIC_GROUPS:
        raise ValueError(f"unknown metrics group {group!r}; choose auto or one of {sorted(METRIC_GROUPS)}")
    unit = group != "likelihood"
    fig = _figure(f"Metrics: {group}", uirevision, "score (0–1)" if unit else "nats")
    for col, label in METRIC_GROUPS[group]:
        s = _series(history, col)
        if s is not None:
            fig.add_trace(go.Scatter(x=s[0], y=s[1], mode="lines+markers", name=label))
    if unit:
        fig.update_layout(yaxis=dict(range=[-0.02, 1.02]))
    return fig if fig.data else _empty_note(fig, f"{group} metrics appear after the first evaluation")


def mode_histogram(counts: Sequence[int] | None, weights: Sequence[float] | None, invalid: int = 0,
                   step: int | None = None, uirevision: str = "modes"):
    """The picture of mode collapse: the share of the latest samples in each mode next to the true mode weights.
    Invalid samples (in no mode) get their own bar, so the shares of all bars add up to 1."""
    import plotly.graph_objects as go

    fig = _figure("Modes of the latest samples" + (f" (step {step})" if step is not None else ""), uirevision,
                  "share of samples")
    fig.update_layout(xaxis_title="mode", barmode="group")
    if counts is None or weights is None:
        return _empty_note(fig, "the per-mode histogram appears with the first samples (modes corpus)")
    total = sum(counts) + invalid
    names = [str(i) for i in range(len(counts))]
    share = [c / total if total else 0.0 for c in counts]
    fig.add_trace(go.Bar(x=names + ["invalid"], y=share + [invalid / total if total else 0.0],
                         name="generated", marker_color=["#636efa"] * len(counts) + ["#bbbbbb"]))
    fig.add_trace(go.Bar(x=names, y=list(weights), name="true weight", marker_color="#00cc96", opacity=0.6))
    fig.update_xaxes(type="category")
    return fig


def compare_figure(histories: Mapping[str, Any], column: str = "loss/gen", uirevision: str = "compare",
                   title: str | None = None):
    """One column (a loss, a metric) of several runs overlaid, one trace per run."""
    import plotly.graph_objects as go

    log_y = column.startswith("grad_norm")
    fig = _figure(title or f"{column} by run", uirevision, column, log_y=log_y)
    for name, h in histories.items():
        s = _series(h, column)
        if s is not None:
            fig.add_trace(go.Scatter(x=s[0], y=s[1], mode="lines+markers" if column.startswith("eval/") else "lines",
                                     name=name))
    if column in UNIT_METRICS:
        fig.update_layout(yaxis=dict(range=[-0.02, 1.02]))
    return fig if fig.data else _empty_note(fig, f"no run has {column!r}")


QD_UNIT = {"precision", "coverage", "entropy", "bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3",
           "self_bleu4", "self_bleu5"}
"""Temperature-sweep columns in [0, 1]."""


def quality_diversity_figure(sweeps: Mapping[str, Any], uirevision: str = "quality_diversity"):
    """Quality against diversity across sampling temperatures, one curve per run, from
    `experiments.temperature_sweep`
    DataFrames (their `attrs` name the two axes and which direction is better)."""
    import plotly.graph_objects as go

    fig = _figure("Quality vs diversity (temperature sweep)", uirevision)
    q = d = None
    better: dict[str, bool] = {}
    for name, df in sweeps.items():
        q, d = df.attrs.get("quality", "precision"), df.attrs.get("diversity", "coverage")
        better = dict(df.attrs.get("higher_is_better", {}))
        # On `modes` the sweep's diversity (coverage: modes hit at least once) sits at 1.0 at every temperature
        # once a run covers all modes: a vertical line. The spread over the modes (normalised entropy) moves.
        if df.attrs.get("corpus") == "modes" and "entropy" in df:
            d, better["entropy"] = "entropy", True
        fig.add_trace(go.Scatter(x=df[d].tolist(), y=df[q].tolist(), mode="lines+markers", name=name,
                                 text=[f"T={t:g}" for t in df["temperature"]],
                                 hovertemplate="%{text}<br>" + f"{d}=%{{x:.3f}}<br>{q}=%{{y:.3f}}<extra>{name}</extra>"))
    if q is None:
        return _empty_note(fig, "no sweep yet")

    def arrow(col: str) -> str:
        return "(higher is better)" if better.get(col, True) else "(lower is better)"

    fig.update_layout(xaxis_title=f"{d} {arrow(d)}", yaxis_title=f"{q} {arrow(q)}")
    for axis, col in (("xaxis", d), ("yaxis", q)):
        if col in QD_UNIT:  # a fixed [0, 1] axis: the curves are comparable across runs and never padded to 1.8
            fig.update_layout({axis: dict(range=[-0.02, 1.02])})
    return fig


def mode_share_figure(history, k: int | None = None, uirevision: str = "mode_share"):
    """Mode collapse over time: the share of the evaluation samples in each mode as a stacked area (invalid samples
    in grey on top, so the stack is 1), with the effective number of modes as a black line on the right axis.
    A student sees the modes die one by one as colours vanish and the line falls."""
    import plotly.graph_objects as go

    fig = _figure("Mode shares over time", uirevision, "share of samples")
    if history is None or len(history) == 0:
        return _empty_note(fig, "the mode shares appear after the first evaluation (modes corpus)")
    cols = sorted((c for c in history.columns if c.startswith("eval/modes/share/")),
                  key=lambda c: int(c.rsplit("/", 1)[1]))
    if not cols:
        return _empty_note(fig, "the mode shares appear after the first evaluation (modes corpus)")
    d = history[["step", *cols]].dropna()
    steps = d["step"].tolist()
    for c in cols:
        fig.add_trace(go.Scatter(x=steps, y=d[c].tolist(), mode="lines", stackgroup="modes", line=dict(width=0.5),
                                 name=f"mode {c.rsplit('/', 1)[1]}"))
    invalid = [max(0.0, 1.0 - sum(v)) for v in d[cols].itertuples(index=False)]
    fig.add_trace(go.Scatter(x=steps, y=invalid, mode="lines", stackgroup="modes", name="invalid",
                             line=dict(width=0.5, color="#cccccc"), fillcolor="rgba(200,200,200,0.6)"))
    eff = _series(history, "eval/modes/effective")
    k = k or len(cols)
    if eff is not None:
        fig.add_trace(go.Scatter(x=eff[0], y=eff[1], mode="lines+markers", name="effective modes (right axis)",
                                 yaxis="y2", line=dict(color="black", width=2)))
    fig.update_layout(yaxis=dict(range=[0, 1]),
                      yaxis2=dict(title=f"effective modes (of {k})", overlaying="y", side="right", showgrid=False,
                                  range=[0, k + 0.2]),
                      legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0.0, font=dict(size=10)),
                      height=320, margin=dict(b=90, r=50))
    return fig


def score_histogram(scores: Mapping[str, Sequence[float]] | None, uirevision: str = "scores"):
    """What the critic thinks: histograms of its scores on real sentences and on generated ones (higher = looks
    real). Two separate humps = the critic tells them apart; overlapping = it is fooled."""
    import plotly.graph_objects as go

    step = (scores or {}).get("step")
    fig = _figure("Critic scores, real vs generated" + (f" (step {step})" if step is not None else ""), uirevision,
                  "sentences")
    fig.update_layout(xaxis_title="critic score (higher = looks real)", barmode="overlay")
    if not scores or not (scores.get("real") or scores.get("fake")):
        return _empty_note(fig, "critic scores appear here once the run has a critic")
    for name, key, color in (("real", "real", "#00cc96"), ("generated", "fake", "#636efa")):
        xs = list(scores.get(key) or [])
        if xs:
            fig.add_trace(go.Histogram(x=xs, name=name, opacity=0.6, marker_color=color, nbinsx=30))
    return fig


# ---- sweeps (textgan.experiments): summary.csv and temperature.csv -------------------------------------------

SWEEP_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                 "#7f7f7f"]


GROUP_DASHES = ["solid", "dot", "dashdot", "longdashdot", "longdash"]
MLE_COLORS = ["#000000", "#555555", "#999999"]
MLE_DASHES = ["dash", "dot", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down", "pentagon",
           "hexagon"]


def is_mle_group(group: str) -> bool:
    """An MLE group (variant `mle`, any settings): the baseline the GANs are read against."""
    return str(group).split(" ")[0] == "mle"


def group_styles(groups) -> dict[str, dict[str, str]]:
    """One distinct (colour, dash, marker) per group, stable under the groups' order: the GAN groups in the
    palette's colours (solid first), the MLE groups in black and greys, always dashed, told apart by their dash
    and grey (distinct for up to 50 GAN and 15 MLE groups)."""
    mle = sorted(g for g in set(groups) if is_mle_group(g))
    gans = sorted(g for g in set(groups) if not is_mle_group(g))
    styles = {}
    for i, g in enumerate(gans):
        styles[g] = {"color": SWEEP_PALETTE[i % len(SWEEP_PALETTE)],
                     "dash": GROUP_DASHES[(i // len(SWEEP_PALETTE)) % len(GROUP_DASHES)],
                     "symbol": SYMBOLS[i % len(SYMBOLS)]}
    for i, g in enumerate(mle):
        styles[g] = {"color": MLE_COLORS[i % len(MLE_COLORS)], "dash": MLE_DASHES[i % len(MLE_DASHES)],
                     "symbol": SYMBOLS[(i + 5) % len(SYMBOLS)]}
    return styles


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def seed_band_figure(summary, metric: str, budget_label: str = "step"):
    """A sweep's learning curves (`textgan.experiments` summary.csv): each variant/settings group's mean over seeds
    against budget as a line in the group's own style (`group_styles`), the 95 % CI as a shaded band. No markers:
    dots at the band's corners read as individual seeds. A group evaluated at one budget only is its mean as a
    marker with the CI as an error bar."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=metric.removeprefix("eval/"), x=0.02), template="plotly_white", height=320,
                      margin=dict(l=50, r=20, t=40, b=40), xaxis_title=budget_label)
    if summary.empty or "metric" not in summary:
        return fig
    d = summary[summary.metric == metric]
    styles = group_styles(d.group.unique())
    for group, g in d.groupby("group"):
        g = g.sort_values("budget")
        st = styles[group]
        if g.ci95.notna().any():
            band = g.dropna(subset=["ci95"])
            fig.add_trace(go.Scatter(x=list(band.budget) + list(band.budget[::-1]),
                                     y=list(band.hi) + list(band.lo[::-1]), fill="toself", mode="lines",
                                     fillcolor=_rgba(st["color"], 0.15), line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=group))
        # one budget: a line of one vertex draws nothing, so that group is a point with its CI as an error bar
        single = len(g) == 1
        fig.add_trace(go.Scatter(x=g.budget, y=g["mean"], mode="markers" if single else "lines",
                                 name=f"{group} (n={g.n.max()})",
                                 line=dict(color=st["color"], dash=st["dash"], width=2.5 if is_mle_group(group) else 2),
                                 marker=dict(symbol=st["symbol"], size=8, color=st["color"]),
                                 error_y=dict(array=g.ci95.fillna(0).tolist(), visible=single, thickness=1.5),
                                 legendgroup=group))
    return fig


def frontier_figure(temperature, axes):
    """A sweep's quality-diversity frontier (temperature.csv): each group's temperature curve, mean over seeds with
    95 % CI error bars, each point labelled with its temperature, each group in its own style (`group_styles`:
    MLE groups dashed, in black and greys). `axes`: ((x column, label, transform), (y column, label, transform)),
    transforms (or None) turning both into "up and right is better"."""
    import plotly.graph_objects as go

    (xcol, xlabel, xf), (ycol, ylabel, yf) = axes
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
    styles = group_styles(t.group.unique())
    for group, g in t.groupby("group"):
        agg = g.groupby("temperature").agg(x=("_x", "mean"), y=("_y", "mean"), sx=("_x", "std"), sy=("_y", "std"),
                                           n=("_x", "size")).reset_index()
        half = agg.n.map(lambda n: t95(n) / math.sqrt(n) if n > 1 else math.nan)
        st = styles[group]
        fig.add_trace(go.Scatter(
            x=agg.x, y=agg.y, mode="lines+markers+text", name=f"{group} (n={int(agg.n.max())})",
            text=[f"T={v:g}" for v in agg.temperature], textposition="top right",
            textfont=dict(size=10, color=st["color"]), hovertemplate="%{text}<br>x=%{x:.3f}<br>y=%{y:.3f}",
            error_x=dict(array=(agg.sx * half).fillna(0), visible=True, thickness=1),
            error_y=dict(array=(agg.sy * half).fillna(0), visible=True, thickness=1),
            marker=dict(symbol=st["symbol"], size=7, color=st["color"]),
            line=dict(color=st["color"], dash=st["dash"], width=3 if is_mle_group(group) else 2)))
    return fig
