"""Exercises of notebook 00 (data and sound): write a tune in the event encoding, count its pitch
classes, and measure how busy a melody is. Each check compares with the kit's own decoder
(``musiclab.data.melody``) on several melodies.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from musiclab.data.melody import NO_EVENT, NOTE_OFF, Note, decode_events, encode_notes
from musiclab.exercises.compare import check_cases, close, show
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.registry import Exercise, check, register  # noqa: F401  (nb00.check for the notebook)
from musiclab.exercises.solutions import n00


def _melodies() -> list[tuple[str, tuple]]:
    """Test melodies: Twinkle, a melody with rests and repeated notes, random events, silence."""
    rng = np.random.default_rng(0)
    twinkle = encode_notes([Note(p, 4 * i, 4) for i, p in enumerate((60, 60, 67, 67, 69, 69))]
                           + [Note(67, 24, 8)])
    rests = np.array([14, 1, 0, 1, 14, 14, 0, 26, 1, 1, 37, 2, 0, 1, 1, 1])
    random = rng.integers(0, 38, size=48)
    return [("Twinkle (32 steps)", (twinkle,)), ("rests and repeated notes", (rests,)),
            ("48 random events", (random,)), ("a silent bar", (np.array([0] + [1] * 15),))]


# --- 00.1 ----------------------------------------------------------------------------------------

def _twinkle_expected() -> np.ndarray:
    notes = [Note(p, 4 * i, 4) for i, p in enumerate((60, 60, 67, 67, 69, 69))] + [Note(67, 24, 8)]
    return encode_notes(notes, length=32)


def check_twinkle(answer) -> Feedback:
    want = _twinkle_expected()
    expected = f"32 events {show(want.tolist(), limit=200)}"
    hint = "each note starts with its onset event (MIDI pitch − 46), then holds (1) until its 16ths run out"
    got, problem = attempt("00.1", expected, hint, answer)
    if problem is not None:
        return problem
    events = np.asarray(got).reshape(-1)
    if len(events) != 32:
        return failed("00.1", expected, f"{len(events)} events: {show(events.tolist(), limit=200)}",
                      "a quarter note is 4 sixteenth steps: six quarters and one half note make 32 steps")
    if events.min() < 0 or events.max() > 37:
        return failed("00.1", expected, show(events.tolist(), limit=200),
                      "events run from 0 to 37: a pitch is written as pitch − 46 (C4 = 60 → 14)")
    if not np.array_equal(events, want):
        notes = decode_events(events)
        wrong = next((i for i in range(32) if events[i] != want[i]), 0)
        merged = "; a repeated note needs its own onset (a hold would merge the two Cs into one long note)" \
            if len(notes) < 7 else ""
        return failed("00.1", expected, show(events.tolist(), limit=200),
                      f"the first difference is at step {wrong} (event {events[wrong]}, expected {want[wrong]})"
                      f"{merged}")
    return passed("00.1", expected, "the same 32 events: the kit decodes them to 7 notes")


register(Exercise(
    id="00.1", title="Twinkle by hand in the event encoding", level="warm-up", minutes=5,
    stub="def twinkle():\n    \"\"\"The 32 events of C4 C4 G4 G4 A4 A4 (quarters) G4 (half).\"\"\"\n"
         "    raise NotImplementedError(\"write the events as a list of 32 numbers\")\n",
    check=check_twinkle, solution=lambda: n00.twinkle,
    wrong=lambda: lambda: [14, 1, 1, 1, 1, 1, 1, 1, 21, 1, 1, 1, 1, 1, 1, 1, 23, 1, 1, 1, 1, 1, 1, 1,
                           21, 1, 1, 1, 1, 1, 1, 1]))


# --- 00.2 ----------------------------------------------------------------------------------------

def _pitch_classes(events) -> np.ndarray:
    counts = Counter(note.pitch % 12 for note in decode_events(events))
    return np.array([counts[pc] for pc in range(12)])


def _pitch_class_hint(got, want) -> str:
    got = np.asarray(got)
    if got.shape == (12,) and got.sum() > want.sum():
        return "count onsets only: holds (1) and note-offs (0) are not notes"
    return "an onset event e is MIDI pitch e + 46; its pitch class is that pitch modulo 12 (C = 0)"


def check_pitch_class_counts(answer) -> Feedback:
    return check_cases("00.2", answer, _melodies(), _pitch_classes, "an onset event e is MIDI pitch e + 46; its pitch class is that pitch modulo 12 (C = 0); count onsets only",
                       diagnose=_pitch_class_hint,
                       what="onsets per pitch class, counted from the kit's decoded notes")


register(Exercise(
    id="00.2", title="Count the pitch classes of a melody", level="core", minutes=10,
    stub="def pitch_class_counts(events):\n    \"\"\"Onsets per pitch class (C = 0 … B = 11): an int array [12].\"\"\"\n"
         "    raise NotImplementedError(\"count the onsets of each pitch class\")\n",
    check=check_pitch_class_counts, solution=lambda: n00.pitch_class_counts,
    wrong=lambda: lambda events: np.bincount(np.asarray(events) % 12, minlength=12)))


# --- 00.3 ----------------------------------------------------------------------------------------

def _notes_per_bar(events) -> float:
    return len(decode_events(events)) / (len(events) / 16)


def _density_hint(got, want) -> str:
    if isinstance(got, (int, float, np.number)) and float(got) > float(want):
        return "a note is counted once, at its onset: holds (1) and note-offs (0) start nothing"
    return "count the onsets (events ≥ 2), then divide by the number of bars: len(events) / 16"


def check_notes_per_bar(answer) -> Feedback:
    cases = _melodies() + [("a bar of repeated notes", (np.array([14, 1, 14, 1, 14, NOTE_OFF, 14, 1] * 2),)),
                           ("a held note", (np.array([20] + [NO_EVENT] * 31),))]
    return check_cases("00.3", answer, cases, _notes_per_bar, "count the onsets (events ≥ 2), then divide by the number of bars: len(events) / 16",
                       diagnose=_density_hint, same=close(1e-6),
                       what="the number of notes the kit decodes, per 16 steps")


register(Exercise(
    id="00.3", title="How busy is a melody? Notes per bar, lullabies against the corpus", level="open-ended",
    minutes=15,
    stub="def notes_per_bar(events):\n    \"\"\"Note onsets per bar of 16 steps (a float).\"\"\"\n"
         "    raise NotImplementedError(\"count the onsets, divide by the bars\")\n",
    check=check_notes_per_bar, solution=lambda: n00.notes_per_bar,
    wrong=lambda: lambda events: float((np.asarray(events) != NO_EVENT).sum() / (len(events) / 16))))
