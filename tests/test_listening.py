"""Listening tests: the A/B test model, its JSON storage, the χ² helper and the Turing tally."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
from scipy import stats

from musiclab.errors import BadFileError, BadParameterError, UnknownNameError
from musiclab.eval.listening import (
    ABTest, Pair, chi_square_gof, chi_square_sf, make_pairs, turing_tally,
)


def small_test(path=None) -> ABTest:
    return ABTest(path, pairs=[Pair("p1", "cnn", "tuned"), Pair("p2", "tuned", "cnn")])


# -- recording and counting --------------------------------------------------------------
def test_an_answer_counts_for_the_system_on_the_chosen_side():
    test = small_test()
    test.record("p1", "B")  # p1: B is 'tuned'
    test.record("p2", "A")  # p2: A is 'tuned'
    test.record("p2", "B")  # p2: B is 'cnn'
    assert test.counts() == {"cnn": 1, "tuned": 2}
    assert [a.chosen for a in test.answers] == ["tuned", "tuned", "cnn"]


def test_systems_never_chosen_are_counted_as_zero():
    test = small_test()
    test.record("p1", "A")
    assert test.counts() == {"cnn": 1, "tuned": 0}


def test_answers_carry_listener_and_a_utc_time_stamp():
    test = small_test()
    when = datetime(2026, 11, 22, 10, 30, tzinfo=timezone.utc)
    entry = test.record("p1", "A", listener="ada", time=when)
    assert (entry.listener, entry.time) == ("ada", "2026-11-22T10:30:00+00:00")
    now = test.record("p1", "B")
    assert datetime.fromisoformat(now.time).tzinfo is not None


@pytest.mark.parametrize("answer", ["C", "", "AB", None, 1])
def test_an_answer_other_than_a_or_b_is_rejected(answer):
    with pytest.raises(BadParameterError, match="'A' or 'B'"):
        small_test().record("p1", answer)


def test_an_unknown_pair_is_rejected_with_the_known_ones_listed():
    with pytest.raises(UnknownNameError, match="'nope'.*'p1', 'p2'"):
        small_test().record("nope", "A")


def test_the_same_pair_id_cannot_mean_two_different_comparisons():
    test = small_test()
    test.add_pair("p1", "cnn", "tuned")  # same definition: fine
    with pytest.raises(BadParameterError, match="already registered"):
        test.add_pair("p1", "cnn", "real")


# -- storage -----------------------------------------------------------------------------
def test_answers_survive_a_round_trip_through_the_file(tmp_path):
    path = tmp_path / "ab.json"
    test = small_test(path)
    test.record("p1", "A", listener="ada")
    test.record("p2", "A", listener="bob")
    again = ABTest(path)
    assert again.answers == test.answers
    assert again.pairs == test.pairs
    assert again.counts() == {"cnn": 1, "tuned": 1}


def test_two_sessions_appending_to_one_file_lose_nothing(tmp_path):
    path = tmp_path / "ab.json"
    first, second = small_test(path), small_test(path)
    first.record("p1", "A", listener="ada")
    second.record("p1", "B", listener="bob")   # second has never seen ada's answer in memory
    first.record("p2", "B", listener="ada")    # first has never seen bob's
    stored = json.loads(path.read_text())["answers"]
    assert [(a["listener"], a["pair_id"], a["answer"]) for a in stored] == [
        ("ada", "p1", "A"), ("bob", "p1", "B"), ("ada", "p2", "B")]
    assert ABTest(path).counts() == {"cnn": 2, "tuned": 1}


def test_writes_leave_no_temporary_files(tmp_path):
    path = tmp_path / "ab.json"
    test = small_test(path)
    test.record("p1", "A")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ab.json", "ab.json.lock"]


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"format": 99, "pairs": [], "answers": []}',
                                     '{"format": 1, "pairs": [{"x": 1}], "answers": []}'])
def test_a_corrupt_answers_file_is_reported_by_name(tmp_path, content):
    path = tmp_path / "ab.json"
    path.write_text(content)
    with pytest.raises(BadFileError, match="ab.json"):
        ABTest(path)


# -- pairs -------------------------------------------------------------------------------
def test_make_pairs_balances_sides_and_is_seeded():
    pairs = make_pairs(10, ("cnn", "tuned"), seed=3)
    assert sum(p.a == "cnn" for p in pairs) == 5
    assert all({p.a, p.b} == {"cnn", "tuned"} for p in pairs)
    assert pairs == make_pairs(10, ("cnn", "tuned"), seed=3)
    assert [p.a for p in pairs] != [p.a for p in make_pairs(10, ("cnn", "tuned"), seed=4)]
    assert len({p.pair_id for p in pairs}) == 10


@pytest.mark.parametrize("n, systems", [(0, ("a", "b")), (3, ("a", "a")), (2.5, ("a", "b"))])
def test_make_pairs_rejects_bad_arguments(n, systems):
    with pytest.raises(BadParameterError):
        make_pairs(n, systems, seed=0)


# -- χ² ----------------------------------------------------------------------------------
@pytest.mark.parametrize("observed", [[30, 10], [12, 8], [20, 20], [5, 9, 16], [1, 2, 3, 4, 10],
                                      [40, 2, 7, 7, 3, 1]])
def test_closed_form_chi_square_matches_scipy(observed):
    ours = chi_square_gof(observed)
    theirs = stats.chisquare(observed)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-15)
    assert ours.dof == len(observed) - 1


def test_closed_form_chi_square_with_given_expected_counts_matches_scipy():
    observed, expected = [18, 22, 60], [25, 25, 50]
    ours = chi_square_gof(observed, expected)
    theirs = stats.chisquare(observed, expected)
    assert (ours.statistic, ours.p_value) == pytest.approx((theirs.statistic, theirs.pvalue))


def test_thirty_to_ten_is_a_known_textbook_value():
    result = chi_square_gof([30, 10])
    assert result.statistic == pytest.approx(10.0)  # (10² + 10²) / 20
    assert result.p_value == pytest.approx(0.0015654, rel=1e-4)


@pytest.mark.parametrize("dof", range(1, 9))
@pytest.mark.parametrize("x", [0.0, 0.3, 1.0, 3.84, 10.0, 40.0])
def test_survival_function_matches_scipy_for_odd_and_even_dof(dof, x):
    assert chi_square_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("observed, expected", [([5], None), ([-1, 3], None), ([0, 0], None),
                                                ([3, 3], [2, 2]), ([3, 3], [6, 0]), ([3, 3], [1, 2, 3])])
def test_chi_square_rejects_bad_counts(observed, expected):
    with pytest.raises(BadParameterError):
        chi_square_gof(observed, expected)


def test_ab_chi_square_uses_the_counts_against_no_preference():
    test = ABTest(pairs=make_pairs(40, ("cnn", "tuned"), seed=0))
    for i, pair in enumerate(test.pairs.values()):
        # 'tuned' preferred in 30 of 40 pairs
        wanted = "tuned" if i < 30 else "cnn"
        test.record(pair.pair_id, "A" if pair.a == wanted else "B")
    result = test.chi_square()
    assert result.observed == (10.0, 30.0) or result.observed == (30.0, 10.0)
    assert result.statistic == pytest.approx(10.0)
    assert result.p_value == pytest.approx(chi_square_gof([30, 10]).p_value)
    assert result.p_value < 0.01


def test_ab_chi_square_without_answers_is_an_error():
    with pytest.raises(BadParameterError, match="answers"):
        small_test().chi_square()


# -- Turing test -------------------------------------------------------------------------
def test_turing_tally_counts_the_confusion_matrix_and_accuracy():
    truths = ["human"] * 4 + ["generated"] * 6
    guesses = ["human", "human", "human", "generated",
               "human", "human", "generated", "generated", "generated", "generated"]
    result = turing_tally(truths, guesses)
    assert result.confusion == {"human": {"human": 3, "generated": 1},
                                "generated": {"human": 2, "generated": 4}}
    assert (result.n, result.correct, result.accuracy) == (10, 7, 0.7)
    assert result.fooled == pytest.approx(2 / 6)
    assert result.p_value == pytest.approx(stats.binomtest(7, 10, 0.5).pvalue)
    assert "70.0 %" in str(result)


def test_a_listener_at_chance_is_not_significant_and_one_always_right_is():
    rng = np.random.default_rng(0)
    truths = list(rng.choice(["human", "generated"], size=200))
    coin = list(rng.choice(["human", "generated"], size=200))
    assert turing_tally(truths, coin).p_value > 0.05
    assert turing_tally(truths, truths).p_value < 1e-6


@pytest.mark.parametrize("truths, guesses", [([], []), (["human"], []),
                                             (["human"], ["robot"]), (["Human"], ["human"])])
def test_turing_tally_rejects_bad_labels_and_lengths(truths, guesses):
    with pytest.raises(BadParameterError):
        turing_tally(truths, guesses)
