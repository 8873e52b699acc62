"""The app's smoke test, the smallest check that an environment runs the app: its CLI entry answers, the app serves
its page, and a visitor's Train gives a growing loss curve. CI runs it twice: in the main suite and, alone, in the
venv with the lowest versions requirements.txt allows (`.ci/run`'s "lowest versions" job), where an API that an
older Gradio, huggingface-hub or torch lacks would fail it."""

import subprocess
import sys
import urllib.request
from pathlib import Path

from app_helpers import TINY, Poller, form, n_points, serving
from textgan import lab as L

ROOT = Path(__file__).resolve().parents[1]


def test_the_cli_entry_answers():
    out = subprocess.run([sys.executable, "-m", "textgan", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--host" in out.stdout and "--port" in out.stdout


def test_the_app_serves_its_page_and_trains(tmp_path):
    # The default watch rule: its clock restarts when a job starts and when its run is built, so this client, which
    # polls only after /train answers, is not stopped at step 0 on a loaded machine (tests/test_quota.py)
    lab = L.Lab(max_training=1, checkpoints=tmp_path / "checkpoints", torch_threads=1)
    with serving(lab) as (_, client, url):
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "TextGAN Lab" in page.read().decode()
        status = client.predict(*form(client, "/train", **TINY), api_name="/train")
        assert "training" in status or "queued" in status, status
        poll = Poller(client)
        poll.wait(lambda s: n_points(s.get("loss")) >= 3, timeout=120)
        n = poll.loss_points()
        poll.wait(lambda s: n_points(s.get("loss")) > n, timeout=60)  # it keeps training
        client.predict(api_name="/stop")
