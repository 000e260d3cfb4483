"""How the notes of a corpus tune become events: quantised from music21, shifted, transposed, encoded.

Shared by the ABC converters (:mod:`musiclab.data.abc`) and the chorales
(:mod:`musiclab.data.corpus`); used by notebooks 00, 01 and 04 through them.
"""
from __future__ import annotations

import numpy as np

from musiclab.data.melody import Note, encode_notes, fit_to_range, transpose_to_c
from musiclab.errors import BadParameterError


def encode_tune(notes: list[Note], tonic: int, mode: str) -> tuple[np.ndarray | None, str]:
    """Shift to start at step 0, transpose to C, fit the range, encode; or a reason to skip."""
    if not notes:
        return None, "no notes"
    first = min(n.start for n in notes)
    notes = [Note(n.pitch, n.start - first, n.duration) for n in transpose_to_c(notes, tonic, mode)]
    try:
        notes = fit_to_range(notes)
    except BadParameterError:
        return None, "pitch range too wide"
    return encode_notes(notes), ""


def notes_from_music21(score) -> list[Note]:
    """Quantised notes of a music21 score or part (ties merged, grace notes dropped)."""
    notes = []
    for element in score.stripTies().flatten().notes:
        duration = float(element.quarterLength)
        if duration <= 0:
            continue
        pitch = max(p.midi for p in element.pitches)
        start = int(round(float(element.offset) * 4))
        end = int(round((float(element.offset) + duration) * 4))
        notes.append(Note(pitch, start, max(1, end - start)))
    return notes
