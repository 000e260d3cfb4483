"""Your own tune as a primer: a MIDI file, an ABC file, or typed notes, as the kit's melody events.

Typed notes are one token per 16th step: a pitch name (``C4``, ``F#3``, ``Bb4``; C4 = MIDI 60)
starts a note, ``-`` holds it (or continues a rest), ``.`` is a rest: ``"C4 D4 E4 - - G4 . C5"``.
Whatever the source, the melody is made to fit the kit: moved by whole octaves into MIDI 48..83,
quantised to 16ths, one note at a time (the highest of a chord); every change is named in
:attr:`Primer.changes`. ABC tunes are also transposed to C major / A minor, as the corpora are.
A drum primer is the opening of a drum MIDI file's grid (:func:`read_drum_primer`) or typed drums,
one class name per 16th step, ``.`` for silence (:func:`parse_drums`).
Bad input raises the loaders' named errors (BadFileError naming the file, BadParameterError naming
the token). Used by ``musiclab sample / compose / vae --primer`` and the "Your tune" cells of
notebooks 01-05.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclab.data.abc import (abc_converter, abc_note_count, convert_with_abc2midi, convert_with_music21,
                               parse_abc_key, read_abc)
from musiclab.data.drum_midi import grid_from_midi
from musiclab.data.drums import DRUM_CLASSES, GRID_STEPS, SILENCE
from musiclab.data.melody import (MAX_PITCH, MIN_PITCH, NO_EVENT, STEPS_PER_QUARTER, Note, decode_events,
                                  encode_notes, fit_to_range, key_shift, notes_from_pretty_midi, pitch_name)
from musiclab.data.midi_files import MIDI_SUFFIXES
from musiclab.data.midi_melodies import open_midi_melody
from musiclab.errors import BadFileError, BadParameterError, check_range
from musiclab.limits import LIMITS, limit_error

#: File name endings read as ABC (any case); MIDI endings are ``midi_files.MIDI_SUFFIXES``.
ABC_SUFFIXES = (".abc",)
#: Steps of a drum primer by default: the 8-step openings the drum Note-CNN and tuner start from.
DRUM_PRIMER_STEPS = 8
_PITCH_RE = re.compile(r"^([A-Ga-g])(#|b)?(-?\d)$")
_STEP_OF = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_TYPED_HELP = ("one token per 16th step: a pitch name such as C4, F#3 or Bb4 (C4 = MIDI 60), '-' to hold, "
               "'.' for a rest, e.g. \"C4 D4 E4 - - G4 . C5\"")


@dataclass(frozen=True)
class Primer:
    """A melody to continue, tune or morph: ``events`` int64 [T] (16th steps, the kit's encoding),
    where it came from (``source``) and what was changed to fit the kit (``changes``, readable lines)."""

    events: np.ndarray
    source: str
    changes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.events)

    def describe(self) -> str:
        """One line for a notebook or the command line: source, length, and every change made."""
        head = f"primer from {self.source}: {len(self.events)} steps ({len(decode_events(self.events))} notes)"
        return head + "".join(f"; {change}" for change in self.changes)

    def window(self, length: int) -> tuple[np.ndarray, str]:
        """The events cut or padded (with a rest) to exactly ``length`` steps, and what was done ('' when
        nothing): the MusicVAE reads 2-bar windows of 32 steps (notebook 04, ``musiclab vae``)."""
        length = int(check_range("length", length, 1))
        if len(self.events) >= length:
            note = f"used its first {length} of {len(self.events)} steps" if len(self.events) > length else ""
            return encode_notes(decode_events(self.events[:length]), length), note
        padded = encode_notes(decode_events(self.events), length)
        return padded, f"padded with a rest from {len(self.events)} to {length} steps"


def parse_notes(text: str) -> Primer:
    """Typed notes (see the module docstring) as a Primer; BadParameterError naming the first bad token."""
    if not isinstance(text, str):
        raise BadParameterError(f"typed notes must be a string: {_TYPED_HELP}; got {type(text).__name__}")
    tokens = text.split()
    if not tokens:
        raise BadParameterError(f"typed notes are empty: {_TYPED_HELP}")
    notes: list[Note] = []
    sounding = False
    for step, token in enumerate(tokens):
        if token == "-":
            if sounding:
                last = notes[-1]
                notes[-1] = Note(last.pitch, last.start, last.duration + 1)
        elif token == ".":
            sounding = False
        else:
            match = _PITCH_RE.match(token)
            if not match:
                raise BadParameterError(f"typed notes: token {step + 1} ({token!r}) is not a note; {_TYPED_HELP}")
            letter, accidental, octave = match.groups()
            pitch = 12 * (int(octave) + 1) + _STEP_OF[letter.upper()] + {"#": 1, "b": -1, None: 0}[accidental]
            notes.append(Note(pitch, step, 1))
            sounding = True
    if not notes:
        return Primer(np.full(len(tokens), NO_EVENT, dtype=np.int64), "typed notes", ("no notes, only rests",))
    notes, changes = _fit_range(notes)
    return Primer(encode_notes(notes, len(tokens)), "typed notes", changes)


def _fit_range(notes: list[Note]) -> tuple[list[Note], tuple[str, ...]]:
    """Notes moved by octaves into MIDI 48..83 (outliers folded when too wide), and what changed."""
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    if MIN_PITCH <= low and high <= MAX_PITCH:
        return notes, ()
    kit = f"the kit's range {pitch_name(MIN_PITCH)}..{pitch_name(MAX_PITCH)} (MIDI {MIN_PITCH}..{MAX_PITCH})"
    try:
        fitted = fit_to_range(notes)
    except BadParameterError:
        fitted = fit_to_range(notes, fold=True)
        moved = sum(a.pitch != b.pitch for a, b in zip(notes, fitted))
        return fitted, (f"spans {pitch_name(low)}..{pitch_name(high)}, wider than {kit}: "
                        f"moved {moved} of {len(notes)} notes by octaves into it",)
    octaves = (fitted[0].pitch - notes[0].pitch) // 12
    way = "up" if octaves > 0 else "down"
    return fitted, (f"transposed {way} {abs(octaves)} octave{'s' if abs(octaves) > 1 else ''} "
                    f"({pitch_name(low)}..{pitch_name(high)} to {pitch_name(low + 12 * octaves)}.."
                    f"{pitch_name(high + 12 * octaves)}) to fit {kit}",)


def read_midi_primer(path: str | os.PathLike) -> Primer:
    """The melody of a MIDI file (its first non-drum instrument with notes) as a Primer, quantised to
    16ths (by MIDI ticks), highest note of a chord kept, moved by octaves into range; each change named.
    A melody written by :func:`musiclab.data.melody.to_pretty_midi` reads back as the same events (up to
    a trailing rest, which a MIDI file does not keep). BadFileError naming the file when unusable."""
    pm, index = open_midi_melody(path)
    raw = pm.instruments[index].notes
    notes = notes_from_pretty_midi(pm, index)
    changes = []
    per_step = pm.resolution / STEPS_PER_QUARTER
    off_grid = [n for n in raw if not _on_grid(pm.time_to_tick(n.start), per_step)
                or not _on_grid(pm.time_to_tick(n.end), per_step)]
    if off_grid:
        changes.append(f"quantised {len(off_grid)} of {len(raw)} notes to the 16th-note grid")
    starts = [n.start for n in notes]
    together = len(starts) - len(set(starts))
    if together:
        changes.append(f"kept the highest note where notes start together ({together} notes dropped)")
    ordered = sorted(notes, key=lambda n: n.start)
    overlapping = sum(1 for a, b in zip(ordered, ordered[1:]) if a.start != b.start and a.end > b.start)
    if overlapping:
        changes.append(f"cut {overlapping} notes short where the next one starts (one note at a time)")
    fitted, range_changes = _fit_range(notes)
    return Primer(encode_notes(fitted), f"MIDI file {Path(path).name}", tuple(changes) + range_changes)


def _on_grid(tick: int, per_step: float) -> bool:
    return abs(tick / per_step - round(tick / per_step)) < 1e-6


def read_abc_primer(path: str | os.PathLike, tune: int = 0) -> Primer:
    """Tune number ``tune`` (0-based, in file order) of an ABC file as a Primer, transposed to C major /
    A minor and fitted to the range as the corpora are (abc2midi when installed, else music21).
    BadFileError naming the file when it is missing or holds no convertible tune; LimitError when the
    tune has more than ``LIMITS.max_abc_notes`` notes."""
    tunes = read_abc(path)
    if isinstance(tune, bool) or not isinstance(tune, (int, np.integer)) or not 0 <= tune < len(tunes):
        raise BadParameterError(f"tune must be an index in 0..{len(tunes) - 1} ({len(tunes)} tunes in {path}), "
                                f"got {tune!r}")
    chosen = tunes[int(tune)]
    if abc_note_count(chosen.text) > LIMITS.max_abc_notes:  # counted in the text, before any parsing
        raise limit_error("max_abc_notes", f"ABC file {path}, tune {chosen.tune_id}: more than "
                                           f"{LIMITS.max_abc_notes:,} notes, which")
    try:
        tonic, mode = parse_abc_key(chosen.field("K"))
    except BadParameterError as error:
        raise BadFileError(f"ABC file {path}, tune {chosen.tune_id}: {error}") from None
    convert = convert_with_abc2midi if abc_converter() == "abc2midi" else convert_with_music21
    [(events, reason)] = convert([(chosen.text, tonic, mode)])
    if events is None:
        raise BadFileError(f"ABC file {path}, tune {chosen.tune_id}: {reason}")
    shift = key_shift(tonic, mode)
    changes = (f"transposed {shift:+d} semitones from K:{chosen.field('K')} to C major / A minor, "
               "as the kit's corpora are",) if shift else ()
    title = chosen.field("T")
    return Primer(events, f"ABC file {Path(path).name}" + (f" ({title})" if title else ""), changes)


def read_primer(source: str | os.PathLike) -> Primer:
    """A Primer from a ``.mid``/``.midi`` file, an ``.abc`` file (its first tune), or typed notes
    (any other string). A path with another ending raises BadFileError saying what is read."""
    text = str(source)
    suffix = Path(text).suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return read_midi_primer(source)
    if suffix in ABC_SUFFIXES:
        return read_abc_primer(source)
    if isinstance(source, os.PathLike) or os.path.isfile(text) or re.fullmatch(r"\.[a-z0-9]+", suffix):
        raise BadFileError(f"primer {text}: read as a file, but a primer file must end in "
                           f"{', '.join(MIDI_SUFFIXES + ABC_SUFFIXES)}; typed notes are {_TYPED_HELP}")
    return parse_notes(text)


def read_drum_primer(path: str | os.PathLike, steps: int = DRUM_PRIMER_STEPS, bar: int = 0) -> np.ndarray:
    """The first ``steps`` (1..32) of the 2-bar drum grid starting at bar ``bar`` of a drum MIDI file
    (4/4, drums on channel 10): int64 [steps] of drum classes, the openings the drum Note-CNN and the
    tuned drum network continue (notebook 05). BadFileError naming the file when unusable."""
    steps = int(check_range("steps", steps, 1, GRID_STEPS))
    if Path(str(path)).suffix.lower() not in MIDI_SUFFIXES:
        raise BadFileError(f"drum primer {path} must be a MIDI file ({' or '.join(MIDI_SUFFIXES)}) with drums "
                           "on channel 10")
    return grid_from_midi(path, bar)[:steps]


def parse_drums(text: str) -> np.ndarray:
    """Typed drums, one token per 16th step: a class name of ``DRUM_CLASSES`` (kick, snare, closed_hihat,
    ...) or ``.`` for silence, e.g. "kick . closed_hihat . snare . closed_hihat ."; int64 [steps] of
    classes (at most 32). BadParameterError naming the first bad token and the valid names."""
    tokens = text.split() if isinstance(text, str) else None
    if not tokens or len(tokens) > GRID_STEPS:
        raise BadParameterError(f"typed drums must be 1..{GRID_STEPS} tokens (one per 16th step), got "
                                f"{len(tokens) if tokens else 'none'}")
    names = {name: index for index, name in enumerate(DRUM_CLASSES[:SILENCE])} | {".": SILENCE}
    for step, token in enumerate(tokens):
        if token not in names:
            raise BadParameterError(f"typed drums: token {step + 1} ({token!r}) is not a drum; valid: "
                                    f"{', '.join(DRUM_CLASSES[:SILENCE])}, or '.' for silence")
    return np.array([names[token] for token in tokens], dtype=np.int64)
