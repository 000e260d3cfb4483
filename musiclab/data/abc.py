"""ABC text: split collection files into tunes, read ``K:`` keys, convert tunes to events.

Tunes are split at their ``X:`` lines as raw text, so the raw ``T:``, ``R:``, ``M:``, ``K:``
fields are at hand. Conversion runs Debian's ``abc2midi`` (seconds for all of Essen) or, without
it, music21 (minutes); both workers return ``(events or None, skip reason)`` per tune and run in
parallel processes under :func:`musiclab.data.corpus.convert_abc`.

Used by notebooks 00 (data) and 04 (calming set) through :mod:`musiclab.data.corpus`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclab.data.melody import Note
from musiclab.data.smf import midi_file_notes
from musiclab.data.tune_encoding import encode_tune, notes_from_music21
from musiclab.errors import BadFileError, BadParameterError

_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11, "H": 11}
_MODE_PREFIXES = {
    "": "major", "maj": "major", "ion": "major", "m": "minor", "min": "minor", "aeo": "minor",
    "dor": "dorian", "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian",
}
_KEY_RE = re.compile(r"^\s*([A-Ha-h])([#b]|es|is|s)?\s*([A-Za-z]*)")


@dataclass(frozen=True)
class AbcTune:
    """One tune of an ABC collection file: its id, header fields (first of each) and raw text."""

    tune_id: str
    fields: dict
    text: str

    def field(self, letter: str) -> str:
        """The raw header field ``letter`` (e.g. "R"), stripped; "" when absent."""
        return self.fields.get(letter, "")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_abc(path: str | os.PathLike, prefix: str | None = None) -> list[AbcTune]:
    """Split an ABC collection file into tunes at its ``X:`` lines.

    Tune ids are ``PREFIX/X`` (``PREFIX`` defaults to the file stem). Raises BadFileError naming
    the file when it is missing, unreadable or holds no ``X:`` tune with a ``K:`` field.
    """
    path = Path(path)
    try:
        text = _read_text(path)
    except OSError as exc:
        raise BadFileError(f"cannot read ABC file {path}: {exc.strerror or exc}") from None
    prefix = path.stem if prefix is None else prefix
    tunes, seen = [], set()
    for chunk in re.split(r"(?m)^(?=X:)", text):
        if not chunk.startswith("X:"):
            continue
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            match = re.match(r"^([A-Za-z]):(.*)$", line)
            if match and match.group(1) not in fields:
                fields[match.group(1)] = match.group(2).strip()
            if match and match.group(1) == "K":
                break  # K: ends the header
        if "K" not in fields:
            continue
        number = fields["X"] or str(len(tunes) + 1)
        tune_id = f"{prefix}/{number}"
        while tune_id in seen:
            tune_id += "'"
        seen.add(tune_id)
        tunes.append(AbcTune(tune_id, fields, chunk))
    if not tunes:
        raise BadFileError(f"{path} holds no ABC tune (no 'X:' line followed by a 'K:' field)")
    return tunes


def parse_abc_key(key_field: str) -> tuple[int, str]:
    """``(tonic pitch class, mode)`` of an ABC ``K:`` field: "G" -> (7, 'major'), "Dmix" ->
    (2, 'mixolydian'), "Gm" -> (7, 'minor'); German "H" and "Es" are read too."""
    match = _KEY_RE.match(key_field)
    if not match:
        raise BadParameterError(f"cannot read the ABC key {key_field!r} (expected e.g. 'G', 'F#m', 'Ddor')")
    letter, accidental, mode_text = match.group(1).upper(), match.group(2) or "", match.group(3).lower()
    tonic = _PITCH_CLASSES[letter]
    if accidental == "#" or accidental == "is":
        tonic += 1
    elif accidental in ("b", "es", "s"):
        tonic -= 1
    prefix = mode_text if mode_text in ("", "m") else mode_text[:3]
    if prefix not in _MODE_PREFIXES:
        raise BadParameterError(
            f"cannot read the mode of ABC key {key_field!r}; valid modes: m, min, maj, dor, phr, lyd, mix, loc"
        )
    return tonic % 12, _MODE_PREFIXES[prefix]


_NOT_NOTES_RE = re.compile(r'"[^"]*"|![^!\n]*!|\+[^+\n]*\+|%.*')


def abc_note_count(text: str) -> int:
    """Notes (and rests) written in the music lines of one ABC tune: a cheap count, before any parse.

    Counts the note letters A-G, a-g and the rests z, x outside header fields, comments, quoted
    chord symbols and decorations; repeats are not expanded. Used to refuse a huge tune before
    the (slow) music21 parse: :func:`musiclab.data.corpus.convert_abc`.
    """
    body = (line for line in text.splitlines() if not re.match(r"^[A-Za-z]:", line))
    return sum(len(re.findall(r"[A-Ga-gzx]", _NOT_NOTES_RE.sub("", line))) for line in body)


def _drop_staccato(text: str) -> str:
    """Remove staccato dots from ABC music lines (abc2midi would halve those notes)."""
    lines = []
    for line in text.splitlines():
        is_field = re.match(r"^[A-Za-z]:", line) or line.startswith("%")
        lines.append(line if is_field else line.replace(".", ""))
    return "\n".join(lines)


def convert_with_abc2midi(job: list[tuple[str, int, str]]) -> list[tuple[np.ndarray | None, str]]:
    """Worker: convert (abc text, tonic, mode) tunes with one abc2midi run; events or reasons."""
    with tempfile.TemporaryDirectory(prefix="musiclab-abc-") as folder:
        body = []
        for number, (text, _, _) in enumerate(job, start=1):
            renumbered = re.sub(r"^X:.*", f"X:{number}", _drop_staccato(text), count=1)
            body.append(renumbered.rstrip() + "\n\n")
        Path(folder, "t.abc").write_text("".join(body), encoding="utf-8", errors="replace")
        try:
            subprocess.run(["abc2midi", "t.abc", "-quiet", "-silent", "-NGRA"], cwd=folder,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return [(None, "abc2midi timed out")] * len(job)
        results = []
        for number, (_, tonic, mode) in enumerate(job, start=1):
            path = Path(folder, f"t{number}.mid")
            try:
                division, ticks = midi_file_notes(path.read_bytes())
            except (OSError, ValueError):
                results.append((None, "abc2midi could not convert it"))
                continue
            per_step = division / 4
            notes = []
            for on, off, pitch in ticks:
                start, end = int(round(on / per_step)), int(round(off / per_step))
                notes.append(Note(pitch, start, max(1, end - start)))
            results.append(encode_tune(notes, tonic, mode))
    return results


def convert_with_music21(job: list[tuple[str, int, str]]) -> list[tuple[np.ndarray | None, str]]:
    """Worker: parse (abc text, tonic, mode) tunes with music21 (repeats expanded); events or reasons."""
    from music21 import converter

    results = []
    for text, tonic, mode in job:
        try:
            score = converter.parse(text, format="abc")
            try:
                score = score.expandRepeats()
            except Exception:  # unbalanced repeat marks: keep the tune as written
                pass
            notes = notes_from_music21(score)
        except Exception:  # music21 cannot parse this tune: count it, keep going
            results.append((None, "music21 could not parse it"))
            continue
        results.append(encode_tune(notes, tonic, mode))
    return results


def abc_converter() -> str:
    """'abc2midi' when Debian's abcmidi is installed, else 'music21' (about 50x slower)."""
    return "abc2midi" if shutil.which("abc2midi") else "music21"
