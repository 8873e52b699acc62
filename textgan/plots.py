"""Plotly figures from a run's history: the only module that imports plotly (inside each function).

Every figure takes plain data (a history DataFrame with a `step` column and namespaced metric columns, as
`Session.snapshot()["history"]`, `pd.DataFrame(run.history)` or a run directory's history.csv give it) and sets
`uirevision`, so a figure redrawn every second by the app keeps the user's zoom and hidden traces.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

LOSSES = (("loss/critic", "critic loss"), ("loss/gen", "generator loss"), ("wasserstein", "Wasserstein estimate"),
          ("loss/mle", "MLE loss (pre-training, padding counted)"))
GRAD_NORMS = (("grad_norm/gen", "generator"), ("grad_norm/critic", "critic"),
              ("grad_norm/critic_input", "critic input at interpolates"))
METRICS = (("eval/modes/coverage", "mode coverage"), ("eval/modes/precision", "precision (valid samples)"),
           ("eval/modes/entropy", "mode entropy"), ("eval/bleu4", "BLEU-4"), ("eval/self_bleu4", "Self-BLEU-4"),
           ("eval/nll_oracle", "NLL-oracle"), ("eval/nll_gen", "NLL-gen"), ("eval/distinct2", "distinct-2"),
           ("eval/unique", "unique ratio"))
UNIT_METRICS = {"eval/modes/coverage", "eval/modes/precision", "eval/modes/entropy", "eval/bleu4",
                "eval/self_bleu4", "eval/distinct2", "eval/unique"}
"""Metrics in [0, 1], drawn on the left axis; the NLLs (nats) go on a second axis."""


def _figure(title: str, uirevision: str, ytitle: str = "", log_y: bool = False):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=title, x=0.02, font=dict(size=14)), uirevision=uirevision,
                      template="plotly_white", height=300, margin=dict(l=50, r=20, t=40, b=40),
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

    fig = _figure("Gradient norms (log scale)", uirevision, "L2 norm", log_y=True)
    for col, label in GRAD_NORMS:
        s = _series(history, col)
        if s is not None:
            # A log axis cannot show zeros (e.g. a critic whose weights are clipped to a constant).
            ys = [y if y > 0 else None for y in s[1]]
            fig.add_trace(go.Scatter(x=s[0], y=ys, mode="lines", name=label))
    return fig if fig.data else _empty_note(fig, "gradient norms appear here")


def metrics_figure(history, uirevision: str = "metrics"):
    """The evaluation metrics over steps: mode coverage / precision / entropy on `modes`, BLEU and Self-BLEU on
    text, NLL-oracle and NLL-gen (right axis, nats) where they apply."""
    import plotly.graph_objects as go

    fig = _figure("Metrics", uirevision, "score (0–1)")
    right = False
    for col, label in METRICS:
        s = _series(history, col)
        if s is None:
            continue
        on_right = col not in UNIT_METRICS
        right = right or on_right
        fig.add_trace(go.Scatter(x=s[0], y=s[1], mode="lines+markers", name=label, yaxis="y2" if on_right else "y",
                                 line=dict(dash="dot") if on_right else None))
    if right:
        fig.update_layout(yaxis2=dict(title="nats", overlaying="y", side="right", showgrid=False))
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0.0), height=340,
                      margin=dict(b=90))
    fig.update_layout(yaxis=dict(range=[-0.02, 1.02]))
    return fig if fig.data else _empty_note(fig, "metrics appear after the first evaluation")


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


def quality_diversity_figure(sweeps: Mapping[str, Any], uirevision: str = "quality_diversity"):
    """Quality against diversity across sampling temperatures, one curve per run, from `textgan.metrics.sweep`
    DataFrames (their `attrs` name the two axes and which direction is better)."""
    import plotly.graph_objects as go

    fig = _figure("Quality vs diversity (temperature sweep)", uirevision)
    q = d = None
    better: dict[str, bool] = {}
    for name, df in sweeps.items():
        q, d = df.attrs.get("quality", "precision"), df.attrs.get("diversity", "coverage")
        better = df.attrs.get("higher_is_better", {})
        fig.add_trace(go.Scatter(x=df[d].tolist(), y=df[q].tolist(), mode="lines+markers", name=name,
                                 text=[f"T={t:g}" for t in df["temperature"]],
                                 hovertemplate="%{text}<br>" + f"{d}=%{{x:.3f}}<br>{q}=%{{y:.3f}}<extra>{name}</extra>"))
    if q is None:
        return _empty_note(fig, "no sweep yet")

    def arrow(col: str) -> str:
        return "(higher is better)" if better.get(col, True) else "(lower is better)"

    fig.update_layout(xaxis_title=f"{d} {arrow(d)}", yaxis_title=f"{q} {arrow(q)}")
    return fig
