"""Every option of every command takes effect or is refused for that command before any work; zero and
negative counts, negative seeds and non-positive amounts are errors (issue 14, failure 6).

Each refusal exits with status 2 and one line naming the option, and leaves no output behind."""
from __future__ import annotations

import pretty_midi
import pytest

from musiclab import cli
from musiclab.cli import options
from musiclab.limits import LIMITS


@pytest.fixture
def midi(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(velocity=80, pitch=60 + i, start=i * 0.25, end=(i + 1) * 0.25) for i in range(4)]
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "in.mid"))
    return tmp_path / "in.mid"


def refused(capsys, argv, message, out) -> None:
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--corpus", "drums", "bars", "--subset", "kinder0"], "--subset applies to essen, oneill and chorales only"),
])
def test_data_build(capsys, tmp_path, args, message):
    refused(capsys, ["data", "build", *args], message, tmp_path / "none")


@pytest.mark.parametrize("args, message", [
    (["--rate", "0"], "sample_rate must be in [8000, 96000], got 0"),
    (["--max-seconds", "0"], "--max-seconds must be a finite number above 0, got 0.0"),
    (["--max-seconds", "-5"], "--max-seconds must be a finite number above 0, got -5.0"),
    (["--max-seconds", "nan"], "--max-seconds must be a finite number above 0, got nan"),
    (["--max-notes", "0"], "--max-notes must be at least 1, got 0"),
    (["--max-notes", "3"], "in.mid has more than 3 notes, which is over the limit max_notes = 3; raise it with"),
])
def test_render(capsys, tmp_path, midi, args, message):
    refused(capsys, ["render", midi, tmp_path / "out.wav", *args], message, tmp_path / "out.wav")


def test_render_engine_takes_effect(tmp_path, midi):
    from musiclab.audio import render_midi_file

    assert cli.main(["render", str(midi), str(tmp_path / "cli.wav"), "--engine", "simple", "--rate", "8000"]) == 0
    api = render_midi_file(midi, tmp_path / "api.wav", 8000, engine="simple")
    assert (tmp_path / "cli.wav").read_bytes() == api.read_bytes()


@pytest.mark.parametrize("model, args, message", [
    *[("note-rnn", [option, "0"], f"{option} must be at least 1, got 0") for option in (
        "--steps", "--batch-size", "--window", "--hop", "--eval-every", "--threads", "--hidden", "--layers",
        "--embedding")],
    ("note-rnn", ["--steps", "-3"], "--steps must be at least 1, got -3"),
    ("note-rnn", ["--lr", "0"], "--lr must be a finite number above 0, got 0.0"),
    ("note-rnn", ["--lr", "inf"], "--lr must be a finite number above 0, got inf"),
    ("note-rnn", ["--seed", "-1"], "--seed must be at least 0, got -1"),
    ("note-rnn", ["--split-seed", "-1"], "--split-seed must be at least 0, got -1"),
    ("note-rnn", ["--preset", "huge"], "unknown Note-RNN preset 'huge'"),
    ("note-cnn", ["--preset", "huge"], "unknown Note-CNN preset 'huge'; valid: 'fast', 'paper'"),
    ("note-cnn", ["--subset", "kinder0"], "train note-cnn does not take --subset"),
    ("note-cnn", ["--lr", "0.1", "--hidden", "8"], "train note-cnn does not take --hidden, --lr"),
    ("note-cnn", ["--split-seed", "2"], "does not take --split-seed"),
    ("music-vae", ["--preset", "fast"], "unknown MusicVAE preset 'fast'"),
    ("music-vae", ["--window", "8"], "train music-vae does not take --window"),
    ("music-vae", ["--subset", "kinder0"], "train music-vae does not take --subset"),
    ("music-vae", ["--hop", "4"], "does not take --hop"),
])
def test_train(capsys, tmp_path, model, args, message):
    refused(capsys, ["train", model, *args, "--out", tmp_path / "m.pt"], message, tmp_path / "m.pt")


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n must be at least 1, got 0"),
    (["--n", "-3"], "--n must be at least 1, got -3"),
    (["--length", "0"], "--length must be at least 1, got 0"),
    (["--temperature", "0"], "--temperature must be a finite number above 0"),
    (["--temperature", "-1"], "--temperature must be a finite number above 0"),
    (["--tempo", "0"], "--tempo must be a finite number above 0"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--max-steps", "0"], "--max-steps must be at least 1, got 0"),
    (["--max-pieces", "-1"], "--max-pieces must be at least 1, got -1"),
])
def test_sample(capsys, tmp_path, args, message):
    refused(capsys, ["sample", "note_rnn_fast", tmp_path / "o.mid", *args], message, tmp_path / "o.mid")


@pytest.mark.parametrize("args, message", [
    (["--episodes", "-1"], "--episodes must be at least 1, got -1"),
    (["--seed", "-2"], "--seed must be at least 0, got -2"),
    (["--model", "drums", "--episodes", "0"], "--episodes must be at least 1, got 0"),
])
def test_tune(capsys, tmp_path, args, message):
    refused(capsys, ["tune", *args, "--out", tmp_path / "q.pt"], message, tmp_path / "q.pt")


@pytest.mark.parametrize("args, message", [
    *[([option, "0"], f"{option} must be at least 1, got 0") for option in (
        "--steps", "--notes", "--beats-log2", "--k", "--max-steps", "--threads")],
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--env-seed", "-1"], "--env-seed must be at least 0, got -1"),
])
def test_launchpad_train(capsys, tmp_path, args, message):
    refused(capsys, ["launchpad", "train", *args, "--out", tmp_path / "a.pt"], message, tmp_path / "a.pt")


def test_launchpad_max_steps_is_the_episode_length_not_the_steps_limit():
    args = cli.build_parser().parse_args(["launchpad", "train", "--max-steps", "4", "--out", "a.pt"])
    assert args.episode_steps == 4 and not hasattr(args, "max_steps")
    assert LIMITS.max_steps == 100_000


def test_data_info_takes_no_options(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["data", "info", "--refresh"])
    assert stopped.value.code == 2 and "unrecognized arguments: --refresh" in capsys.readouterr().err


def test_every_count_seed_and_amount_option_of_the_parser_is_checked():
    """A new integer or float option must join COUNTS, SEEDS or AMOUNTS (or be a choice/limit checked elsewhere)."""
    import argparse

    checked = {*options.COUNTS, *options.SEEDS, *options.AMOUNTS, "rate", "dropout", "epsilon"}
    found = set()

    def walk(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif action.type in (int, float):
                found.add(action.dest)

    walk(cli.build_parser())
    assert found <= checked, found - checked
