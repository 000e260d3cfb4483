"""Attribute-regularised latent dimensions (AR-VAE; Pati & Lerch, Neural Computing and Applications, 2021).

Two attributes of a melody window [T] of events, the ones notebook 04 moves melodies along:

* ``note_density``: note onsets per 16th step (0 .. 1);
* ``interval_size``: mean size (semitones) of the moves between consecutive onsets; NaN under 2 notes.

AR-VAE trains latent dimension r to order a batch as attribute a orders it: over every pair (i, j) of
the batch, L_r = mean |tanh(delta * (z_ir - z_jr)) - sign(a_i - a_j)|, added to the VAE's loss with
weight gamma (``MusicVAEConfig.regularised_attributes`` name the attributes of dimensions 0, 1, ...;
``ar_weight`` = gamma, ``ar_delta`` = delta, both tunable in the paper). Pairs with an undefined
attribute are left out. The encoder learns the order; whether the *decoder* then follows the
dimension is another matter (the ``cpu_ar`` preset's docstring says what was measured).
"""
from __future__ import annotations

import torch

from musiclab.theory import FIRST_PITCH_EVENT

#: Attributes :func:`window_attributes` measures, in its column order; each can be regularised.
WINDOW_ATTRIBUTES = ("note_density", "interval_size")


def window_attributes(events: torch.Tensor) -> torch.Tensor:
    """Note density and mean |interval| (:data:`WINDOW_ATTRIBUTES`) of melodies [B, T] of events:
    float64 [B, 2]; the interval is NaN where a melody has under 2 notes."""
    events = torch.as_tensor(events)
    is_note = events >= FIRST_PITCH_EVENT
    steps = torch.arange(events.shape[1], device=events.device).expand_as(events)
    last_note = torch.cummax(torch.where(is_note, steps, -1), dim=1).values
    before = torch.cat([torch.full_like(last_note[:, :1], -1), last_note[:, :-1]], dim=1)
    has_move = is_note & (before >= 0)
    moves = (events - events.gather(1, before.clamp(min=0))).abs().double() * has_move
    notes = is_note.sum(dim=1)
    interval = moves.sum(dim=1) / (notes - 1).clamp(min=1)
    interval = torch.where(notes >= 2, interval, torch.full_like(interval, float("nan")))
    density = notes.double() / max(events.shape[1], 1)
    return torch.stack([density, interval], dim=1)


def attribute_regularisation(codes: torch.Tensor, attribute: torch.Tensor, delta: float) -> torch.Tensor:
    """AR-VAE's loss for one latent dimension: codes [B] (that dimension of z) against attribute [B]
    (NaN left out): mean over pairs of |tanh(delta * (z_i - z_j)) - sign(a_i - a_j)|, in 0 .. 2."""
    defined = ~torch.isnan(attribute)
    codes, attribute = codes[defined], attribute[defined].to(codes.dtype)
    if codes.numel() < 2:
        return codes.sum() * 0.0
    ordered = torch.tanh(delta * (codes[:, None] - codes[None, :]))
    return (ordered - torch.sign(attribute[:, None] - attribute[None, :])).abs().mean()
