"""Every source module ships: a .gitignore pattern must not hide a package's files from a commit (the report's
samples.py/export.py and search.py were ignored by `experiments/`, so a fresh clone could not import them)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_source_file_is_ignored_by_git():
    packages = [p for p in (ROOT / "textgan").rglob("*") if p.is_dir() and (p / "__init__.py").is_file()]
    paths = [str(p.relative_to(ROOT)) for p in (ROOT / "textgan").rglob("*.py")]
    paths += [str((p / "a_new_module.py").relative_to(ROOT)) for p in packages]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], input="\n".join(paths), cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert ignored == [], f"git ignores these source files: {ignored}"


def test_every_experiments_module_imports():
    import importlib

    for name in ("samples", "export", "search", "report", "local", "ray_tune", "trial", "results"):
        importlib.import_module(f"textgan.experiments.{name}")
