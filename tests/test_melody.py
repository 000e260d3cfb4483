"""The RL Tuner melody encoding and its conversions (notes, PrettyMIDI, music21)."""
from __future__ import annotations

import numpy as np
import pytest

from musiclab.data.melody import (
    MAX_PITCH, MIN_PITCH, NO_EVENT, NOTE_OFF, NUM_CLASSES, STEPS_PER_QUARTER, Note, check_events,
    decode_events, encode_notes, event_names, fit_to_range, from_pretty_midi, key_shift,
    make_windows, pitch_to_event, to_music21, to_pretty_midi, transpose_to_c,
)
from musiclab.errors import BadParameterError

C4, D4, E4, G4 = 60, 62, 64, 67


def ev(pitch: int) -> int:
    return pitch - 46


def test_constants_match_the_rl_tuner_encoding():
    assert (NOTE_OFF, NO_EVENT, MIN_PITCH, MAX_PITCH, NUM_CLASSES, STEPS_PER_QUARTER) == (0, 1, 48, 83, 38, 4)
    assert pitch_to_event(MIN_PITCH) == 2 and pitch_to_event(MAX_PITCH) == NUM_CLASSES - 1


def test_encode_places_onsets_holds_and_note_offs():
    # C4 quarter, rest 8th, D4 8th, E4 half
    notes = [Note(C4, 0, 4), Note(D4, 6, 2), Note(E4, 8, 8)]
    expected = [ev(C4), 1, 1, 1, 0, 1, ev(D4), 1, ev(E4), 1, 1, 1, 1, 1, 1, 1]
    events = encode_notes(notes)
    assert events.dtype == np.int64
    assert events.tolist() == expected


def test_an_onset_ends_the_previous_note_without_a_note_off():
    events = encode_notes([Note(C4, 0, 2), Note(D4, 2, 2)])
    assert events.tolist() == [ev(C4), 1, ev(D4), 1]


def test_simultaneous_notes_keep_the_highest():
    events = encode_notes([Note(C4, 0, 2), Note(G4, 0, 2), Note(E4, 0, 2)])
    assert events.tolist() == [ev(G4), 1]


def test_length_cuts_or_pads_with_a_note_off():
    notes = [Note(C4, 0, 4), Note(D4, 4, 4)]
    assert encode_notes(notes, length=6).tolist() == [ev(C4), 1, 1, 1, ev(D4), 1]
    assert encode_notes(notes, length=10).tolist() == [ev(C4), 1, 1, 1, ev(D4), 1, 1, 1, 0, 1]


@pytest.mark.parametrize("note", [Note(47, 0, 1), Note(84, 0, 1), Note(C4, -1, 2), Note(C4, 0, 0)])
def test_encode_rejects_notes_it_cannot_represent(note):
    with pytest.raises(BadParameterError, match="note"):
        encode_notes([note])


def test_decode_follows_the_rules():
    # onset C4, hold, note-off, rest, onset D4, onset E4 (ends D4), hold to the end
    events = [ev(C4), 1, 0, 1, ev(D4), ev(E4), 1, 1]
    assert decode_events(events) == [Note(C4, 0, 2), Note(D4, 4, 1), Note(E4, 5, 3)]


def test_decode_of_rests_only_is_empty():
    assert decode_events([0, 1, 1, 0]) == []
    assert decode_events(np.zeros(0, dtype=np.int64)) == []


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 3), dtype=np.int64), r"\[T\], one event per step"),
    (np.array([2.0, 1.0]), "integer events"),
    (np.array([2, 38]), "0..37"),
    (np.array([-1, 2]), "0..37"),
    ([[2, 3], [4]], "unequal length"),
])
def test_invalid_event_arrays_are_rejected(bad, match):
    with pytest.raises(BadParameterError, match=match):
        check_events(bad)


def test_one_validator_serves_melodies_batches_and_other_vocabularies():
    import torch

    assert check_events(torch.tensor([[2, 3], [4, 5]]), ndim=2).shape == (2, 2)
    assert check_events([9, 0, 5], "grid", num_classes=10).tolist() == [9, 0, 5]
    with pytest.raises(BadParameterError, match=r"grid holds event 10, outside the vocabulary 0..9$"):
        check_events([10], "grid", num_classes=10)


def test_round_trip_encode_decode_encode_is_exact_on_real_essen_tunes(essen_sample):
    assert len(essen_sample.tunes) > 200
    for tune in essen_sample.tunes:
        notes = decode_events(tune.events)
        again = encode_notes(notes, length=len(tune.events))
        assert np.array_equal(again, tune.events), tune.tune_id
        assert all(MIN_PITCH <= n.pitch <= MAX_PITCH for n in notes)


def test_pretty_midi_timing_is_a_16th_per_step():
    events = encode_notes([Note(C4, 0, 4), Note(D4, 6, 2)])
    pm = to_pretty_midi(events, tempo_bpm=120.0, program=73)
    notes = pm.instruments[0].notes
    assert pm.instruments[0].program == 73
    assert [(n.pitch, n.start, n.end) for n in notes] == [(C4, 0.0, 0.5), (D4, 0.75, 1.0)]


@pytest.mark.parametrize("tempo", [120.0, 93.0, 200.0])
def test_pretty_midi_round_trip_is_exact_at_any_tempo(essen_sample, tempo):
    for tune in essen_sample.tunes[:40]:
        back = from_pretty_midi(to_pretty_midi(tune.events, tempo_bpm=tempo))
        # the MIDI cannot hold the final hold steps after the last note's end, so compare notes
        assert decode_events(back) == decode_events(tune.events), tune.tune_id


def test_from_pretty_midi_moves_a_low_melody_up_by_octaves():
    low = encode_notes([Note(C4, 0, 2), Note(E4, 2, 2)])
    pm = to_pretty_midi(low)
    for note in pm.instruments[0].notes:
        note.pitch -= 24
    assert np.array_equal(from_pretty_midi(pm), encode_notes([Note(48, 0, 2), Note(52, 2, 2)]))


def test_from_pretty_midi_rejects_a_missing_instrument():
    with pytest.raises(BadParameterError, match="instrument"):
        from_pretty_midi(to_pretty_midi(encode_notes([Note(C4, 0, 2)])), instrument=3)


def test_music21_stream_has_the_same_notes_and_rests():
    events = encode_notes([Note(C4, 2, 4), Note(G4, 8, 2)], length=12)
    stream = to_music21(events)
    notes = list(stream.notes)
    assert [n.pitch.midi for n in notes] == [C4, G4]
    assert [float(n.offset) for n in notes] == [0.5, 2.0]
    assert [float(n.quarterLength) for n in notes] == [1.0, 0.5]
    assert float(stream.highestTime) == 12 / STEPS_PER_QUARTER


@pytest.mark.parametrize("tonic, mode, shift", [
    (0, "major", 0), (9, "minor", 0), (7, "major", 5), (5, "major", -5), (2, "major", -2),
    (4, "minor", 5), (2, "dorian", 0), (7, "mixolydian", 0), (11, "major", 1), (6, "major", 6 - 12),
])
def test_key_shift_moves_the_signature_to_c_major_a_minor(tonic, mode, shift):
    assert key_shift(tonic, mode) == shift
    assert -6 <= key_shift(tonic, mode) <= 5


def test_transpose_to_c_moves_every_note():
    g_major = [Note(67, 0, 2), Note(71, 2, 2), Note(74, 4, 2)]  # G B D
    assert [n.pitch for n in transpose_to_c(g_major, 7, "major")] == [72, 76, 79]  # C E G
    e_minor = [Note(64, 0, 2), Note(67, 2, 2)]  # E G
    assert [n.pitch for n in transpose_to_c(e_minor, 4, "minor")] == [69, 72]  # A C


def test_transpose_rejects_unknown_modes():
    with pytest.raises(BadParameterError, match="mixolydian"):
        transpose_to_c([Note(60, 0, 1)], 0, "bluesy")


def test_fit_to_range_takes_the_smallest_octave_shift():
    high = [Note(86, 0, 1), Note(90, 1, 1)]
    assert [n.pitch for n in fit_to_range(high)] == [74, 78]
    inside = [Note(60, 0, 1)]
    assert fit_to_range(inside) == inside


def test_fit_to_range_refuses_a_melody_too_wide_unless_folding():
    wide = [Note(40, 0, 1), Note(90, 1, 1)]
    with pytest.raises(BadParameterError, match="too wide"):
        fit_to_range(wide)
    folded = fit_to_range(wide, fold=True)
    assert all(MIN_PITCH <= n.pitch <= MAX_PITCH for n in folded)
    assert [n.pitch % 12 for n in folded] == [40 % 12, 90 % 12]


def test_windows_cut_every_hop_steps_and_drop_short_melodies():
    a, b = np.arange(10, dtype=np.int64) % 38, np.array([2, 1, 1], dtype=np.int64)
    windows = make_windows([a, b], length=4)
    assert windows.shape == (2, 4) and windows.dtype == np.int64
    assert windows.tolist() == [a[0:4].tolist(), a[4:8].tolist()]
    assert make_windows([a], length=4, hop=2).shape == (4, 4)
    assert make_windows([b], length=4).shape == (0, 4)


@pytest.mark.parametrize("length, hop", [(0, None), (4, 0)])
def test_windows_reject_bad_sizes(length, hop):
    with pytest.raises(BadParameterError):
        make_windows([np.ones(8, dtype=np.int64)], length, hop)


def test_event_names_for_tables():
    assert event_names([ev(60), 1, 0, ev(61), ev(83), ev(48)]) == ["C4", "-", "off", "C#4", "B5", "C3"]
