"""`python -m textgan push` / `pull` against the local Hub server, in a subprocess that inherits HF_ENDPOINT and
HF_HOME from conftest.py. Errors are one line on stderr with exit code 2, and never show the token."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("textgan.cli")
run_module = pytest.importorskip("textgan.run")

from hub_server import VALID_TOKENS  # noqa: E402

ALICE = next(iter(VALID_TOKENS))


def textgan(*args, cwd, token=None):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "textgan", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = run_module.RunConfig(corpus={"kind": "modes", "k": 4}, variant="wgan-gp", batch_size=16, seed=0, device="cpu")
    run = run_module.Run(cfg)
    for _ in run.steps(2):
        pass
    return run.save(tmp_path_factory.mktemp("runs") / "trained")


@pytest.fixture(scope="module", autouse=True)
def cli_has_hub_commands(tmp_path_factory):
    if textgan("push", "--help", cwd=tmp_path_factory.getbasetemp()).returncode != 0:
        pytest.skip("the CLI has no push command yet")


def test_cli_push_then_pull_into_checkpoints(local_hub, trained, tmp_path):
    pushed = textgan("push", str(trained), "alice/cli-run", "--private", cwd=tmp_path, token=ALICE)
    assert pushed.returncode == 0, pushed.stderr
    assert f"{local_hub.url}/alice/cli-run" in pushed.stdout
    assert local_hub.state.repos["alice/cli-run"].private

    pulled = textgan("pull", "alice/cli-run", cwd=tmp_path, token=ALICE)
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "checkpoints" / "alice--cli-run" / "config.json").is_file()  # the default --out
    pulled = textgan("pull", "alice/cli-run", "--out", "elsewhere", cwd=tmp_path, token=ALICE)
    assert pulled.returncode == 0, pulled.stderr
    assert run_module.Run.load(tmp_path / "elsewhere", device="cpu").step == 2


@pytest.mark.parametrize(
    "args, token, message",
    [
        (("pull", "alice/missing"), ALICE, "repository alice/missing not found"),
        (("push", "RUN", "alice/x"), None, "no Hugging Face token: pass --token, set HF_TOKEN"),
        (("push", "RUN", "alice/x"), "hf_wrong_secret_token_42", "token was rejected"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(local_hub, trained, tmp_path, args, token, message):
    args = [str(trained) if a == "RUN" else a for a in args]
    result = textgan(*args, cwd=tmp_path, token=token)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "hf_wrong_secret_token_42" not in result.stderr + result.stdout
