"""Melodies of the user's MIDI files: one file, or every file of a folder.

The melody is the highest non-drum part; quantised to 16ths, highest note kept, moved by octaves
into MIDI 48..83 (not transposed); unusable files raise BadFileError (one file) or are skipped and
counted (a folder). Training folders (transposed like the corpora, cached): ``folder_corpus``.
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
from musiclab.data.midi_files import melody_part, midi_files, missing_file, no_melody, read_midi
from musiclab.errors import BadFileError, BadParameterError
from musiclab.limits import LimitError


def read_melody_file(path: Path) -> tuple[pretty_midi.PrettyMIDI | None, str, str]:
    """``(pm, "", "")`` for a MIDI file with a melody, or ``(None, reason, detail)``: the short
    reason folder loaders count ('missing', 'not a readable MIDI file', 'no notes', 'no melody')."""
    missing = missing_file(path)
    if missing:
        return None, "missing", missing
    try:
        pm = read_midi(path)
    except LimitError as exc:
        return None, "over the notes limit", str(exc)
    except Exception as exc:  # mido/pretty_midi raise many types for damaged files
        return None, "not a readable MIDI file", f"is not a readable MIDI file ({type(exc).__name__}: {exc})"
    empty = no_melody(pm)
    if empty:
        return None, "no melody" if "drum" in empty else "no notes", empty
    return pm, "", ""


def open_midi_melody(path: str | os.PathLike) -> tuple[pretty_midi.PrettyMIDI, int]:
    """The PrettyMIDI of a MIDI file and the index of its melody (its highest non-drum part, see
    ``melody_part``); BadFileError naming the file as :func:`load_midi_melody` does, LimitError over
    ``LIMITS.max_notes`` (primers, notebooks 01-05)."""
    pm, reason, detail = read_melody_file(Path(path))
    if reason == "over the notes limit":
        raise LimitError(detail)
    if pm is None:
        raise BadFileError(f"MIDI file {path} {detail}")
    return pm, melody_part(pm)


def _read_midi_melody(path: Path, fold: bool) -> tuple[np.ndarray | None, str, str]:
    """``(events, "", "")`` or ``(None, reason, detail)`` for one MIDI file."""
    pm, reason, detail = read_melody_file(path)
    if pm is None:
        return None, reason, detail
    try:
        return from_pretty_midi(pm, melody_part(pm), fold=fold), "", ""
    except BadParameterError as exc:
        return None, "pitch range too wide", str(exc)


def load_midi_melody(path: str | os.PathLike, fold: bool = False) -> np.ndarray:
    """Events of the melody of a MIDI file (its highest non-drum part, see ``melody_part``).

    Quantised to 16ths, highest note kept, moved by octaves into 48..83 (not transposed).
    Raises BadFileError naming the file if it is missing, a folder, empty, truncated, not MIDI,
    has no notes or only drum notes, or spans too wide a range (unless ``fold=True``); LimitError
    if it holds more than ``LIMITS.max_notes`` notes (counted before parsing).
    """
    path = Path(path)
    events, reason, detail = _read_midi_melody(path, fold)
    if reason == "over the notes limit":
        raise LimitError(detail)
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
