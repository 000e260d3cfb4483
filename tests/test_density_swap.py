"""Density swap: melodies with notes split or merged, and the swap loss taking the note-density
dimension, as well as the interval one, from the copy's code."""
from __future__ import annotations

import pytest
import torch

from musiclab.errors import MusiclabError
from musiclab.models import vae_training
from musiclab.models.attribute_regularisation import WINDOW_ATTRIBUTES, window_attributes
from musiclab.models.attribute_swap import COPY_MAKERS, swap_copies
from musiclab.models.density_swap import change_density, random_amounts
from musiclab.models.interval_swap import random_factors, rescale_intervals
from musiclab.models.music_vae import MusicVAE
from musiclab.models.vae_config import preset
from musiclab.theory import FIRST_PITCH_EVENT

C4, E4, G4 = (60 - 46, 64 - 46, 67 - 46)  # onset events
HOLD, OFF = 1, 0
MELODY = [C4, HOLD, HOLD, HOLD, E4, OFF, HOLD, G4, HOLD]
BOTH = ("interval_size", "note_density")


def _changed(melody, amount):
    return change_density(torch.tensor([melody]), torch.tensor([amount]))[0].tolist()


def test_amount_one_splits_every_note_of_two_or_more_steps_at_its_middle():
    # C4 (4 steps) -> C4 C4 of 2 each; E4 (1 step) and the rest stay; G4 (2 steps, to the window's end) -> G4 G4
    assert _changed(MELODY, 1.0) == [C4, HOLD, C4, HOLD, E4, OFF, HOLD, G4, G4]


def test_amount_minus_one_merges_every_onset_after_the_first_into_a_hold():
    assert _changed(MELODY, -1.0) == [C4, HOLD, HOLD, HOLD, HOLD, OFF, HOLD, HOLD, HOLD]


def test_amount_zero_keeps_the_melody():
    assert _changed(MELODY, 0.0) == MELODY


def test_on_essen_windows_density_follows_the_amount_with_the_same_pitches_and_rests():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 512, seed=0))
    torch.manual_seed(0)
    density = {}
    for amount in (-0.5, 0.0, 0.5, 1.0):
        copies = change_density(windows, torch.full((len(windows),), amount))
        assert torch.equal(copies == OFF, windows == OFF)  # rests start where they did
        assert set(copies[copies >= FIRST_PITCH_EVENT].tolist()) <= set(windows[windows >= FIRST_PITCH_EVENT].tolist())
        density[amount] = window_attributes(copies)[:, 0].mean().item()
    assert density[-0.5] < 0.8 * density[0.0] and density[1.0] > 1.5 * density[0.0]
    assert density[-0.5] < density[0.0] < density[0.5] < density[1.0]


def test_a_split_repeats_the_pitch_of_the_note_it_splits():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 256, seed=0))
    torch.manual_seed(1)
    copies = change_density(windows, torch.ones(len(windows)))
    added = (copies != windows).nonzero()
    for row, step in added.tolist():
        before = windows[row, :step]
        sounding = before[before != HOLD][-1]  # the onset the split note started with
        assert copies[row, step] == sounding and sounding >= FIRST_PITCH_EVENT


def test_random_amounts_are_in_minus_one_one_and_repeat_with_the_seed():
    torch.manual_seed(3)
    amounts = random_amounts(10_000)
    assert amounts.min() >= -1 and amounts.max() <= 1 and abs(amounts.mean().item()) < 0.05
    torch.manual_seed(3)
    assert torch.equal(random_amounts(10_000), amounts)


def test_the_copies_are_decoded_from_the_code_with_both_swapped_dimensions_from_the_copy():
    model = MusicVAE(preset("cpu_swap", swap_attributes=BOTH, z_size=4, enc_size=8, dec_size=8))
    windows = torch.from_numpy(vae_training.essen_windows("valid", 16, seed=0))
    seen = []
    original = model.decoder.teacher_forced
    model.decoder.teacher_forced = lambda z, targets, inputs=None: seen.append((z.detach(), targets)) or original(z, targets, inputs)
    z = torch.randn(16, 4)
    torch.manual_seed(5)
    model._attribute_swap(z, windows)
    ((mixed, copies),) = seen
    assert torch.equal(mixed[:, 2:], z[:, 2:]) and not torch.equal(mixed[:, :2], z[:, :2])
    torch.manual_seed(5)  # the copy: moves stretched (factors drawn first), then notes split or merged
    stretched, _ = rescale_intervals(windows, random_factors(16, 0.4, 2.5))
    assert torch.equal(copies, change_density(stretched, random_amounts(16)))
    assert not torch.equal(copies >= FIRST_PITCH_EVENT, windows >= FIRST_PITCH_EVENT)


def test_every_attribute_a_config_may_swap_has_a_copy_maker():
    assert set(COPY_MAKERS) == set(WINDOW_ATTRIBUTES)


def test_copies_are_made_in_the_same_order_however_the_attributes_are_listed():
    windows = torch.from_numpy(vae_training.essen_windows("valid", 16, seed=0))
    torch.manual_seed(5)
    listed_one_way = swap_copies(windows, BOTH, (0.4, 2.5))
    torch.manual_seed(5)
    assert torch.equal(swap_copies(windows, tuple(reversed(BOTH)), (0.4, 2.5)), listed_one_way)


@pytest.mark.parametrize("fields, message", [
    ({"swap_attributes": ("note_density",), "swap_weight": 1.0, "regularised_attributes": ("interval_size",)},
     "'note_density' is not in"),
    ({"swap_attributes": ("loudness",)}, "swap attribute"),
    ({"swap_attributes": "note_density"}, "got the string"),
    ({"swap_attributes": ()}, "at least one"),
    ({"swap_attributes": ("interval_size", "interval_size")}, "swap_attributes names an attribute twice"),
])
def test_bad_swap_attributes_are_refused_by_name(fields, message):
    with pytest.raises(MusiclabError, match=message):
        preset("cpu_swap", **fields)
