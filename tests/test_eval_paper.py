"""The RL Tuner's Table 1, counted as its released code counts: each metric on hand-made pieces
whose paper-counted value is worked out by hand in the test."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from melody_text import mel, mels
from musiclab.errors import BadParameterError
from musiclab.eval.paper import (PAPER_DQN_ROW, PAPER_KEYS, PAPER_TONIC_EVENT, is_excessively_repeated,
                                 motif_ends, paper_metrics)

SCALE = "C4 D4 E4 F4 G4 A4 B4 C5"


def count(name: str, *texts: str) -> float:
    return paper_metrics(mels(*texts), length=None)[name]


def test_the_table_has_the_papers_eleven_metrics_in_its_order_and_the_tonic_is_c4():
    assert tuple(paper_metrics(mels(" ".join([SCALE] * 4)))) == PAPER_KEYS
    assert set(PAPER_DQN_ROW) == set(PAPER_KEYS)
    assert PAPER_TONIC_EVENT == mel("C4")[0] == 14


def test_the_motif_ceiling_is_25_of_32_events_because_the_first_7_windows_are_incomplete():
    piece = " ".join([SCALE] * 4)  # every window of 8 events holds 8 distinct pitches
    assert count("notes_in_motif", piece) == pytest.approx(25 / 32) == pytest.approx(0.78125)


def test_a_motif_is_counted_at_the_event_that_ends_its_window_holds_and_rests_included():
    # 'C4 D4 E4' then holds: the windows ending at steps 7..9 hold 3 pitches, later ones fewer.
    piece = "C4 D4 E4 - - - - - - - . ."
    in_motif, _ = motif_ends(mels(piece))
    assert in_motif[0].nonzero()[0].tolist() == [7]
    assert count("notes_in_motif", piece) == pytest.approx(1 / 12)


def test_a_repeated_motif_counts_the_event_that_completes_a_copy_lying_wholly_after_the_first():
    assert count("notes_in_repeated_motif", f"{SCALE} {SCALE}") == pytest.approx(1 / 16)
    # Overlapping copies never count: the same 8 events one step later are another window.
    assert count("notes_in_repeated_motif", f"{SCALE} - - - - - - -") == 0.0


def test_per_event_metrics_divide_by_every_event_holds_and_note_offs_included():
    assert count("notes_not_in_key", "C4 C#4 - .") == pytest.approx(1 / 4)
    assert count("notes_not_in_key", "C4 C#4 - .", "C4 D4 E4 F4") == pytest.approx(1 / 8)


def test_a_run_of_holds_is_excessive_from_its_sixth_hold_as_the_paper_counts_no_events_too():
    # C4 then 7 holds: the holds at steps 6 and 7 follow 5 and 6 earlier holds (> 4).
    assert count("notes_excessively_repeated", "C4 - - - - - - -") == pytest.approx(2 / 8)


def test_repeated_pitches_are_excessive_after_4_in_a_row_or_6_with_holds_or_rests_between():
    assert count("notes_excessively_repeated", "C4 C4 C4 C4 C4 C4") == pytest.approx(1 / 6)
    assert not is_excessively_repeated(list(mel("C4 - C4 - C4 C4 C4 C4")), mel("C4")[0])
    assert is_excessively_repeated(list(mel("C4 - C4 - C4 C4 C4 C4 C4")), mel("C4")[0])
    # A third note-off of one rest is excessive (holds between allowed).
    assert is_excessively_repeated(list(mel("C4 . - .")), mel(".")[0])
    assert not is_excessively_repeated(list(mel("C4 .")), mel(".")[0])


def test_a_doubled_leap_and_a_quick_leap_back_leave_no_resolved_leap():
    # G4 leaps up from C4, D5 leaps up again (doubled), C4 leaps back at once (closes, not resolved).
    assert count("leaps_resolved", "C4 G4 D5 C4") == 0.0


def test_a_leap_is_resolved_when_the_melody_steps_back_to_where_it_leapt_from():
    assert count("leaps_resolved", "C4 G4 F4 E4 C4") == 1.0
    assert count("leaps_resolved", "C4 G4 F4 E4 C4", "C4 G4 D5 C4 -") == pytest.approx(1 / 2)
    assert math.isnan(count("leaps_resolved", "C4 D4 E4 F4"))


def test_only_c4_counts_as_starting_on_the_tonic():
    assert count("starts_with_tonic", "C4 D4", "C5 D4", "C3 D4", ". C4") == pytest.approx(1 / 4)


def test_the_highest_event_and_the_lowest_pitch_must_occur_once():
    assert count("unique_max", "C4 D4 D4 .") == 0.0
    assert count("unique_min", "C4 D4 D4 .") == 1.0
    assert count("unique_min", ". - . -") == 0.0


def test_autocorrelation_is_the_papers_formula_on_raw_events_averaged_over_pieces():
    piece = mel("C4 G4 - E4 . C4 D4 -")
    x = piece - piece.mean()
    expected = [(x[k:] * x[:len(x) - k]).sum() / len(x) / piece.var() for k in (1, 2, 3)]
    values = paper_metrics(piece[None], length=None)
    assert [values[f"autocorrelation_lag{k}"] for k in (1, 2, 3)] == pytest.approx(expected)
    assert math.isnan(count("autocorrelation_lag1", "C4 C4 C4 C4"))


def test_a_model_adds_its_mean_log_p():
    class Uniform:
        def log_prob(self, events):
            return torch.full(events.shape, -math.log(38.0))

    assert paper_metrics(mels(" ".join([SCALE] * 4)), Uniform())["mean_log_p"] == pytest.approx(-math.log(38))


def test_bad_compositions_are_named_errors():
    with pytest.raises(BadParameterError, match="32 steps"):
        paper_metrics(mels(SCALE))
    with pytest.raises(BadParameterError, match="0..37"):
        paper_metrics(np.full((2, 32), 38))
    with pytest.raises(BadParameterError, match="unequal"):
        paper_metrics([[14] * 32, [14] * 31])
    with pytest.raises(BadParameterError, match="integer"):
        paper_metrics(np.full((1, 32), 14.0))
