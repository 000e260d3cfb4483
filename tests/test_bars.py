"""Launchpad bars: octave folding, onset bars from scores, the bar filter, playback, the real corpus."""
from __future__ import annotations

import numpy as np
import pytest
from music21 import meter, note, stream, tie

from musiclab.launchpad.bars import (
    BAR_STEPS, HIGH_PITCH, LOW_PITCH, NUM_PITCHES, bar_to_pretty_midi, bars_from_score, check_bars,
    filter_bars, fold_pitch, load_launchpad_bars,
)
from musiclab.errors import BadParameterError


def bar_with(cells) -> np.ndarray:
    """One bar [24, 64] with the given (pitch row, step) cells on."""
    bar = np.zeros((NUM_PITCHES, BAR_STEPS), dtype=np.bool_)
    for row, step in cells:
        bar[row, step] = True
    return bar


def part_of(measures, time_signature="4/4") -> stream.Part:
    """A part whose measures hold (MIDI pitch or None for a rest, quarter length) pairs."""
    part = stream.Part()
    for number, content in enumerate(measures, start=1):
        measure = stream.Measure(number=number)
        if number == 1:
            measure.insert(0, meter.TimeSignature(time_signature))
        for pitch, length in content:
            measure.append(note.Rest(quarterLength=length) if pitch is None
                           else note.Note(pitch, quarterLength=length))
        part.append(measure)
    return part


# ------------------------------------------------------------ octave folding

@pytest.mark.parametrize("pitch, folded", [
    (47, 47), (70, 70), (60, 60), (46, 58), (35, 47), (36, 48), (24, 48),
    (71, 59), (82, 70), (83, 59), (84, 60), (96, 60), (0, 48), (127, 67),
])
def test_pitches_are_folded_by_whole_octaves_into_47_to_70(pitch, folded):
    assert fold_pitch(pitch) == folded
    assert LOW_PITCH <= folded <= HIGH_PITCH and (pitch - folded) % 12 == 0


# ------------------------------------------------------------ bars from scores

def test_onsets_land_in_the_row_of_their_pitch_and_the_64th_of_their_offset():
    soprano = part_of([[(72, 1), (74, 0.5), (76, 0.5), (None, 1), (77, 0.25), (79, 0.75)]])
    bass = part_of([[(48, 2), (43, 2)]])
    (bar,) = bars_from_score(stream.Score([soprano, bass]))
    expected = bar_with([(72 - 12 - LOW_PITCH, 0), (74 - 12 - LOW_PITCH, 16), (76 - 12 - LOW_PITCH, 24),
                         (77 - 12 - LOW_PITCH, 48), (79 - 12 - LOW_PITCH, 52),
                         (48 - LOW_PITCH, 0), (43 + 12 - LOW_PITCH, 32)])
    np.testing.assert_array_equal(bar, expected)


def test_only_onsets_count_so_a_tied_note_marks_one_cell():
    part = part_of([[(60, 2), (60, 2)], [(60, 4)]])
    first_bar, second_bar = part.getElementsByClass(stream.Measure)
    first_bar.notes[1].tie = tie.Tie("start")  # the half note on beat 3 is held ...
    second_bar.notes[0].tie = tie.Tie("stop")  # ... through the whole next bar
    bars = bars_from_score(stream.Score([part]))
    assert len(bars) == 1  # the second bar holds only the tied continuation, so it is dropped
    np.testing.assert_array_equal(bars[0], bar_with([(60 - LOW_PITCH, 0), (60 - LOW_PITCH, 32)]))


def test_pickups_and_bars_of_other_lengths_are_left_out():
    pickup_then_full = part_of([[(60, 1)], [(62, 1), (64, 1), (65, 1), (67, 1)]])
    assert len(bars_from_score(stream.Score([pickup_then_full]))) == 1
    waltz = part_of([[(60, 1), (62, 1), (64, 1)]] * 3, time_signature="3/4")
    assert bars_from_score(stream.Score([waltz])).shape == (0, NUM_PITCHES, BAR_STEPS)


def test_notes_in_voices_count_at_their_offset_in_the_part():
    part = part_of([[(60, 4)], [(None, 4)]])
    second = part.getElementsByClass(stream.Measure)[1]
    second.remove(second.notesAndRests[0])
    upper, lower = stream.Voice(), stream.Voice()
    upper.append([note.Note(67, quarterLength=2), note.Note(69, quarterLength=2)])
    lower.append([note.Rest(quarterLength=1), note.Note(55, quarterLength=3)])
    second.insert(0, upper)
    second.insert(0, lower)
    _, voiced = bars_from_score(stream.Score([part]))
    np.testing.assert_array_equal(voiced, bar_with([(67 - LOW_PITCH, 0), (69 - LOW_PITCH, 32), (55 - LOW_PITCH, 16)]))


def test_real_chorales_give_the_bars_of_each_notes_offset_in_its_part():
    from music21 import corpus

    for name in ("bach/bwv66.6", "bach/bwv347", "bach/bwv153.1", "bach/bwv40.8"):
        score = corpus.parse(name)
        expected = []  # the reference: every onset placed by getOffsetInHierarchy
        onsets = [(float(n.getOffsetInHierarchy(part)), fold_pitch(p.midi) - LOW_PITCH)
                  for part in score.parts for n in part.recurse().notes
                  if n.tie is None or n.tie.type == "start" for p in n.pitches]
        for measure in score.parts[0].getElementsByClass(stream.Measure):
            if measure.duration.quarterLength == 4 and measure.barDuration.quarterLength == 4:
                start = float(measure.getOffsetInHierarchy(score.parts[0]))
                cells = [(row, round((t - start) * 16)) for t, row in onsets if 0 <= round((t - start) * 16) < 64]
                if cells:
                    expected.append(bar_with(cells))
        assert len(expected) >= 7
        np.testing.assert_array_equal(bars_from_score(score), np.stack(expected))


# ------------------------------------------------------------ the filter

def test_the_filter_keeps_bars_with_enough_active_cells_and_distinct_pitches():
    nineteen = bar_with([(step % 2, step) for step in range(19)])
    twenty = bar_with([(step % 2, step) for step in range(20)])
    one_pitch = bar_with([(5, step) for step in range(40)])
    kept = filter_bars(np.stack([nineteen, twenty, one_pitch]), min_active=20, min_pitches=2)
    assert kept.shape == (1, NUM_PITCHES, BAR_STEPS)
    np.testing.assert_array_equal(kept[0], twenty)
    assert len(filter_bars(np.stack([nineteen, twenty, one_pitch]), min_active=19, min_pitches=1)) == 3


def test_no_qualifying_bar_raises_an_error_naming_the_thresholds():
    sparse = bar_with([(0, 0), (1, 8)])[None]
    with pytest.raises(BadParameterError, match="min_active=20 .* min_pitches=2"):
        filter_bars(sparse)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 24, 63), dtype=bool), "shape"),
    (np.zeros((24,), dtype=bool), "shape"),
    (np.full((1, 24, 64), 2), "0/1"),
    (np.zeros((1, 24, 64), dtype=np.float32), "0/1"),
])
def test_bad_bars_are_rejected(bad, message):
    with pytest.raises(BadParameterError, match=message):
        check_bars(bad)


def test_bad_thresholds_are_rejected():
    bars = bar_with([(0, 0)])[None]
    with pytest.raises(BadParameterError, match="min_pitches"):
        filter_bars(bars, min_active=1, min_pitches=25)
    with pytest.raises(BadParameterError, match="min_active"):
        filter_bars(bars, min_active=-1)


# ------------------------------------------------------------ playback

def test_a_bar_plays_one_note_per_onset_until_the_next_onset_or_a_quarter():
    bar = bar_with([(0, 0), (0, 8), (13, 32), (23, 60)])
    pm = bar_to_pretty_midi(bar, tempo_bpm=60.0)  # one quarter = 1 s, one step = 1/16 s
    (instrument,) = pm.instruments
    notes = sorted((n.pitch, n.start, n.end) for n in instrument.notes)
    assert notes == [(47, 0.0, 0.5), (47, 0.5, 1.5), (60, 2.0, 3.0), (70, 3.75, 4.0)]
    with pytest.raises(BadParameterError, match="one bar"):
        bar_to_pretty_midi(np.stack([bar, bar]))


# ------------------------------------------------------------ the real corpus

@pytest.mark.slow
def test_the_bach_chorales_give_about_a_thousand_qualifying_bars():
    # uses the real cache dir: the first run parses the chorales (about a minute), later runs read the cache
    bars = load_launchpad_bars(quiet=True)
    assert bars.dtype == np.bool_ and bars.shape[1:] == (NUM_PITCHES, BAR_STEPS)
    assert 500 <= len(bars) <= 3000
    assert (bars.sum(axis=(1, 2)) >= 20).all() and (bars.any(axis=2).sum(axis=1) >= 2).all()
    looser = load_launchpad_bars(min_active=1, min_pitches=1, quiet=True)  # from the cache
    assert len(looser) > 2 * len(bars)
    with pytest.raises(BadParameterError, match="min_active=1000"):
        load_launchpad_bars(min_active=1000, quiet=True)
