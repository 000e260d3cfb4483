"""Drum MIDI files to grids: a file's drum onsets, a 2-bar window of them, every window of a folder.

A file is read with pretty_midi; only drum instruments (MIDI channel 10) count, and it must be
in 4/4 (no time signature counts as 4/4). Onsets are kept in sixteenths from the start, then
quantised per window by :func:`musiclab.data.drums.grid_from_hits`. Unusable files raise
:class:`UnusableFile` (a BadFileError) with a short reason that folder loaders count.
Notebook 05 reads its grids through :func:`musiclab.data.grooves.load_grooves`.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.drums import DRUM_MAP, GRID_STEPS, SILENCE, STEPS_PER_BAR, distinct_grids, grid_from_hits
from musiclab.data.midi_files import midi_files, missing_file, read_midi
from musiclab.errors import BadFileError, BadParameterError
from musiclab.limits import LimitError


class UnusableFile(BadFileError):
    """A MIDI file that yields no grid; ``reason`` is the short key batch loaders count."""

    def __init__(self, label: str, reason: str, detail: str = ""):
        super().__init__(f"{label}: {reason}{detail}")
        self.reason = reason


@dataclass(frozen=True)
class DrumTrack:
    """Every drum onset of a MIDI file, positions in sixteenths from its start."""

    positions: np.ndarray
    pitches: np.ndarray
    time_signatures: tuple[tuple[float, int, int], ...]  # (position, numerator, denominator)

    def meter_at(self, position: float) -> tuple[int, int]:
        """(numerator, denominator) in force at ``position``; 4/4 when the file sets none."""
        meter = (4, 4)
        for start, num, den in self.time_signatures:
            if start <= position + 1e-6:
                meter = (num, den)
        return meter


def _read_pretty_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file, raising UnusableFile (a BadFileError) naming it when it can't be."""
    if missing_file(path):
        raise UnusableFile(str(path), "missing file", f" (it {missing_file(path)})")
    if path.stat().st_size == 0:
        raise UnusableFile(str(path), "empty file", " (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tempo, Key or Time signature")
            return read_midi(path)
    except LimitError:
        raise
    except Exception as err:  # mido/pretty_midi raise many types for corrupt files
        raise UnusableFile(str(path), "not a readable MIDI file",
                            f" ({type(err).__name__}: {err})") from err


def drum_track(pm: pretty_midi.PrettyMIDI, label: str) -> DrumTrack:
    """Collect the onsets of every drum instrument (MIDI channel 10) of ``pm``."""
    notes = [note for inst in pm.instruments if inst.is_drum for note in inst.notes]
    if not notes:
        if any(inst.notes for inst in pm.instruments):
            raise UnusableFile(label, "no drum track", " (no notes on MIDI channel 10)")
        raise UnusableFile(label, "no notes", " (the file holds no notes at all)")
    if not any(note.pitch in DRUM_MAP for note in notes):
        pitches = sorted({note.pitch for note in notes})
        raise UnusableFile(label, "no General MIDI drums", f" (drum pitches {pitches} are all outside DRUM_MAP)")
    per_16th = 4.0 / pm.resolution
    positions = np.array([pm.time_to_tick(n.start) * per_16th for n in notes])
    meters = tuple(sorted((pm.time_to_tick(ts.time) * per_16th, ts.numerator, ts.denominator)
                          for ts in pm.time_signature_changes))
    return DrumTrack(positions, np.array([n.pitch for n in notes], dtype=np.int64), meters)


def _require_four_four(track: DrumTrack, label: str) -> None:
    meters = {(num, den) for _, num, den in track.time_signatures} - {(4, 4)}
    if meters:
        found = ", ".join(f"{n}/{d}" for n, d in sorted(meters))
        raise UnusableFile(label, "not 4/4", f" (time signature {found}; the grid is 2 bars of 4/4)")


def window_grid(track: DrumTrack, first_step: int, low: float = -np.inf, high: float = np.inf):
    """The grid of steps first_step..first_step+31 and the ignored pitches in that window.

    Only onsets with low <= position < high are considered (mma segment bounds).
    """
    steps = np.rint(track.positions).astype(np.int64) - first_step
    keep = (steps >= 0) & (steps < GRID_STEPS) & (track.positions >= low) & (track.positions < high)
    grid = grid_from_hits(steps[keep], track.pitches[keep])
    unmapped = Counter(int(p) for p in track.pitches[keep] if int(p) not in DRUM_MAP)
    return grid, unmapped


def _bar_count(track: DrumTrack) -> int:
    return int(np.rint(track.positions).max()) // STEPS_PER_BAR + 1


def grid_from_midi(path_or_pm, bar: int = 0) -> np.ndarray:
    """The grid np.int64 [32] of bars ``bar`` and ``bar + 1`` (0-based) of a drum MIDI file.

    ``path_or_pm`` is a path or a ``pretty_midi.PrettyMIDI``; the file must be in 4/4 (no time
    signature counts as 4/4). Raises BadFileError naming the file when it is missing, a folder,
    empty, truncated, corrupt or not MIDI, holds no notes, has no drum track (channel 10) or no
    drum in DRUM_MAP, or is not in 4/4; BadParameterError when ``bar`` lies past the last bar;
    LimitError when the file holds more than ``LIMITS.max_notes`` notes.
    """
    if isinstance(path_or_pm, pretty_midi.PrettyMIDI):
        pm, label = path_or_pm, "the PrettyMIDI object"
    else:
        label = str(path_or_pm)
        pm = _read_pretty_midi(Path(path_or_pm))
    track = drum_track(pm, label)
    _require_four_four(track, label)
    last = _bar_count(track) - 1
    if isinstance(bar, bool) or not isinstance(bar, (int, np.integer)) or not 0 <= bar <= last:
        raise BadParameterError(f"bar must be an integer in [0, {last}] for {label} "
                                f"({last + 1} bars of drums), got {bar!r}")
    return window_grid(track, int(bar) * STEPS_PER_BAR)[0]


def folder_grids(folder: Path, quiet: bool) -> dict:
    """Every non-silent 2-bar window of every usable drum MIDI file under ``folder``."""
    files = midi_files(folder)
    grids, names, skipped, unmapped, bad = [], [], Counter(), Counter(), []
    for path in tqdm(files, desc="reading drum MIDI files", disable=quiet):
        rel = path.relative_to(folder).as_posix()
        try:
            track = drum_track(_read_pretty_midi(path), rel)
            _require_four_four(track, rel)
        except UnusableFile as err:
            skipped[err.reason] += 1
            bad.append((rel, str(err).split(": ", 1)[1]))
            continue
        except LimitError as err:
            skipped["over the notes limit"] += 1
            bad.append((rel, str(err)))
            continue
        for first_bar in range(0, _bar_count(track), 2):
            grid, ignored = window_grid(track, first_bar * STEPS_PER_BAR)
            unmapped.update(ignored)
            if (grid == SILENCE).all():
                skipped["silent 2-bar window"] += 1
                continue
            grids.append(grid)
            names.append(f"{rel}@{first_bar}")
    if not grids:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items()))
        raise BadFileError(f"{folder}: no usable drum grids in {len(files)} MIDI files ({reasons})")
    return distinct_grids(grids, names, skipped, unmapped, bad)

