"""Checks every MIDI loader shares: which files a folder holds, and why a path or file is unusable.

One behaviour for every loader: a folder with no ``.mid``/``.midi`` file is a
:class:`NoMidiFilesError`; a path that is a folder, or missing, is named as such; a file whose
notes are all on the drum channel, or that holds no notes, says which; a file of more notes than
``LIMITS.max_notes`` is a LimitError, found before it is parsed (:func:`read_midi`). Used by
:mod:`musiclab.data.midi_melodies`, :mod:`musiclab.data.chords` and :mod:`musiclab.data.drum_midi`.
"""
from __future__ import annotations

import io
from pathlib import Path

import pretty_midi

from musiclab.data.smf import midi_file_notes
from musiclab.errors import BadFileError
from musiclab.limits import LIMITS, limit_error

#: File name endings the folder loaders read (any case).
MIDI_SUFFIXES = (".mid", ".midi")


class NoMidiFilesError(BadFileError):
    """A folder given to a folder loader holds no .mid or .midi file (searched recursively)."""


def files_under(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """Every file under ``folder`` (recursively) whose ending is one of ``suffixes`` (any case), sorted;
    BadFileError naming the ``what`` folder when it is not a folder, NoMidiFilesError when it holds none."""
    if not folder.is_dir():
        kind = "is a file, not a folder" if folder.exists() else "does not exist"
        raise BadFileError(f"{what} folder {folder} {kind}")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        endings = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise NoMidiFilesError(f"{folder}: no {endings} files in this folder or its subfolders")
    return files


def midi_files(folder: Path) -> list[Path]:
    """Every ``.mid``/``.midi`` file under ``folder`` (recursively), sorted (see :func:`files_under`)."""
    return files_under(folder, MIDI_SUFFIXES, "MIDI")


def missing_file(path: Path) -> str:
    """Why ``path`` cannot be read as a MIDI file ('does not exist', 'is a folder, ...'), or ''."""
    if path.is_dir():
        return "is a folder, not a MIDI file"
    return "" if path.is_file() else "does not exist"


def no_melody(pm: pretty_midi.PrettyMIDI) -> str:
    """Why ``pm`` has no notes outside the drum channel ('has no notes', ...), or '' when it has."""
    if any(inst.notes for inst in pm.instruments if not inst.is_drum):
        return ""
    if any(inst.notes for inst in pm.instruments):
        return "has only drum notes (MIDI channel 10), no melody"
    return "has no notes"


def read_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """Parse the MIDI file ``path`` with pretty_midi, after a cheap count of its notes: more than
    ``LIMITS.max_notes`` is a LimitError naming the file, before the (slow, memory-hungry) parse.

    Parse errors are pretty_midi's and mido's own (callers name the file); files the small reader
    cannot count (e.g. SMPTE timing) are counted after parsing instead.
    """
    data = path.read_bytes()
    try:
        counted = len(midi_file_notes(data, max_notes=LIMITS.max_notes)[1])
    except ValueError:
        counted = 0
    if counted > LIMITS.max_notes:
        raise limit_error("max_notes", f"{path} has more than {LIMITS.max_notes:,} notes, which")
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    notes = sum(len(inst.notes) for inst in pm.instruments)
    if notes > LIMITS.max_notes:
        raise limit_error("max_notes", f"{path} has {notes:,} notes, which")
    return pm


def melody_part(pm: pretty_midi.PrettyMIDI) -> int:
    """Index of the melody line of ``pm``: the non-drum instrument with notes whose mean pitch is
    highest (the top part of a score, as a soprano over a bass). Check :func:`no_melody` first."""
    parts = [(float(sum(n.pitch for n in inst.notes)) / len(inst.notes), -i)
             for i, inst in enumerate(pm.instruments) if not inst.is_drum and inst.notes]
    return -max(parts)[1]
