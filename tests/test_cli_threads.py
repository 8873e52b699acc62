"""The CLI trains with the app's thread choice (issue 15): one torch thread unless --threads or
TEXTGAN_TORCH_THREADS say otherwise (bench/RESULTS.md: the CLI ran at ~1 it/s under load where the app did 27)."""

import pytest
import torch

from textgan import cli


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_default_to_the_apps_choice(tmp_path, monkeypatch, restore_threads):
    monkeypatch.delenv("TEXTGAN_TORCH_THREADS", raising=False)
    torch.set_num_threads(2)
    run = str(tmp_path / "run")
    args = ["train", "--k", "4", "--variant", "mle", "--steps", "1", "--batch-size", "8", "--generator", "lstm", "--gen-set", "hidden=8",
            "--device", "cpu", "--out", run, "--quiet", "--eval-every", "0", "--save-every", "0"]
    assert cli.main(args) == 0
    assert torch.get_num_threads() == 1  # the app's default
    monkeypatch.setenv("TEXTGAN_TORCH_THREADS", "2")
    assert cli.main(["sample", run, "-n", "2"]) == 0 and torch.get_num_threads() == 2
    assert cli.main(["sample", run, "-n", "2", "--threads", "1"]) == 0 and torch.get_num_threads() == 1


def test_bad_threads_are_refused_with_exit_code_2(capsys, monkeypatch, restore_threads):
    assert cli.main(["eval", "nowhere", "--threads", "-2"]) == 2
    assert "--threads -2" in capsys.readouterr().err
    monkeypatch.setenv("TEXTGAN_TORCH_THREADS", "many")
    assert cli.main(["eval", "nowhere"]) == 2
    assert "TEXTGAN_TORCH_THREADS" in capsys.readouterr().err
