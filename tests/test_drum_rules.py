"""Percussion rules: each rewards what it should and penalises what it should; the drum rule sets."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from musiclab.data.drums import DRUM_CLASSES, SILENCE
from musiclab.data.grooves import load_grooves
from musiclab.errors import UnknownNameError
from musiclab.rl import drum_rules as dr
from musiclab.rl.rule_set import RuleSet, describe

K, S, HH, OH, RD, CR, TOM = (DRUM_CLASSES.index(name) for name in
                             ("kick", "snare", "closed_hihat", "open_hihat", "ride", "crash", "high_tom"))
_ = SILENCE
ROCK = [K, _, HH, _, S, _, HH, _, K, _, HH, _, S, _, HH, _]


def arr(*events) -> np.ndarray:
    return np.array(events, dtype=np.int64)


def before(step: int, bar=ROCK) -> np.ndarray:
    """The first ``step`` steps of the rock beat played twice."""
    return np.array((list(bar) * 2)[:step], dtype=np.int64)


# -- kick on strong beats ---------------------------------------------------------------
@pytest.mark.parametrize("step", [0, 8, 16, 24])
def test_a_kick_on_a_strong_beat_is_rewarded_and_a_rest_there_penalised(step):
    assert dr.kick_on_strong_beats(before(step), K, step) == 1.0
    assert dr.kick_on_strong_beats(before(step), _, step) == -1.0
    assert dr.kick_on_strong_beats(before(step), CR, step) == 0.0
    assert dr.kick_on_strong_beats(before(step), TOM, step) == 0.0


@pytest.mark.parametrize("step", [1, 4, 6, 12, 15, 31])
def test_kicks_and_rests_elsewhere_are_neutral(step):
    assert dr.kick_on_strong_beats(before(step), K, step) == 0.0
    assert dr.kick_on_strong_beats(before(step), _, step) == 0.0


# -- snare on the backbeat --------------------------------------------------------------
@pytest.mark.parametrize("step", [4, 12, 20, 28])
def test_a_snare_on_the_backbeat_is_rewarded(step):
    assert dr.snare_on_backbeat(before(step), S, step) == 1.0
    assert dr.snare_on_backbeat(before(step), HH, step) == 0.0


@pytest.mark.parametrize("step", [0, 8, 16, 24])
def test_a_snare_on_a_strong_beat_is_penalised(step):
    assert dr.snare_on_backbeat(before(step), S, step) == -1.0


def test_a_ghost_snare_off_the_beats_is_neutral():
    assert dr.snare_on_backbeat(before(7), S, 7) == 0.0


# -- steady hi-hat or ride --------------------------------------------------------------
@pytest.mark.parametrize("drum", [HH, OH, RD])
@pytest.mark.parametrize("step", [2, 6, 10, 14, 18, 30])
def test_a_timekeeper_on_the_offbeat_eighths_is_rewarded(drum, step):
    assert dr.timekeeper_on_offbeats(before(step), drum, step) == 0.5


def test_other_drums_on_offbeats_and_hats_on_beats_are_neutral():
    assert dr.timekeeper_on_offbeats(before(2), K, 2) == 0.0
    assert dr.timekeeper_on_offbeats(before(3), HH, 3) == 0.0
    assert dr.timekeeper_on_offbeats(before(4), HH, 4) == 0.0


def test_switching_between_hihat_and_ride_is_penalised():
    hats = arr(K, _, HH, _, S)
    assert dr.one_timekeeper(hats, RD, 5) == -0.5
    assert dr.one_timekeeper(arr(K, _, RD, _, S), HH, 5) == -0.5


def test_staying_on_one_cymbal_is_fine_and_open_closed_hats_are_one_family():
    assert dr.one_timekeeper(arr(K, _, HH, _, S), HH, 5) == 0.0
    assert dr.one_timekeeper(arr(K, _, HH, _, S), OH, 5) == 0.0
    assert dr.one_timekeeper(arr(K, _, RD, RD, S), RD, 5) == 0.0
    assert dr.one_timekeeper(arr(K, _, S), RD, 3) == 0.0      # the first cymbal sets it
    assert dr.one_timekeeper(arr(K, _, HH), K, 3) == 0.0      # not a cymbal


# -- no monotony ------------------------------------------------------------------------
def test_a_fifth_hit_of_one_drum_in_a_row_is_penalised_even_across_rests():
    assert dr.no_monotony(arr(HH, _, HH, _, HH, _, HH, _), HH, 8) == -1.0
    assert dr.no_monotony(arr(K, K, K, K), K, 4) == -1.0


def test_four_in_a_row_or_a_run_broken_by_another_drum_is_fine():
    assert dr.no_monotony(arr(HH, _, HH, _, HH), HH, 5) == 0.0
    assert dr.no_monotony(arr(HH, HH, S, HH, HH, HH), HH, 6) == 0.0
    assert dr.no_monotony(arr(K, K, K, K, K), _, 5) == 0.0    # a rest is never monotonous


def test_run_length_counts_back_over_rests_until_another_drum():
    assert dr.run_length(arr(S, HH, _, HH, _), HH) == 3
    assert dr.run_length(arr(), K) == 1
    assert dr.run_length(arr(K, K), _) == 0


# -- some rests -------------------------------------------------------------------------
def test_a_bar_without_enough_rests_is_penalised_at_its_last_step():
    busy = np.array([K, HH, HH, HH, S, HH, HH, HH, K, HH, HH, HH, S, HH, _], dtype=np.int64)
    assert dr.some_rests(busy, HH, 15) == -1.0                 # 1 rest in 16 steps
    second_bar = np.concatenate([before(16), busy])
    assert dr.some_rests(second_bar, _, 31) == -1.0            # 2 rests: still too few


def test_a_bar_with_four_rests_or_more_is_fine_and_only_bar_ends_are_judged():
    airy = np.array([K, HH, _, HH, S, HH, _, HH, K, HH, _, HH, S, HH, _], dtype=np.int64)
    assert dr.some_rests(airy, HH, 15) == 0.0                  # exactly 4 rests
    assert dr.some_rests(before(15), _, 15) == 0.0
    busy_start = np.array([K, HH, HH, HH], dtype=np.int64)
    assert dr.some_rests(busy_start, HH, 4) == 0.0


# -- rule sets --------------------------------------------------------------------------
def test_the_groove_set_is_a_rule_set_of_every_drum_rule():
    groove = dr.drum_rule_set("groove")
    assert isinstance(groove, RuleSet)
    assert set(groove.rules) == set(dr.DRUM_RULES)
    assert groove.num_steps == 32


def test_every_drum_rule_documents_its_magnitude():
    rows = describe(dr.drum_rule_set("groove"))
    assert all(row["magnitude"] != "see its docstring" for row in rows)
    assert all(row["description"] for row in rows)


def test_a_rock_beat_earns_more_than_monotonous_or_empty_patterns():
    groove = dr.drum_rule_set("groove")

    def total(pattern):
        pattern = np.asarray(pattern, dtype=np.int64)
        return sum(groove.reward(pattern[:t], pattern[t], t) for t in range(32))

    rock = total(ROCK * 2)
    assert rock == pytest.approx(2 * (2 * 1 + 2 * 1 + 4 * 0.5))   # kicks, snares, hats per bar
    assert total([HH] * 32) < 0
    assert total([_] * 32) < 0
    assert rock > total([S, _, HH, _, K, _, HH, _] * 4)   # kick and snare swapped


@pytest.mark.parametrize("name", ["groove", "variety"])
def test_batched_rewards_equal_single_rewards_at_every_step(name):
    rules = dr.drum_rule_set(name)
    rng = np.random.default_rng(0)
    for step in range(32):
        patterns = rng.integers(0, 10, size=(48, step))
        actions = rng.integers(0, 10, size=48)
        # a third of them sparse hi-hat/ride patterns, so runs, rests and switches occur
        patterns[::3] = rng.choice([HH, RD, _, _], size=(16, step))
        actions[::3] = rng.choice([HH, RD, _], size=16)
        expected = [rules.reward(p, a, step) for p, a in zip(patterns, actions)]
        np.testing.assert_allclose(rules.rewards(patterns, actions, step), expected, err_msg=str(step))


def test_every_step_reward_lies_in_the_documented_range():
    groove = dr.drum_rule_set("groove")
    rng = np.random.default_rng(1)
    patterns = np.concatenate([rng.integers(0, 10, size=(300, 32)),
                               rng.choice([K, S, HH, RD, _], size=(300, 32))])
    rewards = np.stack([groove.rewards(patterns[:, :t], patterns[:, t], t) for t in range(32)])
    assert rewards.min() >= -2.0 and rewards.max() <= 1.0
    assert groove.reward(arr(K, _, HH), K, 8) == 1.0                     # both bounds are reached
    assert groove.reward(arr(S, _, S, _, S, _, S, _), S, 8) == -2.0      # snare on beat 3, 5th in a row


def test_breakdown_names_which_rules_fire():
    parts = dr.drum_rule_set("groove").breakdown(before(8), S, 8)
    assert parts["snare_on_backbeat"] == -1.0
    assert parts["kick_on_strong_beats"] == 0.0


def test_custom_drum_rule_sets_take_weights_and_reject_unknown_rules():
    custom = dr.make_drum_rule_set({"kick_on_strong_beats": 2.0})
    assert custom.reward(arr(), K, 0) == 2.0
    with pytest.raises(UnknownNameError, match="no_such_rule.*kick_on_strong_beats"):
        dr.make_drum_rule_set(["no_such_rule"])
    with pytest.raises(UnknownNameError, match="'groove', 'variety'"):
        dr.drum_rule_set("jazz")


def test_the_variety_set_holds_only_the_anti_monotony_rules():
    variety = dr.drum_rule_set("variety")
    assert set(variety.rules) == {"no_monotony", "some_rests"}
    assert variety.reward(arr(K, K, K, K), K, 4) == -1.0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mma") is None, reason="Debian's mma is not installed (apt-get install mma)")
def test_real_mma_grooves_earn_more_than_random_patterns():
    """Loads (or renders once, minutes) the mma groove grids."""
    real = load_grooves(quiet=True).grids
    random = np.random.default_rng(0).integers(0, 10, size=real.shape)
    groove = dr.drum_rule_set("groove")

    def totals(patterns):
        return sum(groove.rewards(patterns[:, :t], patterns[:, t], t) for t in range(32))

    assert totals(real).mean() > 1.0 > 0.0 > totals(random).mean()
