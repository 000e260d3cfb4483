"""Launchpad bars: binary piano-roll bars of real music for the RL-DJ launchpad (notebook 06).

A bar is an ``np.bool_`` array [:data:`NUM_PITCHES` = 24, :data:`BAR_STEPS` = 64]: row ``r`` is
MIDI pitch ``LOW_PITCH + r`` (47..70, B2 to A#4), column ``t`` the t-th 64th note of one 4/4
bar (16 steps per quarter note, so a bar has 2^6 = 64 steps, the RL-DJ paper's bar of 2^B
steps). A cell is on where a note *starts* (onsets only; a tied continuation is no onset):
the launchpad's buttons trigger onsets and its reward, minus the least Hamming distance to K
real bars, compares onset patterns. Pitches outside 47..70 are folded by octaves into it.

The real bars come from the Bach chorales of the music21 corpus, all four parts, every full
4/4 bar (pickups, 3/4 and 3/2 bars are left out); :func:`load_launchpad_bars` keeps bars with
at least 20 active cells and 2 distinct pitches by default. Smaller launchpads take them through
:func:`shrink_bars`; :func:`check_bar_corpus` and :func:`check_lowest` check what a launchpad of
``notes`` rows is given.
"""
from __future__ import annotations

import multiprocessing
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.cache import cached
from musiclab.errors import BadParameterError, check_int, check_range
from musiclab.launchpad.buttons import MAX_BEATS_LOG2

#: Lowest pitch of the launchpad (MIDI, row 0).
LOW_PITCH = 47
#: Rows of a bar: MIDI pitches 47..70.
NUM_PITCHES = 24
#: Highest pitch of the launchpad (MIDI, last row).
HIGH_PITCH = LOW_PITCH + NUM_PITCHES - 1
#: Columns of a bar: 64ths of one 4/4 bar.
BAR_STEPS = 64
#: Steps per quarter note.
STEPS_PER_QUARTER = 16
_BAR_QUARTERS = BAR_STEPS // STEPS_PER_QUARTER
_WORKERS = 2
_ENCODING = {"low": LOW_PITCH, "pitches": NUM_PITCHES, "steps": BAR_STEPS,
             "per_quarter": STEPS_PER_QUARTER, "cells": "onsets", "version": 1}


def fold_pitch(pitch: int) -> int:
    """Move a MIDI pitch by whole octaves into 47..70 (unchanged when already inside)."""
    pitch = int(pitch)
    if pitch < LOW_PITCH:
        pitch += 12 * -(-(LOW_PITCH - pitch) // 12)
    elif pitch > HIGH_PITCH:
        pitch -= 12 * -(-(pitch - HIGH_PITCH) // 12)
    return pitch


def check_bars(bars) -> np.ndarray:
    """Return ``bars`` as np.bool_ [N, 24, 64] after checking it; raise BadParameterError otherwise.

    Accepts booleans or 0/1 integers; a single bar [24, 64] becomes [1, 24, 64].
    """
    arr = np.asarray(bars)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (NUM_PITCHES, BAR_STEPS):
        raise BadParameterError(
            f"bars must have shape [N, {NUM_PITCHES}, {BAR_STEPS}] (pitches {LOW_PITCH}..{HIGH_PITCH} "
            f"× 64th-note steps), got {arr.shape}")
    if arr.dtype != np.bool_ and (arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all()):
        raise BadParameterError(f"bars must hold booleans or 0/1 integers, got dtype {arr.dtype}")
    return arr.astype(np.bool_)


def bars_from_score(score) -> np.ndarray:
    """Onset bars np.bool_ [n, 24, 64] of every full 4/4 bar of a music21 score, all parts.

    Bars are the measures of the first part that last exactly 4 quarter notes under a 4-quarter
    time signature (4/4 or 2/2); bars without any onset are dropped. Onsets are rounded to the
    nearest 64th; pitches are folded into 47..70 (:func:`fold_pitch`).
    """
    from music21 import stream

    parts = list(score.parts) if isinstance(score, stream.Score) and score.parts else [score]
    measures = [m for m in parts[0].getElementsByClass(stream.Measure)
                if m.duration.quarterLength == _BAR_QUARTERS
                and m.barDuration.quarterLength == _BAR_QUARTERS]
    # a flattened part holds every note at its offset from the part's start (measures and voices
    # added up), as getOffsetInHierarchy gives it, at half the cost
    onsets = [(float(note.offset), fold_pitch(p.midi))
              for part in parts for note in part.flatten().notes
              if note.tie is None or note.tie.type == "start"
              for p in note.pitches]
    times = np.array([t for t, _ in onsets], dtype=np.float64)
    rows = np.array([p - LOW_PITCH for _, p in onsets], dtype=np.int64)
    bars = []
    for measure in measures:
        start = float(measure.getOffsetInHierarchy(parts[0]))
        steps = np.rint((times - start) * STEPS_PER_QUARTER).astype(np.int64)
        inside = (steps >= 0) & (steps < BAR_STEPS)
        if inside.any():
            bar = np.zeros((NUM_PITCHES, BAR_STEPS), dtype=np.bool_)
            bar[rows[inside], steps[inside]] = True
            bars.append(bar)
    return np.stack(bars) if bars else np.zeros((0, NUM_PITCHES, BAR_STEPS), dtype=np.bool_)


def filter_bars(bars, min_active: int = 20, min_pitches: int = 2) -> np.ndarray:
    """The bars [N, 24, 64] with at least ``min_active`` on cells and ``min_pitches`` distinct pitches.

    Raises BadParameterError naming both thresholds when no bar qualifies.
    """
    bars = check_bars(bars)
    check_range("min_active", min_active, 0, NUM_PITCHES * BAR_STEPS)
    check_range("min_pitches", min_pitches, 0, NUM_PITCHES)
    active = bars.sum(axis=(1, 2))
    pitches = bars.any(axis=2).sum(axis=1)
    keep = (active >= min_active) & (pitches >= min_pitches)
    if not keep.any():
        raise BadParameterError(
            f"no bar has at least min_active={min_active} active cells and min_pitches="
            f"{min_pitches} distinct pitches (of {len(bars)} bars; the most active has "
            f"{active.max() if len(bars) else 0} cells); lower min_active or min_pitches")
    return bars[keep]


def bar_to_pretty_midi(bar, tempo_bpm: float = 100.0, program: int = 0) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI of one bar [24, 64]: each onset a note of GM ``program`` at velocity 90.

    A note lasts until the next onset on its row, at most a quarter note, and ends with the
    bar; ``tempo_bpm`` in quarter notes per minute. Notebook 06 plays launchpad states with it.
    """
    bars = check_bars(bar)
    if len(bars) != 1:
        raise BadParameterError(f"bar must be one bar [{NUM_PITCHES}, {BAR_STEPS}], got {len(bars)} bars")
    check_range("tempo_bpm", tempo_bpm, 0, 1000, low_open=True)
    check_range("program", program, 0, 127)
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    instrument = pretty_midi.Instrument(program=int(program), name="launchpad")
    step_s = 60.0 / tempo_bpm / STEPS_PER_QUARTER
    for row, steps in enumerate(bars[0]):
        onsets = np.flatnonzero(steps)
        ends = np.minimum(np.append(onsets[1:], BAR_STEPS), onsets + STEPS_PER_QUARTER)
        for start, end in zip(onsets, ends):
            instrument.notes.append(pretty_midi.Note(velocity=90, pitch=LOW_PITCH + row,
                                                     start=start * step_s, end=end * step_s))
    pm.instruments.append(instrument)
    return pm


def _chorale_bars(name: str):
    """(bars, error or None) of one chorale of the music21 corpus (runs in a worker)."""
    from music21 import corpus

    try:
        return bars_from_score(corpus.parse(name)), None
    except Exception as err:  # a corpus file music21 cannot parse: skip and report it
        return None, f"{type(err).__name__}: {err}"


def _chorale_names() -> list[str]:
    from music21 import corpus

    names = corpus.chorales.Iterator(returnType="filename")
    return list(dict.fromkeys(names))  # some chorales appear twice in the Riemenschneider list


def _build_chorale_bars(quiet: bool) -> np.ndarray:
    """Every non-empty full 4/4 onset bar of the Bach chorales, in corpus order."""
    names = _chorale_names()
    # fork needs no `if __name__ == "__main__"` guard in scripts; elsewhere spawn is the safe one
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(_WORKERS, mp_context=context) as pool:
        results = list(tqdm(pool.map(_chorale_bars, names, chunksize=8), total=len(names),
                            desc="reading Bach chorales", disable=quiet))
    failed = [(name, err) for name, (_, err) in zip(names, results) if err is not None]
    if failed:
        warnings.warn(f"skipped {len(failed)} chorales music21 could not read: "
                      + "; ".join(f"{n} ({e})" for n, e in failed[:10]), stacklevel=3)
    return np.concatenate([bars for bars, err in results if err is None])


def load_launchpad_bars(min_active: int = 20, min_pitches: int = 2, refresh: bool = False,
                        quiet: bool = False) -> np.ndarray:
    """Real onset bars np.bool_ [N, 24, 64] from the Bach chorales for the launchpad (notebook 06).

    Parses all chorales of the music21 corpus (2 processes, cached afterwards; ``refresh=True``
    rebuilds) and keeps the bars that pass :func:`filter_bars`.
    """
    import music21

    settings = {"corpus": "bach-chorales", "music21": music21.__version__, "encoding": _ENCODING}
    bars = cached("launchpad_bars", settings, lambda: _build_chorale_bars(quiet),
                  refresh=refresh, quiet=quiet)
    return filter_bars(bars, min_active, min_pitches)


# ----- bars for a launchpad of N notes x 2^B steps -------------------------------------------
def check_bar_corpus(bars, notes: int, bar_steps: int) -> np.ndarray:
    """Validate a corpus of bars for a launchpad of ``notes`` rows x ``bar_steps`` steps and return
    it as bool ``[M, notes, bar_steps]``."""
    if not isinstance(bars, np.ndarray):
        raise BadParameterError(f"bars must be a numpy array of shape [M, {notes}, {bar_steps}], "
                                f"got {type(bars).__name__}")
    if bars.ndim != 3 or bars.shape[1:] != (notes, bar_steps):
        raise BadParameterError(f"bars must have shape [M, {notes}, {bar_steps}] (notes x steps "
                                f"for notes={notes}, bar length 2^B={bar_steps}), got {bars.shape}")
    if bars.shape[0] == 0:
        raise BadParameterError("bars holds no bars (shape[0] == 0); give at least one real bar")
    if bars.dtype != np.bool_:
        if not np.isin(bars, (0, 1)).all():
            raise BadParameterError("bars must be binary (bool or 0/1 values)")
        bars = bars.astype(bool)
    return bars


def check_lowest(lowest, notes: int) -> int:
    """The row of the full launchpad that row 0 of a launchpad of ``notes`` rows plays (default:
    the middle rows, as :func:`shrink_bars`); 0 when ``notes`` passes the full launchpad."""
    if notes > NUM_PITCHES:
        return check_int("lowest", 0 if lowest is None else lowest, 0, 0)
    if lowest is None:
        return (NUM_PITCHES - notes) // 2
    return check_int("lowest", lowest, 0, NUM_PITCHES - notes)


def shrink_bars(bars: np.ndarray, notes: int, beats_log2: int,
                lowest: int | None = None) -> np.ndarray:
    """Bars for a smaller launchpad: rows ``lowest .. lowest + notes - 1`` (default: the middle
    ``notes`` rows), time coarsened to ``2^beats_log2`` steps (a step is on when any step it
    covers is), bars left empty dropped. bool ``[M, P, S]`` -> ``[M', notes, 2^beats_log2]``,
    ``S`` a multiple of ``2^beats_log2`` (notebook 06's quick DQN runs)."""
    if not isinstance(bars, np.ndarray) or bars.ndim != 3:
        raise BadParameterError(f"bars must be a numpy array [M, pitches, steps], got "
                                f"{getattr(bars, 'shape', type(bars).__name__)}")
    notes = check_int("notes", notes, 1, bars.shape[1])
    beats_log2 = check_int("beats_log2", beats_log2, 1, MAX_BEATS_LOG2)
    steps = 2 ** beats_log2
    if bars.shape[2] % steps:
        raise BadParameterError(f"beats_log2={beats_log2} needs bars whose length is a multiple "
                                f"of {steps} steps, got {bars.shape[2]}")
    lowest = (bars.shape[1] - notes) // 2 if lowest is None else lowest
    lowest = check_int("lowest", lowest, 0, bars.shape[1] - notes)
    window = bars[:, lowest:lowest + notes].astype(bool)
    shrunk = window.reshape(len(bars), notes, steps, -1).any(axis=-1)
    kept = shrunk[shrunk.reshape(len(shrunk), -1).any(axis=1)]
    if len(kept) == 0:
        raise BadParameterError(f"no bar has a note in rows {lowest}..{lowest + notes - 1}; "
                                f"pick another window (lowest) or more notes")
    return kept
