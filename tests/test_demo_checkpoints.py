"""The demo runs shipped in checkpoints/ open in the Compare tab's engine with no training, and show what their
model cards say: the GAN collapsed, WGAN-GP healthy, MLE covering every mode. Small, and safetensors only."""

from pathlib import Path

import pytest

from textgan import lab as L
from textgan.lab.demos import DEMOS

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"


def test_the_demo_runs_are_listed_small_and_pickle_free():
    listed = {Path(p).name for p in L.list_checkpoints(CHECKPOINTS)}
    assert set(DEMOS) <= listed
    total = 0
    for name in DEMOS:
        files = {p.name: p.stat().st_size for p in (CHECKPOINTS / name).iterdir()}
        assert {"config.json", "generator.safetensors", "README.md", "history.csv"} <= set(files)
        assert not any(f.endswith((".pt", ".pth", ".bin", ".pkl")) for f in files)
        total += sum(files.values())
        card = (CHECKPOINTS / name / "README.md").read_text()
        assert card.startswith("---") and "library_name: textgan" in card and DEMOS[name][1] in card
    assert total < 5_000_000


@pytest.mark.usefixtures("one_thread")
def test_compare_opens_the_demos_and_they_show_their_lesson():
    runs = {name: L.load_run(CHECKPOINTS / name, device="cpu") for name in DEMOS}
    table = L.metrics_table(runs, n=500, seed=0)
    gan, gp, mle = (table.loc[n] for n in ("demo-gan-collapsed", "demo-wgan-gp-healthy", "demo-mle"))
    assert gan["modes/effective"] <= 2.0 and gan["modes/precision"] >= 0.5
    assert gp["modes/effective"] >= 4.0 and gp["modes/precision"] >= 0.5
    assert mle["modes/coverage"] == 1.0 and mle["modes/precision"] >= 0.85
    side = L.side_by_side(runs, n=4, seed=0)
    assert list(side.columns) == list(DEMOS) and len(side) == 4
