"""Interval swap: teach a MusicVAE's decoder to heed the latent dimension that orders interval size.

AR-VAE (:mod:`~musiclab.models.attribute_regularisation`) makes latent dimension r *order* the
melodies by interval size, but the decoder may ignore it: the rest of the code still says which
notes the window had, and reconstruction never asks the decoder to heed a dimension that disagrees
with them (the ``cpu_ar`` preset, measured in the README). The swap loss asks exactly that:

1. each melody x of a batch gets a copy x' whose moves are stretched or shrunk by a factor f
   (log-uniform in ``MusicVAEConfig.swap_factors``) in steps of the C major scale around the
   window's mean scale degree, keeping its rhythm (:func:`rescale_intervals`);
2. the encoder codes x' as z'; the mixed code is z(x) with dimension r replaced by z'_r;
3. the decoder must write x' from the mixed code: loss_swap = cross-entropy of x' (summed over
   steps, mean over the batch), and the AR-VAE loss also orders the batch and its copies together.

Only dimension r differs between z(x) and the mixed code, so the decoder can only write the wider
(or narrower) leaps by reading it. This is a departure of this kit (not a published loss); the
``cpu_swap`` preset trains with it.
"""
from __future__ import annotations

import math

import torch

from musiclab.data.melody import MAX_PITCH, MIN_PITCH, NUM_CLASSES
from musiclab.theory import C_MAJOR_PITCH_CLASSES, FIRST_PITCH_EVENT

#: The pitch classes of C major in scale order (degree 0 .. 6).
SCALE = tuple(sorted(C_MAJOR_PITCH_CLASSES))


def _scale_degree(pitch: int) -> float:
    """Scale degree of a MIDI pitch counted from C0 (7 per octave); a pitch outside C major lies
    half-way between its neighbours (C# = 0.5)."""
    octave, pitch_class = divmod(pitch, 12)
    if pitch_class in SCALE:
        return 7 * octave + SCALE.index(pitch_class)
    return 7 * octave + SCALE.index(pitch_class - 1) + 0.5


#: Per event: the scale degree of its pitch (NaN for note-off and hold).
SCALE_DEGREE = torch.tensor([float("nan")] * FIRST_PITCH_EVENT
                            + [_scale_degree(event - FIRST_PITCH_EVENT + MIN_PITCH)
                               for event in range(FIRST_PITCH_EVENT, NUM_CLASSES)])
_LOWEST, _HIGHEST = _scale_degree(MIN_PITCH), _scale_degree(MAX_PITCH)


def rescale_intervals(events: torch.Tensor, factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Melodies [B, T] with their moves scaled by ``factors`` [B] in C major scale steps.

    Each onset's scale degree d becomes pivot + round(f * (d - pivot)), pivot being the window's
    mean degree rounded; the result is in C major (an accidental lands on a scale note). Holds and
    note-offs stay. A window that would leave the pitch range (MIDI 48-83) is left unchanged and
    its factor reported as 1. Returns (events [B, T], factors used [B]).
    """
    degrees = SCALE_DEGREE.to(events.device)[events]
    is_note = events >= FIRST_PITCH_EVENT
    pivot = torch.round(torch.nan_to_num(degrees).sum(1) / is_note.sum(1).clamp(min=1))
    moved = pivot[:, None] + torch.round(factors[:, None] * (degrees - pivot[:, None]))
    fits = (~is_note | ((moved >= _LOWEST) & (moved <= _HIGHEST))).all(1)
    moved = torch.nan_to_num(moved, nan=_LOWEST).long()
    scale = torch.tensor(SCALE, device=events.device)
    pitches = 12 * torch.div(moved, 7, rounding_mode="floor") + scale[moved % 7]
    rescaled = (pitches - MIN_PITCH + FIRST_PITCH_EVENT).clamp(FIRST_PITCH_EVENT, NUM_CLASSES - 1)
    return (torch.where(is_note & fits[:, None], rescaled, events),
            torch.where(fits, factors, torch.ones_like(factors)))


def random_factors(batch: int, low: float, high: float, device=None) -> torch.Tensor:
    """``batch`` factors, log-uniform in [low, high] (torch's global generator: seeded runs repeat)."""
    return torch.empty(batch, device=device).uniform_(math.log(low), math.log(high)).exp()
