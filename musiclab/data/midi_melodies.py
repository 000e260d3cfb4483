"""Melodies of the user's MIDI files: one file, or every file of a folder.

Quantised to 16ths, highest note kept, moved by octaves into MIDI 48..83 (not transposed);
unusable files raise BadFileError (one file) or are skipped and counted (a folder).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm.auto import tqdm

from musiclab.data.corpus import MelodySet, Tune, count_reasons
from musiclab.data.melody import from_pretty_midi
from musiclab.data.midi_files import midi_files, missing_file, no_melody
from musiclab.errors import BadFileError, BadParameterError


def _open_midi(path: Path) -> tuple[pretty_midi.PrettyMIDI | None, int, str, str]:
    """``(pm, index of its first melodic instrument, "", "")`` or ``(None, -1, reason, detail)``."""
    missing = missing_file(path)
    if missing:
        return None, -1, "missing", missing
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types for damaged files
        return None, -1, "not a readable MIDI file", f"is not a readable MIDI file ({type(exc).__name__}: {exc})"
    empty = no_melody(pm)
    if empty:
        return None, -1, "no melody" if "drum" in empty else "no notes", empty
    return pm, next(i for i, inst in enumerate(pm.instruments) if not inst.is_drum and inst.notes), "", ""


def open_midi_melody(path: str | os.PathLike) -> tuple[pretty_midi.PrettyMIDI, int]:
    """The PrettyMIDI of a MIDI file and the index of its melody (its first non-drum instrument with
    notes); BadFileError naming the file as :func:`load_midi_melody` does (primers, notebooks 01-05)."""
    pm, index, _, detail = _open_midi(Path(path))
    if pm is None:
        raise BadFileError(f"MIDI file {path} {detail}")
    return pm, index


def _read_midi_melody(path: Path, fold: bool) -> tuple[np.ndarray | None, str, str]:
    """``(events, "", "")`` or ``(None, reason, detail)`` for one MIDI file."""
    pm, index, reason, detail = _open_midi(path)
    if pm is None:
        return None, reason, detail
    try:
        return from_pretty_midi(pm, index, fold=fold), "", ""
    except BadParameterError as exc:
        return None, "pitch range too wide", str(exc)


def load_midi_melody(path: str | os.PathLike, fold: bool = False) -> np.ndarray:
    """Events of the melody of a MIDI file (its first non-drum instrument with notes).

    Quantised to 16ths, highest note kept, moved by octaves into 48..83 (not transposed).
    Raises BadFileError naming the file if it is missing, a folder, empty, truncated, not MIDI,
    has no notes or only drum notes, or spans too wide a range (unless ``fold=True``).
    """
    path = Path(path)
    events, _, detail = _read_midi_melody(path, fold)
    if events is None:
        raise BadFileError(f"MIDI file {path} {detail}")
    return events


def load_midi_folder(folder: str | os.PathLike, fold: bool = False, quiet: bool = False) -> MelodySet:
    """Melodies of every ``.mid``/``.midi`` file under ``folder`` (recursively); bad files are
    skipped, counted by reason and listed in ``skipped_ids`` (with a warning naming them).
    BadFileError when ``folder`` is not a folder, NoMidiFilesError when it holds no MIDI file."""
    folder = Path(folder)
    paths = midi_files(folder)
    tunes, skipped_ids = [], {}
    for path in tqdm(paths, desc=f"MIDI melodies in {folder.name}", unit="file", disable=quiet):
        name = str(path.relative_to(folder))
        events, reason, _ = _read_midi_melody(path, fold)
        if events is None:
            skipped_ids[name] = reason
        else:
            tunes.append(Tune(name, path.stem, "", "", "", events))
    if skipped_ids:
        warnings.warn(f"skipped {len(skipped_ids)} of {len(paths)} MIDI files in {folder}: "
                      + "; ".join(f"{name} ({why})" for name, why in skipped_ids.items()), stacklevel=2)
    return MelodySet(str(folder), tunes, count_reasons(skipped_ids), skipped_ids, "all")
