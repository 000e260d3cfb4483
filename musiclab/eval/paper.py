"""The RL Tuner's evaluation table, counted exactly as the paper's released code counts it.

Jaques et al. (2017), "Sequence Tutor" (first "Tuning recurrent neural networks with reinforcement
learning"), Table 1, was computed by Magenta's ``rl_tuner_eval_metrics.py`` with the ``detect_*``
methods of ``rl_tuner.py`` and the constants of ``rl_tuner_ops.py``. This module re-states that
logic on compositions np.int64 [N, T] in the kit's melody encoding, which is the paper's (0
note-off, 1 no-event, event e ≥ 2 = MIDI pitch e + 46; event 14 is C4). What the paper counts:

- Every *event* is counted, holds and note-offs included: the per-event metrics divide by N × T.
- ``notes_excessively_repeated``: events that repeat the same event too often going back (holds and
  note-offs between pitches allowed, with more leniency): more than 4 earlier equal events in a
  row, more than 6 when holds or note-offs lie between, and a note-off after more than 1 earlier
  note-off. A run of holds counts too.
- ``notes_not_in_key``: pitch events outside C major (note-offs and holds are in the key).
- ``autocorrelation_lag1..3``: per composition, Σ (x_t − x̄)(x_{t+k} − x̄) / (T · var x) over the raw
  events, averaged over compositions where defined.
- ``starts_with_tonic``: compositions whose first event is event 14 (C4), and no other C.
- ``leaps_resolved``: resolved / (resolved + doubled) leaps, the paper's open-leap bookkeeping
  (:func:`~musiclab.theory.open_leap_outcomes`).
- ``unique_max``: the maximum *event* of the composition occurs once; ``unique_min``: the lowest
  pitch event occurs once (compositions without a pitch have neither).
- ``notes_in_motif``: events whose 8-event window ending there (the event included) holds ≥ 3
  distinct pitches; the first 7 events never count, so the ceiling is (T − 7) / T (25/32 = 0.781).
- ``notes_in_repeated_motif``: events that complete such a motif window whose exact 8 events occur
  earlier, entirely before the window.

Every comparison with the paper's figures in the kit (README, notebook 02, ``bench/rl_tuner.py``)
uses :func:`paper_metrics`. The kit's own readings of the rules live in :mod:`musiclab.eval.melody`
under names of their own and are never set against :data:`PAPER_DQN_ROW`.
"""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import NO_EVENT, NOTE_OFF
from musiclab.eval.melody import LOG_P_KEY, check_compositions, mean_log_p
from musiclab.theory import (FIRST_PITCH_EVENT, LEAP_DOUBLED, LEAP_RESOLVED, MOTIF_STEPS, OUT_OF_KEY_EVENT,
                             autocorrelations, motif_windows, open_leap_outcomes)

#: The paper's tonic: event 14, MIDI 60 (C4); ``rl_tuner_ops.C_MAJOR_TONIC``.
PAPER_TONIC_EVENT = 14
#: More earlier equal events than this in a row are excessive (no holds or note-offs between).
PAPER_MAX_REPEATS = 4
#: The same when holds or note-offs lie between.
PAPER_MAX_REPEATS_WITH_BREAKS = 6
#: A note-off after more than this many earlier note-offs (holds between) is excessive.
PAPER_MAX_NOTE_OFFS = 1

#: The paper's metrics, in the order of its Table 1.
PAPER_KEYS = (
    "notes_excessively_repeated", "notes_not_in_key",
    "autocorrelation_lag1", "autocorrelation_lag2", "autocorrelation_lag3",
    "starts_with_tonic", "leaps_resolved", "unique_max", "unique_min",
    "notes_in_motif", "notes_in_repeated_motif",
)

#: The RL Tuner's DQN row (Jaques et al. 2017, Table 1), as fractions.
PAPER_DQN_ROW: dict[str, float] = {
    "notes_excessively_repeated": 0.0,
    "notes_not_in_key": 0.010,
    "autocorrelation_lag1": -0.11,
    "autocorrelation_lag2": 0.03,
    "autocorrelation_lag3": 0.03,
    "starts_with_tonic": 0.288,
    "leaps_resolved": 0.911,
    "unique_max": 0.564,
    "unique_min": 0.519,
    "notes_in_motif": 0.757,
    "notes_in_repeated_motif": 0.0011,
}


def is_excessively_repeated(previous: list[int], event: int) -> bool:
    """The paper's repeat test for ``event`` played after the events ``previous`` (a list of ints).

    Going back from the end: equal events count, note-offs and holds are passed over (and make the
    run lenient), any other event ends the search; excessive if a note-off follows more than
    ``PAPER_MAX_NOTE_OFFS`` note-offs, or the count exceeds ``PAPER_MAX_REPEATS`` (
    ``PAPER_MAX_REPEATS_WITH_BREAKS`` when a hold or note-off was passed over).
    """
    repeated, passed_over = 0, False
    for earlier in reversed(previous):
        if earlier == event:
            repeated += 1
        elif earlier == NOTE_OFF or earlier == NO_EVENT:
            passed_over = True
        else:
            break
    if event == NOTE_OFF and repeated > PAPER_MAX_NOTE_OFFS:
        return True
    return repeated > (PAPER_MAX_REPEATS_WITH_BREAKS if passed_over else PAPER_MAX_REPEATS)


def excessive_repeat_counts(compositions: np.ndarray) -> np.ndarray:
    """Per composition [N, T]: how many of its events the paper counts as excessively repeated, int64 [N]."""
    return np.array([sum(is_excessively_repeated(row[:t], event) for t, event in enumerate(row))
                     for row in compositions.tolist()], dtype=np.int64)


def motif_ends(compositions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event [N, T] bool: does the 8-event window ending at it hold a motif (≥ 3 distinct pitches),
    and does that motif occur earlier, entirely before the window (a repeated motif)?"""
    is_motif, keys = motif_windows(compositions)
    in_motif = np.zeros(compositions.shape, dtype=bool)
    repeated = np.zeros(compositions.shape, dtype=bool)
    count = is_motif.shape[1]
    if count == 0:
        return in_motif, repeated
    earlier = np.zeros_like(is_motif)
    for start in range(MOTIF_STEPS, count):  # windows that end before window `start` begins
        earlier[:, start] = (keys[:, :start - MOTIF_STEPS + 1] == keys[:, start:start + 1]).any(axis=1)
    in_motif[:, MOTIF_STEPS - 1:] = is_motif
    repeated[:, MOTIF_STEPS - 1:] = is_motif & earlier
    return in_motif, repeated


def _leap_counts(compositions: np.ndarray) -> tuple[int, int]:
    outcomes = np.array([open_leap_outcomes(row) for row in compositions.tolist()])
    return int((outcomes == LEAP_RESOLVED).sum()), int((outcomes == LEAP_DOUBLED).sum())


def _unique_extremes(compositions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N] bool each: the maximum event occurs once; the lowest pitch event occurs once."""
    top = compositions.max(axis=1, keepdims=True)
    is_pitch = compositions >= FIRST_PITCH_EVENT
    bottom = np.where(is_pitch, compositions, np.iinfo(np.int64).max).min(axis=1, keepdims=True)
    return ((compositions == top).sum(axis=1) == 1,
            is_pitch.any(axis=1) & ((compositions == bottom).sum(axis=1) == 1))


def paper_metrics(compositions, model=None, length: int | None = 32) -> dict[str, float]:
    """The RL Tuner's Table 1 for compositions [N, T] (np.int64 or LongTensor), counted as its code
    counts (see the module docstring): key of ``PAPER_KEYS`` → value, plus ``mean_log_p`` (nats per
    step under ``model``, :func:`~musiclab.eval.melody.mean_log_p`) when a model is given. Notebook 02.

    The paper's pieces have ``length`` = 32 steps; ``length=None`` counts pieces of any length T.
    Raises BadParameterError for compositions that are not [N ≥ 1, length] of events 0..37.
    """
    compositions = check_compositions(compositions, length=length)
    n, length = compositions.shape
    events = n * length
    lag_r = autocorrelations(compositions, (1, 2, 3))
    resolved, doubled = _leap_counts(compositions)
    in_motif, repeated = motif_ends(compositions)
    unique_max, unique_min = _unique_extremes(compositions)
    metrics = {
        "notes_excessively_repeated": float(excessive_repeat_counts(compositions).sum()) / events,
        "notes_not_in_key": float(OUT_OF_KEY_EVENT[compositions].sum()) / events,
    }
    for j in range(3):
        column = lag_r[:, j]
        metrics[f"autocorrelation_lag{j + 1}"] = float(np.nanmean(column)) if (~np.isnan(column)).any() else float("nan")
    metrics.update({
        "starts_with_tonic": float((compositions[:, 0] == PAPER_TONIC_EVENT).mean()),
        "leaps_resolved": resolved / (resolved + doubled) if resolved + doubled else float("nan"),
        "unique_max": float(unique_max.mean()),
        "unique_min": float(unique_min.mean()),
        "notes_in_motif": float(in_motif.sum()) / events,
        "notes_in_repeated_motif": float(repeated.sum()) / events,
    })
    if model is not None:
        metrics[LOG_P_KEY] = mean_log_p(compositions, model)
    return metrics
