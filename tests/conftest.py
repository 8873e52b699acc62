"""Test-wide setup. This runs before any test module is imported, so it is where the Hugging Face client gets pointed
at the local Hub server (tests/hub_server.py): huggingface_hub reads HF_ENDPOINT and HF_HOME once, at import time, and
transformers/gradio import it too. Tests never touch the user's caches (Hugging Face's, textgan's), token or the real
Hub."""

import atexit
import os
import shutil
import socket
import tempfile

import pytest

with socket.socket() as _s:  # a free port, chosen now so that HF_ENDPOINT can be set before any import
    _s.bind(("127.0.0.1", 0))
    HUB_PORT = _s.getsockname()[1]

os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="textgan-test-hf-home-")
atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)
os.environ["TEXTGAN_CACHE"] = tempfile.mkdtemp(prefix="textgan-test-cache-")  # the oracle's sample cache
atexit.register(shutil.rmtree, os.environ["TEXTGAN_CACHE"], True)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers share the machine's cores: one torch thread each, in this process and in the processes it starts
    # (CLI, notebook kernels, Ray workers). Oversubscribed torch threads only spin.
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("TEXTGAN_TORCH_THREADS", "1")
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN_PATH"):
    os.environ.pop(_var, None)


@pytest.fixture
def make_lab(tmp_path, one_thread):
    """`make_lab(**policy)`: a Lab on the test's own checkpoints folder, one torch thread; every Lab made is closed
    after the test (its sessions stopped and autosaved)."""
    from textgan import lab as L

    labs = []

    def make(**kw):
        labs.append(L.Lab(checkpoints=tmp_path / "checkpoints", torch_threads=1, **kw))
        return labs[-1]

    yield make
    for lab in labs:
        lab.close_all()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module: on 2 shared cores oversubscription costs more than it gains on tiny nets, and
    GAN trajectories (float reductions) depend on the thread count, so learning tests pin it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def hub_server():
    """The local Hub, serving on HF_ENDPOINT for the whole session."""
    from hub_server import HubServer

    server = HubServer(port=HUB_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def local_hub(hub_server):
    """The local Hub, emptied for this test."""
    hub_server.reset()
    return hub_server
