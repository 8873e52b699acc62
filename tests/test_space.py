"""What a Hugging Face Space deploys: the README's front matter names the Gradio the tests run on; requirements.txt is
the lean CPU install (CPU torch, no Ray, no transformers) and the gpt2 generator then says what to install; a built
wheel of the package serves the app (`python -m textgan serve --help` from the wheel's files alone)."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def requirement_lines(name: str) -> list[str]:
    return [ln.split("#")[0].strip() for ln in (ROOT / name).read_text().splitlines() if ln.split("#")[0].strip()]


def test_front_matter_deploys_the_gradio_the_tests_run_on():
    import gradio

    meta = front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == gradio.__version__
    assert re.fullmatch(r"3\.1[0-9]", str(meta["python_version"]))  # a string: YAML would read 3.10 as 3.1


def test_requirements_are_the_lean_cpu_install():
    lines = requirement_lines("requirements.txt")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    (torch,) = [ln for ln in lines if re.match(r"torch\b", ln)]
    import torch as installed

    assert torch == f"torch=={installed.__version__.split('+')[0]}"  # the version the tests run on
    names = {re.split(r"[<>=\[ ]", ln)[0].lower() for ln in lines if not ln.startswith("-")}
    assert not names & {"ray", "transformers", "pytest", "playwright"}
    dev = requirement_lines("requirements-dev.txt")
    assert "-r requirements.txt" in dev and any(ln.startswith("ray[tune]") for ln in dev)


def test_gpt2_without_transformers_is_a_message_not_a_traceback(monkeypatch):
    from textgan.run import Run, RunConfig

    monkeypatch.setitem(sys.modules, "transformers", None)  # what an install without it does on import
    with pytest.raises(ValueError, match=r"textgan\[transformers\]"):
        Run(RunConfig(corpus={"kind": "modes", "k": 4}, variant="mle", generator={"kind": "gpt2"}, device="cpu"))


def test_the_built_wheel_serves_the_app(tmp_path):
    """Build the wheel, unpack it (what installing a pure-Python wheel does) and run the CLI from those files, away
    from the source tree: the app is in the package and `textgan[app]` names what it needs."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("textgan-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        assert "textgan/app/main.py" in z.namelist()
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        z.extractall(site)
    app_extra = [ln for ln in meta.splitlines() if ln.startswith("Requires-Dist:") and 'extra == "app"' in ln]
    assert any("gradio" in ln for ln in app_extra) and any("plotly" in ln for ln in app_extra)
    code = "import textgan, sys; print(textgan.__file__); sys.argv = ['textgan', 'serve', '--help']; " \
           "import runpy; runpy.run_module('textgan', run_name='__main__')"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith(str(site))
    assert "--host" in out.stdout and "--port" in out.stdout
