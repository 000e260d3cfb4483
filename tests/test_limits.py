"""Size limits: a typo in a length, a count or a file cannot hang the machine; each limit is named,
says how to raise it, and can be raised."""
from __future__ import annotations

import pretty_midi
import pytest
import torch

from musiclab import cli
from musiclab.audio import synthesize
from musiclab.limits import LIMITS, LimitError
from musiclab.models.music_vae import MusicVAE
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.vae_config import preset as vae_preset
from musiclab.rl.compose import compose
from musiclab.rl.q_network import QNetwork


def tiny_rnn() -> NoteRNN:
    torch.manual_seed(0)
    return NoteRNN(NoteRNNConfig(hidden_size=8, embedding_dim=4)).eval()


def long_midi(seconds: float) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0.0, end=seconds))
    pm.instruments.append(piano)
    return pm


def test_sampling_and_composing_refuse_a_length_or_count_over_the_limit_before_any_work():
    with pytest.raises(LimitError, match=r"length=1e\+09 is over the limit max_steps = 100000; raise it with"):
        tiny_rnn().sample(1, 10**9)
    with pytest.raises(LimitError, match="n=1e\\+08 is over the limit max_pieces"):
        tiny_rnn().sample(10**8, 4)
    with pytest.raises(LimitError, match="max_steps"):
        compose(QNetwork.from_model(tiny_rnn()), 1, 10**9)
    with pytest.raises(LimitError, match="max_steps"):
        MusicVAE(vae_preset("small")).sample(1, length=10**9)


def test_a_limit_can_be_raised(monkeypatch):
    monkeypatch.setattr(LIMITS, "max_steps", 8)
    with pytest.raises(LimitError, match="max_steps = 8"):
        tiny_rnn().sample(1, 16)
    monkeypatch.setattr(LIMITS, "max_steps", 16)
    assert tiny_rnn().sample(1, 16, seed=0).shape == (1, 16)


def test_rendering_refuses_more_audio_than_the_limit_without_rendering_it():
    with pytest.raises(LimitError, match="seconds of audio=4001 is over the limit max_render_seconds"):
        synthesize(long_midi(4000.0), 16000, engine="simple")


def test_the_command_line_names_the_option_that_raises_a_limit_and_restores_it(tmp_path, capsys):
    out = tmp_path / "o.mid"
    assert cli.main(["sample", "note_rnn_fast", str(out), "--length", "1000000000"]) == 2
    assert "--max-steps" in capsys.readouterr().err and not out.exists()
    assert cli.main(["sample", "note_rnn_fast", str(out), "--length", "16", "--max-steps", "8"]) == 2
    assert cli.main(["sample", "note_rnn_fast", str(out), "--length", "16", "--max-steps", "16"]) == 0
    assert out.exists() and LIMITS.max_steps == 100_000
    midi = tmp_path / "long.mid"
    long_midi(4000.0).write(str(midi))
    assert cli.main(["render", str(midi), str(tmp_path / "long.wav")]) == 2
    assert "--max-seconds" in capsys.readouterr().err and not (tmp_path / "long.wav").exists()
