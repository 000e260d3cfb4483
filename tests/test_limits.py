"""Size limits: a typo in a length, a count or a file cannot hang the machine; each limit is named,
says how to raise it, and can be raised."""
from __future__ import annotations

import io
import subprocess
import sys
import time
import wave
from pathlib import Path

import pretty_midi
import pytest
import torch

from musiclab import cli
from musiclab.audio import load_midi, render_midi_file, synthesize, write_wav
from musiclab.data.abc import abc_note_count, read_abc
from musiclab.data.chords import load_midi_folder_tokens, tokens_from_midi
from musiclab.data.corpus import convert_abc
from musiclab.data.drum_midi import grid_from_midi
from musiclab.data.midi_melodies import load_midi_folder, load_midi_melody
from musiclab.data.smf import midi_file_notes
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


# ---------------------------------------------------------------- notes per input file


def many_notes(path, count: int):
    """A MIDI file of ``count`` 16th notes at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(velocity=80, pitch=60 + i % 12, start=i * 0.125, end=(i + 1) * 0.125)
                   for i in range(count)]
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


@pytest.mark.parametrize("loader", [load_midi_melody, tokens_from_midi, load_midi])
def test_every_midi_file_loader_refuses_more_notes_than_the_limit_naming_file_and_option(tmp_path, loader,
                                                                                         monkeypatch):
    path = many_notes(tmp_path / "long.mid", 300)
    monkeypatch.setattr(LIMITS, "max_notes", 200)
    with pytest.raises(LimitError, match=r"long\.mid has more than 200 notes, which is over the limit "
                                         r"max_notes = 200; raise it with musiclab.limits.LIMITS.max_notes = "
                                         r"\.\.\. or --max-notes"):
        loader(path)
    monkeypatch.setattr(LIMITS, "max_notes", 300)
    loader(path)


def test_the_drum_loader_refuses_a_file_over_the_notes_limit(tmp_path, monkeypatch):
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(velocity=80, pitch=36, start=i * 0.125, end=i * 0.125 + 0.1) for i in range(64)]
    pm.instruments.append(drums)
    pm.write(str(tmp_path / "beat.mid"))
    monkeypatch.setattr(LIMITS, "max_notes", 63)
    with pytest.raises(LimitError, match=r"beat\.mid has more than 63 notes, which is over the limit max_notes"):
        grid_from_midi(tmp_path / "beat.mid")


@pytest.mark.parametrize("loader", [load_midi_folder, load_midi_folder_tokens])
def test_folder_loaders_skip_and_count_a_file_over_the_notes_limit(tmp_path, loader, monkeypatch):
    many_notes(tmp_path / "songs" / "short.mid", 16)
    many_notes(tmp_path / "songs" / "long.mid", 300)
    monkeypatch.setattr(LIMITS, "max_notes", 200)
    with pytest.warns(UserWarning, match=r"long\.mid \(over the notes limit\)"):
        loaded = loader(tmp_path / "songs", quiet=True)
    assert loaded.skipped_ids == {"long.mid": "over the notes limit"}


def test_the_note_count_stops_reading_past_the_limit():
    data = io.BytesIO()
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(velocity=80, pitch=60, start=i * 0.1, end=i * 0.1 + 0.05) for i in range(1000)]
    pm.instruments.append(piano)
    pm.write(data)
    assert len(midi_file_notes(data.getvalue())[1]) == 1000
    assert len(midi_file_notes(data.getvalue(), max_notes=10)[1]) == 11


def test_an_abc_tune_over_the_limit_is_counted_and_skipped_before_music21_parses_it(tmp_path):
    """Issue 14, failure 10: music21 took 34 s on a 20,000-note tune and never finished a 210,000-note one."""
    tune = "X:1\nT:long\nM:4/4\nL:1/16\nK:C\n" + '"C"CDEF !trill!GABc|\n' * 26_250 + "%comment ABCDEFG\n"
    assert abc_note_count(tune) == 210_000
    (tmp_path / "long.abc").write_text(tune + "\nX:2\nT:short\nM:4/4\nL:1/8\nK:G\nGABc dedB|GABc d4|\n")
    start = time.perf_counter()
    melodies = convert_abc(read_abc(tmp_path / "long.abc"), "mine", converter="music21", quiet=True)
    assert time.perf_counter() - start < 10
    assert melodies.skipped_ids == {"long/1": "over the notes limit (LIMITS.max_abc_notes = 2,000)"}
    assert [tune.tune_id for tune in melodies.tunes] == ["long/2"]


# ---------------------------------------------------------------- long renders in bounded memory


def melody_and_drums(seconds: float) -> pretty_midi.PrettyMIDI:
    pm = long_midi(0.0)
    pm.instruments[0].notes = [pretty_midi.Note(velocity=60 + i % 40, pitch=48 + (7 * i) % 36, start=i * 0.37,
                                                end=i * 0.37 + 0.05 + (i % 5) * 0.4)
                               for i in range(int(seconds / 0.37))]
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(velocity=100, pitch=(36, 38, 42, 49)[i % 4], start=i * 0.25, end=i * 0.25 + 0.1)
                   for i in range(int(seconds / 0.25))]
    pm.instruments.append(drums)
    return pm


@pytest.mark.parametrize("engine", ["simple", "fluidsynth"])
def test_render_streams_the_same_samples_as_rendering_in_memory(tmp_path, engine):
    if engine == "fluidsynth":
        pytest.importorskip("fluidsynth")
    melody_and_drums(6.0).write(str(tmp_path / "in.mid"))
    whole = write_wav(synthesize(load_midi(tmp_path / "in.mid"), 8000, engine=engine), tmp_path / "whole.wav", 8000)
    streamed = render_midi_file(tmp_path / "in.mid", tmp_path / "streamed.wav", 8000, engine=engine,
                                chunk_seconds=0.7)  # pieces that cut through notes, drum hits and events
    assert streamed.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mid", "streamed.wav", "whole.wav"]


def test_rendering_a_long_file_to_disk_takes_bounded_memory(tmp_path):
    """Issue 14, failure 5: rendering a long file held all of its audio in memory (4.7 GB)."""
    long_midi(300.0).write(str(tmp_path / "long.mid"))
    long_midi(1.0).write(str(tmp_path / "short.mid"))
    script = ("import sys; from musiclab.audio import render_midi_file; from pathlib import Path\n"
              "def peak(): return int(next(l for l in Path('/proc/self/status').read_text().splitlines()"
              " if l.startswith('VmHWM')).split()[1]) // 1024\n"
              "render_midi_file(sys.argv[2] + '/short.mid', sys.argv[2] + '/warm.wav', 8000, engine='simple')\n"
              "before = peak(); render_midi_file(sys.argv[1], sys.argv[2] + '/out.wav', 8000, engine='simple')\n"
              "print(peak() - before)")
    if not Path("/proc/self/status").exists():
        pytest.skip("reads peak memory from /proc")
    grown = subprocess.run([sys.executable, "-c", script, str(tmp_path / "long.mid"), str(tmp_path)], check=True,
                           capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent).stdout
    with wave.open(str(tmp_path / "out.wav")) as out:
        assert out.getnframes() == 301 * 8000  # 5 minutes (held in memory, 10 minutes of it took 222 MB more)
    assert int(grown) < 50  # MB above the peak of a render of one second
