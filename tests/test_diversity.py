"""Diversity beside every rule table: one tune played a thousand times scores low, different tunes high."""
from __future__ import annotations

import math

import numpy as np
import pytest

from melody_text import mels
from musiclab.eval.diversity import DIVERSITY_KEYS, diversity_metrics, pitch_ngrams


def test_one_tune_repeated_has_one_distinct_piece_and_no_distance():
    values = diversity_metrics(mels(*["C4 D4 E4 F4 G4 - . ."] * 10))
    assert tuple(values) == DIVERSITY_KEYS
    assert values["distinct_pieces"] == pytest.approx(0.1)
    assert values["distinct_4gram_share"] == pytest.approx(2 / 20)  # 2 four-grams a piece, 2 distinct
    assert values["mean_pairwise_hamming"] == 0.0


def test_pitch_4grams_skip_holds_and_rests_and_stay_inside_one_piece():
    grams = pitch_ngrams(mels("C4 - D4 . E4 F4 G4", "C5 D5 E5 - - - -"))
    assert grams == [(14, 16, 18, 19), (16, 18, 19, 21)]


def test_the_hamming_distance_is_the_share_of_steps_that_differ():
    values = diversity_metrics(mels("C4 D4 E4 F4", "C4 D4 E4 G4", "C4 D4 A4 G4"))
    assert values["mean_pairwise_hamming"] == pytest.approx((1 / 4 + 2 / 4 + 1 / 4) / 3)


def test_pitch_class_entropy_is_zero_for_one_pitch_class_and_two_bits_for_four_equal_ones():
    assert diversity_metrics(mels("C4 C5 - C3"))["pitch_class_entropy"] == 0.0
    assert diversity_metrics(mels("C4 D4 E4 F4"))["pitch_class_entropy"] == pytest.approx(2.0)


def test_random_pieces_are_all_distinct():
    pieces = np.random.default_rng(0).integers(2, 38, size=(50, 32))
    values = diversity_metrics(pieces)
    assert values["distinct_pieces"] == 1.0 and values["distinct_4gram_share"] > 0.99
    assert math.isnan(diversity_metrics(mels("C4 - - -"))["distinct_4gram_share"])
