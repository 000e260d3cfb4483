"""Music theory for the kit's melodies: keys, the tonic, intervals, leaps, repeats, motifs and
autocorrelation, as small pure functions and tables over the shared event encoding.

Melodies are events of :mod:`musiclab.data.melody` (0 note-off, 1 no-event, 2.. onsets of MIDI
48..83), in C major. The rules of the RL Tuner (:mod:`musiclab.rl.rules`) reward what is written
here, and the evaluation tables (:mod:`musiclab.eval.melody`, :mod:`musiclab.eval.paper`) count it;
this module is the one home of each idea, so a rule and its metric cannot drift apart.
Notebooks 02-03 (the rules and their table).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from musiclab.data.melody import MIN_PITCH, NO_EVENT, NOTE_OFF, NUM_CLASSES

#: First event index that is a pitch onset (event = FIRST_PITCH_EVENT + pitch - MIN_PITCH).
FIRST_PITCH_EVENT = NO_EVENT + 1
#: Pitch classes of C major (C D E F G A B), the key every melody is transposed to.
C_MAJOR_PITCH_CLASSES = frozenset({0, 2, 4, 5, 7, 9, 11})
#: Pitch class of the tonic (C); the tonic rules accept a C in any octave.
TONIC_PITCH_CLASS = 0
#: Pitch classes of the tonic triad (C E G), for the in-key third and fifth of ``preferred_intervals``.
TONIC_TRIAD_PITCH_CLASSES = frozenset({0, 4, 7})
#: A pitch played more than this many times in a row (nothing in between) is excessive.
MAX_REPEATS = 4
#: The same, when holds or rests lie between the repeated onsets (more leniency).
MAX_REPEATS_WITH_BREAKS = 6
#: A rest may hold at most this many note-off events in a row (holds in between allowed).
MAX_NOTE_OFFS = 2
#: At most this many holds in a row: a note or rest lasts at most 6 sixteenths (a dotted quarter). The
#: RL Tuner's code counts held steps as repeats of the no-event; without this limit a tuned policy
#: learns to hold one note for the whole piece (a hold is almost free in log p).
MAX_HOLDS = 5
#: Lags at which a melody's autocorrelation is measured (and penalised by the rules).
AUTOCORRELATION_LAGS = (1, 2, 3)
#: Length (steps) of the window a motif is looked for in, and its minimum number of distinct pitches.
MOTIF_STEPS = 8
MOTIF_MIN_PITCHES = 3
#: An interval of at least this many semitones (a fifth) between consecutive notes is a leap.
LEAP_SEMITONES = 7
#: The largest interval (semitones) that counts as a step back resolving a leap.
STEP_SEMITONES = 2


def _pitch_table(predicate: Callable[[int], bool]) -> np.ndarray:
    """A bool table over the NUM_CLASSES events: True where the event is a pitch onset passing ``predicate``."""
    table = np.zeros(NUM_CLASSES, dtype=bool)
    for event in range(FIRST_PITCH_EVENT, NUM_CLASSES):
        table[event] = predicate(event - FIRST_PITCH_EVENT + MIN_PITCH)
    return table


#: Per event: is it a pitch onset outside C major? (note-offs and holds are never out of key)
OUT_OF_KEY_EVENT = _pitch_table(lambda pitch: pitch % 12 not in C_MAJOR_PITCH_CLASSES)
#: Per event: is it an onset of the tonic C (any octave)?
TONIC_EVENT = _pitch_table(lambda pitch: pitch % 12 == TONIC_PITCH_CLASS)
#: Per event: is it an onset of C, E or G?
TRIAD_EVENT = _pitch_table(lambda pitch: pitch % 12 in TONIC_TRIAD_PITCH_CLASSES)


def last_pitches(composition: Sequence[int], count: int) -> list[int]:
    """The last ``count`` pitch-onset events of ``composition`` (fewer if it has fewer), oldest first."""
    found: list[int] = []
    for i in range(len(composition) - 1, -1, -1):
        event = int(composition[i])
        if event >= FIRST_PITCH_EVENT:
            found.append(event)
            if len(found) == count:
                break
    found.reverse()
    return found


def is_excessive_repeat(composition: Sequence[int], action: int) -> bool:
    """Would ``action`` repeat a pitch (or a note-off) too often in a row?

    A pitch onset is excessive when it would be the (MAX_REPEATS + 1)-th onset of that pitch in a
    run (the run ends at the first other pitch met going back), or the (MAX_REPEATS_WITH_BREAKS + 1)-th
    when holds or rests lie between the run's onsets. A note-off is excessive when the rest would hold
    more than MAX_NOTE_OFFS note-offs (holds between them allowed). A hold is excessive when it would be
    the (MAX_HOLDS + 1)-th hold in a row.
    """
    if action == NO_EVENT:
        holds = 0
        for i in range(len(composition) - 1, -1, -1):
            if composition[i] != NO_EVENT:
                break
            holds += 1
        return holds >= MAX_HOLDS
    run, gap, broken = 1, False, False
    for i in range(len(composition) - 1, -1, -1):
        event = composition[i]
        if event == action:
            run += 1
            broken = broken or gap
        elif event == NO_EVENT or event == NOTE_OFF:
            gap = True
        else:
            break
    if action == NOTE_OFF:
        return run > MAX_NOTE_OFFS
    return run > (MAX_REPEATS_WITH_BREAKS if broken else MAX_REPEATS)


def autocorrelations(events, lags=AUTOCORRELATION_LAGS) -> np.ndarray:
    """Sample autocorrelation of event sequences at each lag, over the raw event values.

    r(lag) = Σ_t (x_t − x̄)(x_{t+lag} − x̄) / Σ_t (x_t − x̄)², as the RL Tuner measured it.
    ``events``: [B, T] → float64 [B, len(lags)], NaN where a sequence is constant or T ≤ lag.
    """
    rows = np.asarray(events, dtype=np.float64)
    centred = rows - rows.mean(axis=1, keepdims=True)
    energy = (centred * centred).sum(axis=1)
    r = np.full((len(rows), len(lags)), np.nan)
    varied = energy > 0
    for j, lag in enumerate(lags):
        if rows.shape[1] > lag:
            products = (centred[:, lag:] * centred[:, :-lag]).sum(axis=1)
            np.divide(products, energy, out=r[:, j], where=varied)
    return r


def motif_pitch_counts(windows) -> np.ndarray:
    """Distinct pitches among the onsets of each window: [B, W] events → int64 [B].

    A window of MOTIF_STEPS events with at least MOTIF_MIN_PITCHES distinct pitches is a motif.
    """
    ordered = np.sort(np.atleast_2d(np.asarray(windows)), axis=1)
    is_pitch = ordered >= FIRST_PITCH_EVENT
    new = np.ones_like(is_pitch)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    return np.count_nonzero(is_pitch & new, axis=1)


def motif_windows(compositions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window of MOTIF_STEPS consecutive events of compositions [N, T]: is it a motif (≥
    MOTIF_MIN_PITCHES distinct pitches), and one int64 key per window (equal keys, equal windows).
    Both [N, W] with W = T − MOTIF_STEPS + 1 (0 when T < MOTIF_STEPS); window w starts at step w."""
    n, length = compositions.shape
    if length < MOTIF_STEPS:
        return np.zeros((n, 0), dtype=bool), np.zeros((n, 0), dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(compositions, MOTIF_STEPS, axis=1)  # [N, W, 8]
    count = windows.shape[1]
    is_motif = (motif_pitch_counts(windows.reshape(-1, MOTIF_STEPS)) >= MOTIF_MIN_PITCHES).reshape(n, count)
    return is_motif, windows @ (NUM_CLASSES ** np.arange(MOTIF_STEPS, dtype=np.int64))


def leap_outcome(before: int, leap_end: int, after: int) -> int:
    """For three consecutive pitch events: +1 if before → leap_end is a leap (≥ a fifth) that after
    resolves by a step back (1–2 semitones, opposite direction), −1 if after leaps again the same way,
    0 otherwise (no leap, or an unresolved one).
    """
    leap = leap_end - before
    if abs(leap) < LEAP_SEMITONES:
        return 0
    move = after - leap_end
    if move * leap < 0 and abs(move) <= STEP_SEMITONES:
        return 1
    if move * leap > 0 and abs(move) >= LEAP_SEMITONES:
        return -1
    return 0


#: A leap back the other way resolves an open leap only after more than this many steps (RL Tuner).
LEAP_BACK_AFTER_STEPS = 6
#: The outcomes :func:`open_leap_outcomes` reports for an event.
LEAP_RESOLVED, LEAP_DOUBLED = 1, -1


def open_leap_outcomes(events: Sequence[int]) -> list[int]:
    """The RL Tuner's leap bookkeeping over a melody: per event, ``LEAP_RESOLVED``, ``LEAP_DOUBLED`` or 0.

    A leap (≥ a fifth between consecutive notes) stays *open* until the melody comes back to the
    pitch it leapt from by smaller moves (resolved) or leaps back the other way (resolved when more
    than ``LEAP_BACK_AFTER_STEPS`` steps, holds and rests included, have passed since the last leap,
    else just closed). A further leap the same way while one is open is doubled, and the leap stays
    open. The paper's ``leaps_resolved`` counts these outcomes (:mod:`musiclab.eval.paper`);
    :func:`leap_up_back` rewards and penalises them.
    """
    outcomes = []
    direction, leapt_from, since_leap, previous = 0, 0, 0, None
    for event in events:
        outcome = 0
        if event < FIRST_PITCH_EVENT:
            since_leap += 1
        else:
            if previous is not None:
                move = event - previous
                if abs(move) >= LEAP_SEMITONES:
                    way = 1 if move > 0 else -1
                    if direction == 0:
                        direction, leapt_from = way, previous
                    elif way == direction:
                        outcome = LEAP_DOUBLED
                    else:
                        outcome = LEAP_RESOLVED if since_leap > LEAP_BACK_AFTER_STEPS else 0
                        direction = 0
                    since_leap = 0
                else:
                    since_leap += 1
                    if direction != 0 and direction * (event - leapt_from) <= 0:
                        outcome, direction = LEAP_RESOLVED, 0
            previous = event
        outcomes.append(outcome)
    return outcomes
