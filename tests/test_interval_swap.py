"""Interval swap: melodies with their moves stretched in C major scale steps, and the ``cpu_swap``
MusicVAE preset whose decoder must write such a copy from a code that differs only in dimension 0."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclab.checkpoints import load_model, save_checkpoint
from musiclab.errors import BadParameterError
from musiclab.models import vae_training
from musiclab.models.attribute_regularisation import window_attributes
from musiclab.models.interval_swap import SCALE_DEGREE, random_factors, rescale_intervals
from musiclab.models.music_vae import MusicVAE
from musiclab.models.vae_config import preset
from musiclab.theory import FIRST_PITCH_EVENT, OUT_OF_KEY_EVENT

C4, E4, G4 = (60 - 46, 64 - 46, 67 - 46)  # onset events
HOLD, OFF = 1, 0


def _rescaled(melody, factor):
    events, used = rescale_intervals(torch.tensor([melody]), torch.tensor([factor]))
    return events[0].tolist(), used.item()


def test_scale_degrees_count_seven_per_octave_with_accidentals_half_way():
    assert SCALE_DEGREE[C4] == 7 * 5 and SCALE_DEGREE[E4] == 7 * 5 + 2 and SCALE_DEGREE[G4] == 7 * 5 + 4
    assert SCALE_DEGREE[C4 + 1] == 7 * 5 + 0.5  # C#4
    assert torch.isnan(SCALE_DEGREE[[HOLD, OFF]]).all()


def test_doubling_stretches_moves_around_the_mean_degree_and_keeps_the_rhythm():
    # C4 E4 G4: degrees 35, 37, 39 around 37 (E4) -> 33, 37, 41: A3, E4, B4
    assert _rescaled([C4, HOLD, E4, OFF, G4, HOLD], 2.0) == ([57 - 46, HOLD, E4, OFF, 71 - 46, HOLD], 2.0)
    # halving: 36, 37, 38: D4, E4, F4
    assert _rescaled([C4, HOLD, E4, OFF, G4, HOLD], 0.5) == ([62 - 46, HOLD, E4, OFF, 65 - 46, HOLD], 0.5)


def test_factor_one_keeps_an_in_key_melody_and_moves_accidentals_into_the_key():
    assert _rescaled([C4, E4, HOLD, G4], 1.0) == ([C4, E4, HOLD, G4], 1.0)
    events, _ = _rescaled([C4, C4 + 1, E4 + 2, G4], 1.0)  # C#4 and F#4 are outside C major
    assert not OUT_OF_KEY_EVENT[events].any()


def test_a_window_that_would_leave_the_pitch_range_is_left_as_it_was():
    lowest, highest = FIRST_PITCH_EVENT, 37  # MIDI 48 and 83
    assert _rescaled([lowest, HOLD, highest, HOLD], 2.0) == ([lowest, HOLD, highest, HOLD], 1.0)


def test_on_essen_windows_the_mean_interval_follows_the_factor_and_stays_in_key():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 512, seed=0))
    intervals = {}
    for factor in (0.5, 1.0, 2.0):
        copies, used = rescale_intervals(windows, torch.full((len(windows),), factor))
        assert torch.equal(copies >= FIRST_PITCH_EVENT, windows >= FIRST_PITCH_EVENT)  # same rhythm
        assert torch.equal(copies[windows < FIRST_PITCH_EVENT], windows[windows < FIRST_PITCH_EVENT])
        kept = used == factor  # shrinking always fits the range; doubling leaves some windows as they were
        assert kept.all() if factor <= 1 else kept.float().mean() > 0.75
        assert not OUT_OF_KEY_EVENT[copies[kept]].any()
        intervals[factor] = np.nanmean(window_attributes(copies)[:, 1].numpy())
    assert intervals[0.5] < 0.75 * intervals[1.0] and intervals[2.0] > 1.75 * intervals[1.0]


def test_random_factors_are_log_uniform_in_the_range_and_repeat_with_the_seed():
    torch.manual_seed(3)
    factors = random_factors(10_000, 0.4, 2.5)
    assert factors.min() >= 0.4 and factors.max() <= 2.5
    assert abs(float(torch.log(factors).median())) < 0.05  # log 0.4 = -log 2.5: centred on 1
    torch.manual_seed(3)
    assert torch.equal(random_factors(10_000, 0.4, 2.5), factors)


def test_cpu_swap_adds_the_swap_loss_in_training_only():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 64, seed=0))
    torch.manual_seed(0)
    regularised = MusicVAE(preset("cpu_ar"))
    swapping = MusicVAE(preset("cpu_swap"))
    swapping.load_state_dict(regularised.state_dict())
    torch.manual_seed(1)
    ar_loss, _ = regularised.loss(windows, step=2000)
    torch.manual_seed(1)
    swap_loss, metrics = swapping.loss(windows, step=2000)
    # the cpu_ar loss, plus the copies' cross-entropy (about as large as the reconstruction's) and a
    # non-negative joint order term
    assert metrics["swap"] > 0.5 * metrics["recon_nats"]
    assert swap_loss.item() >= ar_loss.item() + metrics["swap"] - 1e-3
    regularised.eval(), swapping.eval()
    torch.manual_seed(1)
    plain, _ = regularised.loss(windows, step=2000)
    torch.manual_seed(1)
    evaluated, eval_metrics = swapping.loss(windows, step=2000)
    assert "swap" not in eval_metrics and evaluated.item() == pytest.approx(plain.item())


def test_the_copies_are_decoded_from_the_code_with_only_the_interval_dimension_swapped():
    model = MusicVAE(preset("cpu_swap", z_size=4, enc_size=8, dec_size=8))
    windows = torch.from_numpy(vae_training.essen_windows("valid", 16, seed=0))
    seen = []
    original = model.decoder.teacher_forced
    model.decoder.teacher_forced = lambda z, targets, inputs=None: seen.append(z.detach()) or original(z, targets, inputs)
    z = torch.randn(16, 4)
    model._attribute_swap(z, windows)
    (mixed,) = seen
    assert torch.equal(mixed[:, 1:], z[:, 1:]) and not torch.equal(mixed[:, 0], z[:, 0])


def test_a_swap_model_round_trips_through_a_checkpoint(tmp_path):
    model = MusicVAE(preset("cpu_swap", z_size=4, enc_size=8, dec_size=8))
    save_checkpoint(tmp_path / "swap.pt", model)
    assert load_model(tmp_path / "swap.pt").config == model.config


@pytest.mark.parametrize("fields, message", [
    ({"swap_weight": 1.0}, "swap_weight > 0 needs each swap attribute among regularised_attributes: 'interval_size'"),
    ({"swap_weight": -1.0}, "swap_weight"),
    ({"swap_factors": (2.0, 1.0)}, "swap_factors"),
    ({"swap_factors": (0.0, 1.0)}, "swap_factors"),
    ({"swap_factors": (0.5,)}, "swap_factors"),
])
def test_bad_swap_settings_are_refused_by_name(fields, message):
    with pytest.raises(BadParameterError, match=message):
        preset("cpu", **fields)
