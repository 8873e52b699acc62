"""The notebooks run headless with short settings (TEXTGAN_NB_STEPS), so they never rot; and they are stored
without outputs."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install nbformat nbclient ipykernel (requirements-dev.txt)")
nbclient = pytest.importorskip("nbclient", reason="pip install nbformat nbclient ipykernel (requirements-dev.txt)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["01_mode_collapse.ipynb", "02_compare_variants.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sets_one_torch_thread_like_the_app(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "torch.set_num_threads(1)" in first.source


STEPS = {"01_mode_collapse": None, "02_compare_variants": "200"}
"""Notebook 01 runs at its real settings (its two lessons, at their own step counts); notebook 02 on a documented
shortened schedule (TEXTGAN_NB_STEPS=200: the warm start and 50 adversarial steps), which still shows its outcome."""


def run_notebook(path, monkeypatch) -> tuple[str, list]:
    steps = STEPS[path.stem]
    if steps:
        monkeypatch.setenv("TEXTGAN_NB_STEPS", steps)
    else:
        monkeypatch.delenv("TEXTGAN_NB_STEPS", raising=False)
    monkeypatch.setenv("TEXTGAN_NB_DEVICE", "cpu")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread per op: faster on shared cores, and the runs the
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # lessons' tests pin (trajectories depend on the thread count)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Traceback" not in texts
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    return texts, figures


def summary(texts: str) -> dict:
    import json

    line = next(x for x in texts.splitlines() if x.startswith("SUMMARY "))
    return json.loads(line.removeprefix("SUMMARY "))


def test_notebook_01_shows_collapse_and_its_fix(monkeypatch):
    texts, figures = run_notebook(ROOT / "notebooks" / "01_mode_collapse.ipynb", monkeypatch)
    s = summary(texts)
    assert s["collapse"]["shown"] and s["collapse"]["lowest_effective"] <= 2.0
    # it ends on its moment, collapsed, and says so (the story the app's last screen and the CLI tell)
    assert s["collapse"]["final_effective"] <= 2.5 and s["collapse"]["final_precision"] >= 0.5
    assert s["collapse"]["moment"].startswith(f"At step {s['collapse']['ended_at']} it collapsed onto mode")
    assert "collapse" in texts and "At the end:" in texts
    assert s["gp-fix"]["shown"] and s["gp-fix"]["final_effective"] >= 4.0 and s["gp-fix"]["final_precision"] >= 0.5
    last = figures[-1]["data"]["application/vnd.plotly.v1+json"]
    assert "Collapse and its fix" in last["layout"]["title"]["text"]
    assert sorted(t["name"] for t in last["data"]) == ["collapse", "gp-fix"]


def test_notebook_02_compares_the_lessons(monkeypatch):
    texts, figures = run_notebook(ROOT / "notebooks" / "02_compare_variants.ipynb", monkeypatch)
    table = summary(texts)
    assert set(table) == {"mle", "gan", "wgan-gp"}
    assert table["mle"]["modes/coverage"] == 1.0 and table["mle"]["modes/precision"] >= 0.85
    assert len(figures) >= 3
