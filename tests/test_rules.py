"""The music-theory rules: each rewards the melody it should and penalises the one it should."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from melody_text import ev, mel
from musiclab.data.melody import NO_EVENT, NUM_CLASSES
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.rl import rules
from musiclab.rl.rule_set import RuleSet, describe, reweighted
from musiclab.rl.rules import (classic_lstm_rules, ends_on_tonic, in_key, leap_resolution,
                               low_autocorrelation, make_rule_set, motif, leap_up_back, no_excessive_repeats,
                               preferred_intervals, repeated_motif, rl_tuner_rules, rule_set,
                               starts_on_tonic, unique_extremes)
from musiclab.theory import autocorrelations, open_leap_outcomes

def score(rule, text: str, action: str, **settings) -> float:
    """The rule's reward for appending ``action`` to the melody ``text`` (step = its length)."""
    composition = mel(text)
    return rule(composition, ev(action), len(composition), **settings)


def test_the_note_helper_follows_the_shared_encoding():
    assert ev("C4") == 14 and ev("C3") == 2 and ev("B5") == 37


# --- in key ---------------------------------------------------------------------------------

def test_in_key_penalises_a_note_outside_c_major():
    assert score(in_key, "C4 D4", "F#4") == -1.0
    assert score(in_key, "C4 D4", "A#3") == -1.0


def test_in_key_leaves_c_major_notes_rests_and_holds_alone():
    for action in ("F4", "B3", "C5", ".", "-"):
        assert score(in_key, "C4 D4", action) == 0.0


# --- tonic ------------------------------------------------------------------------------------

def test_starting_on_any_c_is_rewarded_with_three():
    for action in ("C3", "C4", "C5"):
        assert score(starts_on_tonic, "", action) == 3.0


def test_starting_elsewhere_or_a_c_later_earns_nothing():
    assert score(starts_on_tonic, "", "D4") == 0.0
    assert score(starts_on_tonic, "", ".") == 0.0
    assert score(starts_on_tonic, "E4", "C4") == 0.0


def test_a_tonic_four_steps_before_the_end_is_rewarded():
    assert score(ends_on_tonic, "E4 D4 E4 D4", "C4", num_steps=8) == 3.0
    assert score(ends_on_tonic, "E4 D4 E4 D4", "G4", num_steps=8) == 0.0


def test_holding_or_resting_after_the_final_tonic_is_rewarded_but_not_after_another_note():
    assert score(ends_on_tonic, "E4 D4 E4 D4 C4", "-", num_steps=8) == 3.0
    assert score(ends_on_tonic, "E4 D4 E4 D4 C4 -", ".", num_steps=8) == 3.0
    assert score(ends_on_tonic, "E4 D4 E4 D4 C4", "D4", num_steps=8) == 0.0
    assert score(ends_on_tonic, "E4 D4 E4 D4 G4", "-", num_steps=8) == 0.0


def test_a_rule_set_binds_the_piece_length_of_the_end_rule():
    rewards = rule_set("rl_tuner", num_steps=16).breakdown(mel("C4 D4 E4 F4 G4 F4 E4 D4 E4 F4 E4 D4"), ev("C4"), 12)
    assert rewards["ends_on_tonic"] == 3.0
    assert rule_set("rl_tuner", num_steps=32).breakdown(
        mel("C4 D4 E4 F4 G4 F4 E4 D4 E4 F4 E4 D4"), ev("C4"), 12)["ends_on_tonic"] == 0.0


# --- repeats ----------------------------------------------------------------------------------

def test_a_fifth_onset_of_one_pitch_in_a_row_is_penalised():
    assert score(no_excessive_repeats, "C4 C4 C4 C4", "C4") == -100.0
    assert score(no_excessive_repeats, "D4 C4 C4 C4 C4", "C4") == -100.0


def test_four_onsets_in_a_row_or_a_broken_run_are_fine():
    assert score(no_excessive_repeats, "C4 C4 C4", "C4") == 0.0
    assert score(no_excessive_repeats, "C4 C4 C4 C4 D4", "C4") == 0.0
    assert score(no_excessive_repeats, "C4 C4 C4 C4", "D4") == 0.0


def test_holds_or_rests_between_repeats_allow_six_onsets_but_not_seven():
    assert score(no_excessive_repeats, "C4 - C4 . C4 - C4 -", "C4") == 0.0
    assert score(no_excessive_repeats, "C4 - C4 - C4 . C4 - C4 -", "C4") == 0.0
    assert score(no_excessive_repeats, "C4 - C4 - C4 . C4 - C4 - C4 -", "C4") == -100.0


def test_holds_before_a_run_give_no_leniency():
    assert score(no_excessive_repeats, "D4 - - C4 C4 C4 C4", "C4") == -100.0


def test_a_third_note_off_in_one_rest_is_penalised():
    assert score(no_excessive_repeats, "C4 . .", ".") == -100.0
    assert score(no_excessive_repeats, "C4 . - - .", ".") == -100.0
    assert score(no_excessive_repeats, "C4 - .", ".") == 0.0


def test_a_note_or_rest_may_last_six_steps_but_not_seven():
    assert score(no_excessive_repeats, "C4 - - - -", "-") == 0.0
    assert score(no_excessive_repeats, "C4 - - - - -", "-") == -100.0
    assert score(no_excessive_repeats, "C4 . - - - - -", "-") == -100.0
    assert score(no_excessive_repeats, "- - - - -", "-") == -100.0


def test_holds_of_a_new_note_start_counting_again():
    assert score(no_excessive_repeats, "C4 - - - - D4 - - -", "-") == 0.0


# --- autocorrelation --------------------------------------------------------------------------

def test_autocorrelation_matches_a_hand_computation():
    r = autocorrelations(np.array([[1, 2, 3, 4]]))
    np.testing.assert_allclose(r[0], [0.25, -0.3, -0.45])


def test_autocorrelation_is_nan_for_a_constant_or_too_short_sequence():
    assert np.isnan(autocorrelations(np.array([[5, 5, 5, 5]]))).all()
    r = autocorrelations(np.array([[3, 4]]))
    assert r[0, 0] == pytest.approx(-0.5) and np.isnan(r[0, 1:]).all()


def test_a_periodic_melody_pays_three_times_each_large_autocorrelation():
    # events 14 1 14 1 ...: r = -0.875, +0.75, -0.625 at lags 1, 2, 3
    assert score(low_autocorrelation, "C4 - C4 - C4 - C4", "-") == pytest.approx(-3 * (0.875 + 0.75 + 0.625))


def test_a_varied_melody_pays_no_autocorrelation_penalty():
    melody = mel("C4 A4 F4 A4 D4 F4 E4 -")
    assert (np.abs(autocorrelations(melody[None])) <= 0.15).all()
    assert score(low_autocorrelation, "C4 A4 F4 A4 D4 F4 E4", "-") == 0.0


def test_autocorrelation_is_not_judged_before_eight_events():
    assert score(low_autocorrelation, "C4 - C4 - C4", "-") == 0.0


# --- motifs -----------------------------------------------------------------------------------

def test_three_distinct_pitches_in_eight_steps_make_a_motif():
    assert score(motif, "C4 - D4 - E4 - - ", "-") == 3.0
    assert score(motif, "C4 D4 E4 F4 G4 - - ", "-") == pytest.approx(3.6)


def test_two_pitches_or_a_short_melody_are_no_motif():
    assert score(motif, "C4 - D4 - C4 - D4", "-") == 0.0
    assert score(motif, "C4 D4 E4", "F4") == 0.0
    assert score(motif, "C4 D4 E4 - - - - - -", "-") == 0.0  # C4 and D4 have left the 8-step window


def test_a_motif_played_again_is_rewarded():
    first = "C4 D4 E4 - . - - -"
    assert score(repeated_motif, first + " C4 D4 E4 - . - -", "-") == 4.0
    assert score(repeated_motif, "C4 D4 E4 F4 . - - - C4 D4 E4 F4 . - -", "-") == 5.0


def test_a_new_motif_or_a_repeated_non_motif_earns_no_repeat_reward():
    assert score(repeated_motif, "C4 D4 E4 - . - - - C4 D4 F4 - . - -", "-") == 0.0
    assert score(repeated_motif, "C4 - - - D4 - - - C4 - - - D4 - -", "-") == 0.0


def test_a_looped_motif_is_paid_once_not_on_every_step_of_the_loop():
    loop = "C4 D4 E4 - . - - - C4 D4 E4 - . - - -"
    assert score(repeated_motif, loop, "C4") == 0.0    # window steps 9..16 repeats steps 1..8, but 8..15 already paid
    melody = mel(loop + " C4 D4 E4 - . - - -")
    paid = [repeated_motif(melody[:step], int(melody[step]), step) for step in range(len(melody))]
    assert paid.count(4.0) == 1 and sum(paid) == 4.0


def test_a_repeat_overlapping_the_motif_is_not_a_repeat():
    # period 4: the last 8 steps equal steps 4..11, which overlap them, but not steps 0..7 (they're D E C D...)
    assert score(repeated_motif, "D4 E4 C4 D4 C4 D4 E4 F4 C4 D4 E4 F4 C4 D4 E4", "F4") == 0.0


# --- intervals --------------------------------------------------------------------------------

@pytest.mark.parametrize("melody, action, expected", [
    ("C4", "D4", 0.4),        # step
    ("D4", "F4", 0.45),       # third
    ("C4", "E4", 0.75),       # third inside the tonic triad
    ("E4", "G4", 0.75),
    ("C4", "F4", 0.35),       # fourth
    ("C4", "G4", 0.5),        # tonic-dominant fifth
    ("D4", "A4", 0.1),        # other fifth
    ("C4", "A4", 0.25),       # sixth
    ("C4", "C5", 0.0),        # octave
    ("C4 - . -", "D4", 0.4),  # rests and holds between notes do not matter
])
def test_steps_thirds_and_consonant_leaps_are_preferred(melody, action, expected):
    assert score(preferred_intervals, melody, action) == pytest.approx(expected)


@pytest.mark.parametrize("melody, action, expected", [
    ("C4", "B4", -1.5),   # major seventh
    ("D4", "C5", -1.5),   # minor seventh
    ("F4", "B4", -1.5),   # tritone
    ("C4", "D5", -5.0),   # beyond an octave
    ("G4", "E3", -5.0),
])
def test_sevenths_tritones_and_leaps_beyond_an_octave_are_penalised(melody, action, expected):
    assert score(preferred_intervals, melody, action) == expected


def test_starting_a_rest_or_holding_a_note_is_mildly_rewarded():
    assert score(preferred_intervals, "C4", ".") == 0.25
    assert score(preferred_intervals, "C4 -", ".") == 0.25
    assert score(preferred_intervals, "D4", "-") == 0.375
    assert score(preferred_intervals, "C4 E4", "-") == 0.625   # held after a third
    assert score(preferred_intervals, "C4 G4", "-") == 0.625   # held after a fifth


def test_only_the_first_hold_step_and_the_first_note_off_count():
    assert score(preferred_intervals, "D4 -", "-") == 0.0
    assert score(preferred_intervals, "D4 .", ".") == 0.0
    assert score(preferred_intervals, "", "C4") == 0.0


# --- leaps ------------------------------------------------------------------------------------

def test_a_leap_resolved_by_a_step_back_is_rewarded():
    assert score(leap_resolution, "C4 G4", "F4") == 5.0
    assert score(leap_resolution, "G4 C4", "D4") == 5.0
    assert score(leap_resolution, "C4 - G4 .", "F4") == 5.0


def test_leaping_twice_the_same_way_is_penalised():
    assert score(leap_resolution, "C4 G4", "D5") == -5.0
    assert score(leap_resolution, "G4 C4", "F3") == -5.0


def test_leaving_a_leap_unresolved_is_penalised_like_a_second_leap():
    assert score(leap_resolution, "C4 G4", "A4") == -5.0   # onward by a step
    assert score(leap_resolution, "C4 G4", "D4") == -5.0   # back, but by a fourth
    assert score(leap_resolution, "C4 G4", "G4") == -5.0   # staying put


def test_a_leap_stays_open_until_the_melody_comes_back_to_where_it_leapt_from():
    assert open_leap_outcomes(mel("C4 G4 F4 E4 D4 C4")) == [0, 0, 0, 0, 0, 1]
    assert open_leap_outcomes(mel("C4 G4 F4 D5")) == [0, 0, 0, -1]  # up again before coming back
    assert open_leap_outcomes(mel("C4 G4 - - - - - - - C4")) == [0] * 9 + [1]  # a leap back after 7 steps
    assert open_leap_outcomes(mel("C4 G4 - - - - - - C4 A4")) == [0] * 10  # after 6 it only closes the leap
    assert open_leap_outcomes(mel("G4 C4 D4 G4")) == [0, 0, 0, 1]  # down, then back up to G4


def test_leap_up_back_pays_coming_back_and_penalises_a_second_leap_the_same_way_however_late():
    assert score(leap_up_back, "C4 G4 F4", "D5") == -5.0
    assert score(leap_up_back, "C5 F4 - G4 . A4", "C4") == -5.0
    assert score(leap_up_back, "C4 G4 F4 E4 D4", "C4") == 5.0  # back where the leap started
    assert score(leap_up_back, "C4 G4 F4 E4 D4 C4", "G4") == 0.0  # a new leap, after the first came back
    assert score(leap_up_back, "C4 G4 F4", "A3") == 0.0  # a leap back the other way too soon: closed, not paid
    assert score(leap_up_back, "C4 G4 - - - - - - -", "C4") == 5.0  # back the other way after 7 steps
    assert score(leap_up_back, "C4 G4 F4", "-") == 0.0


def test_notes_after_no_leap_and_rests_and_holds_after_a_leap_earn_nothing():
    assert score(leap_resolution, "C4 E4", "D4") == 0.0    # a third is no leap
    assert score(leap_resolution, "C4", "G4") == 0.0
    assert score(leap_resolution, "C4 G4", "-") == 0.0
    assert score(leap_resolution, "C4 G4", ".") == 0.0


# --- extremes ---------------------------------------------------------------------------------

def test_the_first_note_is_both_the_unique_highest_and_lowest():
    assert score(unique_extremes, "", "C4") == 6.0
    assert score(unique_extremes, ". -", "C4") == 6.0


def test_replaying_the_current_highest_or_lowest_note_costs_three():
    assert score(unique_extremes, "C4 E4 G4", "G4") == -3.0
    assert score(unique_extremes, "C4 E4 G4", "C4") == -3.0


def test_a_new_extreme_above_a_repeated_one_earns_the_loss_back():
    assert score(unique_extremes, "C4 G4 E4 G4", "C5") == 3.0
    assert score(unique_extremes, "C4 G4 E4 C4", "A3") == 3.0


def test_notes_between_the_extremes_holds_and_rests_change_nothing():
    assert score(unique_extremes, "C4 E4 G4", "E4") == 0.0
    assert score(unique_extremes, "C4 E4 G4", "-") == 0.0
    assert score(unique_extremes, "C4 E4 G4", ".") == 0.0


@pytest.mark.parametrize("text", ["D4 E4 G4 E4 F4 E4 D4 C5", "C4 E4 G4 E4 F4 E4 C4 G4", ". - C4 - E4 C5 - G4"])
def test_summed_over_a_piece_it_pays_three_per_unique_extreme_of_the_whole_piece(text):
    melody = mel(text)
    total = sum(unique_extremes(melody[:step], int(melody[step]), step) for step in range(len(melody)))
    pitches = [int(event) for event in melody if event >= 2]
    expected = 3.0 * (pitches.count(max(pitches)) == 1) + 3.0 * (pitches.count(min(pitches)) == 1)
    assert total == expected


# --- rule sets --------------------------------------------------------------------------------

def test_reweighting_a_set_changes_only_the_named_weights():
    heavier = reweighted(rl_tuner_rules(), {"leap_resolution": 2.0})
    assert heavier.reward(mel("C4 G4"), ev("F4"), 2) - rl_tuner_rules().reward(mel("C4 G4"), ev("F4"), 2) == 5.0
    assert heavier.rules["in_key"][1] == 1.0 and heavier.name == "rl_tuner"
    with pytest.raises(UnknownNameError, match="'in_key'"):
        reweighted(rl_tuner_rules(), {"swing": 1.0})


def test_the_rule_sets_hold_the_rules_they_name():
    assert list(rl_tuner_rules().rules) == [name for name in rules.MELODY_RULES if name != "leap_up_back"]
    open_leaps = rule_set("rl_tuner_open_leaps").rules
    assert "leap_up_back" in open_leaps and "leap_resolution" not in open_leaps
    assert set(open_leaps) - {"leap_up_back"} == set(rl_tuner_rules().rules) - {"leap_resolution"}
    assert list(classic_lstm_rules().rules) == ["in_key", "starts_on_tonic", "ends_on_tonic", "no_excessive_repeats"]


def test_an_unknown_rule_set_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="'rl_tuner', 'rl_tuner_open_leaps', 'classic_lstm'"):
        rule_set("jaques")


def test_an_unknown_rule_name_is_refused_with_the_valid_names():
    with pytest.raises(UnknownNameError, match="unknown rule 'in_tune'.*'in_key'"):
        make_rule_set({"in_key": 1.0, "in_tune": 2.0})


def test_weights_scale_each_rule():
    rules_ = make_rule_set({"in_key": 2.5, "starts_on_tonic": 0.5})
    assert rules_.reward([], ev("F#4"), 0) == -2.5
    assert rules_.reward([], ev("C4"), 0) == 1.5


def test_a_learner_can_build_a_rule_set_from_own_functions():
    def likes_high_notes(composition, action, step):
        return 1.0 if action >= ev("C5") else 0.0

    def last_step_bonus(composition, action, step, *, num_steps=32):
        return 10.0 if step == num_steps - 1 else 0.0

    custom = RuleSet("mine", {"high": (likes_high_notes, 2.0), "end": (last_step_bonus, 1.0)}, num_steps=4)
    assert custom.reward(mel("C4 D4 E4"), ev("D5"), 3) == 12.0
    assert custom.rewards(np.array([mel("C4 D4 E4")] * 2), np.array([ev("D5"), ev("D4")]), 3).tolist() == [12.0, 10.0]
    assert describe(custom)[0]["magnitude"] == "(not stated)"


def test_a_malformed_rule_set_is_refused():
    with pytest.raises(BadParameterError, match="'key'.*pair"):
        RuleSet("bad", {"key": in_key})
    with pytest.raises(BadParameterError, match="weight of rule 'key'"):
        RuleSet("bad", {"key": (in_key, float("nan"))})
    with pytest.raises(BadParameterError, match="num_steps"):
        rule_set("rl_tuner", num_steps=0)


def test_describe_gives_each_rule_its_weight_magnitude_and_purpose():
    rows = describe(rl_tuner_rules())
    assert [row["rule"] for row in rows] == list(rl_tuner_rules().rules)
    by_rule = {row["rule"]: row for row in rows}
    assert by_rule["in_key"]["magnitude"].startswith("−1")
    assert by_rule["no_excessive_repeats"]["magnitude"].startswith("−100")
    assert all(row["weight"] == 1.0 and row["description"] and row["magnitude"] for row in rows)


def random_compositions(batch: int, length: int, seed: int) -> np.ndarray:
    """Random melodies biased towards holds and C-major notes, every other one repeating its first
    8 steps (so repeated motifs occur) and the first repeating C4 (so excessive repeats occur).
    """
    rng = np.random.default_rng(seed)
    palette = np.array([ev(t) for t in "C4 D4 E4 F4 G4 A4 B4 C5 G3 C4 E4 F#4 - - - - .".split()])
    melodies = palette[rng.integers(0, len(palette), size=(batch, length))]
    melodies[1::2] = np.tile(melodies[1::2, :8], (1, length // 8 + 1))[:, :length]
    melodies[0, 8:16] = ev("C4")
    return melodies


@pytest.mark.parametrize("step", [0, 1, 7, 15, 20, 28, 30, 31])
def test_batched_rewards_equal_per_item_rewards(step):
    rules_ = rl_tuner_rules()
    melodies = random_compositions(64, 32, seed=step)
    compositions, actions = melodies[:, :step], melodies[:, step]
    batched = rules_.rewards(compositions, actions, step)
    single = [rules_.reward(compositions[b], int(actions[b]), step) for b in range(64)]
    np.testing.assert_allclose(batched, single, rtol=1e-12, atol=1e-12)
    assert batched.shape == (64,) and batched.dtype == np.float64


def test_batched_rewards_accept_torch_tensors():
    rules_ = rl_tuner_rules()
    compositions = random_compositions(8, 20, seed=3)
    actions = random_compositions(1, 8, seed=4)[0]
    np.testing.assert_array_equal(rules_.rewards(torch.as_tensor(compositions), torch.as_tensor(actions), 20),
                                  rules_.rewards(compositions, actions, 20))


def test_every_rule_fires_somewhere_in_random_batches():
    rules_ = rl_tuner_rules()
    fired = {name: False for name in rules_.rules}
    for melody in random_compositions(40, 32, seed=7):
        for name, values in rules_.trace(melody).items():
            fired[name] |= bool(np.any(values != 0))
    assert all(fired.values()), fired


def test_the_breakdown_sums_to_the_reward_and_the_trace_covers_each_step():
    rules_ = rl_tuner_rules()
    melody = random_compositions(1, 32, seed=11)[0]
    parts = rules_.breakdown(melody[:31], int(melody[31]), 31)
    assert sum(parts.values()) == pytest.approx(rules_.reward(melody[:31], int(melody[31]), 31))
    trace = rules_.trace(melody)
    assert set(trace) == set(rules_.rules) and all(values.shape == (32,) for values in trace.values())
    assert trace["motif"][31] == parts["motif"]


def test_bad_steps_actions_and_compositions_are_refused_by_name():
    rules_ = rl_tuner_rules()
    with pytest.raises(BadParameterError, match="step"):
        rules_.reward(mel("C4"), ev("D4"), 32)
    with pytest.raises(BadParameterError, match="action"):
        rules_.reward(mel("C4"), NUM_CLASSES, 1)
    with pytest.raises(BadParameterError, match="action"):
        rules_.reward(mel("C4"), 2.5, 1)
    with pytest.raises(BadParameterError, match="composition"):
        rules_.reward(np.array([14, 40]), ev("D4"), 2)
    with pytest.raises(BadParameterError, match=r"\[B, t\]"):
        rules_.rewards(np.zeros((3, 4), dtype=np.int64), np.zeros(2, dtype=np.int64), 4)
    with pytest.raises(BadParameterError, match="actions"):
        rules_.rewards(np.zeros((2, 4), dtype=np.int64), np.array([0, -1]), 4)
    with pytest.raises(BadParameterError, match="num_steps"):
        rules_.trace(np.full(33, NO_EVENT))
