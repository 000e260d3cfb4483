"""AR-VAE: the attributes of a window, the loss that orders a latent dimension by one, and the
``cpu_ar`` MusicVAE preset that trains with it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from musiclab.checkpoints import load_model, save_checkpoint
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.eval.vae_attributes import note_statistics
from musiclab.models import vae_training
from musiclab.models.attribute_regularisation import (WINDOW_ATTRIBUTES, attribute_regularisation,
                                                      window_attributes)
from musiclab.models.music_vae import MusicVAE
from musiclab.models.vae_config import preset
from musiclab.theory import FIRST_PITCH_EVENT

C4 = 60 - 46  # onset event of C4


def test_window_attributes_count_onsets_per_step_and_mean_leap():
    melodies = torch.tensor([[C4, 1, C4 + 4, 0, 1, C4 - 3, 1, 1],  # C4, E4, A3: leaps 4 and 7
                             [C4, 1, 1, 1, 1, 1, 1, 1],  # one note: no interval
                             [0, 1, 1, 1, 1, 1, 1, 1]])  # silence
    attributes = window_attributes(melodies)
    assert WINDOW_ATTRIBUTES == ("note_density", "interval_size")
    assert attributes.dtype == torch.float64 and attributes.shape == (3, 2)
    assert attributes[:, 0].tolist() == [3 / 8, 1 / 8, 0.0]
    assert attributes[0, 1] == (4 + 7) / 2
    assert torch.isnan(attributes[1:, 1]).all()


def test_window_attributes_are_the_note_statistics_the_attribute_vectors_read():
    windows = vae_training.essen_windows("valid", 500, seed=0)
    ours, theirs = window_attributes(torch.from_numpy(windows)).numpy(), note_statistics(windows)[:, :2]
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-12)
    # and both agree with the plain reading, melody by melody: onsets per step, mean |step| between onsets
    for window, (density, interval) in zip(windows, ours):
        pitches = window[window >= FIRST_PITCH_EVENT]
        assert density == pitches.size / window.size
        assert np.isnan(interval) if pitches.size < 2 else interval == pytest.approx(np.abs(np.diff(pitches)).mean())


def test_the_loss_is_zero_when_the_dimension_orders_as_the_attribute_and_two_per_pair_when_reversed():
    attribute = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    in_order = attribute.float() * 10
    assert attribute_regularisation(in_order, attribute, delta=10.0) == pytest.approx(0.0, abs=1e-6)
    # 12 of the 16 pairs (i, j) are off the diagonal, each |-1 - 1| = 2 when the order is reversed
    assert attribute_regularisation(-in_order, attribute, delta=10.0) == pytest.approx(2 * 12 / 16, abs=1e-6)


def test_windows_without_the_attribute_are_left_out_of_the_loss():
    codes = torch.tensor([0.0, 1.0, -5.0])
    with_nan = attribute_regularisation(codes, torch.tensor([0.0, 1.0, float("nan")]), delta=10.0)
    assert with_nan == pytest.approx(attribute_regularisation(codes[:2], torch.tensor([0.0, 1.0]), delta=10.0))
    lonely = torch.tensor([0.3], requires_grad=True)
    zero = attribute_regularisation(lonely, torch.tensor([1.0]), delta=10.0)
    zero.backward()
    assert zero.item() == 0.0 and lonely.grad.item() == 0.0


def test_descending_the_loss_orders_free_codes_like_the_attribute():
    generator = torch.Generator().manual_seed(0)
    attribute = torch.rand(64, generator=generator)
    codes = torch.randn(64, generator=generator, requires_grad=True)
    optimiser = torch.optim.Adam([codes], lr=0.05)
    for _ in range(300):
        optimiser.zero_grad()
        attribute_regularisation(codes, attribute, delta=10.0).backward()
        optimiser.step()
    assert spearmanr(codes.detach(), attribute)[0] > 0.99


def test_cpu_ar_adds_gamma_times_the_regularisation_to_the_cpu_loss():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 64, seed=0))
    torch.manual_seed(0)
    plain = MusicVAE(preset("cpu"))
    regularised = MusicVAE(preset("cpu_ar"))
    regularised.load_state_dict(plain.state_dict())
    torch.manual_seed(1)
    loss, metrics = plain.loss(windows, step=2000)
    torch.manual_seed(1)
    ar_loss, ar_metrics = regularised.loss(windows, step=2000)
    assert "ar" not in metrics and 0 < ar_metrics["ar"] <= 4  # two dimensions, each 0 .. 2
    assert ar_loss.item() == pytest.approx(loss.item() + 10.0 * ar_metrics["ar"], rel=1e-5)
    assert preset("cpu_ar").regularised_attributes == ("interval_size", "note_density")


def test_a_regularised_model_round_trips_through_a_checkpoint(tmp_path):
    model = MusicVAE(preset("cpu_ar", z_size=4, enc_size=8, dec_size=8))
    save_checkpoint(tmp_path / "ar.pt", model)
    assert load_model(tmp_path / "ar.pt").config == model.config


@pytest.mark.parametrize("fields, message", [
    ({"regularised_attributes": ("loudness",)}, "loudness"),
    ({"regularised_attributes": ("interval_size", "interval_size")}, "twice"),
    ({"regularised_attributes": "interval_size"}, "list of attribute names"),
    ({"regularised_attributes": ("interval_size", "note_density"), "z_size": 1}, "z_size=1"),
    ({"ar_weight": -1.0}, "ar_weight"),
    ({"ar_delta": 0.0}, "ar_delta"),
])
def test_bad_regularisation_settings_are_refused_by_name(fields, message):
    with pytest.raises((BadParameterError, UnknownNameError), match=message):
        preset("cpu", **fields)
