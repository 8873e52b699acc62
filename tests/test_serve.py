"""The app lives in the package (`textgan.app`): `python -m textgan serve` runs it, and `app.py` is a few lines."""

import subprocess
import sys
from pathlib import Path

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
