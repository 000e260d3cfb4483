"""The theory match of the therapy session: which candidate pieces keep the RL Tuner's metric table.

The personalised "next piece" is chosen among candidates
(:meth:`~musiclab.therapy.feedback.Personaliser.compose_pieces`); with ``match_theory`` only those whose
music-theory profile (:func:`~musiclab.eval.melody.piece_profiles`) :func:`theory_matches` the piece that the unpersonalised generator would play with the same seed may
be chosen, so the listener changes register, density, leaps and rests, not how well the music
follows the RL Tuner's rules. :func:`leap_counts` turns the leap shares into counts for that
comparison; :func:`octave_variants` offers each candidate an octave lower and higher (the register
preference). Notebook 07, ``bench/personalisation.py``.
"""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import NUM_CLASSES
from musiclab.eval.melody import PIECE_PROFILE_KEYS
from musiclab.theory import FIRST_PITCH_EVENT

_EXACT = [PIECE_PROFILE_KEYS.index(k) for k in ("starts_with_tonic", "unique_max", "unique_min")]
_SHARES = [PIECE_PROFILE_KEYS.index(k) for k in ("notes_in_motif", "notes_not_in_key")]
_AUTOCORRELATIONS = [PIECE_PROFILE_KEYS.index(k) for k in ("autocorrelation_lag1", "autocorrelation_lag2", "autocorrelation_lag3")]
_LEAPS, _STEPPED_BACK, _RESOLVED, _DOUBLED = (PIECE_PROFILE_KEYS.index(k) for k in (
    "leaps", "leaps_stepped_back", "leaps_resolved", "leaps_doubled"))


def leap_counts(profiles) -> tuple[np.ndarray, np.ndarray]:
    """The two leap shares of piece profiles [..., len(PIECE_PROFILE_KEYS)] as counts: (parts, wholes),
    each [..., 2]: leaps stepped back from of all leaps, and leaps resolved of those resolved or
    doubled (the RL Tuner's count)."""
    profiles = np.asarray(profiles, dtype=np.float64)
    parts = profiles[..., [_STEPPED_BACK, _RESOLVED]]
    wholes = np.stack([profiles[..., _LEAPS], profiles[..., _RESOLVED] + profiles[..., _DOUBLED]], axis=-1)
    return parts, wholes



def theory_matches(profiles, reference, leap_rates, leap_tolerance: float = 0.25,
                   share_tolerance: float = 0.25, autocorrelation_tolerance: float = 0.3) -> np.ndarray:
    """Which candidates have the music-theory profile of their reference piece:
    profiles [n, K, len(PIECE_PROFILE_KEYS)] against reference [n, len(PIECE_PROFILE_KEYS)] → bool [n, K].

    A match starts on the tonic, has a unique highest and lowest pitch exactly when the reference
    does; its two *leap balances* (part − usual share · whole for each share of :func:`leap_counts`,
    ``leap_rates`` being the usual shares) are each within ``leap_tolerance`` of the reference's;
    its shares of notes in a motif and out of key within ``share_tolerance``; its autocorrelations
    within ``autocorrelation_tolerance``. Chosen pieces that match their references keep, on average,
    the references' metric table (leap balances of 0 on average keep both leap shares at ``leap_rates``).
    """
    profiles, reference = np.asarray(profiles, dtype=np.float64), np.asarray(reference, dtype=np.float64)[:, None]
    rates = np.asarray(leap_rates, dtype=np.float64)
    parts, wholes = leap_counts(profiles)
    usual_parts, usual_wholes = leap_counts(reference)
    balance, usual_balance = parts - rates * wholes, usual_parts - rates * usual_wholes
    return ((profiles[..., _EXACT] == reference[..., _EXACT]).all(axis=-1)
            & (np.abs(balance - usual_balance) <= leap_tolerance + 1e-9).all(axis=-1)
            & (np.abs(profiles[..., _SHARES] - reference[..., _SHARES]) <= share_tolerance + 1e-9).all(axis=-1)
            & (np.abs(profiles[..., _AUTOCORRELATIONS] - reference[..., _AUTOCORRELATIONS])
               <= autocorrelation_tolerance + 1e-9).all(axis=-1))


def octave_variants(pieces) -> tuple[np.ndarray, np.ndarray]:
    """Each melody an octave down, as it is, and an octave up: [N, T] → (events [N, 3, T], valid
    [N, 3] bool). A variant with a pitch outside MIDI 48..83 is invalid (and holds the melody as
    it is). Moving a whole melody by an octave keeps every metric of the RL Tuner's table but the
    autocorrelations (C stays C, intervals and pitch counts stay), and changes its register.
    """
    batch = np.asarray(pieces, dtype=np.int64)
    notes = batch >= FIRST_PITCH_EVENT
    variants, valid = [], []
    for shift in (-12, 0, 12):
        moved = np.where(notes, batch + shift, batch)
        ok = (~notes | ((moved >= FIRST_PITCH_EVENT) & (moved < NUM_CLASSES))).all(axis=1)
        variants.append(np.where(ok[:, None], moved, batch))
        valid.append(ok)
    return np.stack(variants, axis=1), np.stack(valid, axis=1)


