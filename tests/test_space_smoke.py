"""The app's smoke test, the smallest check that an environment runs the app: its CLI entry answers, the app serves
its page, and a visitor's Train gives a growing loss curve. CI runs it twice: in the main suite and, alone, in the
venv with the lowest versions requirements.txt allows (`.ci/run`'s "lowest versions" job), where an API that an
older Gradio, huggingface-hub or torch lacks would fail it."""

import subprocess
import sys
import urllib.request
from pathlib import Path

from app_helpers import TINY, Poller, form, launch, n_points
from textgan import lab as L

ROOT = Path(__file__).resolve().parents[1]


def test_the_cli_entry_answers():
    out = subprocess.run([sys.executable, "-m", "textgan", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--host" in out.stdout and "--port" in out.stdout


def test_the_app_serves_its_page_and_trains(tmp_path):
    # unwatched_s: this client polls only after /train answers, and on a loaded CI machine building the first run
    # took over the default 30 s there, so the watch rule stopped it at step 0 (seen in the lowest-versions venv)
    lab = L.Lab(max_training=1, checkpoints=tmp_path / "checkpoints", torch_threads=1, unwatched_s=600)
    demo, client, url = launch(lab)
    try:
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "TextGAN Lab" in page.read().decode()
        status = client.predict(*form(client, "/train", **TINY), api_name="/train")
        assert "training" in status or "queued" in status, status
        poll = Poller(client)
        poll.wait(lambda s: n_points(s.get("loss")) >= 3, timeout=120)
        n = poll.loss_points()
        poll.wait(lambda s: n_points(s.get("loss")) > n, timeout=60)  # it keeps training
        client.predict(api_name="/stop")
    finally:
        lab.close_all()
        demo.close()
