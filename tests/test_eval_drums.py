"""Drum metrics on hand-made 2-bar patterns with hand-computed values."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from musiclab.data.drums import DRUM_CLASSES, SILENCE
from musiclab.data.grooves import load_grooves
from musiclab.errors import BadParameterError
from musiclab.eval.drums import (
    drum_metrics, is_monotonous, longest_run, mean_log_p, metric_table, pattern_metrics, tuning_effect,
)

K, S, HH, OH, RD, CR, TOM = (DRUM_CLASSES.index(name) for name in
                             ("kick", "snare", "closed_hihat", "open_hihat", "ride", "crash", "high_tom"))
_ = SILENCE


def pattern(bar1, bar2=None) -> np.ndarray:
    """A [32] pattern from one or two bars of 16 steps (the first bar repeated if one is given)."""
    return np.array(list(bar1) + list(bar1 if bar2 is None else bar2), dtype=np.int64)


ROCK = [K, _, HH, _, S, _, HH, _, K, _, HH, _, S, _, HH, _]
SILENT = [_] * 16
HATS_ONLY = [HH, _] * 8


def test_a_rock_beat_scores_as_counted_by_hand():
    m = drum_metrics(pattern(ROCK))
    assert m["instrument_diversity"] == 3          # kick, snare, hi-hat
    assert m["longest_run"] == 1                   # K HH S HH K ... never twice the same
    assert m["rests"] == 0.5                       # 8 of 16 steps silent per bar
    assert m["bar_consistency"] == 1.0
    assert m["backbeat"] == 1.0
    assert m["monotonous"] == 0.0


def test_longest_run_skips_rests_and_is_broken_by_another_drum():
    assert longest_run(pattern(HATS_ONLY)) == 16
    bar = [HH, HH, _, HH, S, HH, HH, _, _, _, _, _, _, _, _, _]
    assert longest_run(pattern(bar, SILENT)) == 3
    assert longest_run(pattern(SILENT)) == 0


def test_longest_run_crosses_the_bar_line():
    bar1 = [S] + [_] * 12 + [K, K, K]
    bar2 = [K, K, S] + [_] * 13
    assert longest_run(pattern(bar1, bar2)) == 5


def test_diversity_counts_distinct_drums_but_not_silence():
    bar = [K, S, HH, OH, RD, CR, TOM, _, _, _, _, _, _, _, _, _]
    assert pattern_metrics(pattern(bar))["instrument_diversity"][0] == 7
    assert pattern_metrics(pattern(SILENT))["instrument_diversity"][0] == 0


def test_rests_is_the_share_of_silent_steps():
    bar2 = [K] * 4 + [_] * 12
    assert drum_metrics(pattern(SILENT, bar2))["rests"] == pytest.approx(28 / 32)


def test_bar_consistency_is_the_share_of_equal_positions():
    bar2 = list(ROCK)
    bar2[14], bar2[15], bar2[13] = S, S, S   # a fill changes 3 of 16 steps
    assert drum_metrics(pattern(ROCK, bar2))["bar_consistency"] == pytest.approx(13 / 16)


def test_backbeat_counts_bars_with_snare_on_both_steps_4_and_12():
    half = list(ROCK)
    half[12] = K                             # bar 2 loses its beat-4 snare
    assert drum_metrics(pattern(ROCK, half))["backbeat"] == 0.5
    shifted = [K, _, HH, _, _, S, HH, _, K, _, HH, _, _, S, HH, _]   # snare a 16th late
    assert drum_metrics(pattern(shifted))["backbeat"] == 0.0


def test_backbeat_is_averaged_over_all_bars_of_all_patterns():
    batch = np.stack([pattern(ROCK), pattern(SILENT), pattern(ROCK, SILENT)])
    assert drum_metrics(batch)["backbeat"] == pytest.approx((1 + 0 + 0.5) / 3)


def test_tuning_effect_shows_where_the_tuned_groove_differs_and_gains_a_backbeat():
    no_snare = [K, _, HH, _, K, _, HH, _, K, _, HH, _, K, _, HH, _]
    reference = np.stack([pattern(no_snare), pattern(no_snare), pattern(ROCK), pattern(no_snare)])
    tuned = np.stack([pattern(ROCK),            # a backbeat in both bars: shows
                      pattern(no_snare),        # the same groove: nothing to hear
                      pattern(ROCK, no_snare),  # differs, but loses a backbeat
                      pattern(no_snare, ROCK)])  # gains one bar of backbeat: shows
    effect = tuning_effect(reference, tuned)
    assert effect["differs"].tolist() == [True, False, True, True]
    assert effect["adds_backbeat"].tolist() == [True, False, False, True]
    assert effect["shows"].tolist() == [True, False, False, True]
    with pytest.raises(BadParameterError, match="same primers"):
        tuning_effect(reference, tuned[:2])


def test_monotony_detector_flags_one_drum_dominating_with_a_long_run():
    assert is_monotonous(pattern(HATS_ONLY))
    eight_kicks = [K] * 8 + [S, _, _, _, _, _, _, _]
    assert is_monotonous(pattern(eight_kicks, SILENT))   # 8 kicks of 9 hits


def test_monotony_detector_spares_steady_hats_broken_by_kick_and_snare():
    sixteenths = [K, HH, HH, HH, S, HH, HH, HH, K, HH, HH, HH, S, HH, HH, HH]
    assert not is_monotonous(pattern(sixteenths))        # hats 75 % of hits, but runs of 3
    assert not is_monotonous(pattern(ROCK))
    assert not is_monotonous(pattern(SILENT))


def test_monotony_needs_both_the_run_and_the_majority():
    long_run_minority = [K] * 8 + [S, HH, OH, RD, CR, TOM, S, HH]
    busy = pattern(long_run_minority, [S, HH, OH, RD, CR, TOM, S, HH] * 2)
    assert longest_run(busy) == 8 and not is_monotonous(busy)   # kicks are 8 of 32 hits
    majority_short_runs = [K, K, K, K, K, K, K, S, K, K, K, K, K, K, K, S]
    assert not is_monotonous(pattern(majority_short_runs))      # runs of 7
    majority_run_of_eight = [K, K, K, K, K, K, K, K, S, K, K, K, K, K, K, S]
    assert is_monotonous(pattern(majority_run_of_eight))


def test_metrics_are_means_over_patterns():
    batch = np.stack([pattern(HATS_ONLY), pattern(ROCK)])
    m = drum_metrics(batch)
    assert m["monotonous"] == 0.5
    assert m["longest_run"] == pytest.approx((16 + 1) / 2)
    assert m["instrument_diversity"] == pytest.approx((1 + 3) / 2)


class UniformModel:
    """log p = log(1/10) everywhere, plus 1 at the first step to test ``skip_steps``."""

    def log_prob(self, sequences: torch.Tensor) -> torch.Tensor:
        scores = torch.full(sequences.shape, -np.log(10.0))
        scores[:, 0] += 1.0
        return scores


def test_mean_log_p_averages_the_model_scores_over_steps_and_patterns():
    batch = np.stack([pattern(ROCK), pattern(HATS_ONLY)])
    m = drum_metrics(batch, model=UniformModel())
    assert m["mean_log_p"] == pytest.approx(-np.log(10.0) + 1 / 32)
    assert mean_log_p(batch, UniformModel(), skip_steps=8) == pytest.approx(-np.log(10.0))
    assert "mean_log_p" not in drum_metrics(batch)


def test_mean_log_p_rejects_a_model_returning_the_wrong_shape():
    class Flat:
        def log_prob(self, sequences):
            return torch.zeros(sequences.shape[0])
    with pytest.raises(BadParameterError, match="shape"):
        mean_log_p(pattern(ROCK), Flat())


@pytest.mark.parametrize("bad", [np.zeros((2, 16), dtype=np.int64), np.zeros((0, 32), dtype=np.int64),
                                 np.full((1, 32), 10), np.full((1, 32), -1), np.zeros((1, 32)),
                                 np.zeros((2, 2, 32), dtype=np.int64)])
def test_bad_patterns_are_rejected_with_the_valid_form(bad):
    with pytest.raises(BadParameterError, match="patterns"):
        drum_metrics(bad)


def test_metric_table_puts_systems_side_by_side():
    table = metric_table({"real": drum_metrics(pattern(ROCK)),
                          "cnn": drum_metrics(pattern(HATS_ONLY), model=UniformModel())})
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "real", "cnn"]
    monotony = next(line for line in lines if line.startswith("monotonous"))
    assert monotony.split()[-4:] == ["0.0", "%", "100.0", "%"]
    log_p = next(line for line in lines if line.startswith("mean log p"))
    assert log_p.split()[-2:] == ["-", f"{-np.log(10.0) + 1 / 32:.3f}"]


def test_metric_table_needs_results():
    with pytest.raises(BadParameterError):
        metric_table({})


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mma") is None, reason="Debian's mma is not installed (apt-get install mma)")
def test_real_mma_grooves_look_like_grooves():
    """Loads (or renders once, minutes) the mma groove grids."""
    real = drum_metrics(load_grooves(quiet=True).grids)
    random = drum_metrics(np.random.default_rng(0).integers(0, 10, size=(500, 32)))
    assert 2 <= real["instrument_diversity"] <= 5 < random["instrument_diversity"]
    assert real["backbeat"] > 0.2 > 0.05 > random["backbeat"]
    assert real["bar_consistency"] > 0.6 > 0.2 > random["bar_consistency"]
    assert real["monotonous"] < 0.15
