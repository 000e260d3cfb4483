"""The RL Tuner metric table: every metric on hand-made melodies, with hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from melody_text import mels
from musiclab.errors import BadParameterError
from musiclab.eval.melody import METRIC_KEYS, mean_log_p, melody_metrics, metric_table
from musiclab.eval.paper import PAPER_DQN_ROW
from musiclab.rl.rules import rl_tuner_rules

def metric(name: str, *texts: str) -> float:
    return melody_metrics(mels(*texts))[name]


def test_the_table_has_the_papers_metrics_plus_the_stricter_leap_share_and_no_log_p_without_a_model():
    assert tuple(melody_metrics(mels("C4 D4 E4 F4"))) == METRIC_KEYS
    assert set(PAPER_DQN_ROW) == set(METRIC_KEYS) - {"leaps_stepped_back"}  # same names, other counts


def test_excessively_repeated_notes_are_those_the_repeat_rule_penalises():
    # the 5th and 6th C4 in a row: 2 of 8 notes
    assert metric("notes_excessively_repeated", "C4 C4 C4 C4 C4 C4 D4 E4") == pytest.approx(2 / 8)
    # with holds between, up to 6 in a row are fine; the 7th is not: 1 of 7 notes
    assert metric("notes_excessively_repeated", "C4 - C4 - C4 - C4 - C4 - C4 - C4 -") == pytest.approx(1 / 7)
    assert metric("notes_excessively_repeated", "C4 C4 C4 C4 - D4 D4 D4") == 0.0


def test_notes_not_in_key_count_notes_only():
    assert metric("notes_not_in_key", "C4 F#4 - G4 . A#4 - -") == pytest.approx(2 / 4)


def test_autocorrelation_averages_over_the_compositions_where_it_is_defined():
    # events 1 2 3 4: r = 0.25, -0.3, -0.45; a constant composition has none and is left out
    values = melody_metrics(np.array([[1, 2, 3, 4], [5, 5, 5, 5]]))
    assert values["autocorrelation_lag1"] == pytest.approx(0.25)
    assert values["autocorrelation_lag2"] == pytest.approx(-0.3)
    assert values["autocorrelation_lag3"] == pytest.approx(-0.45)
    two = melody_metrics(np.array([[1, 2, 3, 4], [4, 3, 2, 1], [14, 1, 14, 1]]))
    assert two["autocorrelation_lag1"] == pytest.approx((0.25 + 0.25 - 0.75) / 3)
    assert math.isnan(melody_metrics(np.array([[5, 5, 5]]))["autocorrelation_lag1"])


def test_starts_with_tonic_counts_compositions_starting_on_any_c():
    assert metric("starts_with_tonic", "C4 D4", "C3 -", "D4 C4", "- C4") == pytest.approx(2 / 4)


def test_leaps_resolved_counts_returns_to_the_leapt_from_note_against_second_leaps_the_same_way():
    assert metric("leaps_resolved", "C4 G4 F4 E4 D4 C4") == 1.0  # back down to C4 by steps
    assert metric("leaps_resolved", "C4 G4 D5 C5") == 0.0  # a second leap up while the first is open
    assert metric("leaps_resolved", "C4 G4 F4 E4 D4 C4", "C4 G4 D5 C5 B4 A4") == 0.5
    assert metric("leaps_resolved", "C4 G4 - - - - - - - C4") == 1.0  # a leap back after 7 steps
    assert math.isnan(metric("leaps_resolved", "C4 G4 - - - - - - C4 -"))  # a leap back after 6: neither
    assert math.isnan(metric("leaps_resolved", "C4 G4 A4 B4"))  # still open at the end
    assert math.isnan(metric("leaps_resolved", "C4 D4 E4 F4"))


def test_leaps_stepped_back_counts_leaps_the_next_note_answers_by_a_step_back():
    # +7 (→ −2 stepped back), −2, +7 (→ −1 stepped back), −1, −7 (→ +5: not), +5, −9 (last: not counted)
    assert metric("leaps_stepped_back", "C4 G4 F4 C5 B4 E4 A4 C4") == pytest.approx(2 / 3)
    assert metric("leaps_stepped_back", "C4 - G4 . F4 - - -") == 1.0
    assert math.isnan(metric("leaps_stepped_back", "C4 D4 E4 F4"))


def test_unique_extremes_count_compositions_whose_highest_or_lowest_note_sounds_once():
    texts = ("C4 E4 G4 E4", "C4 G4 G4 C4", "E4 C4 C4 G4", ". - - -")
    assert metric("unique_max", *texts) == pytest.approx(2 / 4)
    assert metric("unique_min", *texts) == pytest.approx(1 / 4)


def test_notes_in_motif_are_notes_inside_an_eight_step_window_of_three_pitches():
    # only the window of steps 0..7 holds 3 pitches (C D E): 3 of the 4 notes lie in it
    assert metric("notes_in_motif", "C4 D4 E4 - - - - - - - - - C4 - - -") == pytest.approx(3 / 4)
    assert metric("notes_in_motif", "C4 D4 E4 F4 G4 A4") == 0.0  # shorter than a window
    assert metric("notes_in_motif", "C4 - D4 - C4 - D4 - C4 -") == 0.0  # two pitches only


def test_notes_in_repeated_motif_are_notes_of_a_motif_played_again_without_overlap():
    motif = "C4 D4 E4 - . - - -"
    assert metric("notes_in_repeated_motif", f"{motif} G4 - - - - - - - {motif}") == pytest.approx(6 / 7)
    # a window equal to one 4 steps later overlaps it: not a repeat
    assert metric("notes_in_repeated_motif", "C4 D4 E4 F4 C4 D4 E4 F4 C4 D4 E4 F4") == 0.0
    # a repeated window of two pitches is no motif
    assert metric("notes_in_repeated_motif", "C4 - - - D4 - - - C4 - - - D4 - - -") == 0.0


def test_fractions_without_notes_are_nan():
    values = melody_metrics(mels(". - - - . - - -"))
    assert math.isnan(values["notes_not_in_key"]) and math.isnan(values["notes_in_motif"])
    assert values["starts_with_tonic"] == 0.0 and values["unique_max"] == 0.0


class StepModel(torch.nn.Module):
    """A fake sequence model: log p of each event is −event / 10."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.1))

    def log_prob(self, events: torch.Tensor) -> torch.Tensor:
        return -self.scale * events.float()


def test_mean_log_p_averages_the_models_log_prob_over_steps_and_compositions():
    compositions = np.array([[2, 4, 6], [0, 1, 2]])
    expected = -(2 + 4 + 6 + 0 + 1 + 2) / 10 / 6
    assert melody_metrics(compositions, model=StepModel())["mean_log_p"] == pytest.approx(expected)
    assert mean_log_p(compositions, StepModel(), batch_size=1) == pytest.approx(expected)


def test_a_model_returning_the_wrong_shape_is_refused():
    class Summing:
        def log_prob(self, events):
            return events.float().sum(dim=1)

    with pytest.raises(BadParameterError, match="log_prob"):
        mean_log_p(np.array([[2, 4, 6]]), Summing())


def test_a_rule_following_melody_scores_well_and_a_random_one_does_not():
    rules = rl_tuner_rules(num_steps=32)
    melody = []
    for step in range(32):  # greedy composition under the RL Tuner's rules alone
        rewards = rules.rewards(np.repeat(np.array([melody], dtype=np.int64).reshape(1, -1), 38, axis=0),
                                np.arange(38), step)
        melody.append(int(np.argmax(rewards)))
    good = melody_metrics(np.array([melody]))
    assert good["notes_excessively_repeated"] == 0.0 and good["notes_not_in_key"] == 0.0
    assert good["starts_with_tonic"] == 1.0 and good["notes_in_motif"] == 1.0
    random = melody_metrics(np.random.default_rng(0).integers(0, 38, size=(200, 32)))
    assert random["notes_not_in_key"] > 0.3 and random["starts_with_tonic"] < 0.2


def test_compositions_may_be_a_long_tensor():
    compositions = mels("C4 G4 F4 C5 B4 E4 A4 C4", "C4 - C4 - C4 - C4 -")
    assert melody_metrics(torch.as_tensor(compositions)) == pytest.approx(melody_metrics(compositions), nan_ok=True)


def test_bad_compositions_are_refused_with_what_is_valid():
    with pytest.raises(BadParameterError, match=r"\[N, T\]"):
        melody_metrics(np.array([14, 15, 16]))
    with pytest.raises(BadParameterError, match="integer"):
        melody_metrics(np.array([[14.0, 15.0]]))
    with pytest.raises(BadParameterError, match="0..37"):
        melody_metrics(np.array([[14, 38]]))
    with pytest.raises(BadParameterError, match=r"\[N, T\]"):
        melody_metrics(np.zeros((0, 32), dtype=np.int64))


def test_the_table_puts_systems_side_by_side():
    ours = melody_metrics(mels("C4 G4 F4 C5 B4 E4 A4 C4"), model=StepModel())
    other = melody_metrics(mels("C5 G4 F4 C5 B4 E4 A4 C4"))
    table = metric_table({"Note-RNN": ours, "other": other})
    lines = table.splitlines()
    assert "Note-RNN" in lines[0] and "other" in lines[0]
    row = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(row) == list(METRIC_KEYS) + ["mean_log_p"]
    assert row["starts_with_tonic"] == ["100.00", "%", "100.00", "%"]  # any C is this kit's tonic
    assert row["leaps_stepped_back"][:2] == ["66.67", "%"]
    assert row["mean_log_p"][-1] == "–"  # no model, no log p


def test_the_paper_row_prints_beside_the_papers_own_count():
    from musiclab.eval.paper import paper_metrics

    counted = paper_metrics(mels("C4 G4 F4 C5 B4 E4 A4 C4"), length=None)
    lines = metric_table({"ours": counted, "paper DQN": PAPER_DQN_ROW}, list(PAPER_DQN_ROW)).splitlines()
    row = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert row["starts_with_tonic"] == ["100.00", "%", "28.80", "%"]
    assert row["leaps_resolved"][-2:] == ["91.10", "%"]
    assert row["autocorrelation_lag1"][-1] == "-0.110"


def test_a_table_of_nothing_is_refused():
    with pytest.raises(BadParameterError, match="results"):
        metric_table({})
