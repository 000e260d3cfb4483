"""`musiclab tune`, `musiclab train note-cnn` and `musiclab launchpad train` reproduce shipped files."""
from __future__ import annotations

import pytest

from musiclab.checkpoints import SHIPPED, load_checkpoint, shipped_path
from musiclab.cli import main
from musiclab.rl.tuner import load_q_network


@pytest.mark.parametrize("args", [
    ["tune", "--model", "melody", "--algorithm", "g"],
    ["tune", "--model", "melody", "--rules-only"],
    ["tune", "--model", "drums", "--rules", "groove"],
])
def test_tune_writes_a_q_network_that_composes(tmp_path, args):
    out = tmp_path / "q.pt"
    assert main(args + ["--episodes", "32", "--seed", "0", "--quiet", "--out", str(out)]) == 0
    assert load_checkpoint(out)["kind"] == "q_network"
    q_net = load_q_network(out)
    assert q_net.sample(2, 16, seed=0).shape == (2, 16)


def test_tune_names_the_valid_algorithms_on_a_typo(tmp_path, capsys):
    assert main(["tune", "--algorithm", "dqnn", "--out", str(tmp_path / "q.pt")]) == 2
    assert "'dqn', 'psi', 'g'" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--episodes", "0"], "--episodes must be at least 1, got 0"),
    (["--model", "melody", "--epsilon", "1.5"], "tune --model melody does not take --epsilon"),
    (["--model", "melody", "--rules", "bogus"], "does not take --rules"),
    (["--model", "drums", "--algorithm", "bogus"], "tune --model drums does not take --algorithm"),
    (["--model", "drums", "--preset", "fast"], "does not take --preset"),
])
def test_every_tune_option_takes_effect_or_is_refused_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "q.pt"
    assert main(["tune", *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_train_note_cnn_writes_a_loadable_drum_model(tmp_path):
    out = tmp_path / "cnn.pt"
    assert main(["train", "note-cnn", "--steps", "3", "--eval-every", "3", "--num-threads", "1",
                 "--quiet", "--out", str(out)]) == 0
    assert load_checkpoint(out, expected_kind="note_cnn")["extra"]["command"].startswith("musiclab train note-cnn")


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith("rl_tuner_")])
def test_every_shipped_tuned_melody_model_names_a_tune_command_that_exists(name):
    command = SHIPPED[name].command.split()
    assert command[:2] == ["musiclab", "tune"] and command[-1] == f"data/checkpoints/{SHIPPED[name].file}"
    assert load_checkpoint(shipped_path(name))["kind"] == "q_network"
