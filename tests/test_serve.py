"""The app lives in the package (`textgan.app`): `python -m textgan serve` runs it, and `app.py` is a few lines."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_serve_help_lists_host_and_port():
    out = subprocess.run([sys.executable, "-m", "textgan", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert "--host" in out and "--port" in out


def test_serve_refuses_a_port_out_of_range_in_one_line():
    res = subprocess.run([sys.executable, "-m", "textgan", "serve", "--port", "70000"], capture_output=True,
                         text=True, cwd=ROOT)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["error: --port 70000 must be in 1..65535"]


def test_app_py_is_only_the_entry():
    lines = [x for x in (ROOT / "app.py").read_text().splitlines() if x.strip()]
    assert len(lines) <= 12
    assert "from textgan.app.main import build_demo, serve" in lines


def test_serve_help_works_from_an_installed_wheel(tmp_path):
    """Issue 22: `pip install textgan` gives the app. The wheel built from this tree holds `textgan/app/`, and once
    installed in a venv of its own (outside this checkout) `python -m textgan serve --help` answers; the CLI's
    imports are lazy, so no dependency is needed for --help."""
    import venv
    import zipfile

    pytest.importorskip("setuptools", minversion="77", reason="the build backend pyproject.toml names (no isolation)")

    import shutil

    source = tmp_path / "source"  # a copy: the build writes its build/ folder beside the sources, not in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "checkpoints", "tests", "bench",
                                                                 "notebooks", "__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("textgan-*.whl")
    assert "textgan/app/main.py" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    out = subprocess.run([str(python), "-m", "textgan", "serve", "--help"], capture_output=True, text=True,
                         cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    assert "usage: textgan serve" in out and "--host" in out and "--port" in out
