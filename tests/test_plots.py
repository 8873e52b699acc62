"""textgan.plots: the live figures from a history DataFrame, keyed to keep the user's zoom (uirevision)."""

import math

import pandas as pd
import pytest

from textgan import plots


@pytest.fixture
def history():
    rows = []
    for step in range(1, 41):
        row = {"step": step, "loss/critic": -1.0 / step, "loss/gen": 0.5 + step / 100, "wasserstein": 1.0 / step,
               "grad_norm/gen": 0.1 * step, "grad_norm/critic": 2.0, "grad_norm/critic_input": 0.0 if step == 3 else 1.1}
        if step % 10 == 0:
            row.update({"eval/modes/coverage": step / 40, "eval/modes/precision": 0.5, "eval/modes/entropy": 0.3,
                        "eval/nll_gen": 2.5})
        rows.append(row)
    return pd.DataFrame(rows)


def names(fig):
    return [t.name for t in fig.data]


def test_loss_figure(history):
    fig = plots.loss_figure(history, uirevision="keep-me")
    assert names(fig) == ["critic loss", "generator loss", "Wasserstein estimate"]
    assert fig.layout.uirevision == "keep-me"
    assert list(fig.data[0].x) == list(range(1, 41))


def test_grad_norms_are_on_a_log_axis_without_zeros(history):
    fig = plots.grad_norm_figure(history)
    assert fig.layout.yaxis.type == "log" and fig.layout.uirevision
    assert names(fig) == ["generator", "critic", "critic input at interpolates"]
    assert fig.data[2].y[2] is None  # a zero cannot sit on a log axis: a gap, not an error


def test_metrics_figure_shows_one_group_on_one_axis(history):
    """Issue 15, defect 9: six traces on two axes crowded the figure and its legend hit the axis title. Now one
    group at a time (auto: the mode metrics on `modes`), one axis, the legend above the plot like the others."""
    fig = plots.metrics_figure(history)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name) == ["coverage", "precision", "entropy"]
    assert list(by_name["coverage"].x) == [10, 20, 30, 40]
    assert all(t.yaxis in (None, "y") for t in fig.data) and "yaxis2" not in fig.to_plotly_json()["layout"]
    assert fig.layout.legend.y >= 1.0 and fig.layout.legend.yanchor == "bottom"
    nll = plots.metrics_figure(history, group="likelihood")
    assert names(nll) == ["NLL-gen"] and "nats" in nll.layout.yaxis.title.text
    text = history.rename(columns={"eval/modes/coverage": "eval/bleu4", "eval/modes/precision": "eval/self_bleu4"})
    text = text.drop(columns=["eval/modes/entropy"])
    assert names(plots.metrics_figure(text)) == ["BLEU-4", "Self-BLEU-4"]  # auto: the n-gram group on text
    with pytest.raises(ValueError, match="metrics group"):
        plots.metrics_figure(history, group="nope")


def test_quality_diversity_on_modes_spreads_over_a_fixed_unit_square():
    """Issue 15, defect 6: on `modes`, coverage is 1.0 at every temperature once all modes are hit: a vertical
    line on an axis padded to 1.8. The plot uses the normalised mode entropy instead, on [0, 1] axes."""
    df = pd.DataFrame({"temperature": [0.5, 1.0, 2.0], "precision": [0.99, 0.9, 0.3], "coverage": [1.0, 1.0, 1.0],
                       "entropy": [0.7, 0.9, 0.97]})
    df.attrs.update(corpus="modes", quality="precision", diversity="coverage",
                    higher_is_better={"precision": True, "coverage": True})
    fig = plots.quality_diversity_figure({"wgan-gp": df})
    assert list(fig.data[0].x) == [0.7, 0.9, 0.97]
    assert "entropy" in fig.layout.xaxis.title.text and "higher is better" in fig.layout.xaxis.title.text
    assert tuple(fig.layout.xaxis.range) == (-0.02, 1.02) and tuple(fig.layout.yaxis.range) == (-0.02, 1.02)


def test_mode_histogram_shows_collapse_against_true_weights():
    fig = plots.mode_histogram([90, 0, 0, 6], [0.25] * 4, invalid=4, step=200)
    gen, true = fig.data
    assert list(gen.x) == ["0", "1", "2", "3", "invalid"]
    assert math.isclose(sum(gen.y), 1.0) and gen.y[0] == 0.9
    assert list(true.y) == [0.25] * 4
    assert "step 200" in fig.layout.title.text


def test_empty_inputs_give_a_hint_not_an_error():
    for fig in (plots.loss_figure(pd.DataFrame()), plots.grad_norm_figure(None), plots.metrics_figure(pd.DataFrame()),
                plots.mode_histogram(None, None), plots.compare_figure({}), plots.quality_diversity_figure({})):
        assert not fig.data and fig.layout.annotations


def test_compare_figure_overlays_runs(history):
    fig = plots.compare_figure({"a": history, "b": history.iloc[:10]}, "eval/modes/coverage")
    assert names(fig) == ["a", "b"] and len(fig.data[1].x) == 1
    assert plots.compare_figure({"a": history}, "grad_norm/gen").layout.yaxis.type == "log"


def test_quality_diversity_figure_reads_the_sweep_axes():
    df = pd.DataFrame({"temperature": [0.5, 1.0, 2.0], "precision": [0.9, 0.7, 0.2], "coverage": [0.25, 0.6, 1.0]})
    df.attrs.update(quality="precision", diversity="coverage", higher_is_better={"precision": True, "coverage": True})
    fig = plots.quality_diversity_figure({"wgan-gp": df})
    assert list(fig.data[0].x) == [0.25, 0.6, 1.0] and list(fig.data[0].y) == [0.9, 0.7, 0.2]
    assert "precision" in fig.layout.yaxis.title.text and "coverage" in fig.layout.xaxis.title.text
    assert list(fig.data[0].text) == ["T=0.5", "T=1", "T=2"]
