"""Sheet music of a melody, offline: events -> a music21 score -> MusicXML -> SVG (verovio).

music21 builds the score (4/4, treble or bass clef as the notes need, measures, ties across bar
lines); verovio, a wheel with its own music fonts, engraves the MusicXML as SVG without MuseScore
or LilyPond. :func:`show_score` shows it inline in a notebook in one call (notebooks 00-05);
:func:`write_musicxml` saves a file any notation program opens (``musiclab sample/compose --out
tune.musicxml``). A 2-bar melody engraves in milliseconds (``tests/test_notation.py`` times it).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from musiclab.data.melody import check_events, to_music21
from musiclab.errors import BadParameterError, check_range
from musiclab.runtime import atomic_write_bytes, check_output_path

#: File name endings :func:`write_musicxml` writes (any case).
MUSICXML_SUFFIXES = (".musicxml", ".xml")
#: verovio's page layout: a wide page whose height fits the music, no header or footer.
_VEROVIO_OPTIONS = {"pageWidth": 2100, "adjustPageHeight": True, "header": "auto", "footer": "none",
                    "scale": 40, "breaks": "auto", "svgFormatRaw": True}


def _melody(events) -> np.ndarray:
    """A melody's events from an array, tensor, list or anything with ``.events`` (a Primer)."""
    return check_events(getattr(events, "events", events))


def to_score(events, tempo_bpm: float | None = 120.0, title: str | None = None):
    """A music21 Score of one melody (events [T], 16th steps): one part in 4/4, measures and ties made,
    with a metronome mark of ``tempo_bpm`` (quarter notes per minute; None: no mark)."""
    from music21 import clef, metadata, meter, stream, tempo

    melody = to_music21(_melody(events), tempo_bpm=tempo_bpm or 120.0)
    if tempo_bpm is None:
        melody.remove(list(melody.getElementsByClass(tempo.MetronomeMark)))
    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    pitches = [n.pitch.midi for n in melody.notes]
    part.append(clef.BassClef() if pitches and np.median(pitches) < 55 else clef.TrebleClef())
    for element in melody:
        if getattr(element, "pitch", None) is not None and element.pitch.accidental is not None \
                and element.pitch.accidental.name == "natural":
            element.pitch.accidental = None  # notes built from MIDI numbers carry naturals music21 would print
        part.append(element)
    score = stream.Score()
    score.insert(0, part)
    if title:
        score.insert(0, metadata.Metadata(title=title))
    return score.makeNotation()


def musicxml_bytes(events, tempo_bpm: float | None = 120.0, title: str | None = None) -> bytes:
    """The MusicXML document (UTF-8 bytes) of one melody (events [T])."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    xml = GeneralObjectExporter(to_score(events, tempo_bpm, title)).parse()
    # without a title music21 writes its placeholder "Music21 Fragment" as the movement title
    return xml if title else re.sub(rb"<movement-title>[^<]*</movement-title>\s*", b"", xml)


def write_musicxml(events, path: str | os.PathLike, tempo_bpm: float = 120.0, title: str | None = None) -> Path:
    """Write one melody as a MusicXML file atomically; ``path`` must end in .musicxml or .xml."""
    path = check_output_path(path, "MusicXML output")
    if path.suffix.lower() not in MUSICXML_SUFFIXES:
        raise BadParameterError(f"MusicXML output {path} must end in {' or '.join(MUSICXML_SUFFIXES)}")
    return atomic_write_bytes(path, musicxml_bytes(events, tempo_bpm, title))


def render_svg(events, tempo_bpm: float | None = None, title: str | None = None, scale: int = 40) -> str:
    """The engraved score of one melody as SVG text (every page, one after another), by verovio.
    No metronome mark unless ``tempo_bpm`` is given (its glyph embeds a 60 kB font in the SVG)."""
    import verovio

    scale = int(check_range("scale", scale, 10, 200))
    toolkit = verovio.toolkit()
    toolkit.setOptions({**_VEROVIO_OPTIONS, "scale": scale})
    if not toolkit.loadData(musicxml_bytes(events, tempo_bpm, title).decode("utf-8")):
        raise BadParameterError("verovio could not read the MusicXML of these events")
    return "\n".join(toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1))


def count_noteheads(svg: str) -> int:
    """Noteheads engraved in a verovio SVG (a note tied across a bar line shows two)."""
    return len(re.findall(r'class="notehead"', svg))


def show_score(events, tempo_bpm: float | None = None, title: str | None = None, scale: int = 40) -> None:
    """Show one melody's score inline in a notebook (events [T], a tensor, a list, or a Primer; a
    batch [N, T] shows each row). One call, no MuseScore or LilyPond needed (notebooks 00-05)."""
    from IPython.display import SVG, display

    array = check_events(getattr(events, "events", events), ndim=None)
    if array.ndim not in (1, 2):
        raise BadParameterError(f"events must have shape [T] or [N, T], got shape {array.shape}")
    rows = array if array.ndim == 2 else [array]
    for i, row in enumerate(rows):
        name = title if len(rows) == 1 or title is None else f"{title} ({i + 1})"
        display(SVG(render_svg(row, tempo_bpm, name, scale)))
