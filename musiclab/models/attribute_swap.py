"""The swap loss's copies: a batch of melodies moved along each swap attribute, one copy-maker each.

MusicVAE's swap loss (:meth:`~musiclab.models.music_vae.MusicVAE.loss`) asks the decoder to write a
moved copy of each melody from the melody's code with only the swapped dimensions taken from the
copy's code. :data:`COPY_MAKERS` says how each attribute moves a melody; :func:`swap_copies` applies
the chosen ones in the table's order (interval size, then note density), so a seeded run draws its
random factors and amounts in the same order whatever order the config lists the attributes in.
A departure of this kit, not a published loss.
"""
from __future__ import annotations

import torch

from musiclab.models.density_swap import change_density, random_amounts
from musiclab.models.interval_swap import random_factors, rescale_intervals


def stretched_copies(events: torch.Tensor, factors: tuple[float, float]) -> torch.Tensor:
    """Melodies [B, T] with their moves stretched by a log-uniform factor in ``factors`` (low, high)."""
    copies, _ = rescale_intervals(events, random_factors(len(events), *factors, events.device))
    return copies


def denser_or_sparser_copies(events: torch.Tensor, factors: tuple[float, float]) -> torch.Tensor:
    """Melodies [B, T] with notes split or merged by a uniform amount in [-1, 1] (``factors`` unused:
    they bound the interval stretch only)."""
    return change_density(events, random_amounts(len(events), events.device))


#: Swap attribute -> copy-maker (events [B, T], swap factors) -> copies [B, T], in the order applied.
COPY_MAKERS = {"interval_size": stretched_copies, "note_density": denser_or_sparser_copies}


def swap_copies(events: torch.Tensor, attributes, factors: tuple[float, float]) -> torch.Tensor:
    """Copies [B, T] of melodies ``events`` [B, T] moved along each of ``attributes`` (names of
    :data:`COPY_MAKERS`), interval size first; torch's global generator, so seeded runs repeat."""
    copies = events
    for name, make_copies in COPY_MAKERS.items():
        if name in attributes:
            copies = make_copies(copies, factors)
    return copies
