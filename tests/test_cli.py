"""The musiclab command: train writes a loadable checkpoint, sample writes MIDI, bad input exits 2."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest
import torch

from musiclab import cli
from musiclab.cli import options
from musiclab.checkpoints import CHECKPOINT_DIR, SHIPPED, load_checkpoint, save_checkpoint
from musiclab.data.chords import token_pitches
from musiclab.models import melody_data, note_rnn
from musiclab.models.melody_data import load_trained
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--subset", "kinder0", "--steps", "4", "--eval-every", "2", "--batch-size", "8", "--hidden", "16",
        "--quiet"]


#: The real Essen collection kinder0 is built once into a temporary cache for this module.
pytestmark = pytest.mark.usefixtures("module_cache")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A Note-RNN trained by the CLI for 4 steps on kinder0."""
    out = tmp_path_factory.mktemp("cli") / "tiny.pt"
    assert cli.main(["train", "note-rnn", "--preset", "fast", "--seed", "3", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_a_checkpoint_with_config_command_and_validation_figures(trained):
    checkpoint = load_checkpoint(trained, expected_kind="note_rnn")
    extra = checkpoint["extra"]
    assert checkpoint["config"]["hidden_size"] == 16 and checkpoint["config"]["embedding_dim"] == 32
    assert extra["command"] == f"musiclab train note-rnn --preset fast --seed 3 --out {trained} " + " ".join(TINY)
    assert extra["train_config"]["steps"] == 4 and extra["train_config"]["seed"] == 3
    assert extra["data"]["corpus"] == "essen" and extra["data"]["subset"] == "kinder0"
    assert 0 < extra["valid"]["nll"] < 10 and 0 <= extra["valid"]["accuracy"] <= 1
    assert extra["history"]["eval_steps"] == [2, 4] and len(extra["history"]["train_loss"]) == 4
    assert "vocabulary" not in extra and extra["seconds"] > 0
    model = load_trained(trained, device="cpu").model
    assert isinstance(model, NoteRNN) and model.num_classes == 38


def test_train_prints_the_validation_nll_and_accuracy(tmp_path, capsys):
    out = tmp_path / "again.pt"
    assert cli.main(["train", "note-rnn", "--out", str(out), "--threads", "1", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "validation: NLL" in printed and "accuracy" in printed and f"wrote {out}" in printed
    assert "essen/kinder0" in printed


def test_the_same_command_gives_the_same_weights(trained, tmp_path):
    out = tmp_path / "twin.pt"
    assert cli.main(["train", "note-rnn", "--preset", "fast", "--seed", "3", "--out", str(out), *TINY]) == 0
    first, second = load_checkpoint(trained)["state_dict"], load_checkpoint(out)["state_dict"]
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_sample_writes_a_midi_melody_and_is_seeded(trained, tmp_path, capsys):
    out = tmp_path / "song.mid"
    assert cli.main(["sample", str(trained), str(out), "--length", "64", "--seed", "5"]) == 0
    notes = pretty_midi.PrettyMIDI(str(out)).instruments[0].notes
    assert notes and all(48 <= n.pitch <= 83 for n in notes)
    assert max(n.end for n in notes) <= 64 * 0.125 + 1e-6  # 64 sixteenths at 120 bpm = 8 s
    assert f"wrote {out}" in capsys.readouterr().out
    twin = tmp_path / "twin.mid"
    cli.main(["sample", str(trained), str(twin), "--length", "64", "--seed", "5"])
    assert twin.read_bytes() == out.read_bytes()


def test_sample_writes_one_file_per_sample(trained, tmp_path):
    assert cli.main(["sample", str(trained), str(tmp_path / "batch.mid"), "--n", "3", "--length", "32"]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.mid")) == ["batch-0.mid", "batch-1.mid", "batch-2.mid"]


def test_sample_plays_a_notes_and_chords_model_as_chords(tmp_path):
    tokens = ["C4", "E4", "G4", "0.4.7", "2.7.11"]
    torch.manual_seed(0)
    model = NoteRNN(NoteRNNConfig(num_classes=len(tokens), hidden_size=8, embedding_dim=4))
    path = save_checkpoint(tmp_path / "chords.pt", model, extra={"vocabulary": tokens})
    out = tmp_path / "chords.mid"
    assert cli.main(["sample", str(path), str(out), "--length", "40", "--seed", "1"]) == 0
    notes = pretty_midi.PrettyMIDI(str(out)).instruments[0].notes
    allowed = {p for token in tokens for p in token_pitches(token)}
    assert {n.pitch for n in notes} <= allowed and len({n.start for n in notes}) == 40
    assert len(notes) > 40  # some tokens were chords


def test_a_bad_preset_exits_with_status_2_and_lists_the_valid_ones(tmp_path, capsys):
    out = tmp_path / "x.pt"
    assert cli.main(["train", "note-rnn", "--preset", "huge", "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert "musiclab: error: unknown Note-RNN preset 'huge'" in message
    assert all(f"'{name}'" in message for name in ("fast", "rl_tuner", "therapy", "classic"))
    assert not out.exists()


@pytest.mark.slow
def test_the_installed_command_exits_2_on_a_bad_preset(tmp_path):
    result = subprocess.run([sys.executable, "-m", "musiclab.cli", "train", "note-rnn", "--preset", "huge",
                             "--out", str(tmp_path / "x.pt")], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "unknown Note-RNN preset 'huge'" in result.stderr


def test_bad_subsets_and_missing_checkpoints_exit_2_with_a_musiclab_error(tmp_path, capsys):
    assert cli.main(["train", "note-rnn", "--subset", "atlantis", "--out", str(tmp_path / "x.pt")]) == 2
    assert "musiclab: error: unknown essen subset 'atlantis'" in capsys.readouterr().err
    assert cli.main(["sample", str(tmp_path / "nothing.pt"), str(tmp_path / "x.mid")]) == 2
    assert "nothing.pt does not exist" in capsys.readouterr().err
    assert cli.main(["train", "note-rnn", "--steps", "0", "--out", str(tmp_path / "x.pt")]) == 2
    assert "--steps must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_the_clis_choices_match_the_package():
    from musiclab.launchpad import dqn, env
    from musiclab.models import vae_config

    assert set(options.NOTE_RNN_PRESETS) == set(note_rnn.PRESETS)
    assert set(options.TRAIN_PRESETS["music-vae"]) == set(vae_config.PRESETS)
    assert set(options.TRAIN_CORPORA) == set(melody_data.CORPORA)
    assert options.LAUNCHPAD_Q_FUNCTIONS == dqn.Q_FUNCTIONS and options.LAUNCHPAD_PRESETS == dqn.DQN_PRESETS
    assert options.LAUNCHPAD_STARTS == env.STARTS


def test_launchpad_train_has_one_parser_the_musiclab_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["launchpad", "train", "--help"])
    assert exit_.value.code == 0
    usage = capsys.readouterr().out
    assert usage.startswith("usage: musiclab launchpad train")
    for option in ("--q-function", "--preset", "--steps", "--notes", "--beats-log2", "--k", "--max-steps",
                   "--start", "--env-seed", "--seed", "--threads", "--out", "--quiet"):
        assert option in usage
    for name in ("launchpad_dqn_mlp", "launchpad_dqn_linear"):
        q_function = name.rsplit("_", 1)[1]
        assert SHIPPED[name].command == (f"musiclab launchpad train --q-function {q_function} --seed 0 "
                                         f"--out data/checkpoints/{name}.pt")


@pytest.mark.parametrize("name", sorted(name for name in SHIPPED if name.startswith("note_rnn_")))
def test_every_shipped_note_rnn_loads_safely_and_records_its_command(name):
    entry = SHIPPED[name]
    path = CHECKPOINT_DIR / entry.file
    assert path.is_file() and path.stat().st_size < 5e6
    trained = load_trained(name, device="cpu")
    assert trained.extra["command"] == entry.command
    assert entry.command.startswith("musiclab train ") and f"--out data/checkpoints/{entry.file}" in entry.command
    uniform = math.log(trained.model.num_classes)  # a model that learned nothing scores this
    assert 0 < trained.extra["valid"]["nll"] < 0.7 * uniform and 0 < trained.extra["valid"]["accuracy"] <= 1
    assert (trained.vocabulary is None) == ("--corpus chorale-tokens" not in entry.command)


def test_the_shipped_fast_note_rnn_keeps_its_measured_validation_figures():
    valid = load_trained("note_rnn_fast", device="cpu").extra["valid"]
    assert valid["nll"] < 0.9 and valid["accuracy"] > 0.7


def test_train_music_vae_refuses_a_preset_of_another_model_naming_the_vae_presets(tmp_path, capsys):
    out = tmp_path / "vae.pt"
    assert cli.main(["train", "music-vae", "--preset", "fast", "--out", str(out)]) == 2
    assert "'cpu'" in capsys.readouterr().err and not out.exists()


def test_each_trainable_model_has_its_own_default_preset():
    args = cli.build_parser().parse_args(["train", "music-vae", "--out", "vae.pt"])
    assert args.preset is None  # resolved per model in cmd_train
    assert options.DEFAULT_PRESETS == {"note-rnn": "fast", "note-cnn": "fast", "music-vae": "cpu"}
    assert set(options.DEFAULT_PRESETS) == set(options.TRAINABLE)
