"""``--primer`` on sample, compose and vae, and ``.musicxml`` output: each piece starts with your tune
exactly, sheet music is written atomically, and bad primers or endings exit 2 with a named error."""
from __future__ import annotations

import pretty_midi
import pytest
from music21 import converter

from musiclab import cli
from musiclab.data.drums import CLASS_PITCHES, SILENCE
from musiclab.data.primer import parse_notes, read_drum_primer, read_primer

TUNE = "C4 D4 E4 - - G4 . C5"


def test_sample_continues_a_typed_primer_exactly_and_is_seeded(tmp_path, capsys):
    args = ["sample", "note_rnn_fast", str(tmp_path / "a.mid"), "--primer", TUNE, "--length", "32", "--seed", "4"]
    assert cli.main(args) == 0
    first = read_primer(tmp_path / "a.mid").events
    assert first[:8].tolist() == parse_notes(TUNE).events.tolist() and len(first) > 8
    assert "primer from typed notes: 8 steps" in capsys.readouterr().out
    assert cli.main(args[:2] + [str(tmp_path / "b.mid")] + args[3:]) == 0
    assert read_primer(tmp_path / "b.mid").events.tolist() == first.tolist()


def test_sample_reads_a_midi_primer_and_writes_musicxml(tmp_path, make_midi, capsys):
    low = make_midi("low.mid", pitches=(36, 38, 40))  # C2 D2 E2, below the kit's range
    out = tmp_path / "tune.musicxml"
    assert cli.main(["sample", "note_rnn_fast", str(out), "--primer", str(low),
                     "--length", "16"]) == 0
    assert "transposed up 1 octave" in capsys.readouterr().out  # the change is named
    notes = list(converter.parse(str(out)).flatten().notes)
    assert [n.pitch.nameWithOctave for n in notes[:3]] == ["C3", "D3", "E3"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_compose_continues_the_primer_with_the_tuned_network(tmp_path):
    assert cli.main(["compose", "rl_tuner_dqn", str(tmp_path / "c.mid"), "--primer", TUNE, "--n", "2"]) == 0
    for name in ("c-0.mid", "c-1.mid"):
        events = read_primer(tmp_path / name).events
        assert events[:8].tolist() == parse_notes(TUNE).events.tolist() and len(events) > 8


def test_drum_models_continue_a_drum_midi_primer(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    kit = pretty_midi.Instrument(0, is_drum=True)
    for step, pitch in ((0, CLASS_PITCHES[0]), (4, CLASS_PITCHES[1]), (6, CLASS_PITCHES[0])):
        kit.notes.append(pretty_midi.Note(100, pitch, step * 0.15, step * 0.15 + 0.15))
    pm.instruments.append(kit)
    pm.write(str(tmp_path / "beat.mid"))
    primer = read_drum_primer(tmp_path / "beat.mid")
    for command, model in (("sample", "drum_cnn_fast"), ("compose", "drum_q_groove")):
        out = tmp_path / f"{command}.mid"
        assert cli.main([command, model, str(out), "--primer", str(tmp_path / "beat.mid")]) == 0
        back = read_drum_primer(out, steps=32)
        assert back[:8].tolist() == primer.tolist() and (primer != SILENCE).sum() == 3
    assert cli.main(["compose", "drum_q_groove", str(tmp_path / "typed.mid"), "--primer", "kick . snare ."]) == 0
    assert read_drum_primer(tmp_path / "typed.mid", steps=4).tolist() == [0, SILENCE, 1, SILENCE]


def test_vae_encode_prints_z_and_interpolate_writes_each_step(tmp_path, capsys):
    assert cli.main(["vae", "encode", "music_vae_cpu", "--primer", TUNE]) == 0
    out = capsys.readouterr().out
    assert "z (32 numbers)" in out and "padded with a rest from 8 to 32 steps" in out
    assert cli.main(["vae", "interpolate", "music_vae_cpu", str(tmp_path / "m.musicxml"), "--primer", TUNE,
                     "--to", "E4 - G4 - C5 - - -", "--steps", "3"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-0.musicxml", "m-1.musicxml", "m-2.musicxml"]


@pytest.mark.parametrize("args, message", [
    (["sample", "note_rnn_fast", "OUT.wav"], "must end in .mid, .midi, .musicxml, .xml"),
    (["sample", "note_rnn_fast", "OUT.mid", "--primer", "C4 Q4"], "token 2 ('Q4') is not a note"),
    (["sample", "note_rnn_fast", "OUT.mid", "--primer", "missing.mid"], "missing.mid does not exist"),
    (["sample", "note_rnn_fast", "OUT.mid", "--primer", TUNE, "--length", "4"], "longer than length=4"),
    (["compose", "drum_q_groove", "OUT.mid", "--temperature", "0.5"], "temperature is for melodies"),
    (["compose", "drum_q_groove", "OUT.musicxml"], "drums have no score"),
    (["sample", "note_rnn_classic_small", "OUT.mid", "--primer", TUNE], "notes-and-chords model"),
])
def test_bad_primers_and_outputs_exit_2_with_a_named_error(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
