"""The sweep report a paper can use: each group's samples side by side with their scores, temperature labels on
the quality–diversity points, CI bands without vertex markers, a distinct style per group (MLE groups told apart),
static figures and Markdown/LaTeX tables next to the HTML, and the exact Student-t quantile at every df."""

import math
import re

import pandas as pd
import pytest

from textgan import plots
from textgan.experiments import SweepSpec, run_in_process
from textgan.experiments.export import latex_table, markdown_table
from textgan.stats import t95, t_quantile

TINY = {"corpus": {"kind": "modes", "k": 4}, "seeds": 2,
        "variants": {"mle": {"generator.hidden": 16},
                     "wgan-gp": {"generator.hidden": 16, "critic.filters": 8, "critic_steps": 1}},
        "grid": {"batch_size": [8, 16]}, "budget": {"steps": 4},  # two evaluations: curves are lines (no training
        # is asserted)
        "run": {"eval_every": 2, "eval_samples": 40, "sample_every": 0},
        "temperatures": [0.8, 1.2], "temperature_samples": 40}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One tiny in-process sweep for the module: 2 MLE groups and 2 WGAN-GP groups, 2 seeds each."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    exp = tmp_path_factory.mktemp("report") / "exp"
    try:
        outcomes = run_in_process(SweepSpec.from_dict(TINY), exp)  # no images: they have their own test
    finally:
        torch.set_num_threads(threads)
    return exp, outcomes


def test_t_quantile_equals_scipy_at_every_df():
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 121), 150, 300, 500, 1000, 10_000, 100_000, 0.5, 2.5]:
        for p in (0.975, 0.995, 0.6, 0.025):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12), (p, df)
    assert t95(32) == pytest.approx(stats.t.ppf(0.975, 31), rel=1e-12)  # was 1.96: 4 % too narrow
    assert math.isnan(t95(1))
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_report_shows_every_group_s_samples_side_by_side(sweep):
    exp, outcomes = sweep
    samples = pd.read_csv(exp / "samples.csv", keep_default_na=False)
    groups = {o.trial.group for o in outcomes}
    assert set(samples.group) == groups and len(groups) == 4
    assert set(samples.temperature) == {1.0} and set(samples.metric) == {"mode"}
    html = (exp / "report.html").read_text(encoding="utf-8")
    section = html[html.index("Samples, side by side"):html.index("Learning curves")]
    for o in outcomes:  # each group's first seed: its trial's own samples, each with its score
        if o.trial.seed == 0:
            own = pd.read_csv(o.run_dir / "report_samples.csv", keep_default_na=False)
            assert len(own) == 6
            for text in own.text:
                assert text.replace("'", "&#x27;") in section
    for g in groups:
        assert f"<th>{g}<br>" in section
    assert section.count("<small>invalid</small>") + len(re.findall(r"<small>mode \d+</small>", section)) == 24
    # the same seed and temperature for every group: two runs of one group at the same seed give the same text
    first = samples[samples.seed == 0]
    assert first.groupby("group").size().eq(6).all()


def test_summary_exported_as_markdown_and_latex_with_mean_and_ci(sweep):
    exp, _ = sweep
    md = (exp / "summary.md").read_text().splitlines()
    tex = (exp / "summary.tex").read_text()
    assert md[0].startswith("| variant / settings |") and len(md) == 2 + 4
    assert all(" ± " in line for line in md[2:])
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex and "batch\\_size=8" in tex and "±" not in tex
    assert (exp / "figures" / "frontier.json").is_file()  # images off: the figures still go out, as JSON
    rows = pd.DataFrame({"a|b": ["x_1 & 50%"], "m": ["1 ± 0.1"]})
    assert markdown_table(rows).splitlines()[0] == r"| a\|b | m |"
    assert r"x\_1 \& 50\%" in latex_table(rows)


def test_static_figures_with_kaleido(tmp_path, sweep):
    pytest.importorskip("kaleido")
    from textgan.experiments.report import write_report

    exp, _ = sweep
    write_report(exp, images=True)
    figs = exp / "figures"
    svgs = sorted(p.stem for p in figs.glob("*.svg"))
    assert "frontier" in svgs and any(s.startswith("curve_") for s in svgs)
    assert sorted(p.stem for p in figs.glob("*.png")) == svgs
    assert (figs / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (figs / "frontier.svg").read_text()[:500]
    assert "as SVG and PNG" in (exp / "report.html").read_text()


def test_a_group_with_one_evaluation_is_drawn_as_a_point_with_its_interval():
    """A curve of one budget (a short sweep: one evaluation per trial) is a line of one vertex, which plotly draws
    as nothing: such a group is a marker with its CI as an error bar, the others stay lines without markers."""
    summary = pd.DataFrame({"group": ["mle", "wgan-gp", "wgan-gp"], "budget": [6, 6, 12], "metric": "eval/x",
                            "n": 2, "mean": [1.0, 2.0, 1.5], "ci95": [0.3, 0.2, 0.1]})
    summary["lo"], summary["hi"] = summary["mean"] - summary.ci95, summary["mean"] + summary.ci95
    fig = plots.seed_band_figure(summary, "eval/x")
    (point,) = [t for t in fig.data if t.name and t.name.startswith("mle")]
    assert "markers" in point.mode and list(point.error_y.array) == [0.3] and point.error_y.visible
    assert all(t.mode == "lines" for t in fig.data if t is not point)


def test_a_rebuilt_report_leaves_no_stale_figures(tmp_path, sweep):
    """figures/ holds this report's figures only: a PNG/SVG of an earlier build (before --no-images, or a metric no
    longer there) would be taken for the current one in a paper. Other files there are left alone."""
    import shutil

    from textgan.experiments.report import write_report

    exp = tmp_path / "exp"
    shutil.copytree(sweep[0], exp)
    figs = exp / "figures"
    stale = [figs / "frontier.png", figs / "frontier.svg", figs / "curve_gone.svg"]
    for p in stale:
        p.write_text("old")
    (figs / "notes.txt").write_text("mine")
    write_report(exp)
    assert not any(p.exists() for p in stale)
    assert (figs / "frontier.json").is_file() and (figs / "notes.txt").read_text() == "mine"


def test_group_styles_are_distinct_and_tell_mle_groups_apart():
    groups = [f"wgan-gp lr_gen={i}" for i in range(12)] + [f"mle lr_gen={i}" for i in range(4)]
    styles = plots.group_styles(groups)
    assert len({(s["color"], s["dash"]) for s in styles.values()}) == len(groups)
    mle = [styles[g] for g in groups if g.startswith("mle")]
    assert all(s["dash"] != "solid" for s in mle)  # MLE: the dashed baseline ...
    assert len({s["dash"] for s in mle}) == 4  # ... and two MLE settings never look the same
    assert styles == plots.group_styles(list(reversed(groups)))  # stable whatever the order


def test_bands_have_no_vertex_markers_and_points_carry_temperatures(sweep):
    exp, _ = sweep
    summary = pd.read_csv(exp / "summary.csv")
    fig = plots.seed_band_figure(summary, "eval/modes/precision")
    assert fig.data and all(t.mode == "lines" for t in fig.data)  # bands and means: no dots that look like seeds
    assert len({(t.line.color, t.line.dash) for t in fig.data if t.showlegend is not False}) == 4
    temps = pd.read_csv(exp / "temperature.csv")
    from textgan.experiments.report import QD_AXES

    frontier = plots.frontier_figure(temps, QD_AXES["modes"])
    assert len(frontier.data) == 4
    for trace in frontier.data:
        assert "text" in trace.mode and list(trace.text) == ["T=0.8", "T=1.2"]


HOSTILE = "<script>alert(1)</script> a|b & 50% x_1 $\\ {#}"


def test_hostile_sample_and_group_text_cannot_break_the_report(tmp_path, sweep):
    """A sample or a group label holding HTML, Markdown and LaTeX specials stays text: one <script> per figure
    (plotly's own), the Markdown table keeps its columns, the LaTeX has no unescaped special; and nothing is written
    outside the experiment directory."""
    import shutil
    from html.parser import HTMLParser

    from textgan.experiments.report import write_report

    exp = tmp_path / "exp"
    shutil.copytree(sweep[0], exp)
    samples = pd.read_csv(exp / "samples.csv", keep_default_na=False)
    samples["text"] = HOSTILE
    samples.to_csv(exp / "samples.csv", index=False)
    summary = pd.read_csv(exp / "summary.csv")
    evil = f"mle {HOSTILE}"
    summary["group"] = summary.group.where(summary.group != summary.group.iloc[0], evil)
    summary.to_csv(exp / "summary.csv", index=False)
    before = set(tmp_path.rglob("*")) - set(exp.rglob("*"))
    write_report(exp)
    assert set(tmp_path.rglob("*")) - set(exp.rglob("*")) == before  # nothing written beside the experiment

    doc = (exp / "report.html").read_text(encoding="utf-8")

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.scripts, self.text = 0, []

        def handle_starttag(self, tag, attrs):
            self.scripts += tag == "script"

        def handle_data(self, data):
            self.text.append(data)

    parser, clean = Tags(), Tags()
    parser.feed(doc)
    clean.feed((sweep[0] / "report.html").read_text(encoding="utf-8"))
    assert parser.scripts == clean.scripts > 0  # plotly's own scripts only: none from the samples or labels
    assert "".join(parser.text).count(HOSTILE) >= 6  # shown as the text it is

    md = (exp / "summary.md").read_text(encoding="utf-8").splitlines()
    n_cols = md[0].count(" | ") + 1
    for line in md:
        assert len(re.split(r"(?<!\\)\|", line.strip())) - 2 == n_cols, line
    assert any(r"a\|b" in line for line in md)

    tex = (exp / "summary.tex").read_text(encoding="utf-8")
    row = next(line for line in tex.splitlines() if "alert" in line)
    assert r"a\textbar{}b \& 50\% x\_1 \$\textbackslash{} \{\#\}" in row
    assert r"\textless{}script\textgreater{}" in row  # OT1 (LaTeX's default) sets < > | as ¡ ¿ —
    assert re.search(r"(?<!\\)[&%$#_|<>]", row.split(" & ")[0]) is None


def test_the_report_does_not_write_through_links_out_of_the_experiment(tmp_path, sweep):
    """Links planted in an experiment directory (its temporary files, its tables, figures/) are replaced, never
    written through: the files they point at, outside the directory, stay as they were."""
    import shutil

    from textgan.experiments.report import write_report

    exp = tmp_path / "exp"
    shutil.copytree(sweep[0], exp)
    outside = tmp_path / "outside"
    outside.mkdir()
    targets = {}
    for name in (".report.html.tmp", "summary.md", ".summary.tex.tmp", "figures/frontier.json"):
        target = outside / name.replace("/", "_")
        target.write_text("keep")
        (exp / name).unlink(missing_ok=True)
        (exp / name).symlink_to(target)
        targets[name] = target
    write_report(exp)
    assert all(t.read_text() == "keep" for t in targets.values())
    assert (exp / "summary.md").read_text().startswith("| variant / settings |")
    assert not (exp / "figures" / "frontier.json").is_symlink()
    shutil.rmtree(exp / "figures")
    (exp / "figures").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="figures"):
        write_report(exp)
    assert sorted(p.name for p in outside.iterdir()) == sorted(t.name for t in targets.values())
