"""Density swap: copies of melodies with more or fewer notes, for the swap loss's note-density dimension.

The interval swap (:mod:`~musiclab.models.interval_swap`) teaches the decoder to heed the latent
dimension that orders interval size; this module makes the copies that teach it to heed the one that
orders note density. A melody gets denser by splitting notes (the second half of a note of 2 or more
steps repeats its pitch) and sparser by merging notes (an onset becomes a hold of what sounded
before), so its pitches and rhythm grid stay and only the number of onsets changes. Applied to a copy
already moved into C major (:func:`~musiclab.models.interval_swap.rescale_intervals`), the decoder
learns that a code moved along the density dimension asks for more (or fewer) notes, all in key.
A departure of this kit, not a published loss.
"""
from __future__ import annotations

import torch

from musiclab.data.melody import NO_EVENT
from musiclab.theory import FIRST_PITCH_EVENT


def change_density(events: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
    """Melodies [B, T] with notes split (amount > 0) or merged (amount < 0); amounts [B] in [-1, 1].

    amount a > 0: each note of 2 or more steps is split at its middle with probability a (the
    second half repeats the pitch). a < 0: each onset after the window's first is turned into a
    hold with probability -a (the note before, or the rest before, lasts longer). Uses torch's
    global generator, so seeded runs repeat. Returns events [B, T].
    """
    batch, length = events.shape
    steps = torch.arange(length, device=events.device).expand(batch, length)
    is_event = events != NO_EVENT
    start = torch.cummax(torch.where(is_event, steps, -1), dim=1).values
    end = torch.flip(torch.cummin(torch.flip(torch.where(is_event, steps, length), [1]), dim=1).values, [1])
    pitch = events.gather(1, start.clamp(min=0))
    middle = ((events == NO_EVENT) & (start >= 0) & (pitch >= FIRST_PITCH_EVENT)
              & (steps - start == torch.div(end - start, 2, rounding_mode="floor")))
    is_note = events >= FIRST_PITCH_EVENT
    later_onset = is_note & (torch.cumsum(is_note, dim=1) > 1)
    coin = torch.rand(events.shape, device=events.device)
    amount = amounts[:, None]
    split = middle & (amount > 0) & (coin < amount)
    merged = later_onset & (amount < 0) & (coin < -amount)
    return torch.where(split, pitch, torch.where(merged, torch.full_like(events, NO_EVENT), events))


def random_amounts(batch: int, device=None) -> torch.Tensor:
    """``batch`` amounts for :func:`change_density`, uniform in [-1, 1] (torch's global generator)."""
    return torch.empty(batch, device=device).uniform_(-1.0, 1.0)
