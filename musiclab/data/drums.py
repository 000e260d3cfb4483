"""Drum grids: two bars of 4/4 as 32 sixteenth steps, each step one of 9 drums or silence.

A grid is a 1-D ``np.int64`` array of :data:`GRID_STEPS` = 32 class indices in 0..9
(:data:`DRUM_CLASSES`). Notebook 05 (drum Note-CNN + DQN) trains on them. They come from
:func:`musiclab.data.grooves.load_grooves`: mma's groove library or a folder of drum MIDI files
(:mod:`musiclab.data.drum_midi`). This module holds the encoding: the drum map, the grid and its
conversions.

The General MIDI drum map onto the 9 drums follows the 9-instrument reduction of the Groove
MIDI Dataset (Gillick, Roberts, Engel, Eck & Bamman 2019, "Learning to Groove with Inverse
Sequence Transformations", ICML), whose class order this module keeps:

=============  =====================  ==========================================
class          GM pitches             notes
=============  =====================  ==========================================
kick           35, 36
snare          37, 38, 39, 40         39 (hand clap) added: it plays the backbeat
high_tom       48, 50
low_mid_tom    45, 47
floor_tom      41, 43, 58             58: floor-tom rim on the Roland TD-11 (GMD)
open_hihat     26, 46                 26: open hi-hat edge on the TD-11
closed_hihat   22, 42, 44             22: closed hi-hat edge; 44 pedal hi-hat
crash          49, 52, 55, 57         Chinese cymbal and splash count as crashes
ride           51, 53, 59             53 ride bell
=============  =====================  ==========================================

Every other pitch (tambourine, shakers, congas, cowbell, ...) is ignored and counted.
Onsets are quantised to the nearest 16th; a step with no hit is silence.

When several drums hit in one step, the grid keeps one, by :data:`STEP_PRIORITY`:
kick > snare > high tom > low-mid tom > floor tom > crash > open hi-hat > closed hi-hat > ride.
The drums that shape the groove come first, then fills and accents, and last the time-keepers,
which play on most steps: kept first (as a "loudest hit wins" rule often does, mma's hi-hats
being loud), they would hide the kick and the snare under them. On mma's library the loudest-hit
rule left 9 % of the grids as nothing but one cymbal ticking (``musiclab.eval.drums``'s
"monotonous" flag) and 18 % of their 8-step openings a single drum; see ``bench/drums.py``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from musiclab.errors import BadParameterError, check_range

#: Names of the 10 grid classes, in index order (9 drums, then silence).
DRUM_CLASSES = ("kick", "snare", "high_tom", "low_mid_tom", "floor_tom",
                "open_hihat", "closed_hihat", "crash", "ride", "silence")
NUM_DRUM_CLASSES = 10
#: Class index of a step with no hit.
SILENCE = 9
#: Steps in a grid: 2 bars of 4/4 in sixteenth notes.
GRID_STEPS = 32
#: Sixteenth steps in one 4/4 bar.
STEPS_PER_BAR = 16
#: Which drum a step keeps when several hit in it: class indices, first = kept (module docstring).
STEP_PRIORITY = tuple(DRUM_CLASSES.index(name) for name in (
    "kick", "snare", "high_tom", "low_mid_tom", "floor_tom", "crash", "open_hihat", "closed_hihat",
    "ride"))
#: General MIDI drum pitch → class index (see the module docstring for the table).
DRUM_MAP: dict[int, int] = {
    pitch: cls
    for cls, pitches in enumerate([
        (35, 36), (37, 38, 39, 40), (48, 50), (45, 47), (41, 43, 58),
        (26, 46), (22, 42, 44), (49, 52, 55, 57), (51, 53, 59),
    ])
    for pitch in pitches
}
#: One GM pitch per drum class, used to play a grid back (the GMD's canonical pitches).
CLASS_PITCHES = (36, 38, 50, 47, 43, 46, 42, 49, 51)
# Rank of each class in STEP_PRIORITY (silence last), for grid_from_hits.
_RANK = np.array([*(STEP_PRIORITY.index(c) for c in range(SILENCE)), SILENCE], dtype=np.int64)


@dataclass
class DrumSet:
    """A set of distinct drum grids with where each came from (notebook 05).

    ``grids``: np.int64 [N, 32] class indices; ``names``: N labels (``lib/GROOVE`` for mma,
    ``relative/path.mid@BAR`` for a folder, where ``grid_from_midi(path, bar=BAR)`` gives the
    grid back); ``skipped``: reason → count of grooves, files or windows left out (duplicates
    included); ``unmapped``: GM pitch → number of ignored hits; ``bad_files``: (file, reason)
    for every unusable file of a folder source.
    """

    grids: np.ndarray
    names: list[str]
    skipped: dict[str, int]
    unmapped: dict[int, int] = field(default_factory=dict)
    bad_files: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def summary(self) -> str:
        """One line: how many distinct grids, and what was skipped why."""
        text = f"drums: {len(self):,} distinct 2-bar grids"
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values()):,} ({reasons})"
        return text


def check_grid(grid) -> np.ndarray:
    """Return ``grid`` as np.int64 [32] after checking it; raise BadParameterError otherwise.

    A valid grid has shape (32,) and integer class indices in 0..9 (9 = silence).
    """
    arr = np.asarray(grid)
    if arr.shape != (GRID_STEPS,):
        raise BadParameterError(
            f"grid must have shape ({GRID_STEPS},) (2 bars of 16th steps), got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise BadParameterError(f"grid must hold integer class indices, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= NUM_DRUM_CLASSES:
        raise BadParameterError(
            f"grid values must be class indices in 0..{NUM_DRUM_CLASSES - 1} "
            f"({', '.join(DRUM_CLASSES)}), got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def grid_to_onehot(grid) -> np.ndarray:
    """One-hot float32 [32, 10] of a grid (row t has a 1 at the class of step t)."""
    return np.eye(NUM_DRUM_CLASSES, dtype=np.float32)[check_grid(grid)]


def grid_from_hits(steps, pitches) -> np.ndarray:
    """Grid np.int64 [32] from quantised hits: step indices 0..31 and GM pitches, one per hit.

    Each step keeps the mapped hit that comes first in :data:`STEP_PRIORITY` (kick, snare, toms,
    crash, hi-hats, ride); pitches outside :data:`DRUM_MAP` are ignored; steps without a mapped
    hit are silence.
    """
    steps, pitches = (np.asarray(a, dtype=np.int64).ravel() for a in (steps, pitches))
    if len(steps) != len(pitches):
        raise BadParameterError(f"steps and pitches must have one entry per hit, got lengths "
                                f"{len(steps)} and {len(pitches)}")
    if len(steps) and (steps.min() < 0 or steps.max() >= GRID_STEPS):
        raise BadParameterError(f"steps must lie in 0..{GRID_STEPS - 1}, "
                                f"got {steps.min()}..{steps.max()}")
    grid = np.full(GRID_STEPS, SILENCE, dtype=np.int64)
    for step, pitch in zip(steps, pitches):
        cls = DRUM_MAP.get(int(pitch))
        if cls is not None and _RANK[cls] < _RANK[grid[step]]:
            grid[step] = cls
    return grid


def grid_to_pretty_midi(grid, tempo_bpm: float = 100.0) -> pretty_midi.PrettyMIDI:
    """A one-instrument drum PrettyMIDI of a grid: each hit a 16th note at velocity 100.

    Each class plays its :data:`CLASS_PITCHES` pitch; ``tempo_bpm`` in quarter notes per
    minute. Notebook 05 plays grids with it.
    """
    grid = check_grid(grid)
    check_range("tempo_bpm", tempo_bpm, 0, 1000, low_open=True)
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    step_s = 60.0 / tempo_bpm / 4
    for step, cls in enumerate(grid):
        if cls != SILENCE:
            drums.notes.append(pretty_midi.Note(velocity=100, pitch=CLASS_PITCHES[cls],
                                                start=step * step_s, end=(step + 1) * step_s))
    pm.instruments.append(drums)
    return pm


def distinct_grids(grids, names, skipped: Counter, unmapped: Counter, bad) -> dict:
    """The :class:`DrumSet` fields (a dict) of the first of identical grids, np.int64 [N, 32];
    the rest are counted under 'duplicate grid' in ``skipped``."""
    seen: set[bytes] = set()
    keep = []
    for i, grid in enumerate(grids):
        key = grid.tobytes()
        if key in seen:
            skipped["duplicate grid"] += 1
        else:
            seen.add(key)
            keep.append(i)
    return {"grids": np.stack([grids[i] for i in keep]) if keep else np.zeros((0, GRID_STEPS), np.int64),
            "names": [names[i] for i in keep], "skipped": dict(sorted(skipped.items())),
            "unmapped": dict(sorted(unmapped.items())), "bad_files": bad}
