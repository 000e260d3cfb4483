"""The melody event encoding of the RL Tuner, and conversions to notes, MIDI and music21.

One event per 16th-note step: ``0`` = note-off (silence from here), ``1`` = no-event (hold the
sounding note, or continue the rest), ``2..37`` = onset of MIDI pitch 48..83 (event = pitch - 46).
A melody is a 1-D ``np.int64`` array of events; a batch is a LongTensor ``[batch, time]``.
Melodies in the corpora are transposed to C major / A minor (by key signature).

Used by notebook 00 (data and sound) and every melody notebook after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pretty_midi

from musiclab.errors import BadParameterError, check_range

NOTE_OFF = 0
NO_EVENT = 1
MIN_PITCH = 48
MAX_PITCH = 83
NUM_CLASSES = 38
STEPS_PER_QUARTER = 4
#: event = pitch - PITCH_OFFSET for onsets.
PITCH_OFFSET = MIN_PITCH - 2
#: Semitones from a mode's tonic down to the tonic of the major scale with the same key signature.
MODE_OFFSETS = {
    "major": 0, "ionian": 0, "dorian": 2, "phrygian": 4, "lydian": 5,
    "mixolydian": 7, "minor": 9, "aeolian": 9, "locrian": 11,
}
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Note:
    """One note: MIDI ``pitch``; ``start`` and ``duration`` in 16th-note steps."""

    pitch: int
    start: int
    duration: int

    @property
    def end(self) -> int:
        """The step at which the note stops sounding (exclusive)."""
        return self.start + self.duration


def pitch_to_event(pitch: int) -> int:
    """The onset event of a MIDI pitch in 48..83."""
    check_range("pitch", pitch, MIN_PITCH, MAX_PITCH)
    return int(pitch) - PITCH_OFFSET


def event_to_pitch(event: int) -> int:
    """The MIDI pitch of an onset event in 2..37."""
    check_range("event", event, 2, NUM_CLASSES - 1)
    return int(event) + PITCH_OFFSET


def pitch_name(pitch: int) -> str:
    """Scientific pitch name with sharps, e.g. 60 -> 'C4', 61 -> 'C#4'."""
    return f"{_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


def check_events(events, parameter: str = "events", *, ndim: int | None = 1,
                 num_classes: int = NUM_CLASSES) -> np.ndarray:
    """The kit's one events validator: ``events`` (array, tensor or nested lists) as an int64 array of
    ``ndim`` dimensions (any with None) holding events 0..``num_classes`` - 1, or a BadParameterError
    that names ``parameter`` and what is valid. Melodies use the default vocabulary (0 note-off,
    1 no-event, 2.. pitches); models pass their own ``num_classes`` (drum classes, chord tokens)."""
    if hasattr(events, "detach"):
        events = events.detach().cpu().numpy()
    try:
        array = np.asarray(events)
    except ValueError:
        raise BadParameterError(f"{parameter} must be an array of events; rows of unequal length cannot "
                                "form one") from None
    if ndim is not None and array.ndim != ndim:
        shape = "[T], one event per step" if ndim == 1 else "[N, T], pieces × steps" if ndim == 2 else f"{ndim}-D"
        raise BadParameterError(f"{parameter} must have shape {shape}, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise BadParameterError(f"{parameter} must hold integer events, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        bad = array[(array < 0) | (array >= num_classes)][0]
        meaning = (f" (0 note-off, 1 no-event, 2.. pitches {MIN_PITCH}..{MAX_PITCH})"
                   if num_classes == NUM_CLASSES else "")
        raise BadParameterError(f"{parameter} holds event {bad}, outside the vocabulary "
                                f"0..{num_classes - 1}{meaning}")
    return array


def encode_notes(notes: Iterable[Note], length: int | None = None) -> np.ndarray:
    """Encode notes (pitches 48..83, times in 16th steps) as events, shape ``[length]`` int64.

    ``length`` defaults to the end of the last note (which then needs no note-off); a shorter
    length cuts the melody, a longer one ends with a note-off and a rest. Notes sharing a start
    keep the highest (melodies are monophonic); an onset ends the previous note.
    """
    notes = sorted(notes, key=lambda n: (n.start, -n.pitch))
    for note in notes:
        if not MIN_PITCH <= note.pitch <= MAX_PITCH:
            raise BadParameterError(f"note pitch must be in {MIN_PITCH}..{MAX_PITCH}, got {note}")
        if note.start < 0 or note.duration < 1:
            raise BadParameterError(f"note start must be >= 0 and duration >= 1, got {note}")
    end = max((n.end for n in notes), default=0)
    if length is None:
        length = end
    check_range("length", length, 0)
    events = np.full(int(length), NO_EVENT, dtype=np.int64)
    kept = [n for i, n in enumerate(notes) if i == 0 or n.start != notes[i - 1].start]
    for i, note in enumerate(kept):
        if note.start >= length:
            break
        events[note.start] = note.pitch - PITCH_OFFSET
        next_start = kept[i + 1].start if i + 1 < len(kept) else None
        if note.end < length and (next_start is None or note.end < next_start):
            events[note.end] = NOTE_OFF
    return events


def decode_events(events) -> list[Note]:
    """Decode events to notes: a note lasts until a note-off, the next onset, or the end."""
    events = check_events(events)
    notes: list[Note] = []
    pitch, start = None, 0
    for step, event in enumerate(events.tolist()):
        if event == NO_EVENT:
            continue
        if pitch is not None:
            notes.append(Note(pitch, start, step - start))
            pitch = None
        if event != NOTE_OFF:
            pitch, start = event + PITCH_OFFSET, step
    if pitch is not None:
        notes.append(Note(pitch, start, len(events) - start))
    return notes


def to_pretty_midi(events, tempo_bpm: float = 120.0, program: int = 0) -> pretty_midi.PrettyMIDI:
    """A one-instrument PrettyMIDI of a melody; ``tempo_bpm`` in quarter notes per minute."""
    check_range("tempo_bpm", tempo_bpm, 0, low_open=True)
    check_range("program", program, 0, 127)
    step = 60.0 / tempo_bpm / STEPS_PER_QUARTER
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    instrument = pretty_midi.Instrument(program=int(program), name="melody")
    for note in decode_events(events):
        instrument.notes.append(pretty_midi.Note(
            velocity=90, pitch=note.pitch, start=note.start * step, end=note.end * step))
    pm.instruments.append(instrument)
    return pm


def notes_from_pretty_midi(pm: pretty_midi.PrettyMIDI, instrument: int = 0) -> list[Note]:
    """The notes of one instrument quantised to 16th steps (by MIDI ticks, so tempo-independent).

    Pitches are kept as they are (no range check); see :func:`fit_to_range`. A drum instrument
    is refused (BadParameterError): its pitches name drums, not notes.
    """
    if not 0 <= instrument < len(pm.instruments):
        raise BadParameterError(
            f"instrument must be an index in 0..{len(pm.instruments) - 1} "
            f"(this MIDI has {len(pm.instruments)} instruments), got {instrument}"
        )
    if pm.instruments[instrument].is_drum:
        melodic = [i for i, inst in enumerate(pm.instruments) if not inst.is_drum]
        raise BadParameterError(f"instrument {instrument} is a drum track (MIDI channel 10), not a melody; "
                                f"melodic instruments of this MIDI: {melodic or 'none'}")
    ticks_per_step = pm.resolution / STEPS_PER_QUARTER
    notes = []
    for note in pm.instruments[instrument].notes:
        start = int(round(pm.time_to_tick(note.start) / ticks_per_step))
        end = int(round(pm.time_to_tick(note.end) / ticks_per_step))
        notes.append(Note(int(note.pitch), start, max(1, end - start)))
    return notes


def fit_to_range(notes: Sequence[Note], fold: bool = False) -> list[Note]:
    """Shift a melody by whole octaves (the smallest shift) so every pitch lies in 48..83.

    A melody spanning more than 35 semitones cannot fit: BadParameterError, unless ``fold=True``,
    which then moves each remaining outlier by octaves into the range.
    """
    if not notes:
        raise BadParameterError("the melody has no notes")
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    shifts = [12 * k for k in range(-10, 11) if MIN_PITCH <= low + 12 * k and high + 12 * k <= MAX_PITCH]
    if shifts:
        shift = min(shifts, key=abs)
        return [Note(n.pitch + shift, n.start, n.duration) for n in notes]
    if not fold:
        raise BadParameterError(
            f"the melody spans MIDI {low}..{high}, too wide to fit {MIN_PITCH}..{MAX_PITCH} "
            "by octave shifts (pass fold=True to fold outliers)"
        )
    centre = (MIN_PITCH + MAX_PITCH) / 2 - (low + high) / 2
    shift = 12 * int(round(centre / 12))
    folded = []
    for n in notes:
        pitch = n.pitch + shift
        while pitch < MIN_PITCH:
            pitch += 12
        while pitch > MAX_PITCH:
            pitch -= 12
        folded.append(Note(pitch, n.start, n.duration))
    return folded


def from_pretty_midi(pm: pretty_midi.PrettyMIDI, instrument: int = 0, fold: bool = False) -> np.ndarray:
    """Events of one instrument of a PrettyMIDI: quantised to 16ths, monophonic (highest note).

    The melody is moved by octaves into 48..83 (see :func:`fit_to_range`); it is not transposed.
    """
    notes = notes_from_pretty_midi(pm, instrument)
    return encode_notes(fit_to_range(notes, fold=fold))


def to_music21(events, tempo_bpm: float = 120.0):
    """A music21 Stream of the melody (notes and rests, quarterLength = steps / 4)."""
    from music21 import note as m21note
    from music21 import stream, tempo

    check_range("tempo_bpm", tempo_bpm, 0, low_open=True)
    events = check_events(events)
    part = stream.Stream()
    part.append(tempo.MetronomeMark(number=tempo_bpm))
    cursor = 0
    for note in decode_events(events):
        if note.start > cursor:
            part.append(m21note.Rest(quarterLength=(note.start - cursor) / STEPS_PER_QUARTER))
        part.append(m21note.Note(note.pitch, quarterLength=note.duration / STEPS_PER_QUARTER))
        cursor = note.end
    if cursor < len(events):
        part.append(m21note.Rest(quarterLength=(len(events) - cursor) / STEPS_PER_QUARTER))
    return part


def key_shift(tonic_pitch_class: int, mode: str = "major") -> int:
    """Semitones (-6..5) that move a key's signature to no sharps or flats (C major / A minor)."""
    if mode not in MODE_OFFSETS:
        raise BadParameterError(f"mode must be one of {', '.join(MODE_OFFSETS)}, got {mode!r}")
    major_tonic = (int(tonic_pitch_class) - MODE_OFFSETS[mode]) % 12
    return (-major_tonic + 6) % 12 - 6


def transpose_to_c(notes: Iterable[Note], tonic_pitch_class: int, mode: str = "major") -> list[Note]:
    """Transpose notes in the given key to C major / A minor (the nearest way, -6..+5 semitones).

    Modes follow the key signature: D dorian lands on D dorian (white keys), E minor on A minor.
    """
    shift = key_shift(tonic_pitch_class, mode)
    return [Note(n.pitch + shift, n.start, n.duration) for n in notes]


def make_windows(melodies: Iterable, length: int, hop: int | None = None) -> np.ndarray:
    """Cut melodies into windows of ``length`` steps every ``hop`` steps (default: ``length``).

    Returns ``[N, length]`` int64; a melody shorter than ``length`` gives no window. A window
    cut mid-note begins with no-event steps, which decode as a rest until the next onset.
    """
    check_range("length", length, 1)
    hop = length if hop is None else hop
    check_range("hop", hop, 1)
    windows = []
    for i, melody in enumerate(melodies):
        events = check_events(melody, parameter=f"melodies[{i}]")
        for start in range(0, len(events) - length + 1, hop):
            windows.append(events[start:start + length])
    if not windows:
        return np.zeros((0, length), dtype=np.int64)
    return np.stack(windows)


def event_names(events) -> list[str]:
    """Readable names for tables and plots: 'off', '-' (no-event) or a pitch name like 'C4'."""
    names = []
    for event in check_events(events).tolist():
        if event == NOTE_OFF:
            names.append("off")
        elif event == NO_EVENT:
            names.append("-")
        else:
            names.append(pitch_name(event + PITCH_OFFSET))
    return names
