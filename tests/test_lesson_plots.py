"""The mode-share figure stacks the per-mode shares of each evaluation (invalid on top, so each stack is 1) and
draws the effective number of modes on its own axis."""

import pandas as pd
import pytest

from textgan import plots


def test_mode_share_figure_stacks_to_one():
    h = pd.DataFrame([{"step": 1, "loss/gen": 1.0},
                      {"step": 20, "eval/modes/share/0": 0.5, "eval/modes/share/1": 0.3, "eval/modes/effective": 1.9},
                      {"step": 40, "eval/modes/share/0": 0.9, "eval/modes/share/1": 0.0, "eval/modes/effective": 1.0}])
    fig = plots.mode_share_figure(h, k=2)
    names = [t.name for t in fig.data]
    assert names == ["mode 0", "mode 1", "invalid", "effective modes (right axis)"]
    stacks = [t for t in fig.data if t.stackgroup == "modes"]
    for i in range(2):
        assert sum(t.y[i] for t in stacks) == pytest.approx(1.0)
    assert list(fig.data[2].y) == pytest.approx([0.2, 0.1])
    assert fig.data[3].yaxis == "y2" and list(fig.data[3].y) == [1.9, 1.0]
    assert fig.layout.yaxis2.range[1] == pytest.approx(2.2)


def test_mode_share_figure_before_any_evaluation():
    fig = plots.mode_share_figure(pd.DataFrame([{"step": 1, "loss/gen": 1.0}]))
    assert not fig.data and fig.layout.annotations
