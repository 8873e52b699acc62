"""Experiment directories (`python -m textgan sweep`) for the Compare tab: which ones the server offers, and their
figures and summary table.

A visitor picks one of the directories listed under the operator's experiments root; a name is accepted only if
it is in that list, so no visitor names a server path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..experiments.report import figures

from .errors import LabError

MAX_LISTED = 200


def list_experiments(root: str | Path) -> list[str]:
    """Names of the experiment directories (holding results.csv) directly under `root`, newest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    found = [p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "results.csv").is_file()]
    found.sort(key=lambda p: (p / "results.csv").stat().st_mtime, reverse=True)
    return [p.name for p in found[:MAX_LISTED]]


def open_experiment(root: str | Path, name: str) -> dict[str, Any]:
    """The report's figures of one listed experiment: `frontier` (quality-diversity per variant), `curves`
    ({metric: learning-curve figure with seed bands}), `rows` (summary at the final budget), `note`."""
    if name not in list_experiments(root):
        raise LabError(f"no experiment named {name!r} under {Path(root).name}/: pick one from the list "
                       "(run `python -m textgan sweep --out experiments/NAME` to make one)")
    exp = Path(root) / name
    f = figures(exp)
    results = f["results"]
    n_trials = results.trial.nunique() if "trial" in results else 0
    failed = results[results.status == "failed"].trial.nunique() if "status" in results else 0
    spec = f["spec"]
    note = (f"{name}: {n_trials} trials on {spec.get('corpus', {}).get('kind', '?')}, budget {spec.get('budget')}"
            + (f", {failed} failed" if failed else "")
            + f"; full report in {Path(root).name}/{name}/report.html")  # relative: never the server's path
    return {"frontier": f["frontier"], "curves": f["curves"], "rows": f["rows"], "note": note}
