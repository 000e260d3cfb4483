"""Primers: typed notes, MIDI and ABC files become the kit's events; every change is named; bad
input gets the loaders' named errors; a continuation starts with the primer's events exactly."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from musiclab.data.melody import NO_EVENT, NOTE_OFF, event_names, pitch_to_event, to_pretty_midi
from musiclab.data.primer import Primer, parse_notes, read_drum_primer, read_primer
from musiclab.errors import BadFileError, BadParameterError
from musiclab.models.melody_data import load_trained
from musiclab.models.note_rnn import NoteRNN

TUNE = "C4 D4 E4 - - G4 . C5"


def test_typed_notes_are_one_16th_step_per_token():
    primer = parse_notes(TUNE)
    assert event_names(primer.events) == ["C4", "D4", "E4", "-", "-", "G4", "off", "C5"]
    assert primer.changes == () and primer.source == "typed notes"


def test_sharps_flats_holds_and_leading_rests():
    events = parse_notes(". . F#4 - Bb3 -").events
    assert events.tolist() == [NO_EVENT, NO_EVENT, pitch_to_event(66), NO_EVENT, pitch_to_event(58), NO_EVENT]


def test_a_rest_then_a_hold_stays_a_rest():
    assert parse_notes("C4 . - - D4").events.tolist() == [pitch_to_event(60), NOTE_OFF, NO_EVENT, NO_EVENT,
                                                          pitch_to_event(62)]


def test_a_melody_below_the_range_moves_up_by_octaves_and_says_so():
    primer = parse_notes("C2 D2 - E2")
    assert event_names(primer.events) == ["C3", "D3", "-", "E3"]
    assert len(primer.changes) == 1 and "up 1 octave" in primer.changes[0] and "C3..B5" in primer.changes[0]
    assert "transposed up 1 octave" in primer.describe()


def test_a_melody_wider_than_the_range_is_folded_and_says_how_many_notes_moved():
    primer = parse_notes("C1 C4 C8")
    assert all(48 <= 46 + e <= 83 for e in primer.events)
    assert "moved" in primer.changes[0] and "of 3 notes" in primer.changes[0]


@pytest.mark.parametrize("text, token", [("C4 H4", "H4"), ("C4 D", "'D'"), ("C4 x E4", "'x'")])
def test_a_bad_token_is_a_named_error_that_says_what_is_valid(text, token):
    with pytest.raises(BadParameterError, match=f"{token}.*pitch name such as C4"):
        parse_notes(text)


def test_empty_typed_notes_are_refused():
    with pytest.raises(BadParameterError, match="empty"):
        read_primer("   ")


@pytest.mark.parametrize("text", [TUNE, ". C4 - - D#4 E4 - . . A5 - - - B3 C4 -", "G3 - - - - - - - C5"])
def test_a_melody_written_as_midi_reads_back_as_the_same_events(text, tmp_path):
    events = parse_notes(text).events
    path = tmp_path / "tune.mid"
    to_pretty_midi(events, tempo_bpm=97.0).write(str(path))
    primer = read_primer(path)
    # a MIDI file keeps no trailing rest: compare up to the end of the last note
    end = len(events) - (1 if events[-1] == NOTE_OFF else 0)
    np.testing.assert_array_equal(primer.events, events[:end])
    assert primer.changes == () and "tune.mid" in primer.source


def test_an_off_grid_midi_is_quantised_and_says_so(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(0)
    for start, pitch in ((0.0, 60), (0.27, 62), (0.5, 64)):  # one 16th = 0.125 s; 0.27 s is off the grid
        piano.notes.append(pretty_midi.Note(90, pitch, start, start + 0.25))
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "swing.mid"))
    primer = read_primer(tmp_path / "swing.mid")
    assert event_names(primer.events) == ["C4", "-", "D4", "-", "E4", "-"]
    assert any("quantised 1 of 3 notes" in change for change in primer.changes)


def test_a_chord_keeps_its_highest_note_and_a_high_midi_moves_down(make_midi, tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(0)
    piano.notes += [pretty_midi.Note(90, 96, 0, 0.5), pretty_midi.Note(90, 100, 0, 0.5),
                    pretty_midi.Note(90, 98, 0.5, 1.0)]
    pm.instruments.append(piano)
    pm.write(str(tmp_path / "chord.mid"))
    primer = read_primer(tmp_path / "chord.mid")
    assert event_names(primer.events) == ["E5", "-", "-", "-", "D5", "-", "-", "-"]
    assert any("highest" in c for c in primer.changes) and any("down 2 octaves" in c for c in primer.changes)


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text", "drums_only", "no_notes"])
def test_a_bad_midi_primer_gets_the_loaders_named_error(bad_midi_files, kind):
    with pytest.raises(BadFileError, match=str(bad_midi_files[kind].name)):
        read_primer(bad_midi_files[kind])


def test_a_file_of_another_kind_is_refused_naming_what_is_read(tmp_path):
    (tmp_path / "tune.txt").write_text(TUNE)
    with pytest.raises(BadFileError, match=r"tune.txt.*\.mid, \.midi, \.abc"):
        read_primer(tmp_path / "tune.txt")


def test_an_abc_primer_is_transposed_to_c_and_says_so(tmp_path, needs_abc2midi):
    (tmp_path / "tune.abc").write_text("X:1\nT:Little\nM:4/4\nL:1/8\nK:G\nGABc d2B2|G4\n")
    primer = read_primer(tmp_path / "tune.abc")
    assert event_names(primer.events)[:6] == ["C5", "-", "D5", "-", "E5", "-"]
    assert "Little" in primer.source and "K:G" in primer.changes[0]


@pytest.mark.parametrize("text, match", [("no tune here\n", "holds no ABC tune"),
                                         ("X:1\nT:bad key\nK:Q\nCDEF|\n", "ABC key")])
def test_a_bad_abc_primer_is_a_bad_file_error_naming_the_file(tmp_path, text, match):
    (tmp_path / "bad.abc").write_text(text)
    with pytest.raises(BadFileError, match=match):
        read_primer(tmp_path / "bad.abc")


def test_a_primer_window_is_padded_with_a_rest_or_cut(tmp_path):
    primer = parse_notes("C4 - D4")
    padded, note = primer.window(8)
    assert event_names(padded) == ["C4", "-", "D4", "off", "-", "-", "-", "-"] and "padded" in note
    cut, note = Primer(np.array([14, 1, 1, 1, 16, 1, 1, 1]), "test").window(6)
    assert event_names(cut) == ["C4", "-", "-", "-", "D4", "-"] and "first 6 of 8" in note


def test_a_drum_primer_is_the_opening_of_a_drum_midi_grid(make_midi, melody_midi):
    path = make_midi("beat.mid", pitches=(36, 42, 38, 42), step_s=0.125, is_drum=True)
    grid = read_drum_primer(path, steps=8)
    assert grid.shape == (8,) and grid[0] == 0 and grid[2] == 1  # kick, then snare on the third 16th
    with pytest.raises(BadFileError, match="good.mid"):
        read_drum_primer(melody_midi)


def test_a_continuation_starts_with_the_primers_events_exactly():
    model = load_trained("note_rnn_fast", device="cpu", expected_kind=NoteRNN.kind).model
    primer = read_primer(TUNE)
    pieces = model.sample(3, 24, primer=primer.events, seed=0).numpy()
    assert (pieces[:, :len(primer)] == primer.events).all()
    assert len({tuple(row[len(primer):]) for row in pieces}) == 3  # the continuations differ
